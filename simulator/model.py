"""The lab model: typed records on the nodes of a networkx graph.

A lab is a graph because nested virtualization is one: a host runs VMs, whose guests run VMs of
their own, adapters attach to switches, switches uplink to NICs or to an outer VM's adapter, NATs
serve switches, disks chain to parents. Every question the simulator and the diagnosis ask
("which VMs does this host run at any depth", "what is the path from this VM to the LAN", "what is
the chain of this disk") is a walk over that graph.

Records are frozen dataclasses whose field names are the keys of ``spec/lab-format.md``: the lab
file maps onto them one to one, and a change of state is a ``Lab.update`` that swaps a record.
This module holds data and graph queries only; behaviour lives in ``network``, ``storage``,
``behaviour`` and ``powershell``. The diagnosis imports it too (to rebuild an evidence lab), so it
must stay free of simulator behaviour.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
import ipaddress
from dataclasses import MISSING, dataclass, field, fields, replace
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Callable, Iterator, Literal

import networkx as nx
from networkx.classes.reportviews import (DiMultiDegreeView, InMultiDegreeView, InMultiEdgeView, OutMultiDegreeView,
                                          OutMultiEdgeView)

from nestlab.simulator.shared_dict import SharedDict


# ----------------------------------------------------------------------------------------------
# Vocabulary
# ----------------------------------------------------------------------------------------------

HostKind = Literal["physical", "azure-vm"]
CpuVendor = Literal["Intel", "AMD"]
VbsState = Literal["not-enabled", "enabled", "running"]
WinnatState = Literal["running", "stopped", "locked"]
SwitchType = Literal["External", "Internal", "Private"]
VhdType = Literal["fixed", "dynamic", "differencing"]
VmState = Literal["Running", "Off", "Saved", "Paused"]
Media = Literal["ssd", "hdd"]
Workload = Literal["light", "heavy"]
LaunchType = Literal["auto", "off"]


class Edge(StrEnum):
    """The closed set of edge kinds of a lab graph."""

    HAS = "has"  # owner (host or VM-with-guest) -> switch / nat / vhd / nic; VM -> adapter
    HOSTS = "hosts"  # physical/cloud host -> its first-level VMs
    RUNS = "runs"  # VM -> the VMs its guest runs
    ATTACHED = "attached"  # adapter -> switch
    UPLINK = "uplink"  # External switch -> NIC (host) or VM adapter (guest); NIC -> network
    DISK = "disk"  # VM -> VHD
    PARENT = "parent"  # differencing VHD -> its declared parent VHD
    NAT = "nat"  # NAT -> the Internal switch whose subnet it serves


# ----------------------------------------------------------------------------------------------
# Value records (parts of a node record)
# ----------------------------------------------------------------------------------------------


def _frozen(cls: type) -> type:
    """A record class: frozen, keyword-only and slotted (no `__dict__` per record: a 10,000-VM lab
    and its evidence lab hold ~100,000 of them). Slots take away the class attributes that held
    the field defaults (`Cpu.cores` is a slot descriptor), so a reader that needs one field's
    default reads it from `DEFAULTS`, the class's field defaults by name (`Cpu.DEFAULTS["cores"]`)."""
    made = dataclass(frozen=True, kw_only=True, slots=True)(cls)
    made.DEFAULTS = MappingProxyType({f.name: f.default for f in fields(made) if f.default is not MISSING})
    return made


Background = Literal["minimal", "realistic"]


@_frozen
class OSInfo:
    caption: str = "Microsoft Windows Server 2022 Datacenter"
    build: int = 20348
    # What the installation shows beyond the lab's own records (simulator.cmdlets.background): "minimal"
    # shows nothing else; "realistic" adds what every Windows of this edition and build has (system
    # listeners, built-in firewall rules, the Default Switch, Defender, an event-log history).
    background: Background = "minimal"


@_frozen
class Cpu:
    vendor: CpuVendor = "Intel"
    model: str = "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz"
    cores: int = 16
    virtualization_extensions: bool = True
    slat: bool = True
    enabled_in_firmware: bool = True


@_frozen
class DeviceGuardRegistry:
    """Values under HKLM\\System\\CurrentControlSet\\Control\\DeviceGuard; None = absent."""

    EnableVirtualizationBasedSecurity: int | None = None
    RequirePlatformSecurityFeatures: int | None = None


@_frozen
class Security:
    vbs: VbsState = "not-enabled"
    credential_guard: bool = False
    device_guard: bool = False
    registry: DeviceGuardRegistry = DeviceGuardRegistry()
    group_policy_vbs: bool = False
    blocking_software: tuple[str, ...] = ()


@_frozen
class Services:
    winnat: WinnatState = "running"


@_frozen
class Volume:
    drive: str
    media: Media = "ssd"
    size_gb: float = 1000
    free_gb: float = 800


@_frozen
class StaticMapping:
    protocol: Literal["TCP", "UDP"] = "TCP"
    external_port: int
    internal_ip: str
    internal_port: int
    external_ip: str = "0.0.0.0"


@_frozen
class PortProxyRule:
    listen_address: str
    listen_port: int
    connect_address: str
    connect_port: int


@_frozen
class FirewallRule:
    name: str
    direction: Literal["inbound", "outbound"] = "inbound"
    action: Literal["allow", "block"] = "allow"
    protocol: Literal["TCP", "UDP", "Any"] = "TCP"
    port: int | None = None  # None = any port
    enabled: bool = True
    display_name: str | None = None  # None = the name (New-NetFirewallRule without -DisplayName)
    group: str | None = None  # the rule group ("@FirewallAPI.dll,-28502"); None = no group
    display_group: str | None = None
    profile: str = "Any"


