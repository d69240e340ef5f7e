"""Objects built from a Shape are the objects `obj()` builds from the same property list."""

from __future__ import annotations

import pytest

from nestlab.simulator import labfile, powershell
from nestlab.simulator.cmdlets import enums
from nestlab.simulator.cmdlets.base import obj
from nestlab.simulator.cmdlets.network import ADAPTER_SHAPE
from nestlab.simulator.cmdlets.shapes import VARIES, Shape
from nestlab.simulator.cmdlets.system import FEATURE_SHAPE
from nestlab.simulator.cmdlets.vhd import VHD_SHAPE
from nestlab.simulator.cmdlets.vm import DRIVE_SHAPE, MEMORY_SHAPE, PROCESSOR_SHAPE, VM_SHAPE
from nestlab.simulator.pwsh.values import set_property
from nestlab.simulator.generate import generate
from nestlab.simulator.model import stable_guid
from nestlab.simulator.psdata import Command

SHAPE = Shape("T.Thing", [("Name", VARIES), ("Kind", "fixed"), ("State", enums.on_off(True)), ("Tags", VARIES)])


def test_an_object_is_the_one_obj_makes_with_its_own_lists_and_a_name_added_to_it_alone():
    one = SHAPE.make({"Name": "a", "Tags": []}, to_string="thing a")
    two = SHAPE.make({"Tags": [], "Name": "b"})
    assert one == obj("T.Thing", [("Name", "a"), ("Kind", "fixed"), ("State", enums.on_off(True)), ("Tags", [])])
    assert list(two) == ["Name", "Kind", "State", "Tags"] and two["name"] == "b"
    assert (str(one), str(two), two.type_names) == ("thing a", "T.Thing", ("T.Thing", "System.Object"))
    set_property(one, "Extra", 1)  # what Add-Member does in a script
    assert one["extra"] == 1 and "extra" not in two and "extra" not in SHAPE.make({"Name": "c", "Tags": []})
    assert one["Tags"] is not two["Tags"]


def test_a_name_outside_the_shape_is_refused_rather_than_appended():
    with pytest.raises(KeyError):
        SHAPE.make({"Name": "a", "Tags": [], "Colour": "red"})


def test_a_template_cannot_hold_a_value_every_object_would_share_and_a_script_could_change():
    with pytest.raises(TypeError):
        Shape("T.Bad", [("Tags", [])])
    with pytest.raises(ValueError):
        Shape("T.Bad", [("Name", "a"), ("Name", "b")])


def test_the_cmdlets_leave_no_placeholder_in_what_they_write():
    lab = generate(seed=7, hosts=1, depth=2, vms_per_host=6)
    every = {"VMName": "*"}
    pipelines = [(Command("Get-VM"),), (Command("Get-VMNetworkAdapter", tuple(every.items())),),
                 (Command("Get-VMMemory", tuple(every.items())),), (Command("Get-VMProcessor", tuple(every.items())),),
                 (Command("Get-VMHardDiskDrive", tuple(every.items())),),
                 (Command("Get-VMHardDiskDrive", tuple(every.items())), Command("Get-VHD")),
                 (Command("Get-WindowsFeature", (("Name", "Hyper-V"),)),)]
    seen = set()
    for pipeline in pipelines:
        for made in powershell.run(lab, lab.hosts()[0], pipeline).output:
            assert all(value is not VARIES for value in made.values())
            seen.add(made.type_names[0])
    assert seen == {s.type_names[0] for s in (VM_SHAPE, ADAPTER_SHAPE, VHD_SHAPE, DRIVE_SHAPE, MEMORY_SHAPE, PROCESSOR_SHAPE,
                                              FEATURE_SHAPE)}


