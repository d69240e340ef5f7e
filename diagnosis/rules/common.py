"""What every rule shares: the Rule record, the `rule` decorator, and readers of the evidence lab.

A rule is small (like AutomatedLab's lab validators): for one root-cause id it yields `Hit`s —
subject, message, evidence, fix — and the Rule adds the id's category, severity and reference.
The readers here turn model attributes back into what a host shows (docs/evidence.md: which
command and property), so a rule and the checklist cite evidence the same way.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from nestlab.diagnosis import intent, views
from nestlab.diagnosis.evidence import Evidence
from nestlab.diagnosis.findings import Category, EvidenceItem, Finding, Severity
import nestlab.simulator.actions as actions
from nestlab.simulator.actions import GB, Action, Manual, Note, Run, gb_text, q  # noqa: F401  (the rules' imports)
from nestlab.simulator.actions import cmd as ps  # a resolution's Command (`cmd` here is evidence text)
from nestlab.simulator.model import Lab, NodeId, Platform
from nestlab.simulator.psdata import Command


@dataclass(frozen=True, kw_only=True)
class Hit:
    """What a rule found on one subject; the Rule turns it into a Finding."""

    subject: str
    summary: str
    evidence: tuple[EvidenceItem, ...] = ()
    resolution: tuple[Action, ...] = ()  # simulator.actions: Run / Manual / Note
    explains: tuple[str, ...] = ()
    severity: Severity | None = None  # None = the rule's severity


@dataclass(frozen=True)
class Rule:
    root_cause: str
    category: Category
    severity: Severity
    reference: str
    check: Callable[[Evidence], Iterable[Hit]]

    def run(self, evidence: Evidence) -> list[Finding]:
        return [
            Finding(
                root_cause=self.root_cause,
                category=self.category,
                severity=hit.severity or self.severity,
                subject=hit.subject,
                summary=hit.summary,
                evidence=hit.evidence,
                resolution=hit.resolution,
                explains=hit.explains,
                reference=self.reference,
            )
            for hit in self.check(evidence)
        ]


def rule(root_cause: str, *, category: Category, severity: Severity, reference: str):
    """Declare the function below as the rule for `root_cause`."""

    def wrap(check: Callable[[Evidence], Iterable[Hit]]) -> Rule:
        return Rule(root_cause, category, severity, reference, check)

    return wrap


GUIDE = "troubleshooting guide: "

# ----------------------------------------------------------------------------------------------
# The nesting, as the evidence lab shows it
# ----------------------------------------------------------------------------------------------


def name_of(vm: str) -> str:
    return NodeId.parse(vm).name


def running(lab: Lab, vm: str) -> bool:
    return lab[vm].state == "Running"


def platforms(lab: Lab) -> tuple[str, ...]:
    """Every Windows installation whose answers we have: each host, and each Running VM's guest
    (walked once per lab state: diagnosis.views)."""
    return views.platforms(lab)


PlatformTest = Callable[[Platform], object]
PLATFORM_TESTS: dict[str, PlatformTest] = {}
_WHERE = ("rules.common", "platforms where")


def platform_test(name: str) -> Callable[[PlatformTest], PlatformTest]:
    """Declare the function below as a test of a platform's record (a Host, or a VM's Guest) that a
    rule asks of every platform, for a rare condition: `platforms_where(lab, name)` then gives the
    platforms that pass it."""

    def declare(test: PlatformTest) -> PlatformTest:
        PLATFORM_TESTS[name] = test
        return test

    return declare


def platforms_where(lab: Lab, name: str) -> tuple[str, ...]:
    """The platforms, in platform order, whose record passes the declared test `name`. Every
    declared test is judged in one pass over the platforms per lab state (Lab.memo), each record
    read once, where each rule read every record again for its own condition (on a lab of
    thousands of guests, each read a cache miss)."""
    judged: dict[str, tuple[str, ...]] = lab.memo(_WHERE, dict)
    if name not in judged:  # the first asking, or a test declared since (a rule module imported later)
        judged.update(_judged(lab, [(n, test) for n, test in PLATFORM_TESTS.items() if n not in judged]))
    return judged[name]


def _judged(lab: Lab, tests: list[tuple[str, PlatformTest]]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {name: [] for name, _ in tests}
    for owner in platforms(lab):
        platform = lab.platform(owner)
        for name, test in tests:
            if test(platform):
                found[name].append(owner)
    return {name: tuple(owners) for name, owners in found.items()}


def all_vms(lab: Lab) -> tuple[str, ...]:
    """Every VM, host by host, pre-order (`Lab.all_vms()`, walked once per lab state: diagnosis.views)."""
    return views.all_vms(lab)


def chain_platforms(ev: Evidence) -> tuple[str, ...]:
    """The hosts and guests whose VMs are in the nested chain (diagnosis.intent.chain_owner), in
    platform order; four rules walk them: found once per evidence."""
    cached = ev.memo.get("rules.chain_platforms")
    if cached is None:
        cached = ev.memo["rules.chain_platforms"] = tuple(
            owner for owner in platforms(ev.lab) if intent.chain_owner(ev, owner))
    return cached


def is_hyperv_platform(ev: Evidence, owner: str) -> bool:
    """A host, or a VM meant to run Hyper-V: where VBS, launch type and services matter."""
    return intent.hyperv_platform(ev, owner)


def stranded(lab: Lab, node: str) -> str:
    """"; A, B cannot run": the VMs below a node whose hypervisor cannot run (for a summary)."""
    vms = views.below(lab, node)
    return f"; {', '.join(vms)} cannot run" if vms else ""


def disk_chains(lab: Lab, vm: str) -> tuple[tuple[str, ...], ...]:
    """Each disk of a VM with its parents, child first; only disks the host showed (declared VHDs).
    Two rules read every chain VM's: kept per lab state (Lab.memo)."""
    return views.per_node(lab, "rules.common.disk_chains", vm, lambda: tuple(_disk_chains(lab, vm)))