@_frozen
class Listener:
    """A service listening inside a guest (for reachability checks)."""

    port: int
    protocol: Literal["TCP", "UDP"] = "TCP"


@_frozen
class Processor:
    count: int = 2
    expose_virtualization_extensions: bool = False


@_frozen
class Memory:
    startup_gb: float = 4
    dynamic: bool = False
    pending_startup_gb: float | None = None


# ----------------------------------------------------------------------------------------------
# Node records
# ----------------------------------------------------------------------------------------------


@_frozen
class Platform:
    """What a Windows installation has, whether it runs on metal, in Azure, or in a VM's guest."""

    os: OSInfo = OSInfo()
    hyperv_installed: bool = False
    hypervisor_launch: LaunchType = "auto"
    security: Security = Security()
    services: Services = Services()
    integration_services_current: bool = True
    volumes: tuple[Volume, ...] = ()
    portproxy: tuple[PortProxyRule, ...] = ()
    firewall: tuple[FirewallRule, ...] = ()
    files_missing: tuple[str, ...] = ()
    files_corrupt: tuple[str, ...] = ()


@_frozen
class Guest(Platform):
    """The OS inside a VM: a host's shape minus kind, CPU, memory and physical networks."""


@_frozen
class Host(Platform):
    name: str
    kind: HostKind = "physical"
    azure_size: str | None = None
    cpu: Cpu = Cpu()
    memory_gb: float = 64
    hyperv_installed: bool = True


@_frozen
class VM:
    name: str
    generation: Literal[1, 2] = 2
    version: str = "10.0"
    state: VmState = "Off"
    processor: Processor = Processor()
    memory: Memory = Memory()
    clustered: bool = False
    workload: Workload = "light"
    services: tuple[Listener, ...] = ()
    guest: Guest = Guest()


@_frozen
class Adapter:
    name: str = "Network Adapter"
    mac_spoofing: bool = False
    ip: str | None = None  # "192.168.200.10/24"
    max_bandwidth_mbps: int = 0
    mac: str | None = None  # 12 hex digits as Hyper-V prints them; None = derived from the node id


@_frozen
class Nic:
    """A host's physical NIC and the network it is on (lab-format `networks`)."""

    adapter: str
    network: str
    ip: str
    gateway: str | None = None


@_frozen
class Network:
    """A physical network outside every host (the LAN a support engineer calls 'corp-lan')."""

    name: str


@_frozen
class Switch:
    name: str
    type: SwitchType = "External"
    adapter: str | None = None  # External: the NIC (host) or VM adapter name (guest)
    host_ip: str | None = None  # Internal: the vEthernet adapter's address, "192.168.200.1/24"


@_frozen
class Nat:
    name: str
    internal_prefix: str
    static_mappings: tuple[StaticMapping, ...] = ()


@_frozen
class Vhd:
    path: str
    type: VhdType = "dynamic"
    size_gb: float = 127
    parent: str | None = None
    disk_id: str | None = None  # None = derived from the path (see Lab.disk_id)
    parent_disk_id: str | None = None  # None = the disk_id of the declared parent


Record = Host | VM | Adapter | Nic | Network | Switch | Nat | Vhd

KIND_OF: dict[type, str] = {
    Host: "host",
    VM: "vm",
    Adapter: "adapter",
    Nic: "nic",
    Network: "network",
    Switch: "switch",
    Nat: "nat",
    Vhd: "vhd",
}

# ----------------------------------------------------------------------------------------------
# Node ids (lab-format.md: "Node identity")
# ----------------------------------------------------------------------------------------------


def host_id(name: str) -> str:
    return name


def vm_id(owner: str, name: str) -> str:
    return f"{owner}/{name}"


def switch_id(owner: str, name: str) -> str:
    return f"{owner}:switch:{name}"


def nat_id(owner: str, name: str) -> str:
    return f"{owner}:nat:{name}"


def vhd_id(owner: str, path: str) -> str:
    return f"{owner}:vhd:{path}"


def adapter_id(vm: str, name: str) -> str:
    return f"{vm}:adapter:{name}"


def nic_id(host: str, adapter: str) -> str:
    return f"{host}:nic:{adapter}"


def network_id(name: str) -> str:
    return f"network:{name}"


def owner_of_id(node_id: str) -> str:
    """The owner part of a `OWNER:kind:NAME` id; a VM id's owner is its parent VM or host."""
    if ":" in node_id and not node_id.startswith("network:"):
        return node_id.split(":", 1)[0]
    return node_id.rsplit("/", 1)[0] if "/" in node_id else node_id