def test_a_vm_folder_is_what_ntpath_dirname_says_for_every_path():
    # vm.folder_of cuts a drive-letter path itself and hands every other path to ntpath: the two
    # must agree on all of them (roots, runs of backslashes, UNC, forward slashes, no drive)
    import itertools
    import ntpath

    from nestlab.simulator.cmdlets.vm import folder_of

    paths = ["D:\\Hyper-V\\Virtual Hard Disks\\a.vhdx", "D:\\a.vhdx", "D:a.vhdx", "D:\\x\\\\\\a.vhdx",
             "\\\\srv\\share\\a.vhdx", "C:/x/a.vhdx", "C:\\x/a", "a.vhdx", ""]
    paths += ["".join(p) for n in range(6) for p in itertools.product("C:\\/a.", repeat=n)]
    assert [folder_of(p) for p in paths] == [ntpath.dirname(p) for p in paths]


def test_an_address_reads_as_ipaddress_reads_it_and_fails_as_it_fails():
    # network.parse_interface reads plain dotted quads itself and hands anything else to ipaddress
    import ipaddress
    import itertools

    from nestlab.simulator.cmdlets.network import parse_interface

    def read(reader, text):
        try:
            return reader(text)
        except ValueError as error:
            return type(error)

    def reference(text):
        iface = ipaddress.ip_interface(text)
        return str(iface.ip), iface.network.prefixlen

    octets = ("0", "00", "01", "9", "99", "100", "199", "249", "255", "256", "1000", "")
    texts = [".".join(q) for q in itertools.product(octets, repeat=4)][::7]
    texts = [t + suffix for t in texts[:800] for suffix in ("", "/0", "/24", "/32", "/33", "/024", "/", "/255.255.0.0")]
    texts += ["10.0.0.5/24", "127.0.0.1/8", "1.2.3.4/24/1", " 1.2.3.4/8", "1.2.3.4/8\n", "fe80::1/64", "1.2.3/8",
              "1.2.3.4.5/8", "1.2.3.4/+8", "1.2.3.4/-1", "1.2.3.4/\u0663"]
    assert [read(parse_interface, t) for t in texts] == [read(reference, t) for t in texts]


def test_where_objects_test_made_once_per_call_answers_as_compare_per_object():
    # pipeline._test works out -Like's pattern once per call; it must answer what _compare answers
    from nestlab.simulator.cmdlets.pipeline import _compare, _test

    def answer(compare, left):
        try:
            return compare(left)
        except Exception as error:  # noqa: BLE001 - the same failure, object by object
            return type(error)

    lefts = ["", "a", "A", "abc", "D:\\Base.VHDX", "x?", None, 0, 12, True, "[a]", "a\nb", "\n", "\u0130", "ab"]
    for op in ("Like", "NotLike", "like", "EQ", "NE", "GT", "Match"):
        for right in ("?*", "*", "a", "A*", "d:\\*.vhdx", "[a-c]*", "[a]", "x[?]", "", "1*",
                      "??", "*?*", "**", "?", "??*", "*??"):  # only ? and *: a length test
            test = _test(op, right)
            assert [answer(test, left) for left in lefts] == \
                [answer(lambda left: _compare(op, left, right), left) for left in lefts], (op, right)


def test_a_vhd_file_is_what_ntpath_splitext_says():
    # vhd.is_vhd_file reads the extension itself: it must agree with splitext on names that are
    # only dots, dots in folders, either separator and any case
    import itertools
    import ntpath

    from nestlab.simulator.cmdlets.vhd import is_vhd_file

    paths = ["".join(p) for n in range(7) for p in itertools.product(".\\/vVhdx", repeat=n)]
    paths += ["C:\\VMs\\a.VHD", "C:\\VMs\\.vhd", "C:\\VMs\\..vhd", "a.b.vhd", "C:\\a.vhd\\b.vhdx", "a.vHd"]
    assert [is_vhd_file(p) for p in paths] == [ntpath.splitext(p)[1].lower() == ".vhd" for p in paths]


