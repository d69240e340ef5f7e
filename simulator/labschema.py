"""The lab file's schema (spec/lab-format.md) as pydantic v2 TypedDicts.

Why TypedDicts and not BaseModels: validation runs in pydantic-core (Rust) over the whole document
in one call, and its output is the same plain data the file holds — keys a person left out stay
out, so the defaults live in one place only, the records of ``simulator.model``. The annotation
order of each TypedDict is also the key order ``labfile`` writes (lab-format.md's order).

Strict mode: YAML already has types, so ``count: "2"`` is a mistake worth reporting, not a value
to coerce (an integer is still accepted where a number is expected).
"""

import ipaddress
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from typing_extensions import Required, TypedDict

from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, with_config
from pydantic_core import PydanticCustomError

STRICT = ConfigDict(extra="forbid", strict=True)

# ----------------------------------------------------------------------------------------------
# Checked scalars: each failure is one human message (the loader adds file, line and path)
# ----------------------------------------------------------------------------------------------


def _fail(kind: str, message: str, value: Any) -> PydanticCustomError:
    return PydanticCustomError(kind, message + ": {value}", {"value": quoted(value)})


def _ipv4_interface(value: str) -> str:
    try:
        ipaddress.IPv4Interface(value)
    except ValueError:
        raise _fail("ipv4_interface", "not an IPv4 address with prefix", value) from None
    if "/" not in value:
        raise _fail("ipv4_interface", "not an IPv4 address with prefix", value)
    return value


def _ipv4_address(value: str) -> str:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise _fail("ipv4_address", "not an IPv4 address", value) from None
    return value


def _listen_address(value: str) -> str:
    """netsh portproxy shows a rule without listenaddress as '*' (all addresses)."""
    return value if value == "*" else _ipv4_address(value)


def _ipv4_prefix(value: str) -> str:
    if "/" not in value:
        raise _fail("ipv4_prefix", "not an IPv4 network prefix", value)
    try:
        ipaddress.IPv4Network(value, strict=False)
    except ValueError:
        raise _fail("ipv4_prefix", "not an IPv4 network prefix", value) from None
    return value


_MAC = re.compile(r"[0-9A-Fa-f]{12}")
_GUID = re.compile(r"\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?")
_ID_BREAKERS = re.compile(r"[/:]")


def _mac(value: str) -> str:
    if not _MAC.fullmatch(value):
        raise _fail("mac", "not a MAC address of 12 hex digits", value)
    return value


def _guid(value: str) -> str:
    if not _GUID.fullmatch(value):
        raise _fail("guid", "not a GUID", value)
    return value


def _node_name(value: str) -> str:
    """Host and VM names become node ids (`HV01/L1`, `HV01:switch:X`), so '/' and ':' would split them."""
    if not value or _ID_BREAKERS.search(value):
        raise _fail("node_name", "not a usable name (empty, or contains '/' or ':')", value)
    return value


Cidr = Annotated[str, AfterValidator(_ipv4_interface)]
Ipv4 = Annotated[str, AfterValidator(_ipv4_address)]
ListenAddress = Annotated[str, AfterValidator(_listen_address)]
Prefix = Annotated[str, AfterValidator(_ipv4_prefix)]
Mac = Annotated[str, AfterValidator(_mac)]
Guid = Annotated[str, AfterValidator(_guid)]
NodeName = Annotated[str, AfterValidator(_node_name)]
Port = Annotated[int, Field(ge=1, le=65535)]
Count = Annotated[int, Field(ge=1)]
Gigabytes = Annotated[float, Field(gt=0)]
FreeGigabytes = Annotated[float, Field(ge=0)]

# ----------------------------------------------------------------------------------------------
# Parts (annotation order = the order lab-format.md lists the keys = the order files are written)
# ----------------------------------------------------------------------------------------------


@with_config(STRICT)
class OSFile(TypedDict, total=False):
    caption: str
    build: Annotated[int, Field(ge=0)]
    background: Literal["minimal", "realistic"]


@with_config(STRICT)
class CpuFile(TypedDict, total=False):
    vendor: Literal["Intel", "AMD"]
    model: str
    cores: Count
    virtualization_extensions: bool
    slat: bool
    enabled_in_firmware: bool


@with_config(STRICT)
class RegistryFile(TypedDict, total=False):
    EnableVirtualizationBasedSecurity: int | None
    RequirePlatformSecurityFeatures: int | None


@with_config(STRICT)
class SecurityFile(TypedDict, total=False):
    vbs: Literal["not-enabled", "enabled", "running"]
    credential_guard: bool
    device_guard: bool
    registry: RegistryFile
    group_policy_vbs: bool
    blocking_software: list[str]


@with_config(STRICT)
class ServicesFile(TypedDict, total=False):
    winnat: Literal["running", "stopped", "locked"]


@with_config(STRICT)
class VolumeFile(TypedDict, total=False):
    drive: Required[str]
    media: Literal["ssd", "hdd"]
    size_gb: Gigabytes
    free_gb: FreeGigabytes