@dataclass(frozen=True, order=True)
class NodeId:
    """A lab-format node id, parsed once instead of split by string operations where it is used.

    `path` is the nesting: the host, then the guests below it, outermost first (`HV01/L1/L2-web`
    is ("HV01", "L1", "L2-web")). A switch, NAT, VHD, adapter or NIC is addressed through its
    owner: `kind` and `item` (`HV01/L1:vhd:C:\\VMs\\x.vhdx` is the owner ("HV01", "L1"), "vhd",
    and the path, which may itself hold `:` and `/`). A physical network has no owner:
    `network:NAME` is path (), kind "network". `str()` gives the id back (`parse` round trips).
    """

    path: tuple[str, ...]
    kind: str | None = None
    item: str | None = None

    @classmethod
    def parse(cls, text: str) -> "NodeId":
        """`HV01`, `HV01/L1`, `HV01:switch:External`, `network:corp-lan` → a NodeId; else BadInput."""
        from nestlab.simulator.errors import BadInput

        if text.startswith("network:") and len(text) > len("network:"):
            return cls((), "network", text[len("network:"):])
        owner, has_item, rest = text.partition(":")
        kind, _, item = rest.partition(":")
        path = tuple(owner.split("/"))
        if not all(path) or (has_item and not (kind and item)):
            raise BadInput(f"{text!r}: not a node id (HOST, HOST/VM/…, or OWNER:kind:NAME)")
        return cls(path, kind or None, item or None) if has_item else cls(path)

    @classmethod
    def of_host(cls, host: str, guests: tuple[str, ...] | list[str] = ()) -> "NodeId":
        """A host, or the guest reached from it through `guests` (outermost first)."""
        return cls((host, *guests))

    def __str__(self) -> str:
        if self.kind == "network":
            return f"network:{self.item}"
        owner = "/".join(self.path)
        return f"{owner}:{self.kind}:{self.item}" if self.kind else owner

    @property
    def host(self) -> str | None:
        """The top-level (physical or cloud) host it is on or in; None for a physical network."""
        return self.path[0] if self.path else None

    @property
    def guest_path(self) -> tuple[str, ...]:
        """The guests below the host where it lives, outermost first: () on the host itself;
        for a VM, the chain ending with that VM (where a command *inside* it runs)."""
        return self.path[1:]

    @property
    def is_vm(self) -> bool:
        return self.kind is None and len(self.path) > 1

    @property
    def owner(self) -> "NodeId | None":
        """Who holds it: an item's host or VM, a VM's parent; None for a host or a physical network."""
        if self.kind is not None:
            return NodeId(self.path) if self.path else None
        return NodeId(self.path[:-1]) if len(self.path) > 1 else None

    @property
    def depth(self) -> int:
        """How far down the nesting it sits: 0 on a host, 1 for L1 and what L1 owns, …"""
        return max(len(self.path) - 1, 0)

    @property
    def name(self) -> str:
        """Its own name: the item's (switch name, VHD path), else the last of the path."""
        return self.item if self.kind is not None else self.path[-1]

    def within(self, other: "NodeId | str") -> bool:
        """Whether it is `other` or lies below it (a VM, and all it holds, is within its host)."""
        other = other if isinstance(other, NodeId) else NodeId.parse(other)
        if other.kind is not None:
            return self == other
        return self.path[: len(other.path)] == other.path

    def child(self, vm: str) -> "NodeId":
        """The VM `vm` running on this host or VM."""
        return NodeId((*self.path, vm))


@lru_cache(maxsize=1 << 16)  # a collection asks for each VM's and disk's id several times
def stable_guid(*parts: str) -> str:
    """A GUID derived from names, so ids and disk identifiers are the same on every load."""
    raw = bytearray(hashlib.sha1("\x00".join(parts).encode()).digest()[:16])
    # what uuid.UUID(bytes=raw, version=5) sets, without building the UUID (a first diagnosis makes
    # one per VM and disk): the version in the high nibble of byte 6, the RFC 4122 variant in byte 8
    raw[6] = (raw[6] & 0x0F) | 0x50
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex().upper()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def derived_mac(node_id: str) -> str:
    """A Hyper-V-style MAC (00155D prefix, Microsoft's OUI) derived from the adapter's id."""
    digest = hashlib.sha1(node_id.encode()).hexdigest().upper()
    return "00155D" + digest[:6]


# ----------------------------------------------------------------------------------------------
# The lab
# ----------------------------------------------------------------------------------------------


class _EdgeData(SharedDict):
    """The data dict every edge of one kind shares: `{"kind": kind}` and nothing else.

    An edge of a lab carries only its kind (also its key), so the ~70,000 edges of a 10,000-VM lab
    need one data dict per kind, not one each (~0.2 KB an edge, in the simulated lab and again in
    the evidence's). It refuses every change, so no write can reach the other edges of its kind: a
    graph user who wants data of its own on an edge gets its own dicts through `_Graph.add_edge`
    (copy on write), and `graph.edges[u, v, k][...] = ...` raises instead of writing to all."""

    __slots__ = ()
    REFUSAL = ("an edge's data is shared by every edge of its kind: change edges through the Lab "
               "or graph.add_edge/remove_edge, not in place")

    def __reduce__(self) -> Any:  # pickle and copy give the one shared dict back
        return _edge_data, (str(self["kind"]),)


class _EdgeKeys(_EdgeData):
    """The key dict of a pair of nodes joined by one edge, shared by every such pair of its kind:
    `{str(kind): <that kind's _EdgeData>}` (networkx's adjacency maps neighbour -> key -> data,
    and the same key dict sits in the source's `_succ` and the target's `_pred`)."""

    __slots__ = ()

    def __reduce__(self) -> Any:
        (key,) = self
        return _edge_keys, (key,)


_EDGE_DATA: dict[str, _EdgeData] = {str(kind): _EdgeData(kind=kind) for kind in Edge}
_EDGE_KEYS: dict[str, _EdgeKeys] = {str(kind): _EdgeKeys({str(kind): _EDGE_DATA[str(kind)]}) for kind in Edge}


def _edge_data(key: str) -> _EdgeData:
    return _EDGE_DATA[key]


def _edge_keys(key: str) -> _EdgeKeys:
    return _EDGE_KEYS[key]


