"""Answers → an evidence Lab: rebuild the model from what a host and its guests showed.

Each function reads the answers of the probes named in `diagnosis.probes`, by the real property
names of docs/evidence.md, and nothing else. What a host cannot show takes the lab format's
default (the evidence lab then agrees with any lab that has that default), and the raw answers
that are not state (HypervisorPresent, events, Test-VHD errors …) go into `Facts`.
"""

from __future__ import annotations

import ipaddress
import re
from operator import itemgetter
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Iterable, Iterator, Mapping, Sequence

from nestlab.diagnosis import probes
from nestlab.diagnosis.evidence import CITED_PROPERTIES, Event, Fact, Facts, Shown
from nestlab.simulator.model import (
    VM,
    Adapter,
    Cpu,
    DeviceGuardRegistry,
    Edge,
    FirewallRule,
    Guest,
    Host,
    Lab,
    Listener,
    Memory,
    Nat,
    Network,
    Nic,
    OSInfo,
    PortProxyRule,
    Processor,
    Security,
    Services,
    StaticMapping,
    Switch,
    Vhd,
    Volume,
    adapter_id,
    derived_mac,
    nat_id,
    network_id,
    nic_id,
    stable_guid,
    switch_id,
    vhd_id,
    vm_id,
)
from nestlab.simulator.psdata import PSObject, Result, SharedIndex

GIB = 1024**3
HEAVY_CPU_PERCENT = 50
STALE_PATCH_DAYS = 365

Answers = dict[str, Result]


# ----------------------------------------------------------------------------------------------
# reading answers
# ----------------------------------------------------------------------------------------------


def objects(answers: Answers, key: str) -> list[PSObject]:
    result = answers.get(key)
    # most answers are empty (an error, or nothing found): no comprehension to run for them
    return [o for o in result.output if isinstance(o, PSObject)] if result and result.output else []


def first(answers: Answers, key: str) -> PSObject | None:
    found = objects(answers, key)
    return found[0] if found else None


def lines(answers: Answers, key: str) -> list[str]:
    result = answers.get(key)
    return [str(o) for o in result.output if isinstance(o, str)] if result else []


def get(obj: PSObject | None, name: str, default: Any = None) -> Any:
    """A property, or `default` when the object lacks it or it is null. A PSObject's as
    `psdata.property_of` reads it (the name as Windows writes it first, then `PSObject.get`),
    written out here: the rebuild reads ~12,000 properties per 200 VMs, and the call was a
    third of each read; any other Mapping's (the importer's) by its `get`."""
    if obj is None:
        return default
    if type(obj) is PSObject:
        value = obj._props.get(name, _ABSENT)
        if value is _ABSENT:
            value = obj.get(name)  # another case (tests/test_speed_parse.py)
    else:
        value = obj.get(name)
    return default if value is None else value


_ABSENT = object()  # get: a name the object's properties do not hold as written


def text(command: str) -> str:
    return command


def probe_text(key: str) -> str:
    return probes.text_of(key)


FOLLOW_UPS = ("testpath", "testvhd", "search")  # the per-file probes whose answers are facts of a disk
_EVENT_KEYS = (*(f"events:{log}" for log in probes.EVENT_LOGS), *probes.EVENT_QUERIES)  # newest of each log first
_EVENT_KEY_SET = frozenset(_EVENT_KEYS)


class Read:
    """One platform's answers, each read once.

    The rebuild and the collector ask the same answers many questions: Get-Service for the
    security products, WinNat and provenance; Get-NetIPAddress for the NICs, the switches and a
    guest's prefixes; and the per-file follow-ups (`testvhd:PATH` …) were found by scanning every
    key — hundreds on a host with a hundred VMs — once per question. Here each probe's objects
    are filtered once and the keys are split by kind once. Callers read the lists, never change
    them.
    """

    __slots__ = ("answers", "_objects", "_lines", "_kinds", "follow_ups", "_vhds")

    def __init__(self, answers: Answers) -> None:
        self.answers = answers
        self._objects: dict[str, list[PSObject]] = {}
        self._lines: dict[str, list[str]] = {}
        kinds: dict[str, dict[str, Result]] = {}
        follow_ups: list[tuple[str, str, str, Result]] = []  # (kind, path, key, answer), in answer order
        # most platform probes have no kind, and the event logs' kind is never asked: skipped in C
        for key in [key for key in answers if ":" in key and key not in _EVENT_KEY_SET]:
            kind, _, path = key.partition(":")
            result = answers[key]
            kinds.setdefault(kind, {})[path] = result
            if kind in FOLLOW_UPS:
                follow_ups.append((kind, path, key, result))
        self._kinds = kinds
        self.follow_ups = follow_ups
        self._vhds: list[tuple[str, PSObject]] | None = None

    def objects(self, key: str) -> list[PSObject]:
        found = self._objects.get(key)  # most keys are read once or twice: no KeyError to pay
        if found is None:
            found = self._objects[key] = objects(self.answers, key)
        return found

    def first(self, key: str) -> PSObject | None:
        found = self.objects(key)
        return found[0] if found else None

    def lines(self, key: str) -> list[str]:
        found = self._lines.get(key)
        if found is None:
            found = self._lines[key] = lines(self.answers, key)
        return found

    def of_kind(self, kind: str) -> dict[str, Result]:
        """The answers keyed `kind:…`, by what follows the colon (a path, `*parents`), in answer order.
        Not the event logs' (`events:System` …: read by key, never by kind)."""
        return self._kinds.get(kind, {})

    def keyed_vhd_objects(self) -> list[tuple[str, PSObject]]:
        """(probe key, Get-VHD object) of every disk the answers show: the drives' disks, then the
        `vhd:` answers (their parents, then each Get-VHD of a follow-up), in answer order. Made
        once: the collector's last follow-up and the rebuild read the same list."""
        if self._vhds is None:
            found = [("vhds", o) for o in self.objects("vhds")]
            found += [(key, o) for key in (f"vhd:{p}" for p in self.of_kind("vhd")) for o in self.objects(key)]
            self._vhds = found
        return self._vhds


def reading(answers: "Answers | Read") -> Read:
    """`answers` as a Read (the builder passes its own; other callers, such as the importer, a dict)."""
    return answers if isinstance(answers, Read) else Read(answers)


def vhd_objects(answers: "Answers | Read") -> list[PSObject]:
    return [o for _, o in reading(answers).keyed_vhd_objects()]


# The platform probes whose objects a host's or guest's own attributes are read from, and the
# ones whose answer is text (Evidence.cite names their property as the rule reads it).
PLATFORM_OBJECTS = ("os", "cs", "cpu", "feature", "optionalfeature", "deviceguard", "dg_registry", "dg_policy",
                    "antivirus", "services", "hotfix", "imds", "volumes", "partitions", "physicaldisks",
                    "firewall", "portfilters", "ipaddresses", "routes", "profiles", "tcplisteners", "udplisteners",
                    "switches", "nat", "natmappings")
TEXT_ANSWERS = ("bcd", "portproxy", "filters")
_PLATFORM_COMMANDS = {key: probes.text_of(key) for key in (*PLATFORM_OBJECTS, *TEXT_ANSWERS)}  # cited per platform
_CS_COMMAND, _BCD_COMMAND = _PLATFORM_COMMANDS["cs"], _PLATFORM_COMMANDS["bcd"]  # the platform's own facts'
_OBJECT_COMMANDS = tuple((key, _PLATFORM_COMMANDS[key]) for key in PLATFORM_OBJECTS)
_TEXT_COMMANDS = tuple((key, _PLATFORM_COMMANDS[key]) for key in TEXT_ANSWERS)
_SHOWN_COMMANDS = _OBJECT_COMMANDS + _TEXT_COMMANDS  # a platform's own sources, in this order (PlatformShown)


def vm_states(answers: "Answers | Read") -> list[tuple[str, bool]]:
    """(name, Running?) of each VM a platform's Get-VM showed."""
    return [(str(get(v, "Name")), _name(get(v, "State")) == "Running") for v in reading(answers).objects("vms")]


