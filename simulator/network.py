"""Reachability: walk a packet hop by hop through switches, NAT, portproxy and firewalls.

Like pybatfish's traceroute answer, a `Trace` is a list of hops (each a node with the steps taken
there) and a final disposition from a closed set. Rules, each from the nested-networking docs
(notes §1.2) and WinNAT's limits:
- a Private switch reaches neither host nor LAN; an Internal switch reaches the host's vEthernet
  only, and the LAN only through a NAT whose prefix holds the switch's subnet, with WinNAT running
  (one NAT per host: more than one leaves WinNAT in an unknown state — treated as down);
- an External switch bridges; a nested External switch bridges through the outer VM's adapter,
  which forwards other MACs only with MAC address spoofing On;
- inbound from the LAN reaches a NATed VM only through a portproxy rule (needs a firewall allow
  rule for the listening port) or a NAT static mapping on each level;
- a guest service's installer adds its own allow rule, so only an explicit block rule stops it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from nestlab.simulator import behaviour
from nestlab.simulator.model import VM, Edge, Lab, Platform, ip_of


class Disposition(StrEnum):
    DELIVERED = "delivered"
    PRIVATE_SWITCH = "private-switch"
    INTERNAL_NO_NAT = "internal-no-nat"
    NAT_PREFIX_MISMATCH = "nat-prefix-mismatch"
    MAC_SPOOFING_DROPPED = "mac-spoofing-dropped"
    FIREWALL_BLOCKED = "firewall-blocked"
    NO_FORWARD = "no-forward"
    WRONG_FORWARD_TARGET = "wrong-forward-target"
    WINNAT_DOWN = "winnat-down"
    NO_LISTENER = "no-listener"


@dataclass(frozen=True)
class Hop:
    node: str
    steps: tuple[str, ...]


@dataclass(frozen=True)
class Trace:
    source: str
    destination: str
    port: int
    protocol: str
    hops: tuple[Hop, ...]
    disposition: Disposition

    @property
    def delivered(self) -> bool:
        return self.disposition is Disposition.DELIVERED

    def __str__(self) -> str:
        lines = [f"{self.source} -> {self.destination}:{self.port}/{self.protocol}"]
        for i, hop in enumerate(self.hops, 1):
            lines.append(f"  {i}. {hop.node}")
            lines.extend(f"       {step}" for step in hop.steps)
        lines.append(f"  => {self.disposition.value}")
        return "\n".join(lines)


class _Stop(Exception):
    def __init__(self, disposition: Disposition) -> None:
        self.disposition = disposition


@dataclass
class _Walk:
    lab: Lab
    port: int
    protocol: str
    hops: list[Hop] = field(default_factory=list)

    def hop(self, node: str, *steps: str) -> None:
        if self.hops and self.hops[-1].node == node:
            last = self.hops.pop()
            steps = (*last.steps, *steps)
        self.hops.append(Hop(node, tuple(steps)))

    def stop(self, node: str, disposition: Disposition, why: str) -> None:
        self.hop(node, why)
        raise _Stop(disposition)


def trace(lab: Lab, source: str, destination: str, port: int, protocol: str = "TCP") -> Trace:
    """Where a packet from `source` to `destination:port` goes, and why it stops."""
    walk = _Walk(lab, int(port), protocol.upper())
    try:
        _route(walk, source, destination)
        disposition = Disposition.DELIVERED
    except _Stop as stop:
        disposition = stop.disposition
    return Trace(source, destination, int(port), protocol.upper(), tuple(walk.hops), disposition)


def _route(walk: _Walk, source: str, destination: str) -> None:
    lab = walk.lab
    if source.startswith("network:"):
        walk.hop(source, f"a client on {source.split(':', 1)[1]}")
        if destination.startswith("network:"):
            return
        _inbound(walk, source, destination)
        return
    _check_outbound_firewall(walk, source)
    if not destination.startswith("network:"):
        local = _local_endpoint(lab, source, destination)
        if local is not None:
            node, via = local
            walk.hop(source, via)
            _deliver(walk, node, destination, walk.port, forwarded=False)
            return
    network = _egress(walk, source)
    if destination.startswith("network:"):
        if network != destination:
            walk.stop(network, Disposition.NO_FORWARD, f"reached {network}, not {destination}")
        walk.hop(network, "delivered to the LAN")
        return
    _inbound(walk, network, destination)


# ----------------------------------------------------------------------------------------------
# Outbound: from a platform to the physical network
# ----------------------------------------------------------------------------------------------


def _egress(walk: _Walk, owner: str) -> str:
    """Leave a host or a guest toward the LAN; returns the network reached."""
    lab = walk.lab
    if lab.kind(owner) == "host":
        for nic in lab.owned(owner, "nic"):
            nets = lab.out(nic, Edge.UPLINK)
            if nets:
                walk.hop(owner, f"NIC {lab[nic].adapter} ({lab[nic].ip}) to {nets[0]}")
                return nets[0]
        walk.stop(owner, Disposition.NO_FORWARD, "the host has no NIC on a network")
    adapters = [a for a in lab.adapters(owner) if lab.switch_of(a)]
    if not adapters:
        walk.stop(owner, Disposition.NO_FORWARD, "no adapter is connected to a switch")
    return _through_adapter(walk, owner, adapters[0], origin=owner)


def _through_adapter(walk: _Walk, vm: str, adapter: str, *, origin: str) -> str:
    lab = walk.lab
    record = lab[adapter]
    switch = lab.switch_of(adapter)
    sw = lab[switch]
    switch_owner = lab.owner(switch)
    walk.hop(vm, f"adapter '{record.name}' ({record.ip or 'no address'}) on switch '{sw.name}' ({sw.type})")
    if sw.type == "Private":
        walk.stop(switch_owner, Disposition.PRIVATE_SWITCH, f"switch '{sw.name}' is Private: no host, no LAN")
    if sw.type == "Internal":
        _nat_out(walk, switch_owner, switch, record.ip)
        return _egress(walk, switch_owner)
    uplinks = lab.out(switch, Edge.UPLINK)
    if not uplinks:
        walk.stop(switch_owner, Disposition.NO_FORWARD, f"External switch '{sw.name}' has no uplink")
    up = uplinks[0]
    if lab.kind(up) == "nic":
        nets = lab.out(up, Edge.UPLINK)
        walk.hop(switch_owner, f"External switch '{sw.name}' bridges to NIC {lab[up].adapter}")
        if not nets:
            walk.stop(switch_owner, Disposition.NO_FORWARD, f"NIC {lab[up].adapter} has no network")
        return nets[0]
    outer = lab[up]
    if not outer.mac_spoofing:
        walk.stop(switch_owner, Disposition.MAC_SPOOFING_DROPPED,
                  f"External switch '{sw.name}' bridges through adapter '{outer.name}' of {lab[switch_owner].name}, "
                  "whose MAC address spoofing is Off: frames of nested VMs are dropped")
    walk.hop(switch_owner, f"External switch '{sw.name}' bridges through adapter '{outer.name}' (MAC spoofing On)")
    return _through_adapter(walk, switch_owner, up, origin=origin)


def _nat_out(walk: _Walk, owner: str, switch: str, ip: str | None) -> None:
    lab = walk.lab
    nats = lab.owned(owner, "nat")
    sw = lab[switch]
    if not nats:
        walk.stop(owner, Disposition.INTERNAL_NO_NAT, f"Internal switch '{sw.name}' and no NAT on {lab[owner].name}")
    serving = [n for n in nats if switch in lab.out(n, Edge.NAT)]
    if not serving:
        prefixes = ", ".join(lab[n].internal_prefix for n in nats)
        walk.stop(owner, Disposition.NAT_PREFIX_MISMATCH,
                  f"NAT prefix {prefixes} does not hold switch '{sw.name}' subnet {sw.host_ip}")
    _winnat_up(walk, owner)
    nat = lab[serving[0]]
    walk.hop(owner, f"WinNAT '{nat.name}' ({nat.internal_prefix}) translates {ip_of(ip) or 'the VM'}")


def _winnat_up(walk: _Walk, owner: str) -> None:
    lab = walk.lab
    state = lab.platform(owner).services.winnat
    if state != "running":
        walk.stop(owner, Disposition.WINNAT_DOWN, f"WinNAT is {state}")
    if len(lab.owned(owner, "nat")) > 1:
        walk.stop(owner, Disposition.WINNAT_DOWN, "more than one NAT: WinNAT supports one internal prefix per host")


# ----------------------------------------------------------------------------------------------
# Inbound: from the physical network to an address and port
# ----------------------------------------------------------------------------------------------


def _inbound(walk: _Walk, network: str, address: str) -> None:
    lab = walk.lab
    for host in lab.hosts():
        for nic in lab.owned(host, "nic"):
            if ip_of(lab[nic].ip) == address and network in lab.out(nic, Edge.UPLINK):
                walk.hop(host, f"NIC {lab[nic].adapter} has {address}")
                _deliver(walk, host, address, walk.port, forwarded=False)
                return
    adapter = _adapter_with_ip(lab, address)
    if adapter is None:
        walk.stop(network, Disposition.NO_FORWARD, f"no host or VM on {network} has {address}")
    vm = lab.owner(adapter)
    chain = _bridge_chain(lab, adapter)
    if chain is None or chain[-1] != network:
        walk.stop(network, Disposition.NO_FORWARD,
                  f"{address} is a private address behind {lab[lab.parent(vm)].name}: only a forward there reaches it")
    outermost = chain[-2]
    entry_switch = lab.switch_of(outermost)
    walk.hop(lab.owner(entry_switch), f"External switch '{lab[entry_switch].name}' forwards from {network}")
    for node in reversed(chain[:-1]):
        if lab.kind(node) == "adapter" and node != adapter:
            outer_vm = lab.owner(node)
            if not lab[node].mac_spoofing:
                walk.stop(outer_vm, Disposition.MAC_SPOOFING_DROPPED,
                          f"adapter '{lab[node].name}' of {lab[outer_vm].name} has MAC address spoofing Off: "
                          f"frames for {lab[vm].name} are not forwarded")
            walk.hop(outer_vm, f"adapter '{lab[node].name}' forwards to the nested External switch (MAC spoofing On)")
    walk.hop(vm, f"adapter '{lab[adapter].name}' has {address}")
    _deliver(walk, vm, address, walk.port, forwarded=False)


def _bridge_chain(lab: Lab, adapter: str) -> list[str] | None:
    """adapter → (outer adapter …) → network, through External switches only; None otherwise."""
    chain = [adapter]
    current = adapter
    while True:
        switch = lab.switch_of(current)
        if switch is None or lab[switch].type != "External":
            return None
        uplinks = lab.out(switch, Edge.UPLINK)
        if not uplinks:
            return None
        up = uplinks[0]
        if lab.kind(up) == "nic":
            nets = lab.out(up, Edge.UPLINK)
            return chain + nets[:1] if nets else None
        chain.append(up)
        current = up


def _deliver(walk: _Walk, node: str, address: str, port: int, *, forwarded: bool) -> None:
    """The packet reached a host or guest with `address`: forward it, hand it to a listener, or stop."""
    lab = walk.lab
    name = lab[node].name
    if lab.kind(node) == "vm" and not behaviour.is_running(lab, node):
        walk.stop(node, Disposition.NO_LISTENER, f"{name} is not running")
    platform = lab.platform(node)
    proto = walk.protocol
    if proto == "ICMP":
        walk.hop(node, f"{name} answers echo requests")
        return
    rule = _portproxy(platform, address, port) if proto == "TCP" else None
    if rule is not None:
        _firewall_in(walk, node, platform, port, implicit_allow=False)
        walk.hop(node, f"portproxy {rule.listen_address}:{rule.listen_port} -> {rule.connect_address}:{rule.connect_port}")
        _forward(walk, node, rule.connect_address, rule.connect_port)
        return
    mapping = _static_mapping(lab, node, port, proto)
    if mapping is not None:
        nat, m = mapping
        _winnat_up(walk, node)
        _firewall_block_only(walk, node, platform, port)
        walk.hop(node, f"NAT '{nat}' static mapping {m.external_port}/{m.protocol} -> {m.internal_ip}:{m.internal_port}")
        _forward(walk, node, m.internal_ip, m.internal_port)
        return
    record = lab[node]
    listens = isinstance(record, VM) and any(s.port == port and s.protocol == proto for s in record.services)
    if listens:
        _firewall_in(walk, node, platform, port, implicit_allow=True)
        walk.hop(node, f"a service listens on {port}/{proto}")
        return
    if forwarded:
        walk.stop(node, Disposition.WRONG_FORWARD_TARGET, f"the forward reached {name} but nothing listens on {port}")
    if lab.vms(node):
        walk.stop(node, Disposition.NO_FORWARD, f"no portproxy rule or NAT mapping for {port}/{proto} on {name}")
    walk.stop(node, Disposition.NO_LISTENER, f"nothing listens on {port}/{proto} on {name}")


def _forward(walk: _Walk, owner: str, address: str, port: int) -> None:
    lab = walk.lab
    target = _behind(lab, owner, address)
    if target is None:
        walk.stop(owner, Disposition.WRONG_FORWARD_TARGET, f"no VM behind {lab[owner].name} has {address}")
    adapter, switch = target
    sw = lab[switch]
    if sw.type == "Private":
        walk.stop(owner, Disposition.PRIVATE_SWITCH, f"{address} is on Private switch '{sw.name}': the host cannot reach it")
    vm = lab.owner(adapter)
    walk.hop(vm, f"adapter '{lab[adapter].name}' ({address}) on switch '{sw.name}'")
    _deliver(walk, vm, address, port, forwarded=True)


def _behind(lab: Lab, owner: str, address: str) -> tuple[str, str] | None:
    for switch in lab.owned(owner, "switch"):
        for adapter in lab.into(switch, Edge.ATTACHED):
            if ip_of(lab[adapter].ip) == address:
                return adapter, switch
    return None


def _portproxy(platform: Platform, address: str, port: int):
    for rule in platform.portproxy:
        if rule.listen_port == port and rule.listen_address in (address, "0.0.0.0", "*"):
            return rule
    return None


def _static_mapping(lab: Lab, owner: str, port: int, proto: str):
    for nat in lab.owned(owner, "nat"):
        for m in lab[nat].static_mappings:
            if m.external_port == port and m.protocol == proto:
                return lab[nat].name, m
    return None


# ----------------------------------------------------------------------------------------------
# Local segments and firewalls
# ----------------------------------------------------------------------------------------------


def _local_endpoint(lab: Lab, source: str, address: str) -> tuple[str, str] | None:
    """An address on a switch the source sits on directly (no routing): (node, how)."""
    behind = _behind(lab, source, address)
    if behind is not None:
        adapter, switch = behind
        if lab[switch].type == "Private":
            return None
        return lab.owner(adapter), f"{address} is on its switch '{lab[switch].name}'"
    for sw_id in lab.owned(source, "switch"):
        sw = lab[sw_id]
        if sw.type == "Internal" and ip_of(sw.host_ip) == address:
            return source, f"{address} is its own vEthernet ({sw.name})"
    if lab.kind(source) != "vm":
        return None
    for adapter in lab.adapters(source):
        switch = lab.switch_of(adapter)
        if switch is None:
            continue
        sw = lab[switch]
        owner = lab.owner(switch)
        if sw.type == "Internal" and ip_of(sw.host_ip) == address:
            return owner, f"{address} is {lab[owner].name}'s vEthernet on switch '{sw.name}'"
        for peer in lab.into(switch, Edge.ATTACHED):
            if peer != adapter and ip_of(lab[peer].ip) == address:
                return lab.owner(peer), f"{address} is on the same switch '{sw.name}'"
    return None


def _adapter_with_ip(lab: Lab, address: str) -> str | None:
    for node in lab.nodes("adapter"):
        if ip_of(lab[node].ip) == address:
            return node
    return None


def _matches(rule, port: int, proto: str) -> bool:
    return rule.enabled and (rule.port is None or rule.port == port) and rule.protocol in (proto, "Any")


def _rules(platform: Platform) -> list:
    """The lab's rules and, in the realistic world, the built-in ones Get-NetFirewallRule shows."""
    from nestlab.simulator.cmdlets.background import effective_rules  # the cmdlets import this module

    return effective_rules(platform)


def _firewall_in(walk: _Walk, node: str, platform: Platform, port: int, *, implicit_allow: bool) -> None:
    inbound = [r for r in _rules(platform) if r.direction == "inbound" and _matches(r, port, walk.protocol)]
    block = [r for r in inbound if r.action == "block"]
    if block:
        walk.stop(node, Disposition.FIREWALL_BLOCKED, f"firewall rule '{block[0].name}' blocks inbound {port}")
    if implicit_allow or any(r.action == "allow" for r in inbound):
        return
    walk.stop(node, Disposition.FIREWALL_BLOCKED, f"no firewall rule allows inbound {port}/{walk.protocol}")


def _firewall_block_only(walk: _Walk, node: str, platform: Platform, port: int) -> None:
    _firewall_in(walk, node, platform, port, implicit_allow=True)


def _check_outbound_firewall(walk: _Walk, source: str) -> None:
    platform = walk.lab.platform(source)
    for rule in _rules(platform):
        if rule.direction == "outbound" and rule.action == "block" and _matches(rule, walk.port, walk.protocol):
            walk.stop(source, Disposition.FIREWALL_BLOCKED, f"firewall rule '{rule.name}' blocks outbound {walk.port}")

