"""`nestlab import`: the real samples parse to the values they show; noise is read; bad text
gets file:line errors (lab/importer/)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from nestlab.lab.importer import import_bundle
from nestlab.lab.importer.numbers import parse_decimal, parse_int
from nestlab.lab.importer.parse import parse_file
from nestlab.simulator.errors import BadInput

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO.parent / "shared" / "reference" / "hyperv" / "samples"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"reference samples not present at {SAMPLES}")


def section(file: str, title: str) -> str:
    """The text of one '## Sample …' section of a sample file."""
    lines = (SAMPLES / file).read_text(encoding="utf-8").split("\n")
    starts = [i for i, l in enumerate(lines) if l.startswith("## Sample") or l.startswith("## Table")]
    for n, i in enumerate(starts):
        if lines[i].startswith(f"## {title}"):
            end = starts[n + 1] if n + 1 < len(starts) else len(lines)
            return "\n".join(lines[i + 1:end]) + "\n"
    raise AssertionError(f"no section {title!r} in {file}")


def write(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        target = tmp_path / "bundle" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return tmp_path / "bundle"


def objects(file: str, text: str | None = None):
    text = (SAMPLES / file).read_text(encoding="utf-8") if text is None else text
    parsed = parse_file(file, text)
    return parsed


# -- the real samples ---------------------------------------------------------------------------


@needs_samples
def test_get_vm_fl_sample_imports_its_vm():
    lab = import_bundle(SAMPLES / "get-vm-fl.txt").lab
    vm = lab["HV01/L1-NESTED"]  # host named by ComputerName : HV01
    assert (vm.state, vm.generation, vm.version, vm.clustered) == ("Running", 2, "10.0", False)
    assert vm.processor.count == 4
    assert (vm.memory.startup_gb, vm.memory.dynamic) == (8, False)


@needs_samples
def test_get_vmprocessor_samples():
    parsed = objects("get-vmprocessor.txt")
    assert not parsed.unreadable
    a, b, c, d = parsed.objects
    assert a.text("VMName") == "Base_R92_VM001" and a.text("Count") == "2"
    assert a.text("ExposeVirtualizationExtensions") == "False"
    # the Id wrapped at the console width is joined back exactly
    assert a.text("Id") == "Microsoft:4711AB94-4AED-40B8-B3A0-9388049571AB\\b637f346-6a0e-4dec-af52-bd70cb80a21d\\0"
    assert b.command == "Get-VMProcessor -VMName packer-hyperv-iso | fl"
    assert (b.text("Count"), b.text("ExposeVirtualizationExtensions")) == ("1", "True")
    assert c.text("InstanceID").startswith("Microsoft:B5314955")
    assert (d.view, d.text("VMName"), d.text("Count")) == ("table", "VM300098957", "2")
    lab = import_bundle(SAMPLES / "get-vmprocessor.txt").lab
    vm = lab["AMVAL-216-025/Base_R92_VM001"]
    assert (vm.processor.count, vm.processor.expose_virtualization_extensions) == (2, False)
    assert lab["AMVAL-216-025/VM300098957"].processor.count == 2


@needs_samples
def test_get_vmswitch_samples():
    lab = import_bundle(SAMPLES / "get-vmswitch.txt").lab
    switches = {lab[s].name: lab[s] for s in lab.owned("AMVAL-216-025", "switch")}
    assert switches["managementvSwitch"].type == "External"
    assert switches["Primary Virtual Switch"].type == "External"
    assert switches["nat"].type == "Internal"
    assert switches["Internal NAT"].type == "Internal"
    assert switches["Virtual Switch"].type == "External"


@needs_samples
def test_get_vmnetworkadapter_samples():
    table = objects("get-vmnetworkadapter.txt").objects[0]
    assert (table.text("VMName"), table.text("SwitchName"), table.text("MacAddress")) == ("CLU3VM1", "Public", "00155D081704")
    lab = import_bundle(write_one(section("get-vmnetworkadapter.txt", "Sample B"))).lab
    (adapter,) = lab.adapters("HOST/L1-NESTED")
    assert lab[adapter].mac_spoofing is False
    assert lab[adapter].ip == "192.168.10.51/24"
    assert lab[adapter].mac == "00155D0A2B01"
    assert lab[lab.switch_of(adapter)].name == "External-LAN"


@needs_samples
def test_get_vhd_samples():
    lab = import_bundle(SAMPLES / "get-vhd-fl-differencing.txt").lab
    a = lab["HOSTMACHINE:vhd:C:\\Virtual Machines\\Discs\\HOSTMACHINEDEV.vhdx"]
    assert (a.type, a.size_gb) == ("differencing", 100)
    assert a.parent == "C:\\Virtual Machines\\Discs\\base\\Win11BaseInsider-10.0.22533.vhdx"
    assert a.disk_id == "B87479B3-E57C-4029-BE23-F9CD995E325B"
    lab = import_bundle(write_one(section("get-vhd-fl-differencing.txt", "Sample B"))).lab
    b = lab["HV01:vhd:D:\\Hyper-V\\L1-NESTED\\Virtual Hard Disks\\L1-NESTED_6E1F2C47-5D7B-4C8E-9F0A-1B2C3D4E5F60.avhdx"]
    assert (b.type, b.size_gb, b.parent) == ("differencing", 127, "D:\\Hyper-V\\L1-NESTED\\Virtual Hard Disks\\L1-NESTED.vhdx")


@needs_samples
def test_get_netnat_and_static_mapping_samples(tmp_path):
    bundle = write(tmp_path, {
        "nat.txt": section("get-netnat.txt", "Sample C"),
        "map.txt": section("get-netnatstaticmapping.txt", "Sample B").replace("AKSHCINAT", "MyNATnetwork"),
        "svc.txt": section("get-netnat.txt", "Sample B"),
    })
    lab = import_bundle(bundle).lab
    (nat_id,) = lab.owned("HOST", "nat")
    nat = lab[nat_id]
    assert (nat.name, nat.internal_prefix) == ("MyNATnetwork", "192.168.50.0/24")
    (m,) = nat.static_mappings
    assert (m.protocol, m.external_port, m.internal_ip, m.internal_port) == ("TCP", 7001, "192.168.0.152", 7001)
    assert lab["HOST"].services.winnat == "running"
    a = objects("get-netnatstaticmapping.txt").objects[0]
    assert (a.text("NatName"), a.text("ExternalPort"), a.text("InternalIPAddress")) == ("ContianerNat", "82", "172.16.0.2")


@needs_samples
def test_netsh_portproxy_samples():
    parsed = objects("netsh-portproxy-show-all.txt")
    rules = [(o.text("ListenAddress"), o.text("ListenPort"), o.text("ConnectAddress"), o.text("ConnectPort")) for o in parsed.objects]
    assert rules == [
        ("192.168.226.64", "2222", "10.4.226.215", "22"),
        ("10.129.42.198", "8080", "172.16.5.25", "3389"),
        ("192.168.16.40", "3000", "172.28.208.1", "3000"),
        ("192.168.16.40", "8081", "172.28.208.1", "8081"),
    ]
    lab = import_bundle(write_one(section("netsh-portproxy-show-all.txt", "Sample C"))).lab
    assert [(r.listen_port, r.connect_address) for r in lab["HOST"].portproxy] == [(3000, "172.28.208.1"), (8081, "172.28.208.1")]


@needs_samples
def test_systeminfo_samples():
    lab = import_bundle(write_one(section("systeminfo-hyperv-requirements.txt", "Sample A"))).lab
    host = lab["HOST"]
    assert host.os.caption == "Microsoft Windows 10 Enterprise"
    assert host.cpu.vendor == "Intel"
    assert (host.cpu.virtualization_extensions, host.cpu.slat, host.cpu.enabled_in_firmware) == (True, True, True)
    lab = import_bundle(write_one(section("systeminfo-hyperv-requirements.txt", "Sample B"))).lab
    assert (lab["HOST"].cpu.virtualization_extensions, lab["HOST"].cpu.enabled_in_firmware) == (True, False)
    c = objects("x", section("systeminfo-hyperv-requirements.txt", "Sample C")).objects[0]
    assert c.text("Hyper-V Requirements").startswith("A hypervisor has been detected")


@needs_samples
def test_win32_deviceguard_samples():
    for title in ("Sample A", "Sample B"):
        lab = import_bundle(write_one(section("win32-deviceguard.txt", title))).lab
        security = lab["HOST"].security
        assert (security.vbs, security.credential_guard, security.device_guard) == ("running", True, True)


@needs_samples
def test_get_vm_table_samples():
    d = import_bundle(write_one(section("get-vm-table.txt", "Sample D") + section("get-vm-table.txt", "Sample E"))).lab
    vm = d["HOST/VM300098957"]
    assert (vm.state, vm.version, vm.memory.startup_gb, vm.memory.dynamic) == ("Off", "10.0", 4, True)
    a = objects("x", section("get-vm-table.txt", "Sample A")).objects
    assert [(o.text("Name"), o.text("State"), o.text("MemoryAssigned(M)"), o.text("Version")) for o in a] == [
        ("Atlantis VM", "Running", "1024", "5.0"), ("SGC VM", "Running", "538", "6.2")]
    c = import_bundle(write_one(section("get-vm-table.txt", "Sample C"))).lab["HOST/Base_R92_VM001"]
    assert (c.state, c.generation) == ("Running", 2)


@needs_samples
def test_sample_with_a_note_line_is_reported_with_file_and_line():
    with pytest.raises(BadInput) as err:
        import_bundle(SAMPLES / "get-vm-table.txt", strict=True)
    assert "get-vm-table.txt:24:" in str(err.value)


@needs_samples
def test_convertto_json_sample():
    lab = import_bundle(SAMPLES / "get-vm-convertto-json.txt").lab
    vm = lab["HOST/L1-NESTED"]
    assert vm.state == "Running" and vm.generation == 2
    assert (vm.memory.startup_gb, vm.memory.dynamic) == (8, False)


@needs_samples
def test_other_samples_parse():
    feature = objects("x", section("get-windowsfeature-hyperv.txt", "Sample A")).objects[0]
    assert (feature.text("Name"), feature.text("Install State")) == ("Hyper-V", "Installed")
    ci = objects("x", section("get-computerinfo-hyperv.txt", "Sample C")).objects[0]
    assert ci.text("HyperVisorPresent") == "True"
    ms = objects("x", section("msinfo32-vbs.txt", "Sample A")).objects[0]
    assert ms.text("Virtualization-based security") == "Running"
    logged = objects("x", section("get-windowsfeature-hyperv.txt", "Sample D"))
    assert logged.errors[0].error_id == "Alteration_PrerequisiteCheck_Failed"


def write_one(text: str, tmp: list[Path] = []) -> Path:  # noqa: B006 - one scratch folder per test run
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="nestlab-import-"))
    (folder / "output.txt").write_text(text, encoding="utf-8")
    return folder


# -- noise people paste ----------------------------------------------------------------------


def test_prompts_wrapped_lines_and_any_order(tmp_path):
    bundle = write(tmp_path, {
        "b.txt": "PS C:\\Users\\admin> Get-VMProcessor -VMName L1 | fl *\n\n"
                 "VMName                         : L1\nCount                          : 4\n"
                 "ExposeVirtualizationExtensions : True\n",
        "a.txt": "C:\\Windows\\system32>systeminfo\n\nHost Name:                 HV07\n"
                 "OS Name:                   Microsoft Windows Server 2022 Datacenter\n"
                 "OS Version:                10.0.20348 N/A Build 20348\n"
                 "Total Physical Memory:     131.072 MB\n",
    })
    lab = import_bundle(bundle).lab
    assert lab["HV07"].memory_gb == 128
    assert lab["HV07/L1"].processor.expose_virtualization_extensions is True


def test_other_locales_numbers():
    assert parse_int("131,072") == parse_int("131.072") == parse_int("131\u00a0072") == 131072
    assert parse_decimal("1,46") == parse_decimal("1.46") == 1.46
    assert parse_decimal("1.234,5") == parse_decimal("1,234.5") == 1234.5


def test_truncated_value_that_matters_is_an_error(tmp_path):
    bundle = write(tmp_path, {"sw.txt": "\nName                   SwitchType NetAdapterInterfaceDescription\n"
                                        "----                   ---------- ------------------------------\n"
                                        "Primary Virtual Swi... External   QLogic\n"})
    with pytest.raises(BadInput) as err:
        import_bundle(bundle)
    assert "sw.txt:4:" in str(err.value) and "cut short" in str(err.value)


def test_enumeration_limit_keeps_whole_items(tmp_path):
    bundle = write(tmp_path, {"a.txt": "VMName             : L1\nName               : Network Adapter\n"
                                       "SwitchName         : External\nMacAddress         : 00155D000001\n"
                                       "MacAddressSpoofing : On\n"
                                       "IPAddresses        : {10.0.0.5, fe80::1, 10.0.0.6, 10.0.0.7...}\n"})
    lab = import_bundle(bundle).lab
    (adapter,) = lab.adapters("HOST/L1")
    assert lab[adapter].ip == "10.0.0.5/24" and lab[adapter].mac_spoofing is True


def test_garbage_line_gets_file_and_line(tmp_path):
    bundle = write(tmp_path, {"vm.txt": "Name       : L1\nState      : Running\nGeneration : 2\n\nthis is not output\n"})
    with pytest.raises(BadInput) as err:
        import_bundle(bundle, strict=True)
    assert str(err.value).startswith("vm.txt:5:")


def test_unknown_enum_value_gets_file_and_line(tmp_path):
    bundle = write(tmp_path, {"vm.txt": "Name       : L1\nState      : Runing\nGeneration : 2\n"})
    with pytest.raises(BadInput) as err:
        import_bundle(bundle)
    assert "vm.txt:2: State: unknown value 'Runing'" in str(err.value)


def test_truncated_file_gets_file_and_line(tmp_path):
    bundle = write(tmp_path, {"sys.txt": "Host Name:                 HV07\nTotal Physical Memory:     131,0"})
    with pytest.raises(BadInput) as err:
        import_bundle(bundle, strict=True)
    assert "sys.txt:2:" in str(err.value)


def test_manifest_context_and_known_empty_outputs(tmp_path):
    """An empty portproxy output that the manifest says ran means 'no rules', not an assumption."""
    bundle = write(tmp_path, {
        "HV01/netsh.txt": "",
        "HV01/L1/vm.txt": "Name       : L2\nState      : Off\nGeneration : 1\n",
        "manifest.json": json.dumps({"format": "nestlab-bundle/1", "lab": "t", "entries": [
            {"file": "HV01/netsh.txt", "host": "HV01", "vm": [], "command": "netsh interface portproxy show all", "status": "ok"},
            {"file": "HV01/L1/vm.txt", "host": "HV01", "vm": ["L1"], "command": "Get-VM | Format-List *", "status": "ok"},
        ]}),
    })
    imported = import_bundle(bundle)
    assert imported.lab["HV01/L1/L2"].generation == 1
    assert imported.lab["HV01/L1"].state == "Running"  # its guest answered PowerShell Direct
    assert not any(a.startswith("HV01: portproxy") for a in imported.assumptions)
    assert any(a.startswith("HV01/L1: portproxy") for a in imported.assumptions)


def test_zip_bundle(tmp_path):
    zpath = tmp_path / "ticket.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("ticket/get-vm.txt", "Name       : L1\nState      : Saved\nGeneration : 2\nComputerName : HVZ\n")
    imported = import_bundle(zpath)
    assert imported.lab["HVZ/L1"].state == "Saved"
    assert imported.text().startswith("# Imported by `nestlab import`")
    assert "#   - HVZ: os not shown by the bundle" in imported.text()


# -- a customer's ticket as sent (fixtures/bundles/) ------------------------------------------------

BUNDLES = REPO / "fixtures" / "bundles"


def test_customer_ticket_imports_what_it_shows():
    imported = import_bundle(BUNDLES / "contoso-ticket")
    lab = imported.lab
    host = lab["HV-CONTOSO01"]
    assert (host.os.caption, host.os.build, host.memory_gb) == ("Microsoft Windows Server 2022 Datacenter", 20348, 128)
    assert host.portproxy[0].connect_address == "192.168.200.10"
    assert host.files_missing == ("D:\\Hyper-V\\L1-NESTED\\L1-NESTED.vhdx",)
    assert lab.owned("HV-CONTOSO01", "nat") == []  # Get-NetNat ran and printed nothing
    vm = lab["HV-CONTOSO01/L1-NESTED"]
    assert (vm.state, vm.processor.count, vm.processor.expose_virtualization_extensions) == ("Running", 4, False)
    assert (vm.memory.startup_gb, vm.memory.dynamic) == (8, False)
    (adapter,) = lab.adapters("HV-CONTOSO01/L1-NESTED")
    assert (lab[adapter].mac_spoofing, lab[adapter].ip) == (False, "192.168.10.51/24")
    (nat,) = lab.owned("HV-CONTOSO01/L1-NESTED", "nat")
    assert lab[nat].internal_prefix == "192.168.200.0/24"
    assert lab["HV-CONTOSO01/L1-NESTED"].guest.security.vbs == "not-enabled"
    assert "HV-CONTOSO01/L1-NESTED: disks not shown by the bundle; default []" in imported.assumptions
    assert not any(a.startswith("HV-CONTOSO01: nat") for a in imported.assumptions)


def test_truncated_ticket_fails_with_file_and_line():
    with pytest.raises(BadInput) as err:
        import_bundle(BUNDLES / "truncated-ticket")
    assert str(err.value).startswith("get-vmprocessor.txt:7: ExposeVirtualizationExtensions: unknown value 'Tr'")


def test_lab_file_lists_assumptions_on_top_and_loads(tmp_path):
    from nestlab.simulator import labfile

    imported = import_bundle(BUNDLES / "contoso-ticket")
    text = imported.text()
    head = text.split("\nlab:", 1)[0].splitlines()
    assert all(line.startswith("#") for line in head)
    assert "#   - HV-CONTOSO01: hypervisor_launch not shown by the bundle; default 'auto'" in head
    (tmp_path / "lab.yaml").write_text(text)
    assert labfile.load(tmp_path / "lab.yaml") == imported.lab


@needs_samples
def test_event_log_samples():
    a = objects("x", section("eventlog-hyperv-worker-vmms.txt", "Sample A")).objects[0]
    assert (a.text("Id"), a.text("ProviderName"), a.text("LevelDisplayName")) == ("3112", "Microsoft-Windows-Hyper-V-Worker", "Error")
    assert a.text("Message") == "The virtual machine could not be started because the hypervisor is not running."
    c = section("eventlog-hyperv-worker-vmms.txt", "Sample C")
    xml = "\n".join(l for l in c.splitlines() if l.startswith("<Event "))
    event = objects("x", xml).objects[0]
    assert (event.text("Id"), event.text("LogName")) == ("19100", "Microsoft-Windows-Hyper-V-VMMS-Admin")
    assert event.text("MachineName") == "HV-NODE04.corp.contoso.test"
    # the rendered message alone (no Event Viewer fields around it) is not an output: reported, not guessed
    assert objects("x", c).unreadable[0].startswith("x:1:")


@needs_samples
def test_non_outputs_among_samples_are_reported_with_file_and_line():
    """A provider's message catalog and a CLIXML excerpt are not command output a bundle holds."""
    for name in ("eventlog-hyperv-hypervisor.txt", "psrp-clixml-get-vm-excerpt.txt"):
        with pytest.raises(BadInput) as err:
            import_bundle(SAMPLES / name, strict=True)
        assert str(err.value).startswith(f"{name}:")
    truncated = objects("x", section("get-computerinfo-hyperv.txt", "Sample B"))
    assert truncated.unreadable and truncated.unreadable[0].startswith("x:3:")


