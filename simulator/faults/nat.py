"""Guide section "NAT and port forwarding issues": wrong forwards, conflicting NATs, the WinNAT file lock."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace

from nestlab.simulator.actions import cmd, run
from nestlab.simulator.faults.base import Fault, Script, Symptom, run_all
from nestlab.simulator.faults.network import _natted_vm, _portproxy_line, _served_switch
from nestlab.simulator.faults.symptoms import FILE_IN_USE, inbound, outbound
from nestlab.simulator.faults.where import reachable, relink
from nestlab.simulator.model import Edge, Lab, Nat, PortProxyRule, Services, StaticMapping, ip_of, nat_id

SECTION = "NAT and port forwarding issues"

# -- nat-static-mapping-wrong ------------------------------------------------------------------
#
# A forward into a NAT's prefix is either a portproxy rule of the NAT's owner or one of the NAT's
# static mappings; both are handled as a Forward: where it listens, where it sends, how to rewrite it.


@dataclass(frozen=True)
class Forward:
    kind: str  # "portproxy" | "mapping"
    rule: PortProxyRule | StaticMapping

    @property
    def listen_port(self) -> int:
        return self.rule.listen_port if self.kind == "portproxy" else self.rule.external_port

    @property
    def protocol(self) -> str:
        return "TCP" if self.kind == "portproxy" else self.rule.protocol

    @property
    def target(self) -> tuple[str, int]:
        if self.kind == "portproxy":
            return self.rule.connect_address, self.rule.connect_port
        return self.rule.internal_ip, self.rule.internal_port

    def to(self, address: str) -> "Forward":
        field = "connect_address" if self.kind == "portproxy" else "internal_ip"
        return Forward(self.kind, replace(self.rule, **{field: address}))


def _target_ok(lab: Lab, owner: str, forward: Forward) -> bool:
    """A VM behind the owner has the forward's address and listens on its port."""
    address, port = forward.target
    for vm in lab.vms(owner):
        if any(ip_of(lab[a].ip) == address for a in lab.adapters(vm)):
            return any(s.port == port and s.protocol == forward.protocol for s in lab[vm].services)
    return False


def _forwards_into(lab: Lab, nat: str) -> list[Forward]:
    owner = lab.owner(nat)
    prefix = ipaddress.ip_network(lab[nat].internal_prefix, strict=False)
    rules = [Forward("portproxy", r) for r in lab.platform(owner).portproxy
             if ipaddress.ip_address(r.connect_address) in prefix]
    return rules + [Forward("mapping", m) for m in lab[nat].static_mappings]


def _unused_address(lab: Lab, nat: str) -> str:
    """The highest address of the NAT's prefix that no adapter or vEthernet has."""
    used = {ip_of(lab[a].ip) for a in lab.nodes("adapter")} | {ip_of(lab[s].host_ip) for s in lab.nodes("switch")}
    network = ipaddress.ip_network(lab[nat].internal_prefix, strict=False)
    return next(str(a) for a in reversed(list(network.hosts())) if str(a) not in used)


def _judgeable(lab: Lab, nat: str) -> bool:
    """The NAT's owner answers and every VM it runs does too: a VM that is off shows neither its
    address nor its listeners, so a forward to an unused address could be to it."""
    owner = lab.owner(nat)
    return reachable(lab, owner) and all(reachable(lab, vm) for vm in lab.vms(owner))


def _good_forward(lab: Lab, nat: str) -> Forward | None:
    return next((f for f in _forwards_into(lab, nat) if _target_ok(lab, lab.owner(nat), f)), None)


def _wrong_forward(lab: Lab, nat: str) -> Forward | None:
    return next((f for f in _forwards_into(lab, nat) if not _target_ok(lab, lab.owner(nat), f)), None)


def _misdirected(lab: Lab, nat: str) -> Forward:
    return _good_forward(lab, nat).to(_unused_address(lab, nat))


def _right_target(lab: Lab, nat: str, wrong: Forward) -> Forward:
    """Where the forward should go: the VM behind the NAT that listens on the forward's port."""
    owner = lab.owner(nat)
    for switch in lab.out(nat, Edge.NAT):
        for adapter in lab.into(switch, Edge.ATTACHED):
            address = ip_of(lab[adapter].ip)
            if address and _target_ok(lab, owner, wrong.to(address)):
                return wrong.to(address)
    raise RuntimeError(f"{nat}: no VM behind it listens on {wrong.target[1]}")


def _swap(lab: Lab, nat: str, old: Forward, new: Forward) -> None:
    """Delete and add again (netsh, or Remove-/Add-NetNatStaticMapping): the new one goes last."""
    if old.kind == "portproxy":
        owner = lab.owner(nat)
        rules = tuple(r for r in lab.platform(owner).portproxy if r != old.rule) + (new.rule,)
        lab.update_platform(owner, portproxy=rules)
    else:
        lab.update(nat, static_mappings=tuple(m for m in lab[nat].static_mappings if m != old.rule) + (new.rule,))


def _replace_lines(lab: Lab, nat: str, old: Forward, new: Forward, *, old_index: int | None = None) -> Script:
    owner = lab.owner(nat)
    if old.kind == "portproxy":
        return [run(owner, _portproxy_line("delete", old.rule)), run(owner, _portproxy_line("add", new.rule))]
    name = lab[nat].name
    index = lab[nat].static_mappings.index(old.rule) if old_index is None else old_index
    m = new.rule
    return [
        run(owner, cmd("Remove-NetNatStaticMapping", NatName=name, StaticMappingID=index, Confirm=False)),
        run(owner, cmd("Add-NetNatStaticMapping", NatName=name, Protocol=m.protocol, ExternalIPAddress=m.external_ip,
                       ExternalPort=m.external_port, InternalIPAddress=m.internal_ip, InternalPort=m.internal_port)),
    ]