def test_the_cim_and_service_rows_leave_no_placeholder_either():
    from nestlab.simulator.cmdlets import network, system

    lab = generate(seed=7, hosts=1, depth=2, vms_per_host=6)
    host = lab.hosts()[0]
    guest = next(vm for vm in lab.vms(host) if lab[vm].state == "Running")
    pipelines = [(Command("Get-NetIPAddress"),), (Command("Get-NetAdapter"),),
                 (Command("Get-NetTCPConnection", (("State", "Listen"),)),), (Command("Get-Service"),),
                 (Command("Get-WindowsOptionalFeature", (("Online", True), ("FeatureName", "Microsoft-Hyper-V"))),)]
    pipelines += [(Command("Get-CimInstance", (("ClassName", c),)),) for c in ("Win32_OperatingSystem", "Win32_ComputerSystem")]
    pipelines.append((Command("Get-CimInstance", (("Namespace", "root\\Microsoft\\Windows\\DeviceGuard"),
                                                  ("ClassName", "Win32_DeviceGuard"))),))
    azure = labfile.load("builtin:azure")  # a place with TCP listeners
    seen = set()
    for where, place in ((lab, host), (lab, guest), (azure, "AZ-NESTED01")):
        for pipeline in pipelines:
            for made in powershell.run(where, place, pipeline).output:
                assert all(value is not VARIES for value in made.values())
                seen.add(made.type_names[0])
    shapes = (network.IP_ADDRESS_SHAPE, network.NET_ADAPTER_SHAPE, network.TCP_LISTENER_SHAPE, system.SERVICE_SHAPE,
              system.OPTIONAL_FEATURE_SHAPE, system.OS_SHAPE, system.COMPUTER_SHAPE, system.DEVICEGUARD_SHAPE)
    assert {s.type_names[0] for s in shapes} <= seen


def test_an_adopted_dict_is_the_object_make_gives_and_only_an_all_varying_shape_adopts():
    selected = Shape("Selected.T.Thing", [("Name", VARIES), ("Tags", VARIES)])
    adopted = selected.adopt({"Name": "a", "Tags": []})
    assert adopted == selected.make({"Name": "a", "Tags": []}) == obj("Selected.T.Thing", [("Name", "a"), ("Tags", [])])
    assert str(adopted) == "Selected.T.Thing" and adopted["tags"] == []
    set_property(adopted, "Extra", 1)
    assert "extra" not in selected.adopt({"Name": "b", "Tags": []})  # a name added to one object only
    with pytest.raises(KeyError):
        SHAPE.adopt({"Name": "a", "Kind": "fixed", "State": None, "Tags": []})  # Kind and State are constants
    with pytest.raises(KeyError):
        selected.adopt({"Name": "a"})


def test_a_fixed_shape_makes_what_the_full_shape_makes_with_those_values():
    fixed = SHAPE.fixing({"Tags": "none"})
    assert fixed.make({"Name": "a"}) == SHAPE.make({"Name": "a", "Tags": "none"})
    assert list(fixed.make({"Name": "a"})) == list(SHAPE.template) and fixed.type_names == SHAPE.type_names
    assert fixed.varying == {"Name"}
    with pytest.raises(KeyError):
        SHAPE.fixing({"Kind": "dynamic"})  # a constant already


def test_get_vm_writes_the_full_shape_for_vms_that_run_and_vms_that_do_not():
    lab = generate(seed=7, hosts=1, depth=2, vms_per_host=6)
    host = lab.hosts()[0]
    made = powershell.run(lab, host, (Command("Get-VM"),)).output
    states = {str(vm["State"]) for vm in made}
    assert {"Running", "Off"} <= states
    for vm in made:
        assert list(vm) == list(VM_SHAPE.template) and vm.type_names == VM_SHAPE.type_names
        running = str(vm["State"]) == "Running"
        assert (vm["Heartbeat"] is not None, vm["Uptime"] != "00:00:00", vm["IntegrationServicesVersion"] != "0.0") == \
            (running, running, running)