class _Graph(nx.MultiDiGraph):
    """A MultiDiGraph whose edge and degree views are made per call. networkx caches each view
    on its graph, and each view holds the graph: a reference cycle that left every dropped lab to
    the cyclic collector, and one frozen by `nestlab.gc_pause` (a lab load, a collection's
    evidence) in memory for good. Without the cache a lab is freed by reference counting."""

    @property
    def edges(self) -> OutMultiEdgeView:  # type: ignore[override]
        return OutMultiEdgeView(self)

    @property
    def out_edges(self) -> OutMultiEdgeView:  # type: ignore[override]
        return OutMultiEdgeView(self)

    @property
    def in_edges(self) -> InMultiEdgeView:  # type: ignore[override]
        return InMultiEdgeView(self)

    @property
    def degree(self) -> DiMultiDegreeView:  # type: ignore[override]
        return DiMultiDegreeView(self)

    @property
    def in_degree(self) -> InMultiDegreeView:  # type: ignore[override]
        return InMultiDegreeView(self)

    @property
    def out_degree(self) -> OutMultiDegreeView:  # type: ignore[override]
        return OutMultiDegreeView(self)

    # -- the shared edge dicts (_EdgeKeys): copy on write for networkx's own edge changes -----------

    def add_edge(self, u_for_edge: Any, v_for_edge: Any, key: Any = None, **attr: Any) -> Any:
        self._own_edges(u_for_edge, v_for_edge)
        return super().add_edge(u_for_edge, v_for_edge, key, **attr)

    def remove_edge(self, u: Any, v: Any, key: Any = None) -> None:
        self._own_edges(u, v)
        super().remove_edge(u, v, key)

    def _own_edges(self, u: Any, v: Any) -> None:
        """Give the pair u -> v key and data dicts of its own before networkx changes them in place."""
        keys = self._succ.get(u, {}).get(v)
        if keys is not None and (isinstance(keys, _EdgeData) or any(isinstance(d, _EdgeData) for d in keys.values())):
            own = {k: dict(data) for k, data in keys.items()}
            self._succ[u][v] = own
            self._pred[v][u] = own

    def copy(self, as_view: bool = False) -> "_Graph":
        """networkx's copy (same nodes, adjacency and order; node dicts copied), keeping the shared
        edge dicts shared: they cannot change, so a copy may hold them as the original does."""
        if as_view:
            return super().copy(as_view=True)
        other = self.__class__()
        other.graph.update(self.graph)
        for n, attributes in self._node.items():
            other._node[n] = attributes.copy()
            other._succ[n] = {}
            other._pred[n] = {}
        for u, neighbours in self._succ.items():
            mine = other._succ[u]
            for v, keys in neighbours.items():
                if not isinstance(keys, _EdgeKeys):
                    keys = {k: data if isinstance(data, _EdgeData) else data.copy() for k, data in keys.items()}
                mine[v] = keys
                other._pred[v][u] = keys
        return other


