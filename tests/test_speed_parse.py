"""The evidence rebuild's economies keep its meaning (issue 17, perf3): provenance made when it is
read, and each platform's answers read once. No timing here: what is checked is the behaviour."""

from __future__ import annotations

import copy
import pickle

import pytest

from nestlab.diagnosis import collect, evidence, parse, probes
from nestlab.diagnosis.evidence import Facts, Shown, Source
from nestlab.lab.session import SimSession
from nestlab.simulator import labfile
from nestlab.simulator.model import Lab
from nestlab.simulator.psdata import PSObject, Result


def test_shown_is_the_tuple_of_its_sources_in_entry_order():
    a, b = PSObject(["A"], {"X": 1}), PSObject(["B"], {"X": 2})
    shown = Shown([[("HV01", "vms", "Get-VM", (a, b))], iter([("HV01", "drives", "Get-VMHardDiskDrive", ())])])
    made = (Source("HV01", "vms", "Get-VM", a), Source("HV01", "vms", "Get-VM", b))
    assert shown == made and made == shown and len(shown) == 2 and shown[1] == made[1]
    assert hash(shown) == hash(made) and repr(shown) == repr(made)
    assert Facts(shown=shown) == Facts(shown=made) and Facts(shown=Shown([])) == Facts()
    lazy = Shown([(entry for entry in [("HV01", "vms", "Get-VM", (a,))])])  # a generator group pickles as its Sources
    assert copy.deepcopy(lazy) == pickle.loads(pickle.dumps(lazy)) == (made[0],)


def test_a_rebuild_makes_no_source_until_a_rule_cites_one(monkeypatch):
    """A collection records thousands of sources and a diagnosis reads few: they are made when read.
    Fails if the builder (or Shown) makes Sources eagerly."""
    made = []

    class Counted(Source):
        __slots__ = ()

        def __init__(self, *args):
            made.append(args[1])
            super().__init__(*args)

    monkeypatch.setattr(evidence, "Source", Counted)
    ev = collect.collect(SimSession(labfile.load("builtin:reference")))
    assert made == []
    item = ev.cite(ev.lab.hosts()[0], "Caption", probe="os")
    assert item is not None and item.command == "Get-CimInstance -ClassName Win32_OperatingSystem"
    assert made and set(made) >= {"os"}


def test_read_filters_each_answer_once_and_splits_keys_by_kind():
    vm = PSObject(["VirtualMachine"], {"Name": "L1"})
    answers = {"vms": Result(output=(vm, "text")), "testvhd:C:\\a.vhdx": Result(), "search:C:\\b.vhdx": Result(),
               "vhd:*parents": Result(), "testpath:C:\\b.vhdx": Result(output=(False,))}
    read = parse.Read(answers)
    assert read.objects("vms") == [vm] and read.objects("vms") is read.objects("vms")
    assert list(read.of_kind("testvhd")) == ["C:\\a.vhdx"] and list(read.of_kind("vhd")) == ["*parents"]
    assert [(kind, path) for kind, path, _, _ in read.follow_ups] == [
        ("testvhd", "C:\\a.vhdx"), ("search", "C:\\b.vhdx"), ("testpath", "C:\\b.vhdx")]
    assert parse.missing_parents(read) == parse.missing_parents(answers) == ["C:\\b.vhdx"]


def _edges_in_order(lab) -> list:
    """Every node's out- and in-edges in adjacency order (what `Lab.out`/`into` answer from)."""
    graph = lab.graph
    return [(node, [(dst, list(keys)) for dst, keys in graph._succ[node].items()],
             [(src, list(keys)) for src, keys in graph._pred[node].items()]) for node in graph]