def test_the_nothing_found_records_are_one_record_per_text_shared_by_every_answer():
    # Get-WinEvent's "No events were found" and "no such log", Get-Service's "no such service": made once
    # per text (frozen records), not once per call
    lab = generate(seed=7, hosts=1, depth=2, vms_per_host=6)
    host = lab.hosts()[0]
    guests = [vm for vm in lab.vms(host) if lab[vm].state == "Running" and not lab.platform(vm).hyperv_installed][:2]
    assert len(guests) == 2
    for pipeline in [(Command("Get-WinEvent", (("LogName", "Application"),)),),
                     (Command("Get-WinEvent", (("LogName", "Microsoft-Windows-Hyper-V-VMMS-Admin"),)),),
                     (Command("Get-Service", (("Name", ["vmms"]),)),),
                     (Command("Get-ItemProperty", (("Path", "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\DeviceGuard"),)),)]:
        first, second = (powershell.run(lab, g, pipeline).errors for g in guests)
        assert len(first) == 1 and first[0] is second[0], pipeline


def test_the_services_a_platform_has_follow_its_states():
    from dataclasses import replace as changed

    from nestlab.simulator.cmdlets import system

    lab = generate(seed=7, hosts=1, depth=2, vms_per_host=6)
    host = lab.hosts()[0]
    ask = (Command("Get-Service"),)
    before = {o["Name"]: str(o["Status"]) for o in powershell.run(lab, host, ask).output}
    platform = lab.platform(host)
    lab.update_platform(host, services=changed(platform.services, winnat="locked"),
                        security=changed(platform.security, blocking_software=("X",)))
    after = {o["Name"]: str(o["Status"]) for o in powershell.run(lab, host, ask).output}
    assert before["WinNat"] == "Running" and before["vmms"] == "Running"
    assert after["WinNat"] == "Stopped" and after["vmms"] == after["vmcompute"] == "Stopped"
    for states, present in system._PRESENT.items():  # noqa: SLF001 - the tables against the rule they follow
        assert dict(present) == {k: s for k in system.SERVICES if (s := system._status_of(k, *states)) is not None}


def test_a_minimal_platforms_hyper_v_logs_list_no_vms(monkeypatch):
    # both Hyper-V histories are empty on a minimal platform: Get-WinEvent must not list the host's
    # VMs (name, id, running state) for them, only to throw the list away
    from nestlab.simulator.cmdlets import background

    lab = generate(seed=7, hosts=1, depth=2, vms_per_host=6)
    host = lab.hosts()[0]
    assert not background.realistic(lab.platform(host)) and lab.vms(host)

    def listed(*_args):
        raise AssertionError("a VM list made for a minimal platform's history")

    monkeypatch.setattr(background, "vm_history", listed)
    monkeypatch.setattr(background, "vmms_history", listed)
    for log in ("Microsoft-Windows-Hyper-V-Worker-Admin", "Microsoft-Windows-Hyper-V-VMMS-Admin"):
        answer = powershell.run(lab, host, (Command("Get-WinEvent", (("LogName", log),)),))
        assert not answer.output and [e.fully_qualified_error_id.split(",")[0] for e in answer.errors] == \
            ["NoMatchingEventsFound"]


