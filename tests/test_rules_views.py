"""The views the rules share (diagnosis.views, intent's nested chain): walked once per lab state,
forgotten when the lab changes, and the same answers as the graph walks they replace."""

from __future__ import annotations

import random

import pytest

from nestlab.diagnosis import intent, views
from nestlab.diagnosis.collect import collect
from nestlab.diagnosis.evidence import Evidence, Statements
from nestlab.lab.session import SimSession
from nestlab.simulator.faults import inject_random
from nestlab.simulator.generate import generate
from nestlab.simulator.labfile import load
from nestlab.simulator.model import Lab


def _labs() -> list[Lab]:
    faulty = generate(seed=7, hosts=2, depth=3, vms_per_host=6)
    inject_random(faulty, 3, random.Random(7))
    return [load("builtin:reference"), load("fixtures/labs/azure.yaml"), faulty]


@pytest.fixture(params=range(3), ids=["reference", "azure", "generated"])
def lab(request) -> Lab:
    return _labs()[request.param]


def _walked_platforms(lab: Lab) -> list[str]:
    return [n for host in lab.hosts()
            for n in (host, *(vm for vm in lab.vms(host, recursive=True) if lab[vm].state == "Running"))]


def test_the_views_answer_what_the_graph_walks_answer(lab):
    assert list(views.all_vms(lab)) == lab.all_vms()
    assert list(views.platforms(lab)) == _walked_platforms(lab)
    for node in [*lab.hosts(), *lab.all_vms()]:
        assert list(views.below(lab, node)) == lab.vms(node, recursive=True)


def test_a_view_is_walked_once_and_forgotten_when_the_lab_changes(lab):
    first = views.platforms(lab)
    assert views.platforms(lab) is first  # kept: the second rule to ask walks nothing
    running = next(vm for vm in lab.all_vms() if lab[vm].state == "Running")
    lab.update(running, state="Off")
    assert running in first and running not in views.platforms(lab)


def test_the_nested_chain_is_every_vm_meant_to_nest_or_below_one_or_on_an_azure_vm(lab):
    ev = collect(SimSession(lab), target=lab.name)
    evidence = ev.lab

    def by_ancestors(vm: str) -> bool:  # the definition, as in_chain read it before the walk
        if intent.meant_to_nest(ev, vm) or evidence[evidence.root_host(vm)].kind == "azure-vm":
            return True
        return any(intent.meant_to_nest(ev, a) for a in evidence.ancestors(vm) if evidence.kind(a) == "vm")

    chain = [vm for vm in evidence.all_vms() if intent.in_chain(ev, vm)]
    assert chain == [vm for vm in evidence.all_vms() if by_ancestors(vm)]
    assert isinstance(ev, Evidence) and "chain" in ev.memo  # found once per evidence


def test_the_storage_and_forwarding_views_forget_when_the_lab_changes():
    from nestlab.diagnosis.rules.network import forwards
    from nestlab.diagnosis.rules.storage import children

    lab = generate(seed=100, hosts=1, depth=2, vms_per_host=100)
    _, child, _ = children(lab)[0]
    assert children(lab) is children(lab)
    lab.update(child, parent=None)
    assert child not in {c for _, c, _ in children(lab)}
    owner = next(p for p in views.platforms(lab) if lab.platform(p).portproxy)
    before = forwards(lab, owner)
    assert forwards(lab, owner) is before
    lab.update_platform(owner, portproxy=())
    assert forwards(lab, owner) == tuple(f for f in before if f[4] is not None)


@pytest.mark.parametrize("which", [0, 2], ids=["reference", "generated"])
def test_which_vms_are_meant_to_nest_is_decided_without_citing_what_showed_it(which, monkeypatch):
    """Most rules ask only whether a VM is meant to nest; the citations (for a nested host, each
    VM and switch it holds) are made when a rule asks for the intent itself."""
    lab = _labs()[which]
    ev = collect(SimSession(lab), target=lab.name)
    cited: list[str] = []
    cite = Evidence.cite
    monkeypatch.setattr(Evidence, "cite", lambda self, node, prop, **kw: cited.append(node) or cite(self, node, prop, **kw))
    nested = intent.nested_hosts(ev)
    assert nested and cited == []
    for vm in nested:
        why = intent.intent_of(ev, vm)
        assert why.vm == vm and why.reasons and len(why.evidence) >= len(why.reasons)
        for child in ev.lab.vms(vm):
            assert cite(ev, child, "Name", probe="vms") in why.evidence  # each VM it holds, as shown
    assert set(cited) > set(nested)
    assert intent.intent_of(ev, next(vm for vm in views.all_vms(ev.lab) if vm not in nested)) is None