def test_windows_powershell_redirect_is_utf16(tmp_path):
    """`Get-VM | fl * > vm.txt` in Windows PowerShell 5.1 writes UTF-16 LE with a BOM."""
    (tmp_path / "b").mkdir()
    text = "\r\nName       : L1\r\nState      : Paused\r\nGeneration : 1\r\n"
    (tmp_path / "b" / "vm.txt").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    vm = import_bundle(tmp_path / "b").lab["HOST/L1"]
    assert (vm.state, vm.generation) == ("Paused", 1)


def test_word_wrapped_value_keeps_its_spaces(tmp_path):
    """Text that went through a ticket or a mail is wrapped at spaces (lines of different lengths)."""
    import textwrap

    label = "ParentPath              : "
    path = "D:\\Hyper-V\\Virtual Hard Disks\\" + "Long Folder Name\\" * 8 + "L1.vhdx"
    wrapped = textwrap.wrap(path, 100 - len(label))
    assert len({len(w) for w in wrapped[:-1]}) > 1  # the wrap really is ragged
    lines = [label + wrapped[0]] + [" " * len(label) + w for w in wrapped[1:]]
    bundle = write(tmp_path, {"vhd.txt": "Path                    : D:\\a.avhdx\nVhdType                 : Differencing\n"
                                          + "\n".join(lines) + "\nSize                    : 1073741824\n"})
    assert import_bundle(bundle).lab["HOST:vhd:D:\\a.avhdx"].parent == path