def test_an_empty_file_store_holds_its_base_folders_only():
    # Test-Path asks an empty store (most places) `normal(path) in _BASE_KEYS` instead of `exists`:
    # the two must agree for every kind of path
    from nestlab.simulator.cmdlets import filestore
    from nestlab.simulator.cmdlets.base import Ctx

    lab = generate(seed=7, hosts=1, depth=2, vms_per_host=6)
    host = lab.hosts()[0]
    ctx = Ctx(lab, host)
    assert not filestore._files(ctx)  # noqa: SLF001
    paths = [*filestore.BASE_FOLDERS, *(f.lower() + "\\" for f in filestore.BASE_FOLDERS), "C:\\", "C:\\Temp\\x.txt",
             "c:/programdata", "D:\\Hyper-V\\Disks\\a.vhdx", lab[lab.owned(host, "vhd")[0]].path,
             "Microsoft.PowerShell.Core\\FileSystem::C:\\Windows", "C:\\Windows\\.\\System32"]
    assert [filestore.normal(p) in filestore._BASE_KEYS for p in paths] == [filestore.exists(ctx, p) for p in paths]  # noqa: SLF001
    for path in paths:
        answer = powershell.run(lab, host, (Command("Test-Path", (("Path", path),)),))
        assert len(answer.output) == 1 and not answer.errors


def test_a_cim_class_is_found_by_its_namespace_in_any_spelling():
    # Get-CimInstance works out the namespace and the class's builder once per text (system._cim_class)
    from nestlab.simulator.cmdlets import system

    for namespace in ("root\\Microsoft\\Windows\\DeviceGuard", "ROOT/microsoft/windows/deviceguard"):
        assert system._cim_class(namespace, "Win32_DeviceGuard") == (  # noqa: SLF001
            "root/microsoft/windows/deviceguard", system.CLASSES[("root/microsoft/windows/deviceguard", "win32_deviceguard")])
    assert system._cim_class("root/cimv2", "Win32_Nothing") == ("root/cimv2", None)  # noqa: SLF001


def test_test_path_answers_one_boolean_per_path_when_the_store_holds_some_of_them():
    # filestore answers its own paths and hands each other one to vhd.py's Test-Path alone: with -Path
    # still in the call, that answered for the whole list again (three booleans for two paths)
    lab = generate(seed=7, hosts=1, depth=2, vms_per_host=6)
    host = lab.hosts()[0]
    disk = lab[lab.owned(host, "vhd")[0]].path
    answer = powershell.run(lab, host, (Command("Test-Path", (("Path", ["C:\\Windows", "D:\\x.vhdx", disk]),)),))
    assert answer.output == (True, False, True) and not answer.errors