def test_the_builder_links_what_relink_would_in_the_same_order(monkeypatch):
    """The builder makes an owner's uplink, parent and NAT edges itself (its switches, disks and
    NATs are new: nothing to unlink). The lab must be the one `Lab.relink` made at that point,
    edge for edge and in adjacency order, and hold each kind, or the check would be empty.
    Fails if the builder leaves an edge out or links them in another order."""
    lab = labfile.load("builtin:reference")
    ev = collect.collect(SimSession(lab))
    monkeypatch.setattr(parse.Builder, "_derived_links",
                        lambda self, owner, switches, vhds, nats: self.lab.relink(owner))
    relinked = collect.collect(SimSession(lab))
    kinds = {str(key) for _, _, key in ev.lab.graph.edges(keys=True)}
    assert {"uplink", "parent", "nat"} <= kinds
    assert _edges_in_order(ev.lab) == _edges_in_order(relinked.lab)


@pytest.mark.parametrize("module, cls", [(evidence, "Fact"), (evidence, "Event"), (evidence, "Facts"),
                                         (probes, "Probe")])
def test_an_evidence_record_is_made_as_its_dataclass_fields_say_without_the_frozen_init(module, cls):
    """Fact, Event, Facts and Probe set their fields at once (perf4: the generated frozen __init__
    sets each through object.__setattr__): the same parameters, defaults and keyword-only ones, and
    still frozen, equal and hashable as the dataclass says. Fails if a field is added to one but
    not to its __init__, or the generated __init__ comes back."""
    import dataclasses
    import inspect

    kind = getattr(module, cls)
    fields = dataclasses.fields(kind)
    parameters = list(inspect.signature(kind.__init__).parameters.values())[1:]
    assert [(p.name, p.default, p.kind is inspect.Parameter.KEYWORD_ONLY) for p in parameters] == [
        (f.name, inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default, f.kw_only) for f in fields]
    assert "__setattr__" not in kind.__init__.__code__.co_names
    values = {f.name: (f"v{i}" if f.default is dataclasses.MISSING else f.default) for i, f in enumerate(fields)}
    record = kind(**values)
    assert [getattr(record, f.name) for f in fields] == list(values.values())
    assert record == kind(**values) and hash(record) == hash(kind(**values))
    assert dataclasses.replace(record) == record and pickle.loads(pickle.dumps(record)) == record
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(record, fields[0].name, "changed")


def _rebuilt_without_guests(walks, hosts):
    """The rebuild as it was: each host and guest added by itself, the VM's record replaced once
    its guest's answers come (add_host/add_guest without the guests' answers)."""
    builder = parse.Builder(Lab("evidence"))
    for platforms, _ in walks:
        for platform in platforms:
            if platform.parent is None:
                builder.add_host(platform.node, platform.read)
            else:
                builder.add_guest(platform.node, platform.read)
    return builder.finish(), builder.facts


def test_a_running_vm_is_made_once_with_its_guest_when_its_answers_are_in(monkeypatch):
    """perf4: the collector hands the builder every guest's answers, so each Running VM's record is
    made with its guest, listeners and prefixed adapter addresses, not replaced when the guest
    is added. The lab and facts must be the ones the replacing rebuild made, and no VM or
    adapter record replaced. Fails if the builder ignores the guests' answers."""
    from nestlab.simulator.model import VM, Adapter, Lab as ModelLab

    lab = labfile.load("builtin:reference")
    session = SimSession(lab)
    hosts = session.hosts()
    walks = [collect._walk_one(session, host, None) for host in hosts]  # as collect() walks a SimSession
    old_lab, old_facts = _rebuilt_without_guests(walks, hosts)
    replaced = []
    set_record = ModelLab.set
    monkeypatch.setattr(ModelLab, "set", lambda self, node, record: (
        replaced.append(node) if isinstance(record, (VM, Adapter)) and record.name else None,
        set_record(self, node, record))[1])
    builder = parse.Builder(Lab("evidence"))
    for host, walked in zip(hosts, walks):
        collect._rebuild_host(builder, host, walked, collect.Walk())
    ev = evidence.Evidence(lab=builder.finish(), facts=builder.facts)
    assert replaced == []
    assert _edges_in_order(ev.lab) == _edges_in_order(old_lab)
    assert [(n, ev.lab[n]) for n in ev.lab.graph] == [(n, old_lab[n]) for n in old_lab.graph]
    assert dict(ev.facts) == old_facts
    seen = [ev.lab[vm] for vm in ev.lab.all_vms() if ev.lab[vm].state == "Running"]
    assert seen and all(vm.guest.os.build for vm in seen) and any(vm.services for vm in seen)
    assert any("/" in (ev.lab[a].ip or "") for vm in ev.lab.all_vms() for a in ev.lab.adapters(vm))