def test_the_stated_nested_hosts_are_resolved_once_per_evidence(monkeypatch):
    lab = load("builtin:reference")
    ev = collect(SimSession(lab), target=lab.name)
    ev = Evidence(lab=ev.lab, facts=ev.facts, target=ev.target, collected_at=ev.collected_at,
                  stated=Statements(nested_hosts=("L1",)))
    resolved: list[str] = []
    resolve = intent.resolve
    monkeypatch.setattr(intent, "resolve", lambda lab_, name: resolved.append(name) or resolve(lab_, name))
    for vm in intent.nested_hosts(ev):
        assert intent.intent_of(ev, vm).stated == (ev.lab[vm].name == "L1")
    assert resolved == ["L1"]


def test_the_rules_deciding_a_port_are_those_a_scan_of_every_rule_finds_and_forgotten_when_they_change():
    from dataclasses import replace

    from nestlab.diagnosis.rules import network
    from nestlab.simulator.model import FirewallRule

    lab = load("builtin:reference")
    host = lab.hosts()[0]
    pick = random.Random(3)
    rules = tuple(FirewallRule(name=f"r{i}", direction=pick.choice(["inbound", "outbound"]), action=pick.choice(["allow", "block"]),
                               protocol=pick.choice(["TCP", "UDP", "Any"]), port=pick.choice([None, 22, 80, 3389]),
                               enabled=pick.random() < 0.8) for i in range(40))
    lab.update(host, firewall=rules)
    for port in (22, 80, 443, 3389):
        for protocol in ("TCP", "UDP"):
            scanned = [r for r in rules if network._matches(r, port, protocol)]
            assert network.inbound_rules(lab, host, port, protocol) == scanned
            assert network._verdict(scanned) == network.blocking_state(rules, port, protocol)
    lab.update(host, firewall=(replace(rules[0], direction="inbound", enabled=True, port=443, protocol="TCP"),))
    assert network.inbound_rules(lab, host, 443, "TCP") == [lab.platform(host).firewall[0]]


def test_the_chain_vms_are_the_vms_in_the_chain_in_the_labs_order_found_once(lab):
    ev = collect(SimSession(lab), target=lab.name)
    walked = intent.chain_vms(ev)
    assert list(walked) == [vm for vm in ev.lab.all_vms() if intent.in_chain(ev, vm)]
    assert intent.chain_vms(ev) is walked


def test_whether_every_vm_of_an_owner_runs_is_kept_until_the_lab_changes():
    from nestlab.diagnosis.rules import nat

    lab = generate(seed=7, hosts=1, depth=2, vms_per_host=6)
    host = lab.hosts()[0]
    for vm in lab.vms(host):
        lab.update(vm, state="Running")
    assert nat._all_running(lab, host)
    lab.update(lab.vms(host)[-1], state="Off")
    assert not nat._all_running(lab, host)


def test_an_error_seen_on_a_vm_is_matched_to_it_once_per_evidence_first_text_first():
    from nestlab.diagnosis.evidence import Observed

    lab = load("builtin:reference")
    ev = collect(SimSession(lab), target=lab.name)
    vm = ev.lab.all_vms()[-1]
    texts = (Observed("other", "t:1", node=vm, symptoms=("nat-missing",)),
             Observed("first", "t:2", node=vm, symptoms=("slat-missing",)),
             Observed("second", "t:3", node=vm, symptoms=("hypervisor-launch-off",)))
    ev = Evidence(lab=ev.lab, facts=ev.facts, target=ev.target, collected_at=ev.collected_at,
                  stated=Statements(symptoms=texts))
    assert intent._nesting_seen(ev) == {vm: texts[1]}
    assert intent._nesting_seen(ev) is intent._nesting_seen(ev)
    why = intent.intent_of(ev, vm)
    assert f"an error seen in {ev.lab[vm].name} names a nesting failure" in why.reasons
    assert texts[1].item() in why.evidence


# -- perf4: one walk of the nesting, owners that hold nothing to find, the adapters services stand on --


def test_one_walk_of_the_nesting_gives_every_vms_parent_and_is_kept(lab):
    walked = views.nesting(lab)
    assert walked.parent == {vm: lab.parent(vm) for vm in lab.all_vms()}
    assert walked.running == {n: tuple(vm for vm in lab.vms(n) if lab[vm].state == "Running")
                              for n in [*lab.hosts(), *lab.all_vms()]}
    assert all(views.parent(lab, vm) == lab.parent(vm) for vm in lab.all_vms())
    assert views.nesting(lab) is walked
    lab.update(lab.all_vms()[0], state="Off")
    assert views.nesting(lab) is not walked


