"""What the diagnosis knows about a target: an evidence Lab plus the raw facts the model cannot hold.

The collector (`diagnosis.collect`) rebuilds a `Lab` (simulator.model, the same records) from what
the probes returned, and keeps beside it the answers that are not lab state but are how a host
*shows* state: whether a hypervisor is running, the event log, what Test-VHD and Test-Path said,
CPU usage. Rules read both; every fact carries the command and property it came from, so a
finding's evidence is exactly what was seen.

Facts are keyed by the node they are about (a lab-format id):

| key (node)        | field                 | command (as the collector renders it)                                   | property |
|-------------------|-----------------------|-------------------------------------------------------------------------|----------|
| host / VM (guest) | hypervisor_present    | Get-CimInstance -ClassName Win32_ComputerSystem                         | HypervisorPresent (bool) |
| host / VM (guest) | hypervisorlaunchtype  | bcdedit /enum {current}                                                 | hypervisorlaunchtype (the line's value, "Auto"/"Off"; "" when the line is absent) |
| host / VM (guest) | events                | Get-WinEvent -LogName System -MaxEvents N (and the Hyper-V Admin logs)  | Id, ProviderName, Message |
| VM (parent)       | cpu_usage             | Get-VM -Name N                                                          | CPUUsage (int, percent) |
| VM (parent)       | memory_assigned       | Get-VM -Name N                                                          | MemoryAssigned (bytes) |
| VHD               | test_path             | Test-Path -Path P (P = the VHD's path, or a child's ParentPath)         | Result (bool) |
| VHD               | test_vhd_error        | Test-VHD -Path P                                                        | Error (the ErrorRecord's message; absent when Test-VHD passed) |
| VHD (missing parent path; or the child) | parent_search | Get-ChildItem -Path D:\\ -Recurse -Filter LEAF (LEAF = ParentPath's file name) | FullName (tuple of paths found) |
| switch            | switch_guid          | Get-VMSwitch                                                            | Id (the switch's GUID, as text) |
| host / VM (guest) | hyperv_install_state | Get-WindowsFeature -Name Hyper-V (Server) / Get-WindowsOptionalFeature … (client) | InstallState / State by name ("Installed", "InstallPending", "EnablePending" …) |

Beside the facts, `Statements` holds what a person says rather than what a host shows: which VMs
are meant to host nested VMs (`--nested-host`), the error texts seen (`--symptom`, a ticket's free
text, each attached to the node it was seen on) and the services meant to be reachable
(`--reachable VM:PORT`). They are evidence of intent, never of state (docs/severity.md).

A VHD key is `vhd_id(owner, path)` even when no such node is in the lab (a missing parent).
Absent facts mean "not collected": rules then decide from the lab alone, or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from nestlab.diagnosis.findings import EvidenceItem
from nestlab.simulator.model import Lab


@dataclass(frozen=True)
class Fact:
    """One raw answer: the command sent, the property read, the value seen."""

    command: str
    property: str
    value: Any

    def item(self) -> EvidenceItem:
        return EvidenceItem(self.command, self.property, self.value)


@dataclass(frozen=True)
class Event:
    """One event log record (Get-WinEvent): id, provider and rendered message."""

    command: str
    id: int
    provider: str
    message: str

    def items(self) -> tuple[EvidenceItem, ...]:
        return (
            EvidenceItem(self.command, "Id", self.id),
            EvidenceItem(self.command, "Message", self.message),
        )


@dataclass(frozen=True, kw_only=True)
class Facts:
    """The raw facts about one node; see the module docstring for where each comes from."""

    hypervisor_present: Fact | None = None
    hypervisorlaunchtype: Fact | None = None
    events: tuple[Event, ...] = ()
    cpu_usage: Fact | None = None
    memory_assigned: Fact | None = None
    test_path: Fact | None = None
    test_vhd_error: Fact | None = None
    parent_search: Fact | None = None
    hyperv_install_state: Fact | None = None
    switch_guid: Fact | None = None

    def events_with_id(self, *ids: int) -> tuple[Event, ...]:
        return tuple(e for e in self.events if e.id in ids)


NO_FACTS = Facts()


@dataclass(frozen=True)
class Observed:
    """An error text someone saw (a ticket line, `--symptom`), matched to the triage catalog.

    `node` is where it was seen (a lab-format id, or "" when the text does not say); `symptoms`
    are the triage catalog's symptom ids it matched (diagnosis.triage), best first; `source` says
    where the text came from (`--symptom`, `notes.txt:3`).
    """

    text: str
    source: str
    node: str = ""
    symptoms: tuple[str, ...] = ()

    def item(self) -> EvidenceItem:
        return EvidenceItem(self.source, "Text", self.text)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "source": self.source, "node": self.node, "symptoms": list(self.symptoms)}


@dataclass(frozen=True)
class Statements:
    """What a person states about a target: intent and symptoms, never state.

    `nested_hosts` and `reachable` name VMs by name or node id (`L1`, `HV01/L1`); the diagnosis
    resolves them against the evidence lab (diagnosis.intent).
    """

    nested_hosts: tuple[str, ...] = ()
    symptoms: tuple[Observed, ...] = ()
    reachable: tuple[tuple[str, int], ...] = ()  # (VM, TCP port)


NO_STATEMENTS = Statements()


@dataclass(frozen=True)
class Evidence:
    """Everything one diagnosis sees: the evidence lab, raw facts by node id, and where it came from."""

    lab: Lab
    facts: Mapping[str, Facts] = field(default_factory=dict)
    target: str = ""
    collected_at: str = ""
    stated: Statements = NO_STATEMENTS
    memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # derived views (intent)

    def __post_init__(self) -> None:
        object.__setattr__(self, "facts", MappingProxyType(dict(self.facts)))

    def of(self, node_id: str) -> Facts:
        return self.facts.get(node_id, NO_FACTS)

    def hypervisor_present(self, owner: str) -> bool | None:
        """Whether a hypervisor runs on a host or in a VM's guest; None when nobody asked."""
        fact = self.of(owner).hypervisor_present
        return None if fact is None else bool(fact.value)
