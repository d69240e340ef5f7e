"""The flows a report traces hop by hop: the ones the guide's network section asks about.

For a lab (in a report: the evidence lab the diagnosis rebuilt from PowerShell answers) they are
- out: every running VM with an address, to its physical host's network (can it reach the LAN?);
- in: from that network to every forward a person configured (a portproxy rule, a NAT static
  mapping) and to every service of a VM that has an address on the LAN (a bridged VM).
Each is traced with `nestlab.simulator.network.trace`, the same walk the BDD reachability
scenarios check; a trace that stops names the hop where it stopped and why.
"""

from __future__ import annotations

from dataclasses import dataclass

from nestlab.simulator import behaviour
from nestlab.simulator.model import Edge, Lab, ip_of
from nestlab.simulator.network import Trace, trace

OUT_PORT = 443  # what "reaches the LAN" is tried with: an HTTPS connection out
MAX_FLOWS = 40  # a report of a 1,000-VM lab traces a sample, not every VM


@dataclass(frozen=True)
class Flow:
    source: str
    destination: str
    port: int
    protocol: str
    why: str  # what the flow stands for, in a person's words

    def trace(self, lab: Lab) -> Trace:
        return trace(lab, self.source, self.destination, self.port, self.protocol)


def flows(lab: Lab) -> list[Flow]:
    found: list[Flow] = []
    for vm in lab.all_vms():
        network = _network_of(lab, lab.root_host(vm))
        if network is None:
            continue
        addressed = [a for a in lab.adapters(vm) if lab[a].ip]
        if addressed and behaviour.is_running(lab, vm):
            found.append(Flow(vm, network, OUT_PORT, "TCP", f"{lab[vm].name} reaches {lab[network].name}"))
        found += _inbound(lab, vm, network)
    for owner in [*lab.hosts(), *lab.all_vms()]:
        network = _network_of(lab, lab.root_host(owner))
        if network is not None:
            found += _forwards(lab, owner, network)
    unique = list(dict.fromkeys(found))
    return unique[:MAX_FLOWS]


def traces(lab: Lab) -> list[tuple[Flow, Trace]]:
    return [(flow, flow.trace(lab)) for flow in flows(lab)]


def _network_of(lab: Lab, host: str) -> str | None:
    for nic in lab.owned(host, "nic"):
        networks = lab.out(nic, Edge.UPLINK)
        if networks:
            return networks[0]
    return None


def _inbound(lab: Lab, vm: str, network: str) -> list[Flow]:
    """A service of a VM whose address is on the LAN itself (bridged all the way up)."""
    found = []
    for adapter in lab.adapters(vm):
        address = ip_of(lab[adapter].ip)
        if address and lab.path_to_lan(vm)[-1:] == [network]:
            found += [Flow(network, address, s.port, s.protocol, f"{lab[network].name} reaches {lab[vm].name}'s service on {s.port}")
                      for s in lab[vm].services]
    return found


def _forwards(lab: Lab, owner: str, network: str) -> list[Flow]:
    """Every portproxy rule and NAT static mapping of an owner, tried from the LAN."""
    platform = lab.platform(owner)
    name = lab[owner].name
    found = [Flow(network, rule.listen_address, rule.listen_port, "TCP",
                  f"portproxy on {name}: {rule.listen_port} -> {rule.connect_address}:{rule.connect_port}")
             for rule in platform.portproxy if rule.listen_address not in ("0.0.0.0", "*")]
    addresses = _addresses(lab, owner)
    for nat in lab.owned(owner, "nat"):
        for m in lab[nat].static_mappings:
            outside = m.external_ip if m.external_ip not in ("0.0.0.0", "") else (addresses[0] if addresses else None)
            if outside:
                found.append(Flow(network, outside, m.external_port, m.protocol,
                                  f"NAT {lab[nat].name} on {name}: {m.external_port} -> {m.internal_ip}:{m.internal_port}"))
    return found


def _addresses(lab: Lab, owner: str) -> list[str]:
    """The owner's addresses on the LAN side: a host's NICs, a VM's adapters on External switches."""
    if lab.kind(owner) == "host":
        return [ip_of(lab[nic].ip) for nic in lab.owned(owner, "nic") if lab[nic].ip]
    return [ip_of(lab[a].ip) for a in lab.adapters(owner)
            if lab[a].ip and (switch := lab.switch_of(a)) and lab[switch].type == "External"]