def test_the_texts_and_numbers_that_repeat_across_objects_are_one_object_each():
    # perf8: a VM's VMId, a switch's SwitchId, a drive's name, a disk's sizes, a registry key's provider
    # paths, a CIM class's type names and an OS build's version text are made once and shared by every
    # object that shows them (the evidence keeps four to six objects per VM): equal values, one object
    from nestlab.simulator.cmdlets import ids

    lab = generate(seed=7, hosts=1, depth=2, vms_per_host=6)
    host = lab.hosts()[0]

    def run(*commands: Command, place: str = host) -> tuple:
        return powershell.run(lab, place, commands).output

    vm = next(v for v in lab.vms(host) if lab.disks(v) and lab.adapters(v))
    name = lab[vm].name
    one = (("VMName", name),)
    vm_objects = [*run(Command("Get-VM", (("Name", name),))), *run(Command("Get-VMProcessor", one)),
                  *run(Command("Get-VMMemory", one)), *run(Command("Get-VMHardDiskDrive", one)),
                  *run(Command("Get-VMNetworkAdapter", one))]
    assert len(vm_objects) >= 5 and len({id(o["VMId"]) for o in vm_objects}) == 1
    assert vm_objects[0]["VMId"] == ids.vm_guids(lab)[vm] == stable_guid("vm", vm).lower()
    adapters = run(Command("Get-VMNetworkAdapter", (("VMName", "*"),)))
    by_switch = {}
    for adapter in adapters:
        by_switch.setdefault(adapter["SwitchName"], set()).add(id(adapter["SwitchId"]))
    assert any(len(a) > 0 for a in by_switch.values()) and all(len(a) == 1 for a in by_switch.values())
    drives = run(Command("Get-VMHardDiskDrive", (("VMName", "*"),)))
    first = [d for d in drives if d["ControllerLocation"] == 0]
    assert len(first) > 1 and len({id(str(d)) for d in first}) == 1
    disks = run(Command("Get-VMHardDiskDrive", (("VMName", "*"),)), Command("Get-VHD"))
    sizes = {}
    for disk in disks:
        sizes.setdefault((disk["Size"], str(disk["VhdType"])), set()).add((id(disk["Size"]), id(disk["FileSize"])))
    assert any(len({id(d) for d in disks if d["Size"] == size}) > 1 for size, _ in sizes)
    assert all(len(ids_) == 1 for ids_ in sizes.values())
    guests = [v for v in lab.vms(host) if lab[v].state == "Running" and not lab.platform(v).hyperv_installed][:2]
    assert len(guests) == 2
    key = (Command("Get-ItemProperty", (("Path", "HKLM:\\SYSTEM\\CurrentControlSet\\Control\\DeviceGuard"),)),)
    keys = [powershell.run(lab, g, key).output[0] for g in guests]
    assert keys[0]["PSPath"] is keys[1]["PSPath"] and keys[0]["PSParentPath"] is keys[1]["PSParentPath"]
    lab = generate(seed=7, hosts=2, depth=2, vms_per_host=40)  # enough guests for two of one build
    plain = [v for v in lab.all_vms() if lab[v].state == "Running" and not lab.platform(v).hyperv_installed]
    build = next(b for b in {lab.platform(v).os.build for v in plain} if sum(lab.platform(v).os.build == b for v in plain) > 1)
    same = [v for v in plain if lab.platform(v).os.build == build][:2]
    os_ = [run(Command("Get-CimInstance", (("ClassName", "Win32_OperatingSystem"),)), place=g)[0] for g in same]
    assert os_[0]["Version"] is os_[1]["Version"] and os_[0]["BuildNumber"] is os_[1]["BuildNumber"]
    rules = [run(Command("Get-NetConnectionProfile"), place=g) for g in same]
    assert rules[0] and rules[1] and rules[0][0].type_names[0] is rules[1][0].type_names[0]


def test_a_minimal_platforms_logs_keep_no_history_entry_per_place():
    # perf8: every routine history of a minimal platform is empty, so Get-WinEvent does not look one up
    # (nor keep an empty one in the lab's table per place and log: ~3 MB at 10,000 VMs); a realistic
    # platform's System history is still read and kept
    from dataclasses import replace as changed

    from nestlab.simulator.cmdlets import background, system

    lab = generate(seed=7, hosts=1, depth=2, vms_per_host=6)
    host = lab.hosts()[0]
    assert not background.realistic(lab.platform(host))
    for log in ("System", "Application", "Microsoft-Windows-Hyper-V-Worker-Admin", "Microsoft-Windows-Hyper-V-VMMS-Admin"):
        powershell.run(lab, host, (Command("Get-WinEvent", (("LogName", log),)),))
    assert not lab.memo(system._HISTORIES, dict)  # noqa: SLF001 - the table the lookups would fill
    platform = lab.platform(host)
    lab.update_platform(host, os=changed(platform.os, background="realistic"))
    answer = powershell.run(lab, host, (Command("Get-WinEvent", (("LogName", "System"),)),))
    assert len(answer.output) > 1 and (host, "System") in lab.memo(system._HISTORIES, dict)  # noqa: SLF001