def test_facts_of_fields_is_the_facts_the_keyword_call_makes():
    """perf5: the builder makes each node's Facts with `Facts.of(fields)` (not an eleven-keyword
    call per node); perf7: holding only the fields given, the others read as the class's defaults.
    For every field given alone and for all of them, each field's value, eq, hash, repr, replace,
    copy and pickle are the keyword call's; an unknown name is refused as the call refuses it.
    Fails if `of` drops a field or the check, or keeps the defaults per instance again."""
    import dataclasses

    names = [f.name for f in dataclasses.fields(Facts)]
    fact = evidence.Fact("Get-VM", "CPUUsage", 5, "h")
    for given in [{}, *({name: fact} for name in names), {name: fact for name in names}]:
        made, called = Facts.of(given), Facts(**given)
        assert [getattr(made, name) for name in names] == [getattr(called, name) for name in names]
        assert made == called and called == made and hash(made) == hash(called) and repr(made) == repr(called)
        assert list(vars(made)) == list(given)  # only what was given is the instance's own
        assert dataclasses.replace(made) == called and pickle.loads(pickle.dumps(made)) == called
        assert copy.deepcopy(made) == called and dataclasses.astuple(made) == dataclasses.astuple(called)
        assert dataclasses.replace(made, events=(1,)) == dataclasses.replace(called, events=(1,))
    with pytest.raises(TypeError):
        Facts(nope=fact)
    with pytest.raises(TypeError):
        Facts.of({"nope": fact})
    with pytest.raises(dataclasses.FrozenInstanceError):
        Facts.of({}).events = ()


def _cited(obj):
    """An answer object as the evidence keeps it since perf8: its cited properties only."""
    return PSObject(obj.type_names, [(k, v) for k, v in obj.items() if k.lower() in evidence.CITED_PROPERTIES],
                    obj.to_string)


def _platform_entries(owner, read):
    """A platform's own sources as the builder listed them before perf7: an entry per probe asked."""
    entries = []
    for key in parse.PLATFORM_OBJECTS:
        result = read.answers.get(key)
        if result is not None:
            entries.append((owner, key, probes.text_of(key),
                            (tuple(map(_cited, read.objects(key))) if result.output else None) or ({},)))
    for key in parse.TEXT_ANSWERS:
        result = read.answers.get(key)
        if result is not None and result.ok:
            entries.append((owner, key, probes.text_of(key), ({"Output": tuple(read.lines(key))},)))
    return entries


def test_a_platforms_own_sources_are_kept_as_one_group_and_read_as_an_entry_per_probe():
    """perf7: a host's or guest's own answers are kept as one PlatformShown (what each probe
    showed), not an entry per probe. Cited, each platform node shows the Sources an entry per
    probe made, after what its parent showed of it (a VM's settings). Fails if a probe, an empty
    answer's `{}`, a text answer or the order is lost, or if the entries come back."""
    builder, walks = _reference_rebuilt()
    kept = {node: list(entries) for node, entries in builder.sources.items()}
    assert all(len(entry) == 4 for entries in kept.values() for entry in entries)
    assert set(builder._platforms) == {p.node for platforms, _ in walks for p in platforms}
    facts = (builder.finish(), builder.facts)[1]
    checked = 0
    for platforms, _ in walks:
        for platform in platforms:
            own = _platform_entries(platform.node, platform.read)
            assert any(key == "bcd" for _, key, _, _ in own) and any(found == ({},) for *_, found in own)
            expected = Shown([kept[platform.node] + own])
            assert facts[platform.node].shown == expected
            assert not any(key in parse.PLATFORM_OBJECTS for _, key, _, _ in kept[platform.node])
            checked += 1
    assert checked > 3 and any(kept[p.node] for platforms, _ in walks for p in platforms)  # guests: their VM first