def test_a_vms_disk_chains_are_files_of_its_parent(lab):
    """What dynamic-vhd's skip of an owner without dynamic disks stands on."""
    from nestlab.diagnosis.rules.common import disk_chains

    for evidence_lab in (lab, collect(SimSession(lab), target=lab.name).lab):
        for vm in evidence_lab.all_vms():
            held = set(evidence_lab.owned(evidence_lab.parent(vm), "vhd"))
            assert {vhd for chain in disk_chains(evidence_lab, vm) for vhd in chain} <= held


def _disk_rules(ev: Evidence) -> tuple[list[str], list[str]]:
    from nestlab.diagnosis.rules import performance

    return ([f.subject for f in performance.dynamic_vhd.run(ev)], [f.subject for f in performance.slow_storage.run(ev)])


def test_dynamic_vhd_and_slow_storage_walk_no_chain_on_an_owner_with_no_dynamic_or_rotational_disk(monkeypatch):
    from dataclasses import replace

    from nestlab.diagnosis.rules import performance

    lab = generate(seed=100, hosts=1, depth=2, vms_per_host=40)
    ev = collect(SimSession(lab), target=lab.name)
    walked: list[str] = []
    chains = performance.disk_chains
    monkeypatch.setattr(performance, "disk_chains", lambda lab_, vm: walked.append(vm) or chains(lab_, vm))
    assert intent.chain_vms(ev) and _disk_rules(ev) == ([], []) and walked == []
    # one owner with a dynamic disk and an HDD: its chain VMs are walked, and found as a full walk finds them
    owner = views.parent(ev.lab, intent.chain_vms(ev)[-1])
    mine = [vm for vm in intent.chain_vms(ev) if views.parent(ev.lab, vm) == owner]
    disk = next(vhd for chain in chains(ev.lab, mine[0]) for vhd in chain)
    ev.lab.update(disk, type="dynamic")
    drive = ev.lab[disk].path[:2].upper()
    ev.lab.update_platform(owner, volumes=tuple(replace(v, media="hdd") if v.drive.upper() == drive else v
                                                for v in ev.lab.platform(owner).volumes))
    ev.memo.clear()
    dynamic, slow = _disk_rules(ev)
    assert dynamic == [vhd for vm in intent.chain_vms(ev) for chain in chains(ev.lab, vm) for vhd in chain
                       if ev.lab[vhd].type == "dynamic"] == [disk]
    assert disk in slow and set(walked) == set(mine)


def test_services_behind_an_owner_share_one_walk_of_its_adapters_and_answer_as_the_walk_did():
    from nestlab.diagnosis.rules import network

    lab = generate(seed=100, hosts=1, depth=2, vms_per_host=100)

    def walked(owner: str, internal_only: bool, system: bool) -> list:  # the walk per variant, as it was
        found = []
        for vm in lab.vms(owner):
            if lab[vm].state != "Running":
                continue
            for adapter in lab.adapters(vm):
                switch, ip = lab.switch_of(adapter), lab[adapter].ip
                if ip is None or switch is None or (internal_only and lab[switch].type != "Internal"):
                    continue
                found += [network.Service(vm, ip.split("/")[0], port, protocol)
                          for port, protocol in network.listeners(lab, vm, system=system)]
        return found

    owners = [p for p in views.platforms(lab) if lab.vms(p)]
    assert any(network.services_behind(lab, o, internal_only=True) for o in owners)
    for owner in owners:
        adapters = network.addressed_adapters(lab, owner)
        for internal_only, system in ((False, False), (False, True), (True, False)):
            assert list(network.services_behind(lab, owner, internal_only=internal_only, system=system)) \
                == walked(owner, internal_only, system)
        assert network.addressed_adapters(lab, owner) is adapters
        assert network.listening_at(lab, owner) == {(s.ip, s.port) for s in walked(owner, False, True) if s.protocol == "TCP"}


def test_a_question_asked_of_every_node_is_answered_once_per_node_and_forgotten_when_the_lab_changes():
    lab = load("builtin:reference")
    asked: list[str] = []

    def answer(node: str):
        return views.per_node(lab, "test.question", node, lambda: asked.append(node))  # None is an answer too

    for _ in range(2):
        for node in lab.hosts():
            assert answer(node) is None
    assert asked == lab.hosts()
    lab.update(lab.hosts()[0], memory_gb=lab[lab.hosts()[0]].memory_gb + 1)
    answer(lab.hosts()[0])
    assert asked == [*lab.hosts(), lab.hosts()[0]]


