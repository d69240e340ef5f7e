"""Lab files (spec/lab-format.md) ⇄ Lab.

FIRST CUT: plain mapping without validation. The validating loader (pydantic v2, file:line:path
errors, comment-keeping saves, atomic writes) replaces the `load`/`save` bodies; `lab_from_data`
and `lab_to_data` stay the single mapping between the file's keys and the model.
"""

from __future__ import annotations

import ipaddress
from dataclasses import MISSING, fields, is_dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from simulator.model import (
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
    host_id,
    nat_id,
    network_id,
    nic_id,
    switch_id,
    vhd_id,
    vm_id,
)

PLATFORM_KEYS = (
    "os", "hyperv_installed", "hypervisor_launch", "security", "services",
    "integration_services_current", "volumes", "portproxy", "firewall", "files_missing", "files_corrupt",
)


# ----------------------------------------------------------------------------------------------
# data -> Lab
# ----------------------------------------------------------------------------------------------


def _os(d: dict | None) -> OSInfo:
    return OSInfo(**(d or {}))


def _security(d: dict | None) -> Security:
    d = dict(d or {})
    if "registry" in d:
        d["registry"] = DeviceGuardRegistry(**(d["registry"] or {}))
    if "blocking_software" in d:
        d["blocking_software"] = tuple(d["blocking_software"] or ())
    return Security(**d)