def _disk_chains(lab: Lab, vm: str) -> Iterator[tuple[str, ...]]:
    for disk in lab.disks(vm):
        chain = [v for v in lab.chain(disk)] if _declared(lab, disk) else []
        yield tuple(v for v in chain if _declared(lab, v))


def _declared(lab: Lab, node: str) -> bool:
    """A node the lab holds a record of (one the host showed), not a mere end of an edge: read
    through `Lab.__getitem__`, as `lab.graph.nodes` makes a networkx view per call."""
    try:
        lab[node]
    except KeyError:  # no such node, or a node without a record
        return False
    return True


def within(subject: str, scope: str) -> bool:
    """Whether `subject` sits at or below the node `scope` in the nesting (an item by its owner)."""
    mine, theirs = NodeId.parse(subject), NodeId.parse(scope)
    return NodeId(mine.path).within(NodeId(theirs.path))


def network_of(cidr: str) -> ipaddress.IPv4Network:
    return ipaddress.ip_interface(cidr).network


# ----------------------------------------------------------------------------------------------
# Evidence: model attributes as the host shows them (docs/evidence.md)
# ----------------------------------------------------------------------------------------------


def cmd(name: str, *arguments: Any, **parameters: Any) -> str:
    return str(Command.of(name, *arguments, **parameters))


def seen(command: str, prop: str, value: Any, on: str = "") -> EvidenceItem:
    """An item no answer recorded: a stated fact (`on=STATED`), or evidence handed over as a lab."""
    return EvidenceItem(command, prop, value, on)


def shown(ev: Evidence, node: str, command: str, prop: str, value: Any, *, probe: str | None = None,
          where: dict[str, Any] | None = None, summary: bool = False) -> EvidenceItem:
    """What a host showed of `node`'s `prop`: the recorded answer (the probe as sent, where it ran,
    the value it had) when the evidence was collected; else `command` as docs/evidence.md names
    it, with the lab's `value`. With `summary` the rule's `value` stands for what it read of the
    answer (a v4tov4 row, "older than a year") and the provenance stays the answer's."""
    extra = {"value": value} if summary else {}
    return ev.cite(node, prop, probe=probe, where=where, **extra) or seen(command, prop, value)


WIN32_OS = cmd("Get-CimInstance", ClassName="Win32_OperatingSystem")
WIN32_CS = cmd("Get-CimInstance", ClassName="Win32_ComputerSystem")
WIN32_CPU = cmd("Get-CimInstance", ClassName="Win32_Processor")
DEVICE_GUARD = cmd("Get-CimInstance", Namespace="root\\Microsoft\\Windows\\DeviceGuard", ClassName="Win32_DeviceGuard")
DEVICE_GUARD_KEY = "HKLM:\\System\\CurrentControlSet\\Control\\DeviceGuard"
DEVICE_GUARD_POLICY_KEY = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\DeviceGuard"