class Lab:
    """A thin class over a MultiDiGraph: nodes carry records under lab-format ids.

    Answers derived from the graph (a VM's parent, the VMs an owner runs, and whatever behaviour
    memoizes through `memo`) are kept until the lab changes: every change goes through `add`,
    `link`, `unlink`, `remove`, `set` or a new `graph`, and each of them forgets them. A diagnosis
    asks the same questions tens of thousands of times of a lab that does not change meanwhile.
    """

    def __init__(self, name: str, description: str | None = None) -> None:
        self.name = name
        self.description = description
        self._graph: nx.MultiDiGraph = _Graph()
        # Each node's record, also held in its networkx attribute dict: `lab[node]` and `platform`
        # (~60 k and ~25 k reads per 1,000 VMs diagnosed) read one table, not the node's dict and its
        # table too (two dependent cache misses per first read of a record in a 40,000-node lab).
        self._records: dict[str, Any] = {}
        # Each VHD's id, to the very string the graph holds: `vhd_by_path` returns it, not the id it
        # formats to look it up, so what keeps the answer (an edge to the disk, a table keyed by it)
        # holds no copy of a ~120-byte path id (~2,000 per 1,000 VMs, in the lab and in its evidence).
        self._vhds: dict[str, str] = {}
        # answers that depend on nodes and edges only, one table per question ("owner", (kind, "out"),
        # …) keyed by node id: no key tuple kept per node asked (~14 k of them per 1,000 VMs diagnosed)
        self._shape: defaultdict[Any, dict[Any, Any]] = defaultdict(dict)
        self._state: dict[Any, Any] = {}  # answers that also depend on the records
        self.source: Any = None  # the loaded lab-file text, so a save keeps comments (labfile)
        self.source_path: str | None = None

    @property
    def graph(self) -> nx.MultiDiGraph:
        return self._graph

    @graph.setter
    def graph(self, graph: nx.MultiDiGraph) -> None:
        self._graph = graph
        self._records = _records_of(graph)
        self._vhds = _vhds_of(self._records)
        self._reshaped()

    # -- derived answers, kept until the lab changes ----------------------------------------------

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """`compute()`, computed once while the lab's nodes, edges and records stay as they are.

        For answers that are pure functions of the lab (behaviour's hypervisor status): the key
        must name the question fully, e.g. ("hypervisor", owner)."""
        try:
            return self._state[key]
        except KeyError:
            value = self._state[key] = compute()
            return value

    def changed(self) -> None:
        """Forget every derived answer: for a change made on `graph` directly, outside these methods."""
        self._records = _records_of(self._graph)
        self._vhds = _vhds_of(self._records)
        self._reshaped()

    def _reshaped(self) -> None:
        if self._shape:
            self._shape.clear()
        if self._state:
            self._state.clear()

    def _restated(self) -> None:
        if self._state:
            self._state.clear()

    # -- building ------------------------------------------------------------------------------

    # `add`, `link` and `unlink` write networkx's dicts themselves (what add_node, add_edge and
    # remove_edge write, in the same order): a lab load and every evidence rebuild make ~4 nodes and
    # ~7 edges per VM, and networkx's calls cost ~10 k instructions per edge. An edge's key and data
    # dicts are the ones its kind shares (_EdgeKeys).

    def add(self, node_id: str, record: Record) -> str:
        graph = self._graph
        if node_id in graph._node:
            raise ValueError(f"duplicate node id {node_id!r}")
        if node_id is None:
            raise ValueError("None cannot be a node")
        graph._succ[node_id] = {}
        graph._pred[node_id] = {}
        graph._node[node_id] = {"record": record, "kind": KIND_OF[type(record)]}
        self._records[node_id] = record
        if type(record) is Vhd:
            self._vhds[node_id] = node_id
        cache = getattr(graph, "__networkx_cache__", None)  # networkx >= 3.3 clears it after each change
        if cache:
            cache.clear()
        self._reshaped()
        return node_id

    def link(self, src: str, dst: str, kind: Edge) -> None:
        graph = self._graph
        if type(kind) is not Edge:  # another kind of kind: networkx's own way, its own dicts
            graph.add_edge(src, dst, key=str(kind), kind=kind)
            self._reshaped()
            return
        succ, pred = graph._succ, graph._pred
        for end in (src, dst):  # a missing end becomes a bare node, as add_edge makes it
            if end not in succ:
                if end is None:
                    raise ValueError("None cannot be a node")
                succ[end] = {}
                pred[end] = {}
                graph._node[end] = {}
        out = succ[src]
        keys = out.get(dst)
        if keys is None:  # (an Edge is a StrEnum: it finds its str key in these dicts)
            out[dst] = pred[dst][src] = _EDGE_KEYS[kind]
        elif kind not in keys:  # a second kind between the same two nodes: a key dict of their own
            out[dst] = pred[dst][src] = {**keys, str(kind): _EDGE_DATA[kind]}
        elif not isinstance(keys[kind], _EdgeData):  # the edge is there with networkx's own data dict
            keys[kind].update(kind=kind)  # what add_edge writes over it
        cache = getattr(graph, "__networkx_cache__", None)
        if cache:
            cache.clear()
        self._reshaped()

    def unlink(self, src: str, dst: str, kind: Edge) -> None:
        graph = self._graph
        key = str(kind)
        keys = graph._succ.get(src, {}).get(dst)
        if keys is None or key not in keys:
            return
        if len(keys) == 1:
            del graph._succ[src][dst]
            del graph._pred[dst][src]
        else:
            graph._succ[src][dst] = graph._pred[dst][src] = {k: data for k, data in keys.items() if k != key}
        cache = getattr(graph, "__networkx_cache__", None)
        if cache:
            cache.clear()
        self._reshaped()

    def remove(self, node_id: str) -> None:
        self.graph.remove_node(node_id)
        self._records.pop(node_id, None)
        self._vhds.pop(node_id, None)
        self._reshaped()

    def copy(self) -> "Lab":
        """An independent lab (records are frozen, so sharing them is safe)."""
        other = Lab(self.name, self.description)
        other.graph = self.graph.copy()
        other.source = self.source
        other.source_path = self.source_path
        return other

    # -- reading and changing records ------------------------------------------------------------

    def __contains__(self, node_id: object) -> bool:
        try:
            return node_id in self._graph._node  # the node dict itself, as in `__getitem__`
        except TypeError:  # an unhashable value is no node (as networkx answers)
            return False

    def __getitem__(self, node_id: str) -> Any:
        try:
            return self._records[node_id]
        except KeyError:
            raise KeyError(f"no node {node_id!r} in lab {self.name!r}") from None

    def kind(self, node_id: str) -> str:
        return self._graph._node[node_id]["kind"]

    def attributes(self, node_id: str) -> dict[str, Any]:
        """The node's own attribute dict (`graph.nodes[node_id]`, without the view): where the
        running state that is no record lives (a host's uploaded files, settings pending a boot)."""
        return self._graph._node[node_id]

    def set(self, node_id: str, record: Record) -> None:
        if type(record) is not type(self[node_id]):
            raise TypeError(f"{node_id}: cannot replace a {self.kind(node_id)} by {type(record).__name__}")
        self._graph._node[node_id]["record"] = record
        self._records[node_id] = record
        self._restated()

    def update(self, node_id: str, **changes: Any) -> Any:
        """Swap a node's record for a copy with `changes`; returns the new record."""
        record = replace(self[node_id], **changes)
        self.set(node_id, record)
        return record

    def platform(self, owner: str) -> Platform:
        """The Windows installation of an owner: the host itself, or a VM's guest.

        Every cmdlet asks it, several times (Ctx.platform): the records are read here directly,
        as in `__getitem__`, not through a second call."""
        try:
            record = self._records[owner]
        except KeyError:
            raise KeyError(f"no node {owner!r} in lab {self.name!r}") from None
        return record.guest if type(record) is VM else record

    def update_platform(self, owner: str, **changes: Any) -> Platform:
        record = self[owner]
        if isinstance(record, VM):
            guest = replace(record.guest, **changes)
            self.set(owner, replace(record, guest=guest))
            return guest
        return self.update(owner, **changes)

    def relink(self, owner: str) -> None:
        """(Re)compute the edges that follow from records: uplink, parent, nat.

        Called after a load and after any change that can move them (a new switch, a re-parented
        VHD, a new NAT), so the graph never disagrees with the records.
        """
        is_vm = self.kind(owner) == "vm"
        platform = self.platform(owner)
        owned: dict[str, list[str]] = {"switch": [], "vhd": [], "nat": []}
        kinds = self._graph._node
        for child, keys in self._graph._succ[owner].items():  # out_edges(owner, keys=True), without the view
            if Edge.HAS in keys and kinds[child]["kind"] in owned:
                owned[kinds[child]["kind"]].append(child)
        switches = owned["switch"]
        for sid in switches:
            for dst in _ends(self._graph._succ, sid, Edge.UPLINK):  # not kept: the unlink forgets it
                self.unlink(sid, dst, Edge.UPLINK)
            sw: Switch = self[sid]
            if sw.type == "External" and sw.adapter:
                target = adapter_id(owner, sw.adapter) if is_vm else nic_id(owner, sw.adapter)
                if target in self.graph:
                    self.link(sid, target, Edge.UPLINK)
        for vid in owned["vhd"]:
            for dst in _ends(self._graph._succ, vid, Edge.PARENT):  # not kept: the unlink forgets it
                self.unlink(vid, dst, Edge.PARENT)
            vhd: Vhd = self[vid]
            if vhd.parent and vhd.parent not in platform.files_missing:
                parent = self.vhd_by_path(owner, vhd.parent)
                if parent is not None:
                    self.link(vid, parent, Edge.PARENT)
        for nid in owned["nat"]:
            for dst in _ends(self._graph._succ, nid, Edge.NAT):  # not kept: the unlink forgets it
                self.unlink(nid, dst, Edge.NAT)
            prefix = ipaddress.ip_network(self[nid].internal_prefix, strict=False)
            for sid in switches:
                sw = self[sid]
                if sw.type == "Internal" and sw.host_ip and ipaddress.ip_interface(sw.host_ip).ip in prefix:
                    self.link(nid, sid, Edge.NAT)

    # -- queries ------------------------------------------------------------------------------

    def nodes(self, kind: str | None = None) -> list[str]:
        try:
            found = self._shape["nodes"][kind]
        except KeyError:
            found = self._shape["nodes"][kind] = [
                n for n, k in self._graph.nodes(data="kind") if kind is None or k == kind]
        return list(found)

    def out(self, node_id: str, kind: Edge) -> list[str]:
        """The nodes `node_id` has an edge of this kind to, in edge order (kept until the lab changes)."""
        try:
            return list(self._shape[kind, "out"][node_id])
        except KeyError:
            found = self._shape[kind, "out"][node_id] = _ends(self._graph._succ, node_id, kind)
            return list(found)

    def into(self, node_id: str, kind: Edge) -> list[str]:
        """The nodes with an edge of this kind to `node_id`, in edge order (kept until the lab changes)."""
        try:
            return list(self._shape[kind, "into"][node_id])
        except KeyError:
            found = self._shape[kind, "into"][node_id] = _ends(self._graph._pred, node_id, kind)
            return list(found)

    def hosts(self) -> list[str]:
        return self.nodes("host")

    def owned(self, owner: str, kind: str) -> list[str]:
        """Switches, NATs, VHDs or NICs of an owner (a host or a VM), in declaration order."""
        try:
            by_kind = self._shape["owned"][owner]
        except KeyError:
            by_kind = self._shape["owned"][owner] = self._owned_by_kind(owner)
        if type(by_kind) is tuple:
            slot = _OWNED_SLOT.get(kind)
            return [] if slot is None else list(by_kind[slot])
        return list(by_kind.get(kind, ()))

    def index_owners(self) -> None:
        """Fill what `hosts`, `owned` and `vms` keep per node, for every host and VM, in one
        pass over the adjacency, where each asking read one node's edges, raising a KeyError on the
        way: the rules ask every VM for its VMs (the nesting walk) and for its switches (intent), so
        on a fresh evidence lab each of them paid both first readings. The entries are the ones those
        methods make (`_owned_by_kind`, `_direct_vms`, `nodes("host")`: same values, same order) and
        are forgotten with them on any change; an entry already there is left as it is."""
        nodes = self._graph._node
        owned_of, vms_of = self._shape["owned"], self._shape["vms"]
        has, hosts_edge, runs_edge = Edge.HAS, Edge.HOSTS, Edge.RUNS
        hosts: list[str] = []
        for owner, neighbours in self._graph._succ.items():
            kind = nodes[owner].get("kind")  # an edge's far end with no record has none
            if kind != "vm" and kind != "host":
                continue
            if kind == "host":
                hosts.append(owner)
            owned: dict[str, list[str]] | None = {}
            hosting: list[str] = []
            running: list[str] = []
            for v, keys in neighbours.items():
                if has in keys and owned is not None:
                    held = nodes[v].get("kind")
                    if held is None:  # `owned` would raise here when asked: left to it
                        owned = None
                    else:
                        owned.setdefault(held, []).append(v)
                if hosts_edge in keys:
                    hosting.append(v)
                if runs_edge in keys:
                    running.append(v)
            if owned is not None:
                owned_of.setdefault(owner, _owned_table(owned))
            vms_of.setdefault(owner, (*hosting, *running))
        self._shape["nodes"].setdefault("host", hosts)

    def _owned_by_kind(self, owner: str) -> tuple[tuple[str, ...], ...] | dict[str, tuple[str, ...]]:
        """Everything an owner has, by kind, in one pass over its HAS edges: the cmdlets and the
        rules ask for five kinds of each owner, and a scan per kind read the adjacency five times.
        As `_owned_table` keeps it."""
        nodes = self._graph._node
        found: dict[str, list[str]] = {}
        for n in _ends(self._graph._succ, owner, Edge.HAS):
            found.setdefault(nodes[n]["kind"], []).append(n)
        return _owned_table(found)

    def adapters(self, vm: str) -> list[str]:
        """owned(vm, "adapter"), read from the same table without the second call (every VM object,
        adapter object and guest interface list asks it)."""
        try:
            by_kind = self._shape["owned"][vm]
        except KeyError:
            return self.owned(vm, "adapter")
        return list(by_kind[0] if type(by_kind) is tuple else by_kind.get("adapter", ()))

    def vms(self, owner: str, *, recursive: bool = False) -> list[str]:
        """The VMs an owner runs; with recursive, every VM below it at any depth (pre-order)."""
        try:
            direct = self._shape["vms"][owner]
        except KeyError:
            direct = self._shape["vms"][owner] = self._direct_vms(owner)
        if not recursive:
            return list(direct)
        try:
            below = self._shape["vms below"][owner]
        except KeyError:
            found: list[str] = []
            for vm in direct:
                found.append(vm)
                found.extend(self.vms(vm, recursive=True))
            below = self._shape["vms below"][owner] = tuple(found)
        return list(below)

    def _direct_vms(self, owner: str) -> tuple[str, ...]:
        """The VMs an owner runs, HOSTS edges before RUNS edges (each in edge order), read in one
        pass over its adjacency instead of one `out` per edge kind."""
        hosts: list[str] = []
        runs: list[str] = []
        for v, keys in self._graph._succ.get(owner, {}).items():
            if Edge.HOSTS in keys:
                hosts.append(v)
            if Edge.RUNS in keys:
                runs.append(v)
        return (*hosts, *runs)

    def all_vms(self) -> list[str]:
        return [vm for host in self.hosts() for vm in self.vms(host, recursive=True)]

    def parent(self, vm: str) -> str:
        """The host or VM whose hypervisor runs this VM."""
        try:
            return self._shape["parent"][vm]
        except KeyError:
            # read off the adjacency, not through `into`: its tables would keep two more entries
            # per VM (a 1-tuple and an empty one) that no one asks for once this one is kept
            pred = self._graph._pred
            (parent,) = _ends(pred, vm, Edge.HOSTS) + _ends(pred, vm, Edge.RUNS)
            self._shape["parent"][vm] = parent
            return parent

    def ancestors(self, vm: str) -> list[str]:
        """The chain above a VM, nearest first, ending with its physical or cloud host."""
        try:
            chain = self._shape["ancestors"][vm]
        except KeyError:
            found = []
            node = vm
            while self.kind(node) == "vm":
                node = self.parent(node)
                found.append(node)
            chain = self._shape["ancestors"][vm] = tuple(found)
        return list(chain)

    def root_host(self, node_id: str) -> str:
        """The physical or cloud host a node is on or in (kept until the lab changes, as `parent`)."""
        try:
            return self._shape["root host"][node_id]
        except KeyError:
            owner = owner_of_id(node_id) if self.kind(node_id) != "vm" else node_id
            while self.kind(owner) == "vm":
                owner = self.parent(owner)
            self._shape["root host"][node_id] = owner
            return owner

    def depth(self, vm: str) -> int:
        """1 for a VM on a physical host, 2 for a VM inside it, and so on."""
        return len(self.ancestors(vm))

    def owner(self, node_id: str) -> str:
        """The host or VM that holds a switch, NAT, VHD, NIC or adapter."""
        try:
            return self._shape["owner"][node_id]
        except KeyError:
            (owner,) = _ends(self._graph._pred, node_id, Edge.HAS)  # not through `into` (see `parent`)
            self._shape["owner"][node_id] = owner
            return owner

    def switch_of(self, adapter: str) -> str | None:
        try:
            attached = self._shape[Edge.ATTACHED, "out"][adapter]  # out's table, read without a copy
        except KeyError:
            attached = self.out(adapter, Edge.ATTACHED)
        return attached[0] if attached else None

    def disks(self, vm: str) -> list[str]:
        """out(vm, DISK), read from the same table without the second call (as `adapters`)."""
        try:
            return list(self._shape[Edge.DISK, "out"][vm])
        except KeyError:
            return self.out(vm, Edge.DISK)

    def vhd_by_path(self, owner: str, path: str) -> str | None:
        node = f"{owner}:vhd:{path}"  # vhd_id(owner, path), without the call: storage asks per disk per probe
        held = self._vhds.get(node)
        if held is not None:
            return held  # the graph's own id string, not this copy of it
        if node in self._graph._node:  # a bare node an edge to a missing disk made
            return node
        return self.memo(("vhd paths", owner), lambda: self._vhd_paths(owner)).get(path.lower())

    def _vhd_paths(self, owner: str) -> dict[str, str]:
        """An owner's VHDs by lower-case path, the first declared winning (Windows paths ignore case):
        a path asked in another case, or one that is not a node id, is a lookup instead of a scan."""
        found: dict[str, str] = {}
        for candidate in self.owned(owner, "vhd"):
            found.setdefault(self[candidate].path.lower(), candidate)
        return found

    def disk_id(self, vhd: str, record: Vhd | None = None) -> str:
        """The disk's identifier; `record`: the disk's record, when the caller has read it already."""
        if record is None:
            record = self[vhd]
        return record.disk_id or stable_guid("vhd", self.owner(vhd), record.path.lower())

    def chain(self, vhd: str) -> list[str]:
        """A disk and its declared ancestors, child first; stops where the parent is not declared."""
        found = [vhd]
        while True:
            parents = self.out(found[-1], Edge.PARENT)
            if not parents or parents[0] in found:
                return found
            found.append(parents[0])

    def mac(self, adapter: str) -> str:
        return self[adapter].mac or derived_mac(adapter)

    def path_to_lan(self, vm: str) -> list[str]:
        """Adapter → switch → uplink … → physical network: the way out of a VM, if there is one.

        Follows the first adapter whose switch leads outward: a host External switch reaches the
        NIC and its network; a guest External switch reaches the VM's own adapter, and so on up.
        Internal and Private switches end the path (NAT and forwarding are `network`'s business).
        """
        for adapter in self.adapters(vm):
            path = self._outward(adapter)
            if path and self.kind(path[-1]) == "network":
                return path
        return []

    def _outward(self, adapter: str) -> list[str]:
        path = [adapter]
        switch = self.switch_of(adapter)
        while switch is not None:
            path.append(switch)
            uplinks = self.out(switch, Edge.UPLINK)
            if not uplinks:
                return path
            nxt = uplinks[0]
            path.append(nxt)
            if self.kind(nxt) == "nic":
                path.extend(self.out(nxt, Edge.UPLINK))
                return path
            switch = self.switch_of(nxt)  # a VM adapter: continue on its switch one level up
        return path

    # -- equality -------------------------------------------------------------------------------

    def signature(self) -> tuple:
        nodes = {n: (d["record"]) for n, d in self.graph.nodes(data=True)}
        edges = sorted((u, v, k) for u, v, k in self.graph.edges(keys=True))
        return (self.name, self.description, nodes, edges)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Lab) and self.signature() == other.signature()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Lab({self.name!r}, {self.graph.number_of_nodes()} nodes)"

    def _repr_html_(self) -> str:
        """In a notebook a lab shows as its topology drawing (nestlab.lab.draw), as pybatfish's do."""
        from nestlab.lab.draw import lab_html

        return lab_html(self)

    def __iter__(self) -> Iterator[str]:
        return iter(self.graph.nodes)