@with_config(STRICT)
class NicFile(TypedDict, total=False):
    adapter: Required[str]
    network: Required[str]
    ip: Required[Cidr]
    gateway: Ipv4 | None


@with_config(STRICT)
class SwitchFile(TypedDict, total=False):
    name: Required[str]
    type: Literal["External", "Internal", "Private"]
    adapter: str | None
    host_ip: Cidr | None


@with_config(STRICT)
class StaticMappingFile(TypedDict, total=False):
    protocol: Literal["TCP", "UDP"]
    external_port: Required[Port]
    internal_ip: Required[Ipv4]
    internal_port: Required[Port]
    external_ip: Ipv4


@with_config(STRICT)
class NatFile(TypedDict, total=False):
    name: Required[str]
    internal_prefix: Required[Prefix]
    static_mappings: list[StaticMappingFile]


@with_config(STRICT)
class PortProxyFile(TypedDict, total=False):
    listen_address: Required[ListenAddress]
    listen_port: Required[Port]
    connect_address: Required[Ipv4]
    connect_port: Required[Port]


@with_config(STRICT)
class FirewallFile(TypedDict, total=False):
    name: Required[str]
    direction: Literal["inbound", "outbound"]
    action: Literal["allow", "block"]
    protocol: Literal["TCP", "UDP", "Any"]
    port: Port | None
    enabled: bool
    display_name: str | None
    group: str | None
    display_group: str | None
    profile: str


@with_config(STRICT)
class VhdFile(TypedDict, total=False):
    path: Required[str]
    type: Literal["fixed", "dynamic", "differencing"]
    size_gb: Gigabytes
    parent: str | None
    disk_id: Guid | None
    parent_disk_id: Guid | None


@with_config(STRICT)
class ProcessorFile(TypedDict, total=False):
    count: Count
    expose_virtualization_extensions: bool


@with_config(STRICT)
class MemoryFile(TypedDict, total=False):
    startup_gb: Gigabytes
    dynamic: bool
    pending_startup_gb: Gigabytes | None


@with_config(STRICT)
class AdapterFile(TypedDict, total=False):
    name: str
    switch: str | None
    mac_spoofing: bool
    ip: Cidr | None
    max_bandwidth_mbps: Annotated[int, Field(ge=0)]
    mac: Mac | None


@with_config(STRICT)
class ListenerFile(TypedDict, total=False):
    port: Required[Port]
    protocol: Literal["TCP", "UDP"]


# ----------------------------------------------------------------------------------------------
# Owners: a host, and a VM's guest (a host's shape minus kind, cpu, memory and networks)
# ----------------------------------------------------------------------------------------------


@with_config(STRICT)
class GuestFile(TypedDict, total=False):
    os: OSFile
    hyperv_installed: bool
    hypervisor_launch: Literal["auto", "off"]
    security: SecurityFile
    services: ServicesFile
    integration_services_current: bool
    volumes: list[VolumeFile]
    switches: list[SwitchFile]
    nat: list[NatFile]
    portproxy: list[PortProxyFile]
    firewall: list[FirewallFile]
    vhds: list[VhdFile]
    files_missing: list[str]
    files_corrupt: list[str]
    vms: "list[VMFile]"


@with_config(STRICT)
class VMFile(TypedDict, total=False):
    name: Required[NodeName]
    generation: Literal[1, 2]
    version: str
    state: Literal["Running", "Off", "Saved", "Paused"]
    processor: ProcessorFile
    memory: MemoryFile
    clustered: bool
    adapters: list[AdapterFile]
    disks: list[str]
    workload: Literal["light", "heavy"]
    services: list[ListenerFile]
    guest: GuestFile


@with_config(STRICT)
class HostFile(TypedDict, total=False):
    name: Required[NodeName]
    kind: Literal["physical", "azure-vm"]
    azure_size: str | None
    os: OSFile
    cpu: CpuFile
    memory_gb: Gigabytes
    hyperv_installed: bool
    hypervisor_launch: Literal["auto", "off"]
    security: SecurityFile
    services: ServicesFile
    integration_services_current: bool
    volumes: list[VolumeFile]
    networks: list[NicFile]
    switches: list[SwitchFile]
    nat: list[NatFile]
    portproxy: list[PortProxyFile]
    firewall: list[FirewallFile]
    vhds: list[VhdFile]
    files_missing: list[str]
    files_corrupt: list[str]
    vms: list[VMFile]


@with_config(STRICT)
class LabFile(TypedDict, total=False):
    lab: Required[str]
    description: str | None
    hosts: list[HostFile]


LAB_FILE = TypeAdapter(LabFile)