def test_one_pass_fills_what_the_lab_reads_of_each_host_and_vm_as_it_would_read_it(lab, monkeypatch):
    """Lab.index_owners: the hosts, each host's and VM's VMs and
    holdings, equal to what Lab reads lazily (a fresh copy), and read without a look per node."""
    from nestlab.simulator.model import Lab

    kinds = ("switch", "nat", "vhd", "nic", "adapter")
    for before in (lab, collect(SimSession(lab), target=lab.name).lab):
        lazy, filled = before.copy(), before.copy()
        owners = [*lazy.hosts(), *lazy.nodes("vm")]
        expected = [(lazy.vms(o), [lazy.owned(o, kind) for kind in kinds]) for o in owners]
        filled.index_owners()
        monkeypatch.setattr(Lab, "_owned_by_kind", lambda self, owner: pytest.fail(f"{owner} read again"))
        monkeypatch.setattr(Lab, "_direct_vms", lambda self, owner: pytest.fail(f"{owner} read again"))
        assert filled.hosts() == lazy.hosts()
        assert [(filled.vms(o), [filled.owned(o, kind) for kind in kinds]) for o in owners] == expected
        monkeypatch.undo()
    fresh = lab.copy()
    views.nesting(fresh)  # the walk makes the pass first: no VM's edges are read one by one after it
    monkeypatch.setattr(Lab, "_owned_by_kind", lambda self, owner: pytest.fail(f"{owner} read again"))
    monkeypatch.setattr(Lab, "_direct_vms", lambda self, owner: pytest.fail(f"{owner} read again"))
    assert [(fresh.vms(vm), fresh.owned(vm, "switch")) for vm in views.all_vms(fresh)]


def test_the_declared_platform_tests_are_judged_in_one_pass_as_each_rule_judged_them(lab, monkeypatch):
    from nestlab.diagnosis.rules import common

    read: list[str] = []
    platform = type(lab).platform
    monkeypatch.setattr(type(lab), "platform", lambda self, owner: read.append(owner) or platform(self, owner))
    assert common.PLATFORM_TESTS  # the rules declare theirs at import
    for name, test in common.PLATFORM_TESTS.items():
        assert common.platforms_where(lab, name) == tuple(p for p in views.platforms(lab) if test(platform(lab, p)))
    assert sorted(read) == sorted(views.platforms(lab))  # each record read once, for every test
    from nestlab.simulator.model import Host

    monkeypatch.setitem(common.PLATFORM_TESTS, "test-every-host", lambda p: isinstance(p, Host))
    assert common.platforms_where(lab, "test-every-host") == tuple(p for p in views.platforms(lab) if lab.kind(p) == "host")
    first = common.platforms_where(lab, "winnat-locked")
    host = lab.hosts()[0]
    lab.update(host, services=type(lab[host].services)(winnat="locked"))
    assert host in common.platforms_where(lab, "winnat-locked") and host not in first


def test_orphan_allow_ports_look_behind_the_owner_only_where_a_rule_opens_a_port(monkeypatch):
    from dataclasses import replace

    from nestlab.diagnosis.rules import network
    from nestlab.simulator.model import FirewallRule

    lab = load("builtin:reference")
    host = lab.hosts()[0]
    looked: list[str] = []
    forwards = network.forwards
    monkeypatch.setattr(network, "forwards", lambda lab_, owner: looked.append(owner) or forwards(lab_, owner))
    lab.update(host, firewall=(FirewallRule(name="w", direction="inbound", action="allow", protocol="TCP", port=445),))
    assert network.orphan_allow_ports(lab, host) == [] and looked == []  # a system port: nothing to look behind
    pick = random.Random(5)
    rules = tuple(FirewallRule(name=f"r{i}", direction=pick.choice(["inbound", "outbound"]), action=pick.choice(["allow", "block"]),
                               protocol=pick.choice(["TCP", "UDP", "Any"]), port=pick.choice([None, 80, 8080, 3389, 50000]),
                               enabled=pick.random() < 0.8, group=pick.choice([None, "@FirewallAPI.dll,-1"])) for i in range(40))
    lab.update(host, firewall=rules)
    used = {f[1] for f in forwards(lab, host)}
    assert network.orphan_allow_ports(lab, host) == [
        r.port for r in rules if r.enabled and r.direction == "inbound" and r.action == "allow"
        and r.protocol in ("TCP", "Any") and r.group is None and r.port is not None and r.port not in used
        and not network.system_port(r.port)]
    assert looked == [host]
    lab.update(host, firewall=(replace(rules[0], direction="inbound", action="allow", enabled=True, group=None, port=8080,
                                       protocol="TCP"),))
    assert network.orphan_allow_ports(lab, host) == ([8080] if 8080 not in used else [])