def _records_of(graph: nx.MultiDiGraph) -> dict[str, Any]:
    """Every node's record, from the graph's attribute dicts (a node an edge made has none)."""
    return {n: attributes["record"] for n, attributes in graph._node.items() if "record" in attributes}


# The kinds an owner holds through HAS edges, in the order of `_owned_table`'s slots.
_OWNED_KINDS = ("adapter", "switch", "nat", "vhd", "nic")
_OWNED_SLOT = {kind: slot for slot, kind in enumerate(_OWNED_KINDS)}


def _owned_table(found: dict[str, list[str]]) -> tuple[tuple[str, ...], ...] | dict[str, tuple[str, ...]]:
    """An owner's members by kind as `Lab.owned` keeps them: one tuple per kind of `_OWNED_KINDS`,
    in that order (`()` for none, the one empty tuple), which is ~80 bytes where a dict by kind took
    ~180, for each host and VM of a lab and of its evidence. An owner holding a node of another kind
    keeps the dict."""
    table: list[tuple[str, ...]] = [(), (), (), (), ()]
    for kind, members in found.items():
        slot = _OWNED_SLOT.get(kind)
        if slot is None:
            return {kind: tuple(members) for kind, members in found.items()}
        table[slot] = tuple(members)
    return tuple(table)