class _Forgetting(dict):
    """SharedValues' table, switched off: nothing kept, every record made anew."""

    def __setitem__(self, key, value):
        pass


def test_equal_value_records_of_a_rebuild_are_made_once_and_the_lab_is_the_same(monkeypatch):
    """perf7: the builder shares each equal Processor, Memory, OSInfo, Security, Services, Guest,
    listener tuple and VM CPUUsage/MemoryAssigned Fact of a rebuild (SharedValues). The lab and
    facts are the ones making every record anew gives (records in node order), and each kind
    holds as many objects as distinct values.
    Fails if sharing is switched off or a shared record differs from the one it stands for."""
    from nestlab.simulator.generate import generate

    lab = generate(seed=7, hosts=2, depth=2, vms_per_host=30)
    shared_ev = collect.collect(SimSession(lab))
    monkeypatch.setattr(parse.SharedValues, "__init__", lambda self: setattr(self, "_made", _Forgetting()))
    anew_ev = collect.collect(SimSession(lab))
    shared, anew = shared_ev.lab, anew_ev.lab
    records = [(n, shared[n]) for n in shared.graph]
    assert records == [(n, anew[n]) for n in anew.graph]
    assert dict(shared_ev.facts) == dict(anew_ev.facts)
    usage = [f.cpu_usage for f in shared_ev.facts.values() if f.cpu_usage is not None]
    assert len(usage) > 40 and len({id(f) for f in usage}) == len(set(usage)) < len(usage) / 2
    vms = [record for _, record in records if type(record).__name__ == "VM"]
    running = [vm for vm in vms if vm.state == "Running" and vm.guest.os.build]
    assert len(vms) > 40 and len(running) > 20
    for part in (lambda vm: vm.processor, lambda vm: vm.memory):
        assert len({id(part(vm)) for vm in vms}) == len(set(map(part, vms))) < len(vms) / 4
    for part in (lambda vm: vm.guest, lambda vm: vm.guest.os, lambda vm: vm.guest.security, lambda vm: vm.services):
        assert len({id(part(vm)) for vm in running}) == len(set(map(part, running))) < len(running) / 4
    anew_vms = [anew[n] for n in anew.graph if anew.kind(n) == "vm"]
    assert len({id(vm.processor) for vm in anew_vms}) == len(anew_vms)  # the check would see sharing off


def test_a_property_is_read_by_its_windows_name_first_with_the_value_get_gives():
    """perf7: parse.get reads a PSObject's property by the name as written (psdata.property_of)
    before the case-insensitive look-up. Every name in its own case, in another case, a null
    one and a missing one read as `PSObject.get` reads them, and parse.get still gives the
    default for null and missing. Fails if the fallback to `get` (another case) is dropped."""
    from nestlab.simulator.psdata import property_of

    obj = PSObject(["VirtualMachine"], {"Name": "L1", "State": "Running", "Notes": None, "CPUUsage": 0})
    for name in ["Name", "name", "NAME", "State", "sTATE", "Notes", "notes", "CPUUsage", "cpuusage", "Nope", "nope"]:
        assert property_of(obj, name) == obj.get(name)
        assert parse.get(obj, name, "d") == (obj.get(name) if obj.get(name) is not None else "d")
    assert parse.get(obj, "cpuusage", 5) == 0 and parse.get(None, "Name", "d") == "d"
    assert parse.get({"Name": "a"}, "Name") == "a"  # any Mapping (the importer's) by its own get


def test_a_per_file_probe_is_cited_as_the_command_that_was_sent():
    """perf7: text_of renders a per-file probe (Get-VHD, Test-Path, Test-VHD -Path P) without
    making its Command; the text is the sent Command's, spaces and quotes included. Fails if the
    rendering drifts from psdata's (a path with a space is quoted)."""
    for path in ["C:\\VMs\\a.vhdx", "C:\\Hyper V\\b c.avhdx", "D:\\x'y.vhdx", "\\\\srv\\share\\d.vhd", "C:\\é.vhdx"]:
        for kind in ("vhd", "testpath", "testvhd"):
            sent = probes.per_path(kind, path)
            assert probes.text_of(f"{kind}:{path}") == sent.text == str(sent.pipeline[0])