def computer_name(answers: "Answers | Read") -> str | None:
    """Win32_ComputerSystem.DNSHostName (case kept), else the NetBIOS Name."""
    cs = reading(answers).first("cs")
    name = get(cs, "DNSHostName") or get(cs, "Name")
    return str(name) if name else None


def own_test_vhd_errors(answers: "Answers | Read") -> dict[str, str]:
    """Path -> Test-VHD's error message, for each disk whose own file or link is bad.

    Test-VHD opens a disk's whole chain, so a child fails with its parent's error (storage notes:
    the first broken link); a disk whose parent also fails Test-VHD is left out, it only repeats.
    """
    read = reading(answers)
    failed = {path: r.errors[0].message for path, r in read.of_kind("testvhd").items() if r.errors}
    if not failed:
        return {}
    failed_lower = {p.lower() for p in failed}
    parent_of = {str(get(v, "Path")).lower(): str(get(v, "ParentPath")).lower()
                 for v in vhd_objects(read) if get(v, "ParentPath")}
    return {p: m for p, m in failed.items() if parent_of.get(p.lower()) not in failed_lower}


def drive_paths(answers: "Answers | Read") -> list[str]:
    """The paths of every VM's hard disk drives (Get-VMHardDiskDrive), as configured."""
    return [str(path) for path in (get(d, "Path") for d in reading(answers).objects("drives")) if path]


def missing_parents(answers: "Answers | Read") -> list[str]:
    return sorted(path for path, result in reading(answers).of_kind("testpath").items()
                  if result.output and result.output[0] is False)


def drive_letters(answers: "Answers | Read") -> list[str]:
    letters = [str(get(v, "DriveLetter")) for v in reading(answers).objects("volumes") if get(v, "DriveLetter")]
    return [f"{d.rstrip(':')}:" for d in letters]


def search_hits(answers: "Answers | Read") -> list[str]:
    read = reading(answers)
    hits: list[str] = []
    for path in read.of_kind("search"):
        hits.extend(str(get(o, "FullName")) for o in read.objects(f"search:{path}") if get(o, "FullName"))
    return hits


def _name(value: Any) -> str:
    """An enum (PSEnum, or its string form over the wire) as its name."""
    return str(value) if value is not None else ""


# ----------------------------------------------------------------------------------------------
# the builder
# ----------------------------------------------------------------------------------------------


# A VM's guest as its parent shows it, before (or without) its own answers: records are frozen, so
# every VM shares one of these two rather than building a Guest (and its OS, security and
# services records) per VM that add_guest then replaces for each Running one.
_UNSEEN_GUEST = {current: Guest(integration_services_current=current) for current in (True, False)}


