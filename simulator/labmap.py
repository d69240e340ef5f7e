"""Lab-file data ⇄ Lab: the one mapping between the keys of spec/lab-format.md and the model's records.

`lab_from_data` builds a Lab from validated data (the reading side, `labread`, validates it);
`lab_to_data` gives the data back in lab-format.md's key order, leaving out defaults unless
asked (the saving side, `labsave`, writes it). Nothing here reads or writes text.
"""

from __future__ import annotations

from dataclasses import MISSING, fields, is_dataclass
from typing import Any

from nestlab import gc_pause
from nestlab.simulator.labschema import KEY_ORDER
from nestlab.simulator.model import (
    VM, Adapter, Cpu, DeviceGuardRegistry, Edge, FirewallRule, Guest, Host, Lab, Listener, Memory, Nat,
    Network, Nic, OSInfo, PortProxyRule, Processor, Security, Services, StaticMapping, Switch, Vhd, Volume,
    adapter_id, host_id, nat_id, network_id, nic_id, switch_id, vhd_id, vm_id,
)


PLATFORM_KEYS = (
    "os", "hyperv_installed", "hypervisor_launch", "security", "services",
    "integration_services_current", "volumes", "portproxy", "firewall", "files_missing", "files_corrupt",
)


# ----------------------------------------------------------------------------------------------
# data -> Lab
# ----------------------------------------------------------------------------------------------


class _Alike:
    """One value record per distinct value within one build: a 1,000-VM lab has a Guest, OSInfo,
    Processor, Memory and Listener tuple per VM but only 4–14 distinct of each, so equal data gives
    the record made first (−3.8 MB per 10,000-VM lab; the lookups cost what the records they save
    cost to make). Per build only: the table goes with the build, nothing is kept for the next load.
    A key holds each value with its type (4 and 4.0, 1 and True are equal but print differently)
    and a part record by identity (its parts were shared first, so equal parts are one object)."""

    __slots__ = ("_made",)

    def __init__(self) -> None:
        self._made: dict[tuple, Any] = {}

    def record(self, cls: type, d: dict) -> Any:
        """`cls(**d)` for a record of plain fields (OSInfo, Processor, Memory, Listener)."""
        key = (cls, *((k, type(v), v) for k, v in d.items()))
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = cls(**d)
        return made

    def of(self, cls: type, kwargs: dict[str, Any]) -> Any:
        """`cls(**kwargs)` for a record whose fields may be records or tuples made by this build."""
        key = (cls, *((k, type(v), v if type(v) in _PLAIN else id(v)) for k, v in kwargs.items()))
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = cls(**kwargs)
        return made

    def items(self, values: tuple) -> tuple:
        """A tuple of records made by this build: equal tuples (by their members' identity) are one."""
        return self._made.setdefault((tuple, *map(id, values)), values)


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _os(d: dict | None, alike: _Alike) -> OSInfo:
    return alike.record(OSInfo, d or {})


def _security(d: dict | None) -> Security:
    d = dict(d or {})
    if "registry" in d:
        d["registry"] = DeviceGuardRegistry(**(d["registry"] or {}))
    if "blocking_software" in d:
        d["blocking_software"] = tuple(d["blocking_software"] or ())
    return Security(**d)


def _platform_kwargs(d: dict, alike: _Alike) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in PLATFORM_KEYS:
        if key not in d:
            continue
        value = d[key]
        if key == "os":
            value = _os(value, alike)
        elif key == "security":
            value = _security(value)
        elif key == "services":
            value = Services(**(value or {}))
        elif key == "volumes":
            value = tuple(Volume(**v) for v in value or ())
        elif key == "portproxy":
            value = tuple(PortProxyRule(**v) for v in value or ())
        elif key == "firewall":
            value = tuple(FirewallRule(**v) for v in value or ())
        elif key in ("files_missing", "files_corrupt"):
            value = tuple(value or ())
        out[key] = value
    return out


def lab_from_data(data: dict) -> Lab:
    """A Lab from lab-file data (validated by the caller; `loads` does it). Defaults: the records'."""
    with gc_pause.paused():  # it allocates hundreds of thousands of containers and frees none
        return _build_lab(data)


def _build_lab(data: dict) -> Lab:
    lab = Lab(str(data["lab"]), data.get("description"))
    alike = _Alike()
    for h in data.get("hosts") or ():
        hid = host_id(h["name"])
        kwargs = _platform_kwargs(h, alike)
        for key in ("kind", "azure_size", "memory_gb"):
            if key in h:
                kwargs[key] = h[key]
        if "hyperv_installed" in h:
            kwargs["hyperv_installed"] = h["hyperv_installed"]
        if "cpu" in h:
            kwargs["cpu"] = Cpu(**(h["cpu"] or {}))
        lab.add(hid, Host(name=h["name"], **kwargs))
        for n in h.get("networks") or ():
            nid = lab.add(nic_id(hid, n["adapter"]), Nic(**n))
            lab.link(hid, nid, Edge.HAS)
            net = network_id(n["network"])
            if net not in lab:
                lab.add(net, Network(name=n["network"]))
            lab.link(nid, net, Edge.UPLINK)
        _build_owner(lab, hid, h, Edge.HOSTS, alike)
    return lab