def test_what_a_parent_shows_of_each_vm_is_kept_as_one_group_read_as_its_entries():
    """perf7: what a VM's parent showed of it (Get-VM, Get-VMProcessor, Get-VMMemory, its
    Get-VMHardDiskDrive objects) is one VmShown, read as the entries the builder listed before:
    in that order, a processor or memory not shown left out, the drives one entry. Fails if an
    entry, its command or the order is lost."""
    from nestlab.simulator.model import VM

    builder, walks = _reference_rebuilt()
    groups = {node: group for node, group in builder.sources.items() if isinstance(builder.lab[node], VM)}
    assert groups and all(isinstance(group, parse.VmShown) for group in groups.values())
    reads = {p.node: p.read for platforms, _ in walks for p in platforms}
    for vm, group in groups.items():
        owner, name = vm.rsplit("/", 1)
        read = reads[owner]
        by_name = {key: [o for o in read.objects(key) if o["VMName"] == name] for key in ("processors", "memory", "drives")}
        (shown,) = [v for v in read.objects("vms") if v["Name"] == name]
        expected = [(owner, "vms", probes.text_of("vms"), (_cited(shown),))]
        expected += [(owner, key, probes.text_of(key), tuple(map(_cited, by_name[key][:1])))
                     for key in ("processors", "memory") if by_name[key]]
        expected += [(owner, "drives", probes.text_of("drives"), tuple(map(_cited, by_name["drives"])))] \
            if by_name["drives"] else []
        assert [(o, k, c, tuple(f)) for o, k, c, f in group] == expected
    assert any(len(list(group)) == 4 for group in groups.values())


def test_a_disk_or_adapter_shown_by_one_object_is_kept_as_one_group_read_as_its_entries():
    """perf7: a disk (its Get-VHD object) and an adapter (its Get-VMNetworkAdapter object and, when
    it has one, its BandwidthSetting) are each one ObjectShown, read as the entries the builder
    listed before. Fails if the bandwidth entry, a command or the probe key is lost."""
    from pathlib import Path

    from nestlab.simulator.generate import generate
    from nestlab.simulator.model import Adapter, Vhd

    builder = parse.Builder(Lab("evidence"))
    reads = {}
    case = Path(__file__).parent.parent / "fixtures/cases/slow-nested-lab-on-hdd/lab.yaml"  # bandwidth caps
    for lab in (generate(seed=11, hosts=1, depth=2, vms_per_host=12), labfile.load(str(case))):
        session = SimSession(lab)
        for host in session.hosts():
            walked = collect._walk_one(session, host, None)
            collect._rebuild_host(builder, host, walked, collect.Walk())
            reads.update((p.node, p.read) for p in walked[0])
    adapters = disks = with_bandwidth = 0
    for node, group in builder.sources.items():
        record = builder.lab[node]
        if isinstance(record, Adapter):
            vm = node.split(":adapter:")[0]
            owner = vm.rsplit("/", 1)[0]
            read = reads[owner]
            (shown,) = [a for a in read.objects("vmadapters")
                        if f"{owner}/{a['VMName']}" == vm and a["Name"] == record.name]
            expected = [(owner, "vmadapters", probes.text_of("vmadapters"), (_cited(shown),))]
            setting = parse._bandwidth_settings(read.objects("bandwidth")).get(vm.rsplit("/", 1)[1], {}).get(record.name)
            if setting is not None:
                expected.append((owner, "bandwidth", probes.text_of("bandwidth"), (_cited(setting),)))
                with_bandwidth += 1
            assert isinstance(group, parse.ObjectShown) and list(group) == expected
            adapters += 1
        elif isinstance(record, Vhd):
            (entry,) = list(group)
            owner, key, command, (obj,) = entry
            assert isinstance(group, parse.ObjectShown) and command == probes.text_of(key)
            assert (key, obj) in [(k, _cited(o)) for k, o in reads[owner].keyed_vhd_objects()]
            assert obj["Path"] == record.path
            disks += 1
    assert adapters > 10 and disks > 10 and with_bandwidth