def os_items(ev: Evidence, owner: str) -> tuple[EvidenceItem, ...]:
    os_info = ev.lab.platform(owner).os
    return (shown(ev, owner, WIN32_OS, "Caption", os_info.caption),
            shown(ev, owner, WIN32_OS, "BuildNumber", str(os_info.build)))


def get_vm(vm: str) -> str:
    return cmd("Get-VM", Name=name_of(vm))


def get_vmprocessor(vm: str) -> str:
    return cmd("Get-VMProcessor", VMName=name_of(vm))


def get_vmmemory(vm: str) -> str:
    return cmd("Get-VMMemory", VMName=name_of(vm))


def get_vmnetworkadapter(vm: str) -> str:
    return cmd("Get-VMNetworkAdapter", VMName=name_of(vm))


def startup_item(ev: Evidence, vm: str) -> EvidenceItem:
    return shown(ev, vm, get_vmmemory(vm), "Startup", gb_to_bytes(ev.lab[vm].memory.startup_gb), probe="memory")


def count_item(ev: Evidence, vm: str) -> EvidenceItem:
    return shown(ev, vm, get_vmprocessor(vm), "Count", ev.lab[vm].processor.count, probe="processors")


def cpu_usage_item(evidence: Evidence, vm: str) -> EvidenceItem:
    """CPUUsage as collected; without the number, the workload class the collector derived from it."""
    fact = evidence.of(vm).cpu_usage
    if fact is not None:
        return fact.item()
    return shown(evidence, vm, get_vm(vm), "CPUUsage", ">= 50" if evidence.lab[vm].workload == "heavy" else "< 50")


def hypervisor_item(evidence: Evidence, owner: str) -> tuple[EvidenceItem, ...]:
    fact = evidence.of(owner).hypervisor_present
    return () if fact is None else (fact.item(),)


def gb_to_bytes(gb: float) -> int:
    return actions.gb_bytes(gb)


# ----------------------------------------------------------------------------------------------
# Resolutions: real commands, run where the subject lives (simulator.actions)
# ----------------------------------------------------------------------------------------------
#
# A finding's commands run on the host or guest that holds its subject — a VM's and an adapter's
# on the VM's parent, a switch's, NAT's or VHD's on their owner, a host's on the host. Commands
# meant for a VM's own guest are typed on its parent through PowerShell Direct (`on_platform`:
# `Run(from_parent=True)`, shown as `Invoke-Command -VMName`).


def on_parent(vm: str, *commands: Command) -> tuple[Run, ...]:
    """Commands that change a VM's settings: each runs on the VM's parent."""
    return tuple(Run(NodeId.parse(vm).owner, (c,)) for c in commands)


def on_owner(owner: str, *commands: Command) -> tuple[Run, ...]:
    """Commands typed on a host, or inside a guest (a person signed in to it)."""
    return tuple(Run(NodeId.parse(owner), (c,)) for c in commands)


def while_off(lab: Lab, vm: str, commands: Iterable[Command | tuple[Command, ...]]) -> tuple[Run, ...]:
    """`commands` that need the VM off: preceded by Stop-VM and followed by Start-VM when it runs."""
    return actions.while_off(lab, vm, commands)


def on_platform(lab: Lab, owner: str, commands: Iterable[Command | tuple[Command, ...]]) -> tuple[Run, ...]:
    """Commands for a host itself, or for a VM's guest typed on its parent (Invoke-Command -VMName)."""
    return actions.on_platform(owner, commands)


def reboot(lab: Lab, owner: str) -> Run:
    if lab.kind(owner) == "host":
        return Run(NodeId.parse(owner), (ps("Restart-Computer", Force=True),))
    return Run(NodeId.parse(owner).owner, (ps("Restart-VM", Name=name_of(owner), Force=True),))


def adapter_selector(lab: Lab, adapter: str) -> dict[str, str]:
    """-VMName, plus -Name when the VM has more than one adapter (so only this one changes)."""
    vm = lab.owner(adapter)
    ids = {"VMName": name_of(vm)}
    if len(lab.adapters(vm)) > 1:
        ids["Name"] = lab[adapter].name
    return ids