def test_a_guests_memory_numbers_and_boot_description_are_shared_with_its_peers():
    # perf8: equal memory sizes are one int each, an OS caption's bcdedit line one text
    lab = generate(seed=7, hosts=2, depth=2, vms_per_host=40)
    plain = [v for v in lab.all_vms() if lab[v].state == "Running" and not lab.platform(v).hyperv_installed]
    by_size: dict[int, list] = {}
    for guest in plain:
        cs = powershell.run(lab, guest, (Command("Get-CimInstance", (("ClassName", "Win32_ComputerSystem"),)),)).output[0]
        os_ = powershell.run(lab, guest, (Command("Get-CimInstance", (("ClassName", "Win32_OperatingSystem"),)),)).output[0]
        by_size.setdefault(cs["TotalPhysicalMemory"], []).append((cs, os_))
    pair = next(p for p in by_size.values() if len(p) > 1)[:2]
    assert pair[0][0]["TotalPhysicalMemory"] is pair[1][0]["TotalPhysicalMemory"]
    assert pair[0][1]["TotalVisibleMemorySize"] is pair[1][1]["TotalVisibleMemorySize"]
    assert pair[0][1]["FreePhysicalMemory"] is pair[1][1]["FreePhysicalMemory"]
    caption = lab.platform(plain[0]).os.caption
    peers = [g for g in plain if lab.platform(g).os.caption == caption][:2]
    lines = [powershell.run(lab, g, (Command("bcdedit"),)).output for g in peers]
    assert len(peers) == 2 and [l for l in lines[0] if l.startswith("description")][0] is \
        [l for l in lines[1] if l.startswith("description")][0]


def test_the_places_interfaces_sit_in_one_table_that_a_change_forgets():
    # perf8: one Lab.memo table by place (not a memo key tuple per place), forgotten with the lab state
    from nestlab.simulator.cmdlets import network

    lab = generate(seed=7, hosts=1, depth=2, vms_per_host=6)
    guests = [v for v in lab.vms(lab.hosts()[0]) if lab[v].state == "Running"][:2]
    first = [powershell.run(lab, g, (Command("Get-NetAdapter"),)).output for g in guests]
    table = lab.memo(network._INTERFACES, dict)  # noqa: SLF001 - the table the readers fill
    assert set(guests) <= set(table) and not any(isinstance(k, tuple) and k[0] == "interfaces" and len(k) == 2
                                                 for k in lab._state)  # noqa: SLF001
    lab.changed()
    assert not lab.memo(network._INTERFACES, dict)  # noqa: SLF001
    assert [powershell.run(lab, g, (Command("Get-NetAdapter"),)).output for g in guests] == first


def test_every_places_loopback_address_is_one_text():
    lab = generate(seed=7, hosts=1, depth=2, vms_per_host=6)
    guests = [v for v in lab.vms(lab.hosts()[0]) if lab[v].state == "Running"][:2]
    ask = (Command("Get-NetIPAddress", (("AddressFamily", "IPv4"),)),)
    rows = [[o for o in powershell.run(lab, g, ask).output if o["InterfaceAlias"].startswith("Loopback")][0] for g in guests]
    assert (rows[0]["IPAddress"], rows[0]["PrefixLength"]) == ("127.0.0.1", 8) and rows[0]["IPAddress"] is rows[1]["IPAddress"]


def test_service_names_resolve_once_per_list_and_states_as_the_per_name_rule_says():
    # perf8: Get-Service -Name's matching is a pure function of the texts and the three states,
    # worked out once per pair (every guest is sent the same list)
    from itertools import product as every

    from nestlab.simulator.cmdlets import system
    from nestlab.simulator.cmdlets.wildcards import WILDCARDS, like

    def by_rule(names, states):  # the loop each call ran before
        present, keys, missing = system._PRESENT[states], [], []  # noqa: SLF001
        for name in names:
            wanted = name.lower()
            matched = [k for k in present if k == wanted or system._DISPLAY[k] == wanted] if WILDCARDS.isdisjoint(wanted) \
                else [k for k in present if like(k, wanted) or system._DISPLAY[k] == wanted]  # noqa: SLF001
            missing += [] if matched else [name]
            keys += [k for k in matched if k not in keys]
        return tuple(keys), tuple(missing)

    lists = [("vmms", "vmcompute", "WinNat"), ("VMMS", "vmms"), ("vm*",), ("*",), ("nope", "WinNat"),
             ("Hyper-V Virtual Machine Management",), ("Windows NAT Driver", "winnat"), ("?inna?", "x*")]
    for names, states in every(lists, every((False, True), repeat=3)):
        assert system._resolved(names, states) == by_rule(names, states), (names, states)  # noqa: SLF001
    lab = generate(seed=7, hosts=1, depth=2, vms_per_host=6)
    guests = [v for v in lab.vms(lab.hosts()[0]) if lab[v].state == "Running" and not lab.platform(v).hyperv_installed][:2]
    ask = (Command("Get-Service", (("Name", ["vmms", "vmcompute", "WinNat", "perf8-check"]),)),)
    powershell.run(lab, guests[0], ask)
    misses = system._resolved.cache_info().misses  # noqa: SLF001
    answer = powershell.run(lab, guests[1], ask)
    assert system._resolved.cache_info().misses == misses  # noqa: SLF001
    assert [e.target_name for e in answer.errors][-1] == "perf8-check"


