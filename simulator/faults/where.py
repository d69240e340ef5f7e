"""Where faults apply: lab queries of the catalog (the ones the diagnosis shares are in lab_queries)."""

from __future__ import annotations

import ipaddress
import math

from nestlab.simulator.actions import q, while_off  # noqa: F401  (the catalog's imports)
from nestlab.simulator.lab_queries import is_nested_host, nested_hosts, os_supported  # noqa: F401
from nestlab.simulator.labfile import link_derived_edges
from nestlab.simulator.model import Lab, NodeId, ip_of


# Windows' own listeners (diagnosis/rules/network.py SYSTEM_PORTS, docs/severity.md): never a
# "missing" forward. RPC 135, NetBIOS 137-139, SMB 445, RDP 3389, WinRM 5985/5986/47001, and the
# dynamic range 49152+ (Microsoft KB 929851).
SYSTEM_PORTS = frozenset({135, 137, 138, 139, 445, 3389, 5985, 5986, 47001})


def system_port(port: int) -> bool:
    return port in SYSTEM_PORTS or port >= 49152


def in_chain(lab: Lab, vm: str) -> bool:
    """A nested host or a VM inside one; every VM of an Azure VM host is nested already. The
    diagnosis scopes the guide's network and performance sections to this chain
    (diagnosis.intent, docs/severity.md), so the catalog puts those faults only there."""
    if is_nested_host(lab, vm) or lab[lab.root_host(vm)].kind == "azure-vm":
        return True
    return any(lab.kind(a) == "vm" and is_nested_host(lab, a) for a in lab.ancestors(vm))


def chain_owner(lab: Lab, owner: str) -> bool:
    """A host that runs a nested host (or is an Azure VM), or a guest in the chain."""
    if lab.kind(owner) == "host":
        return lab[owner].kind == "azure-vm" or any(is_nested_host(lab, vm) for vm in lab.vms(owner))
    return in_chain(lab, owner)


def in_nested_scope(lab: Lab, subject: str) -> bool:
    """Whether a subject belongs to the nested chain: an adapter's VM, a disk's users, a switch's
    or NAT's owner, a VM, or a host that runs a nested host."""
    if subject in lab and lab.kind(subject) == "vhd":
        users = [vm for vm in lab.all_vms() if any(subject in lab.chain(d) for d in lab.disks(vm) if d in lab)]
        return any(in_chain(lab, vm) for vm in users)
    node = anchor(lab, subject)
    if node not in lab or lab.kind(node) not in ("host", "vm"):
        return False
    return chain_owner(lab, node) if lab.kind(node) == "host" else in_chain(lab, node)


def reachable(lab: Lab, owner: str) -> bool:
    """A host, or a VM whose guest runs: the places a diagnosis can ask (PowerShell Direct needs a
    Running VM at every level), so a fault put there shows to it."""
    from nestlab.simulator.behaviour import is_running

    return lab.kind(owner) == "host" or is_running(lab, owner)


def owners(lab: Lab) -> list[str]:
    """Every host and every VM's guest, outermost first (the places switches, NATs, disks live)."""
    return [o for host in lab.hosts() for o in (host, *lab.vms(host, recursive=True))]


def name(lab: Lab, vm: str) -> str:
    return lab[vm].name


def outward_ip(lab: Lab, owner: str) -> str | None:
    """The address an owner is reached on from outside: its first NIC, or its VM's first adapter."""
    nodes = lab.adapters(owner) if lab.kind(owner) == "vm" else lab.owned(owner, "nic")
    for node in nodes:
        address = ip_of(lab[node].ip)
        if address:
            return address
    return None


def lan_target(lab: Lab, node: str) -> str | None:
    """An address on the physical LAN of a node's root host (its gateway), to test the way out."""
    for nic in lab.owned(lab.root_host(node), "nic"):
        record = lab[nic]
        if record.gateway:
            return record.gateway
        network = ipaddress.ip_interface(record.ip).network
        for address in network.hosts():
            if str(address) != ip_of(record.ip):
                return str(address)
    return None


def children_memory(lab: Lab, vm: str, *, running_only: bool = False) -> float:
    """Startup memory of the VMs a VM runs (only those running now, with running_only)."""
    from nestlab.simulator.behaviour import is_running

    return sum(lab[c].memory.startup_gb for c in lab.vms(vm) if not running_only or is_running(lab, c))


def whole_gb(value: float) -> int:
    return int(math.ceil(value))


def relink(lab: Lab, owner: str) -> None:
    """Recompute uplink / parent / NAT edges after a record change (labfile keeps the rules)."""
    link_derived_edges(lab, owner)


def related(lab: Lab, a: str, b: str) -> bool:
    """Same node, or one above the other in the nesting chain (hosts and VMs)."""
    if a == b:
        return True
    return (lab.kind(b) == "vm" and a in lab.ancestors(b)) or (lab.kind(a) == "vm" and b in lab.ancestors(a))


def anchor(lab: Lab, subject: str) -> str:
    """The host or VM a subject belongs to (an adapter's VM, a switch's, NAT's or disk's owner)."""
    if subject in lab and lab.kind(subject) in ("host", "vm"):
        return subject
    node = NodeId.parse(subject)
    return str(node.owner) if node.kind is not None and node.owner is not None else subject