class Builder:
    """Adds what each platform showed to an evidence Lab, and keeps the raw facts beside it."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.facts: dict[str, Facts] = {}  # filled by finish()
        self._changes: dict[str, dict[str, Any]] = {}  # node -> its facts' fields so far, made Facts once
        # node -> the answers its attributes were read from, as (seen_on, probe key, command,
        # objects) entries in the order read (a VM's: its VmShown, what its parent showed of it);
        # finish() makes them each node's Shown, with a platform's own group after them (its
        # Sources, made when cited)
        self.sources: dict[str, "list[tuple[str, str, str, Sequence[Any]]] | VmShown"] = {}
        self._vm_state: dict[str, list[tuple[str, bool]]] = {}
        self._macs: dict[str, dict[str, str]] = {}  # VM id -> MAC -> its adapter's name
        self._adapters: dict[str, list[str]] = {}  # VM id -> its adapters' ids, as added
        # VM id -> its guest's bcdedit launch type, for the VMs whose record was made with their
        # guest (add_host/add_guest given the guests' answers): add_guest then adds only the rest
        self._whole: dict[str, str] = {}
        self._platforms: dict[str, PlatformShown] = {}  # host or guest -> its own answers' sources
        self._values = SharedValues()
        self._cited = CitedValues()

    # -- entry points ----------------------------------------------------------------------------

    def add_host(self, host: str, answers: "Answers | Read", guests: "Mapping[str, Read] | None" = None) -> None:
        """A host. `guests`: the answers of its Running guests (and theirs) by VM id, when known
        already (the collector's, after the walk): each VM's record is then made once with its
        guest and listeners, and its adapters with their prefixes, not replaced by add_guest."""
        read = reading(answers)
        launch = _bcd_launch(read.lines("bcd"))
        platform = _platform_fields(read, guest=False, launch=launch, values=self._values)
        cs = read.first("cs")
        imds = read.first("imds")
        self.lab.add(host, Host(
            name=host,
            kind="azure-vm" if imds is not None else "physical",
            azure_size=get(imds, "vmSize") if imds is not None else None,
            cpu=host_cpu(read.first("cpu"), bool(get(cs, "HypervisorPresent", False))),
            memory_gb=_gb(get(cs, "TotalPhysicalMemory", 0)),
            integration_services_current=_patched(read),
            **platform,
        ))
        self._facts(host, read, launch)
        self._nics(host, read)
        self._owner(host, read, Edge.HOSTS, guests)

    def add_guest(self, vm: str, answers: "Answers | Read", guests: "Mapping[str, Read] | None" = None) -> bool:
        """A Running VM's guest; False when PowerShell Direct could not enter it. `guests` as for
        add_host (its own VMs' guests)."""
        read = reading(answers)
        if read.first("os") is None:
            return False
        launch = self._whole.pop(vm, None)
        if launch is None:  # its VM was added without its guest's answers: the record is replaced
            record: VM = self.lab[vm]
            guest, listeners, launch = _seen_guest(read, record.guest.integration_services_current, self._values)
            self.lab.set(vm, replace(record, guest=guest, services=listeners))
            self._prefixes(vm, read)
        self._facts(vm, read, launch)
        self._owner(vm, read, Edge.RUNS, guests)
        return True

    def vms_of(self, owner: str) -> list[tuple[str, bool]]:
        return self._vm_state.get(owner, [])

    def finish(self) -> Lab:
        """The evidence lab; each node's sources join its facts (Evidence.cite reads them): what
        was shown of it (a VM's settings, on its parent), then a host's or guest's own answers."""
        platforms = self._platforms
        for node, entries in self.sources.items():
            own = platforms.get(node)
            self._changes.setdefault(node, {})["shown"] = Shown((entries,) if own is None else (entries, own))
        self.facts.update((node, Facts.of(fields)) for node, fields in self._changes.items())
        self.sources, self._changes, self._platforms = {}, {}, {}
        return self.lab

    # -- provenance ------------------------------------------------------------------------------

    def _shown(self, node: str, seen_on: str, key: str, found: Sequence[PSObject | dict],
               command: str | None = None) -> None:
        """Record that `node`'s attributes were read from these objects of probe `key` on `seen_on`
        (`command`: the probe as sent, when the caller has it already)."""
        entries = self.sources.setdefault(node, [])  # a node shown by empty answers only still has its Facts
        if found:
            entries.append((seen_on, key, command or probe_text(key), tuple(map(self._cited.of, found))))

    def _shown_platform(self, owner: str, read: Read) -> None:
        """A host's or guest's own answers: one group of what each probe showed (`PlatformShown`),
        taken now, not when cited: a group reading the answers later would keep every platform's
        answers (Results, their Requests) alive as long as the evidence. Nothing else of the
        owner is recorded after it (the rest of what it holds are other nodes)."""
        self.sources.setdefault(owner, [])
        self._platforms[owner] = PlatformShown.of(owner, read, self._cited)

    # -- facts -----------------------------------------------------------------------------------

    def _facts(self, owner: str, read: Read, launch: str) -> None:
        """The platform's own facts and sources, and each disk's follow-up answers (`launch`: its
        bcdedit hypervisorlaunchtype, read once for the platform's record and here)."""
        cs = read.first("cs")
        bcd = read.answers.get("bcd")
        changes = self._changes
        fields = changes.setdefault(owner, {})  # _merge's, each field set only when it is not None
        if cs is not None:
            fields["hypervisor_present"] = Fact(_CS_COMMAND, "HypervisorPresent", bool(get(cs, "HypervisorPresent")), owner)
        if bcd and bcd.ok:
            fields["hypervisorlaunchtype"] = Fact(_BCD_COMMAND, "hypervisorlaunchtype", launch, owner)
        fields["events"] = _events(read, owner)  # a tuple, never None
        install_state = _install_state(read, owner)
        if install_state is not None:
            fields["hyperv_install_state"] = install_state
        self._shown_platform(owner, read)
        for kind, path, key, result in read.follow_ups:  # in answer order, as the disks were asked about
            if kind == "testpath":
                if result.output:  # _merge's, the Fact is never None
                    changes.setdefault(vhd_id(owner, path), {})["test_path"] = Fact(
                        probe_text(key), "Result", bool(result.output[0]), owner)
            elif kind == "testvhd":
                if result.errors:
                    changes.setdefault(vhd_id(owner, path), {})["test_vhd_error"] = Fact(
                        probe_text(key), "Error", result.errors[0].message, owner)
            else:  # search
                hits = tuple(str(get(o, "FullName")) for o in read.objects(key))
                self._merge(vhd_id(owner, path), parent_search=Fact(
                    probes.text_of(key, drive_letters(read)), "FullName", hits, owner))

    def _merge(self, node: str, **changes: Any) -> None:
        fields = self._changes.setdefault(node, {})
        fields.update((k, v) for k, v in changes.items() if v is not None)

    # -- what an owner (host or guest) holds -----------------------------------------------------

    def _nics(self, host: str, read: Read) -> None:
        addresses = ipv4_addresses(read)
        gateways = {str(get(r, "InterfaceAlias")): str(get(r, "NextHop")) for r in read.objects("routes")}
        profiles = {str(get(p, "InterfaceAlias")): str(get(p, "Name")) for p in read.objects("profiles")}
        for nic in read.objects("netadapters"):
            alias = str(get(nic, "Name"))
            if alias.startswith("vEthernet (") or alias not in addresses:
                continue
            network = profiles.get(alias) or str(ipaddress.ip_interface(addresses[alias]).network)
            nid = self.lab.add(nic_id(host, alias), Nic(adapter=alias, network=network, ip=addresses[alias],
                                                         gateway=gateways.get(alias)))
            self._shown(nid, host, "netadapters", (nic,))
            self.lab.link(host, nid, Edge.HAS)
            net = network_id(network)
            if net not in self.lab:
                self.lab.add(net, Network(name=network))
            self.lab.link(nid, net, Edge.UPLINK)

    def _owner(self, owner: str, read: Read, vm_edge: Edge, guests: "Mapping[str, Read] | None") -> None:
        switches = self._switches(owner, read)
        nats = self._nats(owner, read)
        vhds = self._vhds(owner, read)
        self._derived_links(owner, switches, vhds, nats)
        self._vms(owner, read, vm_edge, guests or {})

    def _derived_links(self, owner: str, switches: list[str], vhds: list[str], nats: list[str]) -> None:
        """The edges `Lab.relink(owner)` makes (uplink, parent, nat), for an owner whose switches,
        disks and NATs were all just added, in that order: none of them has such an edge yet, so
        there is nothing to unlink, and relink's look-up of each one's edges — a fresh scan every
        time, as each link forgets the lab's indexes — is work with no result (a twentieth of the
        rebuild). tests/test_speed_parse.py checks that relink then changes nothing."""
        if not (switches or vhds or nats):  # an owner that holds none (a plain guest): nothing to link
            return
        lab = self.lab
        is_vm = lab.kind(owner) == "vm"
        for sid in switches:
            sw: Switch = lab[sid]
            if sw.type == "External" and sw.adapter:
                target = adapter_id(owner, sw.adapter) if is_vm else nic_id(owner, sw.adapter)
                if target in lab:
                    lab.link(sid, target, Edge.UPLINK)
        if vhds:
            missing = lab.platform(owner).files_missing
            for vid in vhds:
                vhd: Vhd = lab[vid]
                if vhd.parent and vhd.parent not in missing:
                    parent = lab.vhd_by_path(owner, vhd.parent)
                    if parent is not None:
                        lab.link(vid, parent, Edge.PARENT)
        for nid in nats:
            prefix = ipaddress.ip_network(lab[nid].internal_prefix, strict=False)
            for sid in switches:
                sw = lab[sid]
                if sw.type == "Internal" and sw.host_ip and ipaddress.ip_interface(sw.host_ip).ip in prefix:
                    lab.link(nid, sid, Edge.NAT)

    def _switches(self, owner: str, read: Read) -> list[str]:
        """The owner's switches as Get-VMSwitch shows them; their ids, as added."""
        added: list[str] = []
        switches = read.objects("switches")
        if not switches:
            return added
        addresses = ipv4_addresses(read)
        by_description = {str(get(n, "InterfaceDescription")): n for n in read.objects("netadapters")}
        for sw in switches:
            name = str(get(sw, "Name"))
            kind = _name(get(sw, "SwitchType"))
            adapter = None
            if kind == "External":
                nic = by_description.get(str(get(sw, "NetAdapterInterfaceDescription")))
                if nic is not None:
                    adapter = self._adapter_name(owner, nic)
            host_ip = addresses.get(f"vEthernet ({name})") if kind == "Internal" else None
            sid = self.lab.add(switch_id(owner, name), Switch(name=name, type=kind, adapter=adapter, host_ip=host_ip))
            added.append(sid)
            self._shown(sid, owner, "switches", (sw,))
            self.lab.link(owner, sid, Edge.HAS)
            if get(sw, "Id") is not None:  # Windows' Default Switch is known by it (diagnosis/default_switch.py)
                self._merge(sid, switch_guid=Fact("Get-VMSwitch", "Id", str(get(sw, "Id")).lower()))
        return added

    def _adapter_name(self, owner: str, nic: PSObject) -> str:
        """A host NIC is named by itself; a guest NIC is its VM's adapter, found by MAC."""
        if self.lab.kind(owner) != "vm":
            return str(get(nic, "Name"))
        mac = re.sub(r"[^0-9A-F]", "", str(get(nic, "MacAddress", "")).upper())
        return self._macs.get(owner, {}).get(mac, str(get(nic, "Name")))

    def _nats(self, owner: str, read: Read) -> list[str]:
        """The owner's NATs with their static mappings; their ids, as added."""
        added: list[str] = []
        found = read.objects("nat")
        if not found:
            return added
        mapping_objects: dict[str, list[PSObject]] = {}
        for m in read.objects("natmappings"):
            mapping_objects.setdefault(str(get(m, "NatName")).lower(), []).append(m)
        for n, nat in zip(found, nat_records(found, read.objects("natmappings"))):
            nid = self.lab.add(nat_id(owner, nat.name), nat)
            added.append(nid)
            self._shown(nid, owner, "nat", (n,))
            self._shown(nid, owner, "natmappings", mapping_objects.get(nat.name.lower(), ()))
            self.lab.link(owner, nid, Edge.HAS)
        return added

    def _vhds(self, owner: str, read: Read) -> list[str]:
        """The owner's disks, each path once (Windows paths ignore case); their ids, as added."""
        added: list[str] = []
        seen: set[str] = set()
        for key, v in read.keyed_vhd_objects():
            path = str(get(v, "Path"))
            lowered = path.lower()
            if lowered in seen:
                continue
            seen.add(lowered)
            vid = self.lab.add(vhd_id(owner, path), vhd_record(v, owner, path))
            added.append(vid)
            self.sources[vid] = ObjectShown(owner, key, self._cited.row(v))  # nothing else of the disk node follows
            self.lab.link(owner, vid, Edge.HAS)
        if not read.follow_ups:  # no Test-Path or Test-VHD answer: nothing missing or corrupt to read
            return added
        missing = tuple(missing_parents(read))
        corrupt = tuple(path for path, message in own_test_vhd_errors(read).items() if _is_corrupt(message))
        if missing or corrupt:
            self.lab.update_platform(owner, files_missing=missing, files_corrupt=corrupt)
        return added

    def _vms(self, owner: str, read: Read, edge: Edge, guests: "Mapping[str, Read]") -> None:
        found = read.objects("vms")
        if not found:
            self._vm_state[owner] = []
            return
        processors = {str(get(p, "VMName")): p for p in read.objects("processors")}
        memory = {str(get(m, "VMName")): m for m in read.objects("memory")}
        adapters: dict[str, list[PSObject]] = {}
        for a in read.objects("vmadapters"):
            adapters.setdefault(str(get(a, "VMName")), []).append(a)
        settings = _bandwidth_settings(read.objects("bandwidth"))
        caps = {vm: {a: int(get(s, "MaximumBandwidth", 0)) // 1_000_000 for a, s in by.items()}
                for vm, by in settings.items()}
        drive_objects: dict[str, list[PSObject]] = {}
        for d in read.objects("drives"):
            drive_objects.setdefault(str(get(d, "VMName")), []).append(d)
        shown_by = _VM_COMMANDS[0]  # the probe as sent, for every VM's facts
        values = self._values
        states = []
        for v in found:
            name = str(get(v, "Name"))
            vid = vm_id(owner, name)
            state = _name(get(v, "State"))
            running = state == "Running"
            cpu_usage = int(get(v, "CPUUsage", 0))
            processor, mem = processors.get(name), memory.get(name)
            current = get(v, "IntegrationServicesState") != "Update required"
            seen = guests.get(vid)
            if seen is not None and seen.first("os") is not None:  # made whole now: add_guest's record
                guest, listeners, self._whole[vid] = _seen_guest(seen, current, self._values)
                by_ip = _ip_prefixes(seen)
            else:
                guest, listeners, by_ip = _UNSEEN_GUEST[current], (), {}
            self.lab.add(vid, VM(
                name=name,
                generation=int(get(v, "Generation", 2)),
                version=str(get(v, "Version", "10.0")),
                state=state if state in ("Running", "Off", "Saved", "Paused") else "Off",
                processor=values.processor(processor),
                memory=values.memory(mem, v, running),
                clustered=bool(get(v, "IsClustered", False)),
                workload=workload(cpu_usage),
                services=listeners,
                guest=guest,
            ))
            self.lab.link(owner, vid, edge)
            self._changes.setdefault(vid, {}).update(  # _merge's, neither is None
                cpu_usage=values.fact(shown_by, "CPUUsage", cpu_usage, owner),
                memory_assigned=values.fact(shown_by, "MemoryAssigned", int(get(v, "MemoryAssigned", 0)), owner))
            drives = drive_objects.get(name, ())
            cited = self._cited
            self.sources[vid] = VmShown(owner, cited.row(v), None if processor is None else cited.row(processor),
                                        None if mem is None else cited.row(mem), cited.rows(drives))  # nothing else of the VM node follows
            self._vm_adapters(owner, vid, adapters.get(name, []), caps.get(name, {}), settings.get(name, {}), by_ip)
            for d in drives:
                path = str(get(d, "Path"))
                target = self.lab.vhd_by_path(owner, path)
                self.lab.link(vid, target or vhd_id(owner, path), Edge.DISK)
            states.append((vid, running))
        self._vm_state[owner] = states

    def _vm_adapters(self, owner: str, vid: str, found: list[PSObject], caps: dict[str, int],
                     settings: dict[str, PSObject], by_ip: dict[str, str]) -> None:
        """A VM's adapters; `by_ip`: its guest's addresses with their prefixes (_prefixes'), when
        the guest's answers are known as the VM is added."""
        macs: dict[str, str] = {}
        added = self._adapters[vid] = []
        for a in found:
            name = str(get(a, "Name", "Network Adapter"))
            aid = adapter_id(vid, name)
            mac = str(get(a, "MacAddress", "")).upper()
            macs[mac] = name
            ips = [ip for ip in (get(a, "IPAddresses") or ()) if ":" not in str(ip)]
            ip = str(ips[0]) if ips else None
            if ip and "/" not in ip:
                ip = by_ip.get(ip, ip)
            self.lab.add(aid, Adapter(
                name=name,
                mac_spoofing=_name(get(a, "MacAddressSpoofing")) == "On",
                ip=ip,
                max_bandwidth_mbps=caps.get(name, 0),
                mac=None if not mac or mac == derived_mac(aid) else mac,
            ))
            added.append(aid)
            bandwidth = settings.get(name)
            self.sources[aid] = ObjectShown(owner, "vmadapters", self._cited.row(a), None if bandwidth is None
                                            else self._cited.row(bandwidth))  # all of the adapter node
            self.lab.link(vid, aid, Edge.HAS)
            switch = get(a, "SwitchName")
            if switch:
                self.lab.link(aid, switch_id(owner, str(switch)), Edge.ATTACHED)
        self._macs[vid] = macs

    def _prefixes(self, vm: str, read: Read) -> None:
        """Adapter IPs as Get-VMNetworkAdapter shows them lack a prefix; the guest knows it.

        Matched as text: both are the dotted quads Windows prints (an address is canonical there,
        so its text is its compressed form)."""
        by_ip = _ip_prefixes(read)
        if not by_ip:
            return
        for aid in self._adapters.get(vm, ()):
            adapter: Adapter = self.lab[aid]
            if adapter.ip and "/" not in adapter.ip and adapter.ip in by_ip:
                self.lab.set(aid, replace(adapter, ip=by_ip[adapter.ip]))


_VM_COMMANDS = tuple(probes.text_of(key) for key in ("vms", "processors", "memory", "drives"))  # as sent
_BANDWIDTH_COMMAND = probes.text_of("bandwidth")


class ObjectShown:
    """A node shown by one object of one probe (a disk by its Get-VHD object, an adapter by its
    Get-VMNetworkAdapter object and, when it has one, its BandwidthSetting), as Shown entries made
    when cited: an entry and a one-object tuple per node were kept for every disk and adapter.
    Each object is kept as its row of cited values (`CitedValues.row`), made an object when read."""

    __slots__ = ("owner", "probe", "obj", "bandwidth")

    def __init__(self, owner: str, probe: str, obj: tuple, bandwidth: tuple | None = None) -> None:
        self.owner, self.probe, self.obj, self.bandwidth = owner, probe, obj, bandwidth

    def __iter__(self) -> Iterator[tuple[str, str, str, Sequence[Any]]]:
        yield self.owner, self.probe, probe_text(self.probe), (_made(self.obj),)
        if self.bandwidth is not None:
            yield self.owner, "bandwidth", _BANDWIDTH_COMMAND, (_made(self.bandwidth),)


class VmShown:
    """What a VM's parent showed of it, as Shown entries made when cited: Get-VM's object, then
    Get-VMProcessor's and Get-VMMemory's (when shown) and its Get-VMHardDiskDrive objects (when
    it has any). Four entries and their one-object tuples were ~0.5 KB kept per VM for the life
    of the evidence; a diagnosis cites few VMs. Each object is kept as its row of cited values
    (`CitedValues.row`), made an object when read."""

    __slots__ = ("owner", "vm", "processor", "memory", "drives")

    def __init__(self, owner: str, vm: tuple, processor: tuple | None, memory: tuple | None,
                 drives: tuple) -> None:
        self.owner, self.vm, self.processor, self.memory, self.drives = owner, vm, processor, memory, drives

    def __iter__(self) -> Iterator[tuple[str, str, str, Sequence[Any]]]:
        owner = self.owner
        vms, processors, memory, drives = _VM_COMMANDS
        yield owner, "vms", vms, (_made(self.vm),)
        if self.processor is not None:
            yield owner, "processors", processors, (_made(self.processor),)
        if self.memory is not None:
            yield owner, "memory", memory, (_made(self.memory),)
        if self.drives:
            yield owner, "drives", drives, made_all(self.drives)


def _seen_guest(read: Read, integration_services_current: bool,
                values: "SharedValues") -> tuple[Guest, tuple[Listener, ...], str]:
    """A guest as its own answers show it: the Guest record, its listeners (less its portproxy
    ports) and bcdedit's launch type (read once, for the record and for its facts)."""
    launch = _bcd_launch(read.lines("bcd"))
    guest = values.guest(_platform_fields(read, guest=True, launch=launch, values=values),
                         integration_services_current)
    listeners = values.listeners(listening(_listeners(read), (r.listen_port for r in guest.portproxy)))
    return guest, listeners, launch


class SharedValues:
    """The value records of one rebuild, each equal value made once and shared (records are frozen).

    Most VMs and guests show the same processor, memory, OS, security settings and listeners: at
    1,000 VMs, 1,000 Processor records held 5 values, 1,000 Memory 13, 613 Guests 14 (with an OS,
    Security, registry and Services record each: 4, 1, 1, 1 values), 701 Listeners 8, and the VMs'
    CPUUsage and MemoryAssigned facts a few values per parent. Each is
    looked up by the plain values it is made of, before it is made: a dict look-up of a few
    numbers and strings is cheaper than a frozen record's field-by-field init, and the evidence
    holds a few dozen records instead of thousands. A Guest is looked up by its parts, which are
    shared already (so the same part is the same object), and its volume, portproxy and firewall
    tuples. Nothing here outlives the rebuild's Builder."""

    __slots__ = ("_made",)

    def __init__(self) -> None:
        self._made: dict[tuple, Any] = {}

    def processor(self, p: PSObject | None) -> Processor:
        """vm_processor(p), shared."""
        if p is None:
            return _NO_PROCESSOR
        key = ("processor", int(get(p, "Count", 2)), bool(get(p, "ExposeVirtualizationExtensions", False)))
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = Processor(count=key[1], expose_virtualization_extensions=key[2])
        return made

    def memory(self, m: PSObject | None, vm: PSObject | None, running: bool) -> Memory:
        """vm_memory(m, vm, running), shared."""
        key = ("memory", *_memory_values(m, vm, running))
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = Memory(startup_gb=key[1], dynamic=key[2], pending_startup_gb=key[3])
        return made

    def os_info(self, os: PSObject | None) -> OSInfo:
        """os_info(os), shared."""
        key = ("os", str(get(os, "Caption", OSInfo.DEFAULTS["caption"])), int(get(os, "BuildNumber", 20348)))
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = OSInfo(caption=key[1], build=key[2])
        return made

    def security(self, read: Read) -> Security:
        """The platform's Security record (with its DeviceGuard registry values), shared."""
        key = ("security", *_security_values(read))
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = _security_of(*key[1:])
        return made

    def services(self, winnat: str) -> Services:
        key = ("services", winnat)
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = Services(winnat=winnat)
        return made

    def listeners(self, found: list[tuple[int, str]]) -> tuple[Listener, ...]:
        """The Listener records of these (port, protocol) pairs, as one shared tuple."""
        if not found:
            return ()
        key = ("listeners", *found)
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = tuple(self._listener(port, protocol) for port, protocol in found)
        return made

    def _listener(self, port: int, protocol: str) -> Listener:
        key = ("listener", port, protocol)
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = Listener(port=port, protocol=protocol)
        return made

    def fact(self, command: str, prop: str, value: int, seen_on: str) -> Fact:
        """Fact(command, prop, value, seen_on) of a number, shared: the VMs of one parent show a
        few CPUUsage and MemoryAssigned values between them (the type is part of the key, so
        True and 1 stay apart)."""
        key = ("fact", command, prop, type(value), value, seen_on)
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = Fact(command, prop, value, seen_on)
        return made

    def guest(self, fields: dict[str, Any], integration_services_current: bool) -> Guest:
        """Guest(**fields, integration_services_current=…), shared; its record parts are this
        table's (shared), so they are the same objects when equal."""
        key = ("guest", id(fields["os"]), fields["hyperv_installed"], fields["hypervisor_launch"],
               id(fields["security"]), id(fields["services"]), fields["volumes"], fields["portproxy"],
               fields["firewall"], integration_services_current)
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = Guest(**fields, integration_services_current=integration_services_current)
        return made


_NO_PROCESSOR = Processor()  # vm_processor(None)


def _ip_prefixes(read: Read) -> dict[str, str]:
    """A guest's IPv4 addresses by their text, with their prefixes ('a.b.c.d' -> 'a.b.c.d/len')."""
    return {cidr.partition("/")[0]: cidr for cidr in ipv4_addresses(read).values()}


class CitedShape:
    """What the evidence keeps of the objects of one property index (a cmdlet's objects of one
    shape share one: psdata's SharedIndex): which of their names a rule may cite
    (evidence.CITED_PROPERTIES), in the objects' order, and the small index of those names that
    every kept object of the shape shares when it is made again (`made`). It refers to no
    answer object, nor to their index: every kept row refers to its shape."""

    __slots__ = ("type_names", "names", "small", "take")

    def __init__(self, index: Mapping[str, str], type_names: tuple[str, ...]) -> None:
        pairs = [(low, name) for low, name in index.items() if low in CITED_PROPERTIES]
        self.type_names = type_names
        self.names = names = tuple(name for _, name in pairs)
        self.small = SharedIndex(pairs)
        # the kept values of an object's properties dict, as a tuple, in one call
        self.take: Any = _take_none if not names else itemgetter(*names) if len(names) > 1 else _take_one(names[0])

    def made(self, row: tuple) -> PSObject:
        """The PSObject a row (`CitedValues.row`) stands for: the cited properties, their values."""
        obj = PSObject.__new__(PSObject)
        obj.type_names, obj._props, obj._index, obj.to_string = \
            self.type_names, dict(zip(self.names, row[2:])), self.small, row[1]
        return obj


def _take_none(props: Mapping[str, Any]) -> tuple:
    return ()


def _take_one(name: str) -> Any:
    return lambda props: (props[name],)


def _made(row: tuple) -> PSObject:
    """The object a kept row stands for (`CitedShape.made`)."""
    return row[0].made(row)


def made_all(rows: tuple) -> tuple[PSObject, ...]:
    """The objects `CitedValues.rows` kept: one row (it starts with its shape), or a tuple of rows."""
    if rows and type(rows[0]) is CitedShape:
        return (rows[0].made(rows),)
    return tuple(map(_made, rows))


class CitedValues:
    """What the evidence keeps of each answer object: the properties a rule may cite
    (evidence.CITED_PROPERTIES), as a row — (its CitedShape, its text, the values) — that is made
    a PSObject of those properties alone when its node is cited (`_made`).

    Provenance kept every object a node was read from, whole, for the life of the evidence: at
    1,000 VMs some 18,000 objects, half of what an evidence kept (a VM's network adapter has 83
    properties, its processor 35; rules cite a few of them). `Evidence.cite` reads a Source's
    values by name, without regard to case (`get`, `in`, `[]`), so an object that keeps every
    cited name it had answers every cite as the whole object did. Which of an object's names
    are kept is found once per shared property index (once per type and property names for an
    object with an index of its own, as a real host's objects read from CLIXML have); a row is
    one tuple, taken by one C call
    (`operator.itemgetter`), and refers to no answer object, so the answers are freed with their
    Results. Nothing here outlives the rebuild's Builder."""

    __slots__ = ("_shapes", "_held", "_named", "_texts")

    def __init__(self) -> None:
        self._shapes: dict[int, CitedShape] = {}  # id(a shape's shared property index) -> its CitedShape
        self._held: list[Mapping[str, str]] = []  # those indexes, held so that no id is reused meanwhile
        # an object with an index of its own (one read from CLIXML, or given a property): by its
        # type and property names, so that such objects of one shape share one CitedShape too
        self._named: dict[tuple, CitedShape] = {}
        self._texts: dict[tuple[str, ...], tuple[str, ...]] = {}  # a text answer's lines, each equal one once

    def row(self, obj: PSObject) -> tuple:
        """(shape, text, the cited values) of `obj`."""
        shape = self._shapes.get(id(obj._index))
        if shape is None or shape.type_names is not obj.type_names:
            shape = self._shape(obj)
        return (shape, obj.to_string) + shape.take(obj._props)

    def rows(self, found: Sequence[PSObject]) -> tuple:
        """The rows of `found`, in order; one object's row alone (`made_all` tells them apart): most
        probes that show anything show one object, and a tuple around each row was ~0.3 MB per
        1,000 VMs kept as long as the evidence."""
        return self.row(found[0]) if len(found) == 1 else tuple(map(self.row, found))

    def lines(self, found: list[str]) -> tuple[str, ...]:
        """A text answer's lines (bcdedit, netsh, fltmc), as one tuple shared by every platform that
        printed the same: most guests print the same lines, and each kept its own list."""
        lines = tuple(found)
        return self._texts.setdefault(lines, lines)

    def of(self, obj: PSObject) -> PSObject:
        """`obj` with only its cited properties (same type names and text), made now."""
        return _made(self.row(obj))

    def _shape(self, obj: PSObject) -> CitedShape:
        index = obj._index
        if type(index) is not SharedIndex:  # its own: by names (its id dies with the object)
            key = (obj.type_names, tuple(index.values()))
            shape = self._named.get(key)
            if shape is None:
                shape = self._named[key] = CitedShape(index, obj.type_names)
            return shape
        shape = self._shapes.get(id(index))
        if shape is not None and shape.type_names == obj.type_names:
            return shape  # the same names in another tuple
        made = CitedShape(index, obj.type_names)
        if shape is None:  # an index shown with two sets of type names keeps the first's in the table
            self._shapes[id(index)] = made
            self._held.append(index)
        return made


_NOTHING_SHOWN = ({},)  # the values of an answer that shows there is none (no NAT, no policy key)
_PLATFORM_TEXT_KEYS = frozenset(TEXT_ANSWERS)


class PlatformShown:
    """A host's or guest's own answers as Shown entries: each object under the platform's node,
    in probe order; an empty answer or an error as one empty object (it shows that there is none);
    text answers (bcdedit, netsh, fltmc) as their lines.

    Kept as what each platform probe showed, one slot per probe (None: not asked of this
    platform), and made into entries when the node is cited (`Shown`). An entry per probe, four
    fields and an empty dict for most of a plain guest's answers, was 3 KB per platform kept for
    the life of the evidence (~20 MB at 10,000 VMs) for the few platforms a diagnosis cites."""

    __slots__ = ("owner", "found")

    def __init__(self, owner: str, found: tuple[Any, ...]) -> None:
        self.owner = owner
        self.found = found  # per _SHOWN_COMMANDS: the objects' rows (CitedValues.row), _NOTHING_SHOWN, the text's lines, or None

    @classmethod
    def of(cls, owner: str, read: Read, cited: "CitedValues") -> "PlatformShown":
        """What each platform probe of `read` showed, each object as `cited` keeps it."""
        answers, objects, kept = read.answers, read.objects, cited.rows
        found: list[Any] = []
        add = found.append
        for key in PLATFORM_OBJECTS:
            result = answers.get(key)
            if result is None:  # not asked of this platform
                add(None)
            else:  # most of a plain guest's answers are empty: their objects are not filtered
                add((kept(objects(key)) if result.output else None) or _NOTHING_SHOWN)
        for key in TEXT_ANSWERS:
            result = answers.get(key)
            add(cited.lines(read.lines(key)) if result is not None and result.ok else None)
        return cls(owner, tuple(found))

    def __iter__(self) -> Iterator[tuple[str, str, str, Sequence[Any]]]:
        owner = self.owner
        for (key, command), found in zip(_SHOWN_COMMANDS, self.found):
            if found is None:
                continue
            if key in _PLATFORM_TEXT_KEYS:
                yield owner, key, command, ({"Output": tuple(found)},)
            else:  # an empty answer's `{}`, or the objects' rows (CitedValues.row)
                yield owner, key, command, found if found is _NOTHING_SHOWN else made_all(found)


# ----------------------------------------------------------------------------------------------
# record parsers
# ----------------------------------------------------------------------------------------------


def _platform_fields(read: Read, *, guest: bool, launch: str, values: "SharedValues") -> dict[str, Any]:
    return {
        "os": values.os_info(read.first("os")),
        "hyperv_installed": _hyperv_installed(read),
        "hypervisor_launch": "off" if launch.lower() == "off" else "auto",
        "security": values.security(read),
        "services": values.services(winnat_of(read)),
        "volumes": volume_records(read),
        "portproxy": _portproxy(read.lines("portproxy")),
        "firewall": _firewall(read),
    }


def _hyperv_installed(read: Read) -> bool:
    feature = read.first("feature")
    if feature is not None:
        return _name(get(feature, "InstallState")) == "Installed"
    optional = read.first("optionalfeature")
    return optional is not None and _name(get(optional, "State")) == "Enabled"


def _install_state(read: Read, owner: str) -> Fact | None:
    """The Hyper-V feature's state by name (InstallPending after an install that awaits its reboot)."""
    feature = read.first("feature")
    if feature is not None:
        return Fact(probe_text("feature"), "InstallState", _name(get(feature, "InstallState")), owner)
    optional = read.first("optionalfeature")
    if optional is not None:
        return Fact(probe_text("optionalfeature"), "State", _name(get(optional, "State")), owner)
    return None


def _bcd_launch(text_lines: list[str]) -> str:
    """bcdedit's hypervisorlaunchtype value ("" without the line). Only a line whose lowered text
    holds the name can be it, so the others (a dozen per platform) are not split."""
    for line in text_lines:
        if "hypervisorlaunchtype" in line.lower():
            parts = line.split()
            if len(parts) >= 2 and parts[0].lower() == "hypervisorlaunchtype":
                return parts[1]
    return ""


def _security_values(read: Read) -> tuple[str, bool, bool, int | None, int | None, bool, tuple[str, ...]]:
    """What Security is made of, as plain values (SharedValues looks a record up by them)."""
    dg = read.first("deviceguard")
    credential_guard, device_guard = guard_services(get(dg, "SecurityServicesRunning") or ())
    registry = read.first("dg_registry")
    policy = read.first("dg_policy")
    services = read.objects("services")
    blocked = any(_name(get(s, "Name")).lower() in ("vmms", "vmcompute") and _name(get(s, "Status")) != "Running"
                  for s in services)
    return (vbs_state(get(dg, "VirtualizationBasedSecurityStatus", 0)), credential_guard, device_guard,
            _int_or_none(get(registry, "EnableVirtualizationBasedSecurity")),
            _int_or_none(get(registry, "RequirePlatformSecurityFeatures")),
            _int_or_none(get(policy, "EnableVirtualizationBasedSecurity")) == 1,
            _security_products(read) if blocked else ())


def _security_of(vbs: str, credential_guard: bool, device_guard: bool, enable_vbs: int | None,
                 require_features: int | None, group_policy_vbs: bool, products: tuple[str, ...]) -> Security:
    return Security(
        vbs=vbs,
        credential_guard=credential_guard,
        device_guard=device_guard,
        registry=DeviceGuardRegistry(EnableVirtualizationBasedSecurity=enable_vbs,
                                     RequirePlatformSecurityFeatures=require_features),
        group_policy_vbs=group_policy_vbs,
        blocking_software=products,
    )


_EVENT_COMMANDS = tuple((key, probes.text_of(key)) for key in _EVENT_KEYS)


def _events(read: Read, owner: str) -> tuple[Event, ...]:
    """Every event the probes read: the newest of each log, then what the by-provider queries
    found further back (probes.EVENT_QUERIES), each record once."""
    found: list[Event] = []
    seen_records: set[tuple[int, str, str]] = set()
    answers = read.answers
    for key, command in _EVENT_COMMANDS:
        result = answers.get(key)
        if result is None or not result.output:  # most logs of most platforms: "No events were found"
            continue
        for e in read.objects(key):
            event = Event(command, int(get(e, "Id", 0)), str(get(e, "ProviderName", "")),
                          str(get(e, "Message", "")), owner)
            record = (event.id, event.provider, str(get(e, "TimeCreated", "")) + event.message)
            if record not in seen_records:
                seen_records.add(record)
                found.append(event)
    return tuple(found)


# Microsoft's "Load order groups and altitudes for minifilter drivers": FSFilter Anti-Virus is
# 320000-329999. WdFilter (328010) is Microsoft Defender's, which on Windows Server excludes Hyper-V's
# processes and files by itself ("automatic exclusions" for the Hyper-V role), so it is not a suspect.
ANTIVIRUS_ALTITUDES = (320000, 330000)
SELF_EXCLUDING_FILTERS = frozenset({"wdfilter"})


def _security_products(read: Read) -> tuple[str, ...]:
    return security_products([str(get(p, "displayName")) for p in read.objects("antivirus")],
                             _minifilters(read.lines("filters")))


def security_products(centre: list[str], filters: list[tuple[str, float]]) -> tuple[str, ...]:
    """Third-party security products: Security Center's (clients) besides Defender, else the
    anti-virus minifilters fltmc lists (servers have no root/SecurityCenter2). The importer reads
    a customer's files with the same rule."""
    others = [name for name in centre if "defender" not in name.lower()]
    if others:
        return tuple(others)
    antivirus = tuple(name for name, altitude in filters
                      if ANTIVIRUS_ALTITUDES[0] <= altitude < ANTIVIRUS_ALTITUDES[1]
                      and name.lower() not in SELF_EXCLUDING_FILTERS)
    return antivirus or tuple(centre)


def _minifilters(text_lines: list[str]) -> list[tuple[str, float]]:
    """(name, altitude) of each row of `fltmc filters` after its dashed header; legacy filters
    (no instance count, frame <Legacy>) too."""
    found, rows = [], False
    for line in text_lines:
        if line.startswith("-----"):
            rows = True
            continue
        parts = line.split()
        if not rows or len(parts) < 3:
            continue
        altitude = parts[-2]
        try:
            found.append((parts[0], float(altitude)))
        except ValueError:
            continue
    return found


def os_info(os: PSObject | None) -> OSInfo:
    """Win32_OperatingSystem's Caption and BuildNumber (a host's answer, or a pasted bundle's)."""
    return OSInfo(caption=str(get(os, "Caption", OSInfo.DEFAULTS["caption"])), build=int(get(os, "BuildNumber", 20348)))


def winnat_of(answers: "Answers | Read") -> str:
    """WinNat's state by Get-Service and the SCM events (winnat_state); running when not listed."""
    read = reading(answers)
    for s in read.objects("services"):
        if _name(get(s, "Name")).lower() == "winnat":
            events = [(get(e, "Id", 0), str(get(e, "Message", "")))
                      for key in ("events:System", "events:servicefailures") for e in read.objects(key)]
            return winnat_state(_name(get(s, "Status")), events)
    return "running"


def volume_media(answers: "Answers | Read") -> dict[str, str | None]:
    """Drive letter -> its disk's medium (drive_media over Get-Partition and Get-PhysicalDisk)."""
    read = reading(answers)
    return drive_media([(get(p, "DriveLetter"), get(p, "DiskNumber")) for p in read.objects("partitions")],
                       [(get(d, "DeviceId"), get(d, "MediaType")) for d in read.objects("physicaldisks")])


def volume_records(answers: "Answers | Read") -> tuple[Volume, ...]:
    """Get-Volume's lettered volumes; a medium not shown is taken as ssd."""
    read = reading(answers)
    found = read.objects("volumes")
    if not found:  # a guest that shows none (most plain guests): no media to join
        return ()
    media_of = volume_media(read)
    volumes = []
    for v in found:
        letter = str(get(v, "DriveLetter", "")).rstrip(":").upper()
        if not letter:
            continue
        volumes.append(Volume(drive=f"{letter}:", media=media_of.get(letter) or "ssd",
                              size_gb=_gb(get(v, "Size", 0)), free_gb=_gb(get(v, "SizeRemaining", 0))))
    return tuple(volumes)


PORTPROXY_ROW = re.compile(r"^\s*(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s*$")


def _portproxy(text_lines: list[str]) -> tuple[PortProxyRule, ...]:
    """The rows of `netsh interface portproxy show all` (samples/netsh-portproxy-show-all.txt)."""
    rules = []
    for line in text_lines:
        m = PORTPROXY_ROW.match(line)
        if m and not line.lstrip().startswith("-"):
            rules.append(PortProxyRule(listen_address=m.group(1), listen_port=int(m.group(2)),
                                       connect_address=m.group(3), connect_port=int(m.group(4))))
    return tuple(rules)


def _firewall(read: Read) -> tuple[FirewallRule, ...]:
    return firewall_rules(read.objects("firewall"), read.objects("portfilters"))


def firewall_rules(rules: Iterable[PSObject], filters: Iterable[PSObject]) -> tuple[FirewallRule, ...]:
    """Get-NetFirewallRule joined to Get-NetFirewallPortFilter (rule Name = filter InstanceID), of a
    host's answers or a pasted bundle's (nestlab.lab.importer.answers)."""
    by_id = {str(get(f, "InstanceID")): f for f in filters}
    found = []
    for r in rules:
        name = str(get(r, "Name"))
        f = by_id.get(name)
        port = str(get(f, "LocalPort", "Any"))
        protocol = str(get(f, "Protocol", "Any")).upper()
        display = _text_or_none(get(r, "DisplayName"))
        found.append(FirewallRule(
            name=name,
            direction=_name(get(r, "Direction", "Inbound")).lower(),
            action=_name(get(r, "Action", "Allow")).lower(),
            protocol=protocol if protocol in ("TCP", "UDP") else "Any",
            port=int(port) if port.isdigit() else None,
            enabled=_name(get(r, "Enabled", "True")).lower() == "true",
            display_name=None if display == name else display,
            group=_text_or_none(get(r, "Group")),
            display_group=_text_or_none(get(r, "DisplayGroup")),
            profile=_name(get(r, "Profile", "Any")) or "Any",
        ))
    return tuple(found)


def nat_records(nats: Iterable[PSObject], mappings: Iterable[PSObject]) -> list[Nat]:
    """Get-NetNat's NATs with their Get-NetNatStaticMapping rows (by NatName, as Windows matches
    names: without regard to case)."""
    by_nat: dict[str, list[StaticMapping]] = {}
    for m in mappings:
        by_nat.setdefault(str(get(m, "NatName")).lower(), []).append(StaticMapping(
            protocol=_name(get(m, "Protocol", "TCP")).upper(),
            external_ip=str(get(m, "ExternalIPAddress", "0.0.0.0")),
            external_port=int(get(m, "ExternalPort")),
            internal_ip=str(get(m, "InternalIPAddress")),
            internal_port=int(get(m, "InternalPort")),
        ))
    return [Nat(name=str(get(n, "Name")),
                internal_prefix=str(get(n, "InternalIPInterfaceAddressPrefix")),
                static_mappings=tuple(by_nat.get(str(get(n, "Name")).lower(), ()))) for n in nats]


def vhd_record(v: PSObject, owner: str, path: str | None = None) -> Vhd:
    """One Get-VHD object as the lab's Vhd of `owner`; what it does not show takes the format's
    default (a DiskIdentifier derived from the path is the default too). `path`: its Path as
    text, when the caller has read it already."""
    if path is None:
        path = str(get(v, "Path"))
    disk_id = str(get(v, "DiskIdentifier", "")).upper() or None
    size = get(v, "Size")
    return Vhd(
        path=path,
        type=_name(get(v, "VhdType")).lower() or "dynamic",
        size_gb=Vhd.DEFAULTS["size_gb"] if size is None else _gb(size),
        parent=str(parent) if (parent := get(v, "ParentPath")) else None,
        disk_id=None if disk_id is None or disk_id == stable_guid("vhd", owner, path.lower()) else disk_id,
    )


def _text_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def ipv4_addresses(answers: "Answers | Read") -> dict[str, str]:
    """InterfaceAlias -> 'a.b.c.d/len' for IPv4 addresses (first one per alias)."""
    out: dict[str, str] = {}
    for a in reading(answers).objects("ipaddresses"):
        alias = str(get(a, "InterfaceAlias"))
        ip = str(get(a, "IPAddress", ""))
        if alias and ip and ":" not in ip and not ip.startswith("127.") and alias not in out:
            out[alias] = f"{ip}/{int(get(a, 'PrefixLength', 24))}"
    return out


def _listeners(read: Read) -> list[tuple[int, str]]:
    return [(int(get(c, "LocalPort", 0)), protocol)
            for key, protocol in (("tcplisteners", "TCP"), ("udplisteners", "UDP")) for c in read.objects(key)]


def host_cpu(cpu: PSObject | None, hypervisor_present: bool) -> Cpu:
    """Win32_Processor's object (a host's answer, or a pasted bundle's) as the lab's Cpu."""
    vendor = cpu_vendor(str(get(cpu, "Manufacturer", "GenuineIntel")))
    base = Cpu(vendor=vendor, model=str(get(cpu, "Name", Cpu.DEFAULTS["model"])),
               cores=int(get(cpu, "NumberOfLogicalProcessors", Cpu.DEFAULTS["cores"])))
    if hypervisor_present or cpu is None:
        return base  # notes §3: the flags read False under a hypervisor; it started, so they hold
    return replace(
        base,
        virtualization_extensions=bool(get(cpu, "VMMonitorModeExtensions", True)),
        slat=bool(get(cpu, "SecondLevelAddressTranslationExtensions", True)),
        enabled_in_firmware=bool(get(cpu, "VirtualizationFirmwareEnabled", True)),
    )


def _patched(read: Read) -> bool:
    fixes = [get(h, "InstalledOn") for h in read.objects("hotfix")]
    clock = get(read.first("os"), "LocalDateTime")
    return patched([d for d in fixes if isinstance(d, datetime)], clock if isinstance(clock, datetime) else None) \
        is not False


def vm_processor(p: PSObject | None) -> Processor:
    """Get-VMProcessor's object (a host's answer, or a pasted bundle's) as the lab's Processor."""
    if p is None:
        return Processor()
    return Processor(count=int(get(p, "Count", 2)),
                     expose_virtualization_extensions=bool(get(p, "ExposeVirtualizationExtensions", False)))


def vm_memory(m: PSObject | None, vm: PSObject | None, running: bool) -> Memory:
    """Startup as configured; while Running, what the VM really got (MemoryAssigned) is what applies."""
    startup, dynamic, pending = _memory_values(m, vm, running)
    return Memory(startup_gb=startup, dynamic=dynamic, pending_startup_gb=pending)


def _memory_values(m: PSObject | None, vm: PSObject | None, running: bool) -> tuple[float, bool, float | None]:
    """(startup_gb, dynamic, pending_startup_gb) of vm_memory's record."""
    startup, dynamic = get(m, "Startup"), get(m, "DynamicMemoryEnabled")  # Get-VM's only when Get-VMMemory lacks them
    configured = _gb(startup if startup is not None else get(vm, "MemoryStartup", 4 * GIB))
    dynamic = bool(dynamic if dynamic is not None else get(vm, "DynamicMemoryEnabled", False))
    startup, pending = startup_memory(configured, dynamic, _gb(get(vm, "MemoryAssigned", 0)), running)
    return startup, dynamic, pending


PARENT_ADAPTER = re.compile(r"Name = '([^']*)', VMName = '([^']*)'")


def parent_adapter(text: str) -> tuple[str, str] | None:
    """(VM name, adapter name) of a BandwidthSetting's ParentAdapter as PowerShell prints it."""
    m = PARENT_ADAPTER.search(text)
    return (m.group(2), m.group(1)) if m else None


def _bandwidth_settings(settings: Iterable[PSObject]) -> dict[str, dict[str, PSObject]]:
    """VM name -> adapter name -> its BandwidthSetting object (ParentAdapter as text)."""
    found: dict[str, dict[str, PSObject]] = {}
    for s in settings:
        names = parent_adapter(str(get(s, "ParentAdapter", "")))
        if names:
            found.setdefault(names[0], {})[names[1]] = s
    return found


def _is_corrupt(message: str) -> bool:
    return "corrupt" in message.lower() and "identifiers" not in message.lower()


def _gb(value: Any) -> float:
    return gb_of(int(value or 0))


# ----------------------------------------------------------------------------------------------
# readings: how a value Windows shows becomes a lab attribute, for both readers of docs/evidence.md
# (the collector's answers here, and a pasted bundle's text in nestlab.lab.importer)
# ----------------------------------------------------------------------------------------------


def gb_of(byte_count: int | float) -> float:
    """Bytes as the lab format's GB (binary, as Hyper-V's 4GB means), rounded for a readable file."""
    rounded = round(byte_count / GIB, 3)
    return int(rounded) if rounded == int(rounded) else rounded


def workload(cpu_usage: int) -> str:
    """Get-VM's CPUUsage (percent) as the lab's workload class."""
    return "heavy" if cpu_usage >= HEAVY_CPU_PERCENT else "light"


def startup_memory(configured_gb: float, dynamic: bool, assigned_gb: float, running: bool) -> tuple[float, float | None]:
    """(startup_gb, pending_startup_gb): Get-VMMemory's Startup as configured; while a static VM
    runs with another MemoryAssigned, what it got applies and the configured value is pending."""
    if running and not dynamic and assigned_gb and assigned_gb != configured_gb:
        return assigned_gb, configured_gb
    return configured_gb, None


def patched(installed: Iterable[datetime], now: datetime | None) -> bool | None:
    """Whether Get-HotFix's newest InstalledOn is within a year of the OS clock (else of ours);
    None when no date shows."""
    dates = list(installed)
    if not dates:
        return None
    return (now or datetime.now()) - max(dates) <= timedelta(days=STALE_PATCH_DAYS)


VBS_STATES = {0: "not-enabled", 1: "enabled", 2: "running"}  # Win32_DeviceGuard VirtualizationBasedSecurityStatus


def vbs_state(status: Any) -> str:
    return VBS_STATES.get(_int_or_none(status), "not-enabled")


def guard_services(running: Iterable[Any]) -> tuple[bool, bool]:
    """(Credential Guard, HVCI) from Win32_DeviceGuard's SecurityServicesRunning (1, 2)."""
    numbers = {_int_or_none(s) for s in running}
    return 1 in numbers, 2 in numbers


def winnat_state(status: str, events: Iterable[tuple[Any, str]]) -> str:
    """WinNat's Status, locked when stopped by an SCM 7000/7023 event (failed to start / terminated)
    saying its file is being used by another process: (event id, message) pairs."""
    if str(status).lower() == "running":
        return "running"
    locked = any(_int_or_none(i) in probes.SERVICE_FAILED_EVENTS and "being used by another process" in message
                 and "NAT" in message for i, message in events)
    return "locked" if locked else "stopped"


def drive_media(partitions: Iterable[tuple[Any, Any]], disks: Iterable[tuple[Any, Any]]) -> dict[str, str | None]:
    """Drive letter -> "hdd"/"ssd" (None when the disk's MediaType is not shown): Get-Partition's
    (DriveLetter, DiskNumber) joined to Get-PhysicalDisk's (DeviceId, MediaType)."""
    media_of = {str(device): _name(media).upper() for device, media in disks}
    found: dict[str, str | None] = {}
    for letter, disk in partitions:
        if letter:
            media = media_of.get(str(disk))
            found[str(letter).rstrip(":").upper()] = None if media is None else ("hdd" if media == "HDD" else "ssd")
    return found


def cpu_vendor(manufacturer: str) -> str:
    """Win32_Processor's Manufacturer (GenuineIntel / AuthenticAMD) as the lab's vendor."""
    return "AMD" if "AMD" in manufacturer.upper() else "Intel"


def listening(ports: Iterable[tuple[int, str]], proxied: Iterable[int]) -> list[tuple[int, str]]:
    """A guest's (port, protocol) listeners, once each, less the TCP ports its own portproxy rules
    open (iphlpsvc listens for them: they are not services)."""
    skip = set(proxied)
    return list(dict.fromkeys((p, proto) for p, proto in ports if p and not (proto == "TCP" and p in skip)))


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