def _reference_rebuilt() -> tuple[parse.Builder, list]:
    """builtin:reference walked and rebuilt host by host, as `collect` does: the builder (not
    finished, so a test can read what it keeps) and each host's walk."""
    session = SimSession(labfile.load("builtin:reference"))
    walks = [collect._walk_one(session, host, None) for host in session.hosts()]
    builder = parse.Builder(Lab("evidence"))
    for host, walked in zip(session.hosts(), walks):
        collect._rebuild_host(builder, host, walked, collect.Walk())
    return builder, walks


# perf8: the evidence keeps of each answer object only the properties a rule cites

_DYNAMIC_CITES = {  # the cite/shown calls whose property or `where` is not written out, with what they pass
    ("rules/common.py", "prop"): (),  # `shown` itself, passing on its caller's
    ("rules/common.py", "where where"): (),
    ("rules/network.py", "where which"): ("Name",),  # {"Name": r.name}
    ("rules/security.py", "name"): ("EnableVirtualizationBasedSecurity", "RequirePlatformSecurityFeatures"),
}


def test_every_property_a_rule_cites_is_one_the_evidence_keeps():
    """perf8: every property name passed to Evidence.cite or rules' `shown` (and every `where`
    key) in the diagnosis and the lab commands is in evidence.CITED_PROPERTIES, which is what the
    builder keeps of each answer object. Fails if a rule cites a name that is not listed (it
    would find nothing), or passes a name that is not written out without it being listed here."""
    import ast
    from pathlib import Path

    root = Path(parse.__file__).parent.parent
    written, dynamic = set(), {}
    for folder in ("diagnosis", "lab"):
        for path in sorted((root / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
                place = {"shown": 3, "cite": 1}.get(name)
                if place is None or len(node.args) <= place:
                    continue
                where = str(path.relative_to(root / folder)) if folder == "diagnosis" else str(path.relative_to(root))
                args = [node.args[place]] + [kw.value for kw in node.keywords if kw.arg == "where"]
                for i, arg in enumerate(args):
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        written.add(arg.value)
                    elif isinstance(arg, ast.Dict) and all(isinstance(k, ast.Constant) for k in arg.keys):
                        written.update(k.value for k in arg.keys)
                    elif not (isinstance(arg, ast.Constant) and arg.value is None):
                        dynamic[(where, ("where " if i else "") + ast.unparse(arg))] = True
    assert len(written) > 40 and set(dynamic) == set(_DYNAMIC_CITES)
    named = written | {n for names in _DYNAMIC_CITES.values() for n in names}
    assert {n.lower() for n in named} <= evidence.CITED_PROPERTIES


class _Every:
    """A CITED_PROPERTIES that holds every name."""

    def __contains__(self, name):
        return True


def _cites(ev):
    """Every node's cite of every kept name, by itself and per probe key its sources have."""
    out = {}
    for node, facts in ev.facts.items():
        keys = {s.probe for s in facts.shown}
        for prop in sorted(evidence.CITED_PROPERTIES):
            out[(node, prop, None)] = ev.cite(node, prop)
            for key in keys:
                out[(node, prop, key)] = ev.cite(node, prop, probe=key)
    return out


def test_the_evidence_keeps_only_the_cited_properties_and_cites_what_the_whole_objects_showed(monkeypatch):
    """perf8: each answer object a node was read from is kept as a PSObject of its cited
    properties (parse.CitedValues: a row of their values, made an object when cited). Every
    cite of every node, of every kept name, by itself and per probe, gives the item the whole
    objects gave, and the kept objects hold no other name. Fails if the builder keeps the whole
    objects again (or keeps too little)."""
    from pathlib import Path

    from nestlab.simulator.generate import generate

    case = Path(__file__).parent.parent / "fixtures/cases/slow-nested-lab-on-hdd/lab.yaml"
    for lab in (generate(seed=7, hosts=2, depth=2, vms_per_host=30), labfile.load("builtin:reference"),
                labfile.load(str(case))):
        kept = collect.collect(SimSession(lab))
        with monkeypatch.context() as m:
            m.setattr(parse, "CITED_PROPERTIES", _Every())  # every property kept: the whole objects
            whole = collect.collect(SimSession(lab))
        assert _cites(kept) == _cites(whole)
        values = [s.values for f in kept.facts.values() for s in f.shown if isinstance(s.values, PSObject)]
        assert values and all(k.lower() in evidence.CITED_PROPERTIES for v in values for k in v)
        whole_values = [s.values for f in whole.facts.values() for s in f.shown if isinstance(s.values, PSObject)]
        assert len(whole_values) == len(values)
        assert sum(map(len, whole_values)) > 3 * sum(map(len, values))


def test_one_objects_row_is_kept_alone_and_equal_text_answers_once():
    """perf8: a probe that showed one object keeps its row alone (no tuple around it), read back as
    that one object; a text answer's lines are one tuple per rebuild for every platform that
    printed the same. Fails if a one-object answer is kept in a tuple again, or each platform
    keeps its own lines."""
    from nestlab.simulator.generate import generate

    lab = generate(seed=7, hosts=2, depth=2, vms_per_host=30)
    session = SimSession(lab)
    builder = parse.Builder(Lab("evidence"))
    reads = {}
    for host in session.hosts():
        walked = collect._walk_one(session, host, None)
        collect._rebuild_host(builder, host, walked, collect.Walk())
        reads.update((p.node, p.read) for p in walked[0])
    alone = texts = 0
    lines: dict[tuple, set] = {}
    for node, own in builder._platforms.items():
        for key, found in zip([k for k, _ in parse._SHOWN_COMMANDS], own.found):
            if found is None or found is parse._NOTHING_SHOWN:
                continue
            if key in parse.TEXT_ANSWERS:
                lines.setdefault(found, set()).add(id(found))
                texts += 1
                continue
            objects = reads[node].objects(key)
            assert parse.made_all(found) == tuple(map(_cited, objects))
            if len(objects) == 1:
                assert type(found[0]) is parse.CitedShape  # the row itself
                alone += 1
    assert alone > 100 and texts > 100
    assert all(len(ids) == 1 for ids in lines.values()) and len(lines) < texts / 4


def test_kept_rows_share_a_shape_per_type_and_names_and_hold_no_answer_index():
    """perf8: objects with an index of their own (a real host's, read from CLIXML) that have the
    same type and property names share one CitedShape, as a cmdlet's objects of one shape do, and
    a shape refers to no object's index (the evidence would keep a whole index per object).
    Fails if each such object gets a shape of its own, or a shape holds the index."""
    import gc

    from nestlab.simulator.psdata import SharedIndex

    cited = parse.CitedValues()
    a = PSObject(["Microsoft.HyperV.PowerShell.VMProcessor"], {"VMName": "L1", "Count": 2, "Reserve": 0})
    b = PSObject(["Microsoft.HyperV.PowerShell.VMProcessor"], {"VMName": "L2", "Count": 4, "Reserve": 0})
    c = PSObject(["Microsoft.HyperV.PowerShell.VMMemory"], {"VMName": "L1", "Startup": 1})
    rows = [cited.row(o) for o in (a, b, c)]
    assert rows[0][0] is rows[1][0] is not rows[2][0]
    assert [parse.made_all(r) for r in rows] == [(_cited(o),) for o in (a, b, c)]
    assert parse.made_all(rows[1])[0]["count"] == 4 and "VMName" not in parse.made_all(rows[1])[0]
    shared = SharedIndex({"count": "Count", "vmname": "VMName"})
    d = PSObject.__new__(PSObject)
    d.type_names, d._props, d._index, d.to_string = a.type_names, {"Count": 8, "VMName": "L3"}, shared, "x"
    row = cited.row(d)
    assert parse.made_all(row)[0] == _cited(d)
    for shape in {r[0] for r in (*rows, row)}:
        assert not any(o is a._index or o is b._index or o is c._index or o is shared for o in gc.get_referents(shape))
