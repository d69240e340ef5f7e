"""What the diagnosis knows about a target: an evidence Lab plus the raw facts the model cannot hold.

The collector (`diagnosis.collect`) rebuilds a `Lab` (simulator.model, the same records) from what
the probes returned, and keeps beside it the answers that are not lab state but are how a host
*shows* state: whether a hypervisor is running, the event log, what Test-VHD and Test-Path said,
CPU usage. Rules read both; every fact carries the command and property it came from, and where
it was seen, so a finding's evidence is exactly what was seen.

Provenance: each node's `Facts.shown` lists the answers its lab attributes were read from
(`Source`: the host or guest the probe ran in, the probe exactly as sent, the object), and
`Evidence.cite(node, property)` turns one property of them into an EvidenceItem. A VM's own
settings are seen on its parent (`Get-VMProcessor -VMName *` on HV01); its guest's answers on the VM
(`HV01/L1`). What a person stated is cited with `seen_on = STATED` (or the node a symptom was seen on).

Facts are keyed by the node they are about (a lab-format id):

| key (node)        | field                 | command (as the collector renders it)                                   | property |
|-------------------|-----------------------|-------------------------------------------------------------------------|----------|
| host / VM (guest) | hypervisor_present    | Get-CimInstance -ClassName Win32_ComputerSystem                         | HypervisorPresent (bool) |
| host / VM (guest) | hypervisorlaunchtype  | bcdedit /enum {current}                                                 | hypervisorlaunchtype (the line's value, "Auto"/"Off"; "" when the line is absent) |
| host / VM (guest) | events                | Get-WinEvent -LogName System -MaxEvents N (and the Hyper-V Admin logs)  | Id, ProviderName, Message |
| VM (parent)       | cpu_usage             | Get-VM, then Select-Object -Property Name,State,… (VM_PROPERTIES) | CPUUsage (int, percent) |
| VM (parent)       | memory_assigned       | same                                                                    | MemoryAssigned (bytes) |
| VHD               | test_path             | Test-Path -Path P (P = the VHD's path, or a child's ParentPath)         | Result (bool) |
| VHD               | test_vhd_error        | Test-VHD -Path P                                                        | Error (the ErrorRecord's message; absent when Test-VHD passed) |
| VHD (missing parent path; or the child) | parent_search | Get-ChildItem -Path C:\\,D:\\ -Recurse -Filter LEAF (every volume; LEAF = ParentPath's file name) | FullName (tuple of paths found) |
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
from typing import Any, Iterable, Iterator, Mapping, Sequence

from nestlab.diagnosis.findings import STATED, EvidenceItem
from nestlab.simulator.model import Lab


@dataclass(frozen=True)
class Fact:
    """One raw answer: the command sent, the property read, the value seen, where it ran."""

    command: str
    property: str
    value: Any
    seen_on: str = ""  # the host or guest the probe ran in (a node id)

    def __init__(self, command: str, property: str, value: Any, seen_on: str = "") -> None:
        # The fields set at once, as psdata's records do: the generated frozen __init__ sets each
        # through object.__setattr__, and a rebuild makes ~1,000 Facts' Fact per 200 VMs. @dataclass
        # keeps an __init__ the class defines; tests/test_speed_parse.py keeps the signatures alike.
        self.__dict__.update(command=command, property=property, value=value, seen_on=seen_on)

    def item(self) -> EvidenceItem:
        return EvidenceItem(self.command, self.property, self.value, self.seen_on)


@dataclass(frozen=True)
class Event:
    """One event log record (Get-WinEvent): id, provider and rendered message."""

    command: str
    id: int
    provider: str
    message: str
    seen_on: str = ""  # the host or guest whose log it is (a node id)

    def __init__(self, command: str, id: int, provider: str, message: str, seen_on: str = "") -> None:
        # set at once, as Fact's __init__ (one per event record a probe read)
        self.__dict__.update(command=command, id=id, provider=provider, message=message, seen_on=seen_on)

    def items(self) -> tuple[EvidenceItem, ...]:
        return (
            EvidenceItem(self.command, "Id", self.id, self.seen_on),
            EvidenceItem(self.command, "Message", self.message, self.seen_on),
        )


@dataclass(frozen=True, slots=True)
class Source:
    """Where an attribute of the evidence lab came from: one object a probe returned.

    `seen_on` is the host or guest the probe ran in (a node id: a VM's own attributes are seen
    on its parent, its guest's on the VM), `command` the probe exactly as sent, `probe` its key
    in the plan (diagnosis.probes), `values` the object's properties that a rule may cite
    (`CITED_PROPERTIES`; a PSObject of those, or a mapping for a text answer). `Evidence.cite`
    turns one property of it into an EvidenceItem.
    """

    seen_on: str
    probe: str
    command: str
    values: Mapping[str, Any]


# The properties a rule cites (Evidence.cite's `prop`) or picks an object by (`where`'s keys),
# lower-cased (PowerShell names ignore case). The builder keeps of each answer object only these
# (diagnosis.parse.CitedValues): an object keeps all its properties while a diagnosis cites a few
# dozen names, and the objects were half of what an evidence keeps (a VM's network adapter alone
# has 83). So `cite` of a name that is not here finds nothing, as for a property no host showed:
# tests/test_speed_parse.py reads every cite and `shown` call of the diagnosis and checks that
# each name it passes is listed here.
CITED_PROPERTIES = frozenset(name.lower() for name in (
    "Action", "BuildNumber", "CPUUsage", "Caption", "Count", "DriveLetter", "DynamicMemoryEnabled",
    "EnableVirtualizationBasedSecurity", "Enabled", "ExposeVirtualizationExtensions", "ExternalPort", "Filter Name",
    "Generation", "IPAddress", "InstallState", "InstalledOn", "IntegrationServicesState", "InterfaceAlias",
    "InternalIPAddress", "InternalIPInterfaceAddressPrefix", "IsClustered", "LocalPort", "MacAddressSpoofing",
    "Manufacturer", "MaximumBandwidth", "MediaType", "MemoryAssigned", "Name", "NumberOfLogicalProcessors",
    "ParentPath", "Path", "PrefixLength", "RequirePlatformSecurityFeatures", "SecondLevelAddressTranslationExtensions",
    "SecurityServicesRunning", "Startup", "State", "Status", "SwitchName", "SwitchType", "TotalPhysicalMemory",
    "VMMonitorModeExtensions", "VhdType", "VirtualizationBasedSecurityStatus", "VirtualizationFirmwareEnabled",
    "displayName", "v4tov4", "vmSize",
))


class Shown(Sequence[Source]):
    """A node's sources (`Facts.shown`), made when first read.

    A rebuild records some twenty answer objects per VM as provenance, and a diagnosis cites a
    small share of the nodes (Evidence.cite: about one VM in two at 200 VMs, each read once). So the
    builder hands over groups of entries, (seen_on, probe key, command, objects) — one entry per
    probe; a platform's own probes as one group — and each object's Source is made when the
    node is first read. Compares, hashes and prints as the tuple of its Sources, so a Facts built
    either way is the same value.
    """

    __slots__ = ("_groups", "_sources")

    def __init__(self, groups: Iterable[Iterable[tuple[str, str, str, Iterable[Any]]]]) -> None:
        self._groups = groups
        self._sources: tuple[Source, ...] | None = None

    def _made(self) -> tuple[Source, ...]:
        if self._sources is None:
            self._sources = tuple(Source(seen_on, probe, command, values) for group in self._groups
                                  for seen_on, probe, command, found in group for values in found)
            self._groups = ()
        return self._sources

    def __getitem__(self, index: Any) -> Any:
        return self._made()[index]

    def __len__(self) -> int:
        return len(self._made())

    def __iter__(self) -> Iterator[Source]:
        return iter(self._made())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Shown):
            return self._made() == other._made()
        if isinstance(other, tuple):
            return self._made() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._made())

    def __repr__(self) -> str:
        return repr(self._made())

    def __reduce__(self) -> tuple:
        """Pickled and copied as its Sources (a group may be any iterable, a generator included)."""
        return Shown, ([[(s.seen_on, s.probe, s.command, (s.values,)) for s in self._made()]],)


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
    shown: Sequence[Source] = ()  # the answers this node's lab attributes were read from (a Shown)
    switch_guid: Fact | None = None

    def __init__(self, *, hypervisor_present: Fact | None = None, hypervisorlaunchtype: Fact | None = None,
                 events: tuple[Event, ...] = (), cpu_usage: Fact | None = None, memory_assigned: Fact | None = None,
                 test_path: Fact | None = None, test_vhd_error: Fact | None = None, parent_search: Fact | None = None,
                 hyperv_install_state: Fact | None = None, shown: Sequence[Source] = (),
                 switch_guid: Fact | None = None) -> None:
        # The eleven fields set at once (the generated frozen __init__ sets each through
        # object.__setattr__): the rebuild makes one Facts per node, ~800 per 200 VMs, each with one
        # to three fields given. tests/test_speed_parse.py keeps the signature the fields'.
        self.__dict__.update(hypervisor_present=hypervisor_present, hypervisorlaunchtype=hypervisorlaunchtype,
                             events=events, cpu_usage=cpu_usage, memory_assigned=memory_assigned, test_path=test_path,
                             test_vhd_error=test_vhd_error, parent_search=parent_search,
                             hyperv_install_state=hyperv_install_state, shown=shown, switch_guid=switch_guid)

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> "Facts":
        """The Facts with these fields (by name) and the others' defaults: equal to `Facts(**fields)`,
        as the builder makes one per node (~4,000 per 1,000 VMs) from the fields it gathered. Only
        the given fields are the instance's own: a field left out reads its default from the class
        (the dataclass keeps each default there), and eq, hash, repr, replace and pickle read fields
        by name. A node has one to three facts of eleven, and a dict of all eleven was 0.5 KB per
        node kept as long as the evidence (~20 MB at 10,000 VMs). A name that is not a field is
        refused, as the call would."""
        if not fields.keys() <= _FACTS_FIELDS:
            raise TypeError(f"Facts has no field {sorted(set(fields) - _FACTS_FIELDS)[0]!r}")
        facts = object.__new__(cls)
        facts.__dict__.update(fields)
        return facts

    def events_with_id(self, *ids: int) -> tuple[Event, ...]:
        return tuple(e for e in self.events if e.id in ids)


NO_FACTS = Facts()
_FACTS_FIELDS = frozenset(NO_FACTS.__dict__)  # Facts.of's check
_RECORDED = object()  # Evidence.cite: the value as the answer had it


def _same(shown: Any, wanted: Any) -> bool:
    """A property matches as PowerShell compares: text without regard to case."""
    if isinstance(wanted, str) or isinstance(shown, str):
        return str(shown).lower() == str(wanted).lower()
    return shown == wanted


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
        return EvidenceItem(self.source, "Text", self.text, self.node or STATED)

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

    def cite(self, node: str, prop: str, *, probe: str | None = None, where: Mapping[str, Any] | None = None,
             value: Any = _RECORDED) -> EvidenceItem | None:
        """The recorded answer that showed `prop` of `node`: the probe as sent, where it ran and the
        value it had; None when the evidence holds no such answer (not collected, or not shown).

        `probe` picks the answer of one probe key, `where` one object among several (a service by
        `Name`, a volume by `DriveLetter`); `value` replaces the recorded value by what a rule read
        from it (a v4tov4 row, "older than a year"), keeping the provenance.
        """
        for source in self.of(node).shown:
            if probe is not None and source.probe != probe:
                continue
            if where and not all(_same(source.values.get(k), v) for k, v in where.items()):
                continue
            if prop not in source.values and (probe is None or value is _RECORDED):
                continue  # a text answer (probe named, value given) has no properties of its own
            shown = source.values[prop] if value is _RECORDED else value
            return EvidenceItem(source.command, prop, shown, source.seen_on)
        return None

    def hypervisor_present(self, owner: str) -> bool | None:
        """Whether a hypervisor runs on a host or in a VM's guest; None when nobody asked."""
        fact = self.of(owner).hypervisor_present
        return None if fact is None else bool(fact.value)