def _vhds_of(records: dict[str, Any]) -> dict[str, str]:
    """Every VHD's id to itself, as `Lab._vhds` keeps it."""
    return {n: n for n, record in records.items() if type(record) is Vhd}


def _ends(adjacency: dict[str, dict[str, dict]], node_id: str, kind: Edge) -> tuple[str, ...]:
    """The far ends of a node's edges of one kind, read from networkx's adjacency dicts themselves
    (neighbour -> {key: data}, in edge order): its edge views cost ~10x more per call. A node not in
    the graph has no edges (as the edge views answered). `kind` is a StrEnum, its own key. A loop,
    not a generator: most nodes have one to three neighbours, and a generator costs more to start."""
    found = []
    for v, keys in adjacency.get(node_id, _NO_EDGES).items():
        if kind in keys:
            found.append(v)
    return tuple(found)


_NO_EDGES: dict[str, dict] = {}  # a node not in the graph (never written)


def record_fields(record: Any) -> dict[str, Any]:
    """A record's fields in declaration order (the lab file's key order)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


def ip_of(cidr: str | None) -> str | None:
    """'10.0.0.5/24' -> '10.0.0.5'."""
    return cidr.split("/", 1)[0] if cidr else None


# The categories of spec/root-causes.md: each fault of the catalog and each finding has one.
Category = Literal["prerequisites", "hyperv-role", "network", "performance", "security", "nat", "storage", "resources"]
CATEGORIES: tuple[Category, ...] = (
    "prerequisites", "hyperv-role", "network", "performance", "security", "nat", "storage", "resources",
)