def _platform_kwargs(d: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in PLATFORM_KEYS:
        if key not in d:
            continue
        value = d[key]
        if key == "os":
            value = _os(value)
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
    lab = Lab(str(data["lab"]), data.get("description"))
    for h in data.get("hosts") or ():
        hid = host_id(h["name"])
        kwargs = _platform_kwargs(h)
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
        _build_owner(lab, hid, h, Edge.HOSTS)
    return lab


def _build_owner(lab: Lab, owner: str, d: dict, vm_edge: Edge) -> None:
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
        _build_vm(lab, owner, vm, vm_edge)


def _build_vm(lab: Lab, owner: str, d: dict, edge: Edge) -> None:
    vid = vm_id(owner, d["name"])
    kwargs: dict[str, Any] = {k: d[k] for k in ("generation", "version", "state", "clustered", "workload") if k in d}
    if "version" in kwargs:
        kwargs["version"] = str(kwargs["version"])
    if "processor" in d:
        kwargs["processor"] = Processor(**(d["processor"] or {}))
    if "memory" in d:
        kwargs["memory"] = Memory(**(d["memory"] or {}))
    if "services" in d:
        kwargs["services"] = tuple(Listener(**s) for s in d["services"] or ())
    guest_data = d.get("guest") or {}
    kwargs["guest"] = Guest(**_platform_kwargs(guest_data))
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
    _build_owner(lab, vid, guest_data, Edge.RUNS)


def link_derived_edges(lab: Lab, owner: str) -> None:
    """(Re)compute the edges that follow from records: uplink, parent, nat.

    Called after load and after any change that can move them (a new switch, a re-parented VHD,
    a new NAT), so the graph never disagrees with the records.
    """
    is_vm = lab.kind(owner) == "vm"
    for sid in lab.owned(owner, "switch"):
        for dst in lab.out(sid, Edge.UPLINK):
            lab.unlink(sid, dst, Edge.UPLINK)
        sw: Switch = lab[sid]
        if sw.type == "External" and sw.adapter:
            target = adapter_id(owner, sw.adapter) if is_vm else nic_id(owner, sw.adapter)
            if target in lab:
                lab.link(sid, target, Edge.UPLINK)
    for vid in lab.owned(owner, "vhd"):
        for dst in lab.out(vid, Edge.PARENT):
            lab.unlink(vid, dst, Edge.PARENT)
        vhd: Vhd = lab[vid]
        platform = lab.platform(owner)
        if vhd.parent and vhd.parent not in platform.files_missing:
            parent = lab.vhd_by_path(owner, vhd.parent)
            if parent is not None:
                lab.link(vid, parent, Edge.PARENT)
    for nid in lab.owned(owner, "nat"):
        for dst in lab.out(nid, Edge.NAT):
            lab.unlink(nid, dst, Edge.NAT)
        prefix = ipaddress.ip_network(lab[nid].internal_prefix, strict=False)
        for sid in lab.owned(owner, "switch"):
            sw = lab[sid]
            if sw.type == "Internal" and sw.host_ip:
                if ipaddress.ip_interface(sw.host_ip).ip in prefix:
                    lab.link(nid, sid, Edge.NAT)


# ----------------------------------------------------------------------------------------------
# Lab -> data
# ----------------------------------------------------------------------------------------------


def plain(record: Any) -> Any:
    """A record as lab-file data, leaving out every field that has its default."""
    if is_dataclass(record):
        out: dict[str, Any] = {}
        for f in fields(record):
            value = getattr(record, f.name)
            default = f.default if f.default is not MISSING else (
                f.default_factory() if f.default_factory is not MISSING else MISSING  # type: ignore[misc]
            )
            if default is not MISSING and value == default:
                continue
            out[f.name] = plain(value)
        return out
    if isinstance(record, tuple):
        return [plain(v) for v in record]
    return record


def lab_to_data(lab: Lab) -> dict:
    data: dict[str, Any] = {"lab": lab.name}
    if lab.description:
        data["description"] = lab.description
    data["hosts"] = [_host_data(lab, h) for h in lab.hosts()]
    return data


def _host_data(lab: Lab, hid: str) -> dict:
    host: Host = lab[hid]
    d = plain(host)
    d = {"name": host.name, **{k: v for k, v in d.items() if k != "name"}}
    nics = [plain(lab[n]) for n in lab.owned(hid, "nic")]
    if nics:
        d["networks"] = nics
    d.update(_owner_data(lab, hid))
    return d


def _owner_data(lab: Lab, owner: str) -> dict:
    d: dict[str, Any] = {}
    switches = [plain(lab[s]) for s in lab.owned(owner, "switch")]
    if switches:
        d["switches"] = switches
    nats = [plain(lab[n]) for n in lab.owned(owner, "nat")]
    if nats:
        d["nat"] = nats
    vhds = [plain(lab[v]) for v in lab.owned(owner, "vhd")]
    if vhds:
        d["vhds"] = vhds
    vms = [_vm_data(lab, v) for v in lab.vms(owner)]
    if vms:
        d["vms"] = vms
    return d


def _vm_data(lab: Lab, vid: str) -> dict:
    vm: VM = lab[vid]
    d = plain(vm)
    d.pop("guest", None)
    d = {"name": vm.name, **{k: v for k, v in d.items() if k != "name"}}
    adapters = []
    for aid in lab.adapters(vid):
        a = plain(lab[aid])
        switch = lab.switch_of(aid)
        if switch is not None:
            a["switch"] = lab[switch].name
        adapters.append(a)
    if adapters:
        d["adapters"] = adapters
    disks = [lab[v].path for v in lab.disks(vid) if v in lab]
    if disks:
        d["disks"] = disks
    guest = plain(vm.guest)
    guest.update(_owner_data(lab, vid))
    if guest:
        d["guest"] = guest
    return d


# ----------------------------------------------------------------------------------------------
# files
# ----------------------------------------------------------------------------------------------

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "labs"


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def resolve(target: str) -> Path:
    if target.startswith("builtin:"):
        return BUILTIN_DIR / f"{target.split(':', 1)[1]}.yaml"
    return Path(target)


def load(target: str | Path) -> Lab:
    path = resolve(str(target))
    yaml = YAML()
    with open(path, encoding="utf-8") as fh:
        data = yaml.load(fh)
    lab = lab_from_data(data)
    lab.source = data
    lab.source_path = str(path)
    return lab


def dumps(lab: Lab) -> str:
    import io

    yaml = YAML()
    yaml.default_flow_style = False
    buf = io.StringIO()
    yaml.dump(lab_to_data(lab), buf)
    return buf.getvalue()