def _build_owner(lab: Lab, owner: str, d: dict, vm_edge: Edge, alike: _Alike) -> None:
    for s in d.get("switches") or ():
        sid = lab.add(switch_id(owner, s["name"]), Switch(**s))
        lab.link(owner, sid, Edge.HAS)
    for n in d.get("nat") or ():
        n = dict(n)
        n["static_mappings"] = tuple(StaticMapping(**m) for m in n.get("static_mappings") or ())
        nid = lab.add(nat_id(owner, n["name"]), Nat(**n))
        lab.link(owner, nid, Edge.HAS)
    for v in d.get("vhds") or ():
        vid = lab.add(vhd_id(owner, v["path"]), Vhd(**v))
        lab.link(owner, vid, Edge.HAS)
    link_derived_edges(lab, owner)
    for vm in d.get("vms") or ():
        _build_vm(lab, owner, vm, vm_edge, alike)


def _build_vm(lab: Lab, owner: str, d: dict, edge: Edge, alike: _Alike) -> None:
    vid = vm_id(owner, d["name"])
    kwargs: dict[str, Any] = {k: d[k] for k in ("generation", "version", "state", "clustered", "workload") if k in d}
    if "version" in kwargs:
        kwargs["version"] = str(kwargs["version"])
    if "processor" in d:
        kwargs["processor"] = alike.record(Processor, d["processor"] or {})
    if "memory" in d:
        kwargs["memory"] = alike.record(Memory, d["memory"] or {})
    if "services" in d:
        kwargs["services"] = alike.items(tuple(alike.record(Listener, s) for s in d["services"] or ()))
    guest_data = d.get("guest") or {}
    kwargs["guest"] = alike.of(Guest, _platform_kwargs(guest_data, alike))
    lab.add(vid, VM(name=d["name"], **kwargs))
    lab.link(owner, vid, edge)
    for a in d.get("adapters") or ():
        a = dict(a)
        switch = a.pop("switch", None)
        aid = lab.add(adapter_id(vid, a.get("name", "Network Adapter")), Adapter(**a))
        lab.link(vid, aid, Edge.HAS)
        if switch is not None:
            lab.link(aid, switch_id(owner, switch), Edge.ATTACHED)
    for path in d.get("disks") or ():
        target = lab.vhd_by_path(owner, path)
        lab.link(vid, target or vhd_id(owner, path), Edge.DISK)
    _build_owner(lab, vid, guest_data, Edge.RUNS, alike)


def link_derived_edges(lab: Lab, owner: str) -> None:
    """(Re)compute the edges that follow from records (uplink, parent, nat): `Lab.relink`."""
    lab.relink(owner)


# ----------------------------------------------------------------------------------------------
# Lab -> data
# ----------------------------------------------------------------------------------------------


def plain(record: Any, *, defaults: bool = False) -> Any:
    """A record as lab-file data; without `defaults`, every field that has its default is left out.

    Whole-number floats are written as integers (`size_gb: 127`, not `127.0`).
    """
    if is_dataclass(record):
        out: dict[str, Any] = {}
        for f in fields(record):
            value = getattr(record, f.name)
            if not defaults and value == _default(f):
                continue
            out[f.name] = plain(value, defaults=defaults)
        return out
    if isinstance(record, tuple):
        return [plain(v, defaults=defaults) for v in record]
    if isinstance(record, float) and record.is_integer():
        return int(record)
    return record


def _default(f: Any) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return MISSING


def _ordered(data: dict, part: str) -> dict:
    return {key: data[key] for key in KEY_ORDER[part] if key in data}


def lab_to_data(lab: Lab, *, defaults: bool = False) -> dict:
    """The lab as file data in lab-format.md's key order; `defaults` keeps default values too."""
    data: dict[str, Any] = {"lab": lab.name}
    if lab.description or defaults:
        data["description"] = lab.description
    data["hosts"] = [_host_data(lab, h, defaults) for h in lab.hosts()]
    return data


def _host_data(lab: Lab, hid: str, defaults: bool) -> dict:
    d = plain(lab[hid], defaults=defaults)
    d["name"] = lab[hid].name
    nics = [plain(lab[n], defaults=defaults) for n in lab.owned(hid, "nic")]
    if nics or defaults:
        d["networks"] = nics
    d.update(_owner_data(lab, hid, defaults))
    return _ordered(d, "host")


def _owner_data(lab: Lab, owner: str, defaults: bool) -> dict:
    d: dict[str, Any] = {}
    for key, kind in (("switches", "switch"), ("nat", "nat"), ("vhds", "vhd")):
        items = [plain(lab[n], defaults=defaults) for n in lab.owned(owner, kind)]
        if items or defaults:
            d[key] = items
    vms = [_vm_data(lab, v, defaults) for v in lab.vms(owner)]
    if vms or defaults:
        d["vms"] = vms
    return d


def _vm_data(lab: Lab, vid: str, defaults: bool) -> dict:
    vm: VM = lab[vid]
    d = plain(vm, defaults=defaults)
    d["name"] = vm.name
    d.pop("guest", None)
    adapters = [_adapter_data(lab, aid, defaults) for aid in lab.adapters(vid)]
    if adapters or defaults:
        d["adapters"] = adapters
    disks = [lab[v].path if v in lab else _path_of_vhd_id(v) for v in lab.disks(vid)]
    if disks or defaults:
        d["disks"] = disks
    guest = plain(vm.guest, defaults=defaults)
    guest.update(_owner_data(lab, vid, defaults))
    if guest or defaults:
        d["guest"] = _ordered(guest, "guest")
    return _ordered(d, "vm")


def _adapter_data(lab: Lab, aid: str, defaults: bool) -> dict:
    d = plain(lab[aid], defaults=defaults)
    switch = lab.switch_of(aid)
    if switch is not None:
        d["switch"] = switch.split(":switch:", 1)[1]
    return _ordered(d, "adapter")


def _path_of_vhd_id(node_id: str) -> str:
    """A disk edge to a VHD node that was removed (a deleted disk) still names its path."""
    return node_id.split(":vhd:", 1)[1]