KEY_ORDER: dict[str, tuple[str, ...]] = {
    name: tuple(cls.__annotations__)
    for name, cls in {
        "lab": LabFile, "host": HostFile, "guest": GuestFile, "vm": VMFile, "os": OSFile,
        "cpu": CpuFile, "security": SecurityFile, "registry": RegistryFile, "services": ServicesFile,
        "volume": VolumeFile, "nic": NicFile, "switch": SwitchFile, "nat": NatFile,
        "static_mapping": StaticMappingFile, "portproxy": PortProxyFile, "firewall": FirewallFile,
        "vhd": VhdFile, "processor": ProcessorFile, "memory": MemoryFile, "adapter": AdapterFile,
        "listener": ListenerFile,
    }.items()
}
"""Key order per part of the file, for writing files in lab-format.md's order."""

# ----------------------------------------------------------------------------------------------
# Cross-references: what one call of pydantic cannot see (names unique among siblings, references
# to switches, adapters and disks of the right owner). They read the raw document defensively, so
# a file with type errors still gets its reference errors reported in the same run.
# ----------------------------------------------------------------------------------------------

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One error of a lab file: where (`loc`, for the line), what, and how to show the path.

    `shown` is the path printed (default `loc`): an unknown key is located at the key but named on
    its mapping. `also` is a second place the message names ("also at line N").
    """

    loc: Loc
    message: str
    shown: Loc | None = None
    also: Loc | None = None


def quoted(value: Any) -> str:
    """A value as the message shows it: strings in single quotes without escaping Windows paths."""
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def reference_problems(data: Any) -> list[Problem]:
    if not isinstance(data, dict):
        return []
    hosts = _mappings(data.get("hosts"))
    problems = _duplicates(hosts, ("hosts",), "name", "name")
    for i, host in hosts:
        name = host.get("name")
        if not isinstance(name, str):
            continue
        loc = ("hosts", i)
        nics = _mappings(host.get("networks"))
        problems += _duplicates(nics, loc + ("networks",), "adapter", "adapter")
        uplinks = {n.get("adapter") for _, n in nics}
        problems += _owner_problems(host, loc, name, uplinks, "a network adapter (networks[].adapter) of")
    return problems


def _owner_problems(owner: dict, loc: Loc, owner_id: str, uplinks: set, uplink_what: str) -> list[Problem]:
    switches = _mappings(owner.get("switches"))
    vhds = _mappings(owner.get("vhds"))
    vms = _mappings(owner.get("vms"))
    problems = _duplicates(switches, loc + ("switches",), "name", "name")
    problems += _duplicates(_mappings(owner.get("nat")), loc + ("nat",), "name", "name")
    problems += _duplicates(vhds, loc + ("vhds",), "path", "path", fold=True)
    problems += _duplicates(vms, loc + ("vms",), "name", "name")
    for j, switch in switches:
        adapter = switch.get("adapter")
        if switch.get("type", "External") == "External" and isinstance(adapter, str) and adapter not in uplinks:
            problems.append(Problem(loc + ("switches", j, "adapter"), f"adapter {quoted(adapter)} is not {uplink_what} {owner_id}"))
    switch_names = {s.get("name") for _, s in switches}
    vhd_paths = {v["path"].casefold() for _, v in vhds if isinstance(v.get("path"), str)}
    for k, vm in vms:
        name = vm.get("name")
        if isinstance(name, str):
            problems += _vm_problems(vm, loc + ("vms", k), owner_id, f"{owner_id}/{name}", switch_names, vhd_paths)
    return problems


def _vm_problems(vm: dict, loc: Loc, owner_id: str, vm_id: str, switch_names: set, vhd_paths: set) -> list[Problem]:
    adapters = _mappings(vm.get("adapters"))
    problems = _duplicates(adapters, loc + ("adapters",), "name", "name", default="Network Adapter")
    for a, adapter in adapters:
        switch = adapter.get("switch")
        if isinstance(switch, str) and switch not in switch_names:
            problems.append(Problem(loc + ("adapters", a, "switch"), f"switch {quoted(switch)} is not declared on {owner_id}"))
    disks = vm.get("disks")
    for d, path in enumerate(disks if isinstance(disks, list) else ()):
        if isinstance(path, str) and path.casefold() not in vhd_paths:
            problems.append(Problem(loc + ("disks", d), f"disk {quoted(path)} is not a declared vhd of {owner_id}"))
    guest = vm.get("guest")
    if isinstance(guest, dict):
        names = {adapter.get("name", "Network Adapter") for _, adapter in adapters}
        problems += _owner_problems(guest, loc + ("guest",), vm_id, names, "an adapter of VM")
    return problems


def _mappings(value: Any) -> list[tuple[int, dict]]:
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)] if isinstance(value, list) else []


def _duplicates(
    items: list[tuple[int, dict]], loc: Loc, key: str, what: str, *, fold: bool = False, default: str | None = None
) -> list[Problem]:
    seen: dict[Any, Loc] = {}
    problems = []
    for i, item in items:
        value = item.get(key, default)
        if not isinstance(value, str):
            continue
        ident = value.casefold() if fold else value
        here = loc + (i, key) if key in item else loc + (i,)
        if ident in seen:
            problems.append(Problem(here, f"duplicate {what} {quoted(value)} (also at line {{also}})", also=seen[ident]))
        else:
            seen[ident] = here
    return problems