def test_a_folder_that_names_no_vm_is_part_of_its_parent(tmp_path):
    bundle = write(tmp_path, {
        "vm.txt": "Name       : L1\nState      : Running\nGeneration : 2\nComputerName : HV9\n",
        "logs/nat.txt": "PS C:\\> Get-NetNat\nName                             : N\nInternalIPInterfaceAddressPrefix : 10.9.0.0/24\n",
        "L1/nat.txt": "PS C:\\> Get-NetNat\nName                             : Inner\nInternalIPInterfaceAddressPrefix : 10.8.0.0/24\n",
    })
    imported = import_bundle(bundle)
    assert [imported.lab[n].name for n in imported.lab.owned("HV9", "nat")] == ["N"]
    assert [imported.lab[n].name for n in imported.lab.owned("HV9/L1", "nat")] == ["Inner"]
    assert "HV9/logs" not in imported.lab
    assert "folder 'logs' names no VM of its parent; read as part of it" in imported.assumptions


def test_memory_columns_in_mb_are_read_as_the_collector_reads_bytes(tmp_path):
    """Get-VM's default table prints MemoryAssigned(M): a static VM running with other memory than
    its configured Startup has that change pending, as a host's answer in bytes says (parse.vm_memory)."""
    bundle = write(tmp_path, {
        "vm.txt": "PS C:\\> Get-VM\n\n"
                  "Name State   CPUUsage(%) MemoryAssigned(M) Uptime           Status             Version\n"
                  "---- -----   ----------- ----------------- ------           ------             -------\n"
                  "L1   Running 2           8192              01:02:03.4560000 Operating normally 10.0\n",
        "mem.txt": "PS C:\\> Get-VMMemory -VMName L1\n\n"
                   "VMName DynamicMemoryEnabled Minimum(M) Startup(M) Maximum(M)\n"
                   "------ -------------------- ---------- ---------- ----------\n"
                   "L1     False                512        4096       1048576\n",
    })
    memory = import_bundle(bundle).lab["HOST/L1"].memory
    assert (memory.startup_gb, memory.dynamic, memory.pending_startup_gb) == (8, False, 4)