def test_paths_read_from_the_bound_names_keep_call_names_order_and_none():
    # perf8: _paths read call.named directly; the order Call.names gives (vhd: -Path first; the
    # file store: -LiteralPath first) and a parameter given as $null (no path) are kept
    from nestlab.simulator.cmdlets import filestore, vhd
    from nestlab.simulator.cmdlets.base import Call, TABLE

    def call(name, **named):
        return Call(TABLE[name.lower()], {k.lower(): v for k, v in named.items()}, (), [])

    for named in ({"Path": "a"}, {"LiteralPath": ["b", "c"]}, {"Path": "a", "LiteralPath": "b"}, {"Path": None}, {}):
        expected = call("Test-VHD", **named).names("Path", "LiteralPath")
        assert vhd._paths(call("Test-VHD", **named)) == ([str(p) for p in expected] if expected is not None else [])  # noqa: SLF001
        expected = call("Get-Item", **named).names("LiteralPath", "Path")
        assert filestore._paths(call("Get-Item", **named)) == [str(p) for p in (expected or [])]  # noqa: SLF001


def test_feature_names_match_the_role_and_tools_as_like_says():
    # perf8: Get-WindowsFeature's -Name matching is a pure function of the names, made once per list
    from nestlab.simulator.cmdlets import system
    from nestlab.simulator.cmdlets.wildcards import like

    for names in [("hyper-v",), ("*hyper-v*",), ("rsat-hyper-v-tools", "hyper-v-powershell"), ("nope",), ("hyper-v*",)]:
        role, tools = system._features_named(names)  # noqa: SLF001
        assert role == any(like("hyper-v", n) for n in names)
        assert list(tools) == [t for t in system.TOOLS if any(like(t[0].lower(), n) for n in names)]
    before = system._features_named.cache_info().misses  # noqa: SLF001
    system._features_named(("hyper-v",))  # noqa: SLF001
    assert system._features_named.cache_info().misses == before  # noqa: SLF001


def test_a_minimal_platforms_effective_firewall_rules_are_its_own_in_order():
    # perf8: no built-in rules to merge on a minimal platform: its own rules as they are
    from dataclasses import replace as changed

    from nestlab.simulator.cmdlets import background

    lab = generate(seed=7, hosts=1, depth=2, vms_per_host=6)
    platform = lab.platform(lab.hosts()[0])
    assert not background.realistic(platform)
    rich = changed(platform, os=changed(platform.os, background="realistic"))
    own = background.builtin_rules(rich)[:3]
    own = (*own, changed(own[0], enabled=not own[0].enabled))  # a second rule of the same name
    merged = background.effective_rules(changed(platform, firewall=own))
    assert merged == list(own)
    names = {r.name.lower() for r in background.builtin_rules(rich)}
    assert background.effective_rules(changed(rich, firewall=own)) == \
        [{r.name.lower(): r for r in own}.get(r.name.lower(), r) for r in background.builtin_rules(rich)] + \
        [r for r in own if r.name.lower() not in names]