def _undo_lines(lab: Lab, nat: str) -> Script:
    """Put the good forward back; computed before injection, when the misdirected one will be last."""
    last = len(lab[nat].static_mappings) - 1
    return _replace_lines(lab, nat, _misdirected(lab, nat), _good_forward(lab, nat), old_index=last)


def _fix(lab: Lab, nat: str) -> None:
    wrong = _wrong_forward(lab, nat)
    run_all(lab, _replace_lines(lab, nat, wrong, _right_target(lab, nat, wrong)))


def _wrong_symptom(lab: Lab, nat: str) -> Symptom:
    wrong = _wrong_forward(lab, nat)
    return inbound(lab, lab.owner(nat), wrong.listen_port, "wrong-forward-target", wrong.protocol)


nat_static_mapping_wrong = Fault(
    id="nat-static-mapping-wrong",
    category="nat",
    kind="cmd",
    section=SECTION,
    description="a static mapping or portproxy rule points at the wrong internal address or port",
    find=lambda lab: [n for n in lab.nodes("nat") if _judgeable(lab, n) and _good_forward(lab, n)
                      and not _wrong_forward(lab, n)],
    apply=lambda lab, nat: _swap(lab, nat, _good_forward(lab, nat), _misdirected(lab, nat)),
    shows=_wrong_symptom,
    mend=_fix,
    script=lambda lab, nat: _replace_lines(lab, nat, _good_forward(lab, nat), _misdirected(lab, nat)),
    unscript=_undo_lines,
    aspect="traffic",
)

# -- nat-conflict ------------------------------------------------------------------------------


def _natted_owner_vm(lab: Lab, owner: str) -> str | None:
    for nat in lab.owned(owner, "nat"):
        switch = _served_switch(lab, nat)
        if switch:
            return _natted_vm(lab, switch)
    return None


def _second_nat(lab: Lab, owner: str) -> Nat:
    """Another NAT with its own prefix, one that overlaps nothing of the owner's."""
    first = lab[lab.owned(owner, "nat")[0]]
    taken = [ipaddress.ip_network(lab[n].internal_prefix, strict=False) for n in lab.owned(owner, "nat")]
    taken += [ipaddress.ip_interface(lab[s].host_ip).network for s in lab.owned(owner, "switch") if lab[s].host_ip]
    for third in range(254, 0, -1):
        prefix = ipaddress.ip_network(f"172.31.{third}.0/24")
        if not any(prefix.overlaps(t) for t in taken):
            return Nat(name=f"{first.name}2", internal_prefix=str(prefix))
    raise RuntimeError(f"{owner}: no free prefix for a second NAT")


def _add_nat(lab: Lab, owner: str) -> None:
    nat = _second_nat(lab, owner)
    lab.link(owner, lab.add(nat_id(owner, nat.name), nat), Edge.HAS)
    relink(lab, owner)


def _extra_nats(lab: Lab, owner: str) -> list[str]:
    """NATs beyond the first that serves a switch: the ones to remove."""
    nats = lab.owned(owner, "nat")
    keep = next((n for n in nats if _served_switch(lab, n)), nats[0])
    return [n for n in nats if n != keep]


nat_conflict = Fault(
    id="nat-conflict",
    category="nat",
    kind="cmd",
    section=SECTION,
    description="more than one NAT, or overlapping internal prefixes",
    find=lambda lab: [o for o in lab.nodes() if lab.kind(o) in ("host", "vm") and len(lab.owned(o, "nat")) == 1
                      and _natted_owner_vm(lab, o)],
    apply=_add_nat,
    shows=lambda lab, owner: outbound(lab, _natted_owner_vm(lab, owner), "winnat-down"),
    mend=lambda lab, owner: run_all(
        lab, [run(owner, cmd("Remove-NetNat", Name=lab[n].name, Confirm=False)) for n in _extra_nats(lab, owner)]
    ),
    script=lambda lab, owner: [run(owner, cmd("New-NetNat", Name=_second_nat(lab, owner).name,
                                              InternalIPInterfaceAddressPrefix=_second_nat(lab, owner).internal_prefix))],
    unscript=lambda lab, owner: [run(owner, cmd("Remove-NetNat", Name=_second_nat(lab, owner).name, Confirm=False))],
    aspect="traffic",
)

# -- winnat-locked -----------------------------------------------------------------------------


def _winnat(state: str):
    return lambda lab, owner: lab.update_platform(owner, services=Services(winnat=state))


winnat_locked = Fault(
    id="winnat-locked",
    category="nat",
    kind="state",
    section=SECTION,
    description="WinNAT cannot start: its file is held by another process",
    find=lambda lab: [o for o in lab.nodes() if lab.kind(o) in ("host", "vm") and lab.owned(o, "nat")
                      and lab.platform(o).services.winnat == "running"],
    apply=_winnat("locked"),
    shows=lambda lab, owner: Symptom(owner, "net start winnat", expect_error=FILE_IN_USE),
    mend=_winnat("running"),  # the host restarted: the lock is gone and WinNAT starts
    aspect="traffic",
)

FAULTS = (nat_static_mapping_wrong, nat_conflict, winnat_locked)
