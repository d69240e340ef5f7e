"""Guide section "Network connectivity issues in nested VMs" (category network).

Switch types, MAC spoofing on the adapter that bridges a nested External switch, the NAT's prefix,
port forwarding of services behind NAT, and firewall rules in the way.

Scope (docs/severity.md): these rules are about the nested chain — VMs meant to host nested VMs
and the VMs inside them, and the hosts and guests that hold them (diagnosis.intent). A file
server's second adapter on a Private backup switch is its owner's design, not a finding.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterator, Sequence

from nestlab.diagnosis import default_switch, intent, views
from nestlab.diagnosis.rules import bridged_guest
from nestlab.diagnosis.evidence import Evidence
from nestlab.diagnosis.rules.common import (
    GUIDE,
    Hit,
    Manual,
    Run,
    adapter_selector,
    all_vms,
    chain_platforms,
    cmd,
    get_vmnetworkadapter,
    name_of,
    network_of,
    on_parent,
    on_platform,
    ps,
    rule,
    seen,
    shown,
)
from nestlab.simulator.model import Edge, FirewallRule, Lab, ip_of
from nestlab.simulator.psdata import Command

REFERENCE = GUIDE + "Network connectivity issues in nested VMs"
NETWORK_SYMPTOMS = ("nested-vm-no-network",)


def attachments(ev: Evidence) -> tuple[tuple[str, str, str], ...]:
    """(vm, adapter, switch) for every connected adapter of every VM of the nested chain (found
    once per evidence: switch-internal and switch-private both read them)."""
    cached = ev.memo.get("rules.network.attachments")
    if cached is None:
        cached = ev.memo["rules.network.attachments"] = tuple(_attachments(ev))
    return cached


def _attachments(ev: Evidence) -> Iterator[tuple[str, str, str]]:
    lab = ev.lab
    for vm in intent.chain_vms(ev):
        for adapter in lab.adapters(vm):
            switch = lab.switch_of(adapter)
            if switch is not None:
                yield vm, adapter, switch


def get_vmswitch(lab: Lab, switch: str) -> str:
    return cmd("Get-VMSwitch", Name=lab[switch].name)


def _attachment_items(ev: Evidence, vm: str, adapter: str, switch: str) -> tuple:
    return (
        shown(ev, adapter, get_vmnetworkadapter(vm), "SwitchName", ev.lab[switch].name),
        shown(ev, switch, get_vmswitch(ev.lab, switch), "SwitchType", ev.lab[switch].type),
    )


def _connect(lab: Lab, vm: str, adapter: str, switch_name: str) -> Run:
    """On the VM's parent: connect its adapter to another switch."""
    (connect,) = on_parent(vm, ps("Connect-VMNetworkAdapter", VMName=name_of(vm), Name=lab[adapter].name,
                                  SwitchName=switch_name))
    return connect


def external_switch(lab: Lab, owner: str) -> str | None:
    for switch in lab.owned(owner, "switch"):
        if lab[switch].type == "External":
            return switch
    return None


# Internal switches that something other than a NetNat object gives a way out (Get-VMSwitch Name,
# SwitchType Internal, on the owner that creates them): counted as NAT by switch-internal.
# - "Default Switch": Windows 10 1709+ / 11 creates it with Internet Connection Sharing (NAT and
#   DHCP through ICS/HNS, no Get-NetNat object); VMs on it reach the Internet (Microsoft's
#   "Default Switch" docs; NanaBox #17's guest on it had network). Only on a client build that
#   has it (16299+): a server has none, so a switch of that name there is someone's own.
# - "WSL": WSL 2's Internal switch (1903+ / 18362), NAT'ed by the Host Network Service, no NetNat.
# - "DockerNAT": Docker Desktop's Hyper-V backend (before WSL 2) put its VM on this Internal switch
#   (10.0.75.0/24) by design and gave it the Internet through VPNKit over hvsock (docker/for-win #5993).
# name -> (first build that creates it, client editions only)
MANAGED_NAT_SWITCHES = {"default switch": (16299, True), "wsl": (18362, False), "dockernat": (0, False)}


def managed_nat(lab: Lab, switch: str, ev: Evidence | None = None) -> bool:
    """Whether an Internal switch is one Windows, WSL or Docker Desktop NATs without a NetNat object.
    Windows' Default Switch is known by its fixed Id where Get-VMSwitch showed one (default_switch.py)."""
    by_id = default_switch.is_default_switch(ev, switch) if ev is not None else None
    if by_id is not None and (by_id or lab[switch].name.lower() == "default switch"):
        return by_id
    known = MANAGED_NAT_SWITCHES.get(lab[switch].name.lower())
    if known is None:
        return False
    build, client_only = known
    os_info = lab.platform(lab.owner(switch)).os
    return os_info.build >= build and not (client_only and "server" in os_info.caption.lower())


@rule("switch-internal", category="network", severity="error", reference=REFERENCE)
def switch_internal(ev: Evidence) -> Iterator[Hit]:
    lab = ev.lab
    cut_off: dict[str, bool] = {}  # switch -> no way out: judged once, the chain's VMs share few switches
    for vm, adapter, switch in attachments(ev):
        if not (cut_off[switch] if switch in cut_off else cut_off.setdefault(switch, _no_way_out(ev, switch))):
            continue
        record = lab[switch]
        owner = lab.owner(switch)
        if record.host_ip:
            prefix = str(network_of(record.host_ip))
            fix = on_platform(lab, owner, [ps("New-NetNat", Name=record.name, InternalIPInterfaceAddressPrefix=prefix)])
        else:
            external = external_switch(lab, owner)
            fix = ((_connect(lab, vm, adapter, lab[external].name),) if external
                   else (Manual(f"Create an External switch on {owner} and connect {name_of(vm)}'s adapter to it"),))
        yield Hit(
            subject=adapter,
            summary=f"{name_of(vm)}'s adapter is on Internal switch {record.name} and {owner} has no NAT, "
                    "so it reaches its host but not the LAN",
            evidence=(*_attachment_items(ev, vm, adapter, switch),
                      shown(ev, owner, "Get-NetNat", "Name", [], probe="nat", summary=True)),
            resolution=fix,
            explains=NETWORK_SYMPTOMS,
        )


def _no_way_out(ev: Evidence, switch: str) -> bool:
    """An Internal switch whose owner has no NAT, nor one Windows, WSL or Docker gives it."""
    lab = ev.lab
    return lab[switch].type == "Internal" and not lab.owned(lab.owner(switch), "nat") and not managed_nat(lab, switch, ev)


def _subnet(cidr: str | None) -> ipaddress.IPv4Network | None:
    return network_of(cidr) if cidr else None


def _outside_subnets(lab: Lab, owner: str) -> set[ipaddress.IPv4Network]:
    """The subnets the owner of a switch itself is on (a host's NICs, a guest's own adapters):
    an address from one of them is an address meant for the network beyond the switch."""
    if lab.kind(owner) == "host":
        cidrs = [lab[n].ip for n in lab.owned(owner, "nic")]
    else:
        cidrs = [lab[a].ip for a in lab.adapters(owner)]
    return {net for c in cidrs if (net := _subnet(c)) is not None}


def private_needs_beyond(ev: Evidence, vm: str, adapter: str, switch: str) -> str | None:
    """Why a VM's adapter on a Private switch needs to reach beyond it, or None.

    A Private switch is a design, not a defect, when the VMs on it talk to each other: MSLab
    builds every lab on one (its DC serves and routes for the lab; MSLab #353, #133,
    DellGEOS/AzureLocalHOLs #49), a file server's backup NIC sits on one. It is a defect only
    where evidence says the adapter is meant for more than the switch gives it:
    - its address is in a subnet of the switch's owner (a LAN address: Get-NetIPAddress), so
      it was configured for the network outside;
    - an error seen on the VM says it has no network (a ticket line, --symptom);
    - nothing shares the switch with it (Get-VMNetworkAdapter of every VM: no other adapter on
      it, or none in its subnet) and the VM has no other way out, so it reaches nothing at all.
    """
    lab = ev.lab
    net = _subnet(lab[adapter].ip)
    if net is not None and net in _outside_subnets(lab, lab.owner(switch)):
        return f"its address {lab[adapter].ip} is on {lab.owner(switch)}'s own network"
    if any(o.node == vm and set(NETWORK_SYMPTOMS) & set(o.symptoms) for o in ev.stated.symptoms):
        return "an error seen on it says it has no network"
    peers = [a for a in lab.into(switch, Edge.ATTACHED) if a != adapter and lab.kind(a) == "adapter"]
    if net is not None:
        peers = [a for a in peers if _subnet(lab[a].ip) in (None, net)]
    other_way_out = any((s := lab.switch_of(a)) is not None and lab[s].type != "Private"
                        for a in lab.adapters(vm) if a != adapter)
    if not peers and not other_way_out:
        return "no other VM shares the switch with it, so it reaches nothing"
    return None


@rule("switch-private", category="network", severity="error", reference=REFERENCE)
def switch_private(ev: Evidence) -> Iterator[Hit]:
    lab = ev.lab
    for vm, adapter, switch in attachments(ev):
        if lab[switch].type != "Private":
            continue
        why = private_needs_beyond(ev, vm, adapter, switch)
        if why is None:  # VMs on a lab network of their own, by design (see private_needs_beyond)
            continue
        external = external_switch(lab, lab.owner(switch))
        fix = ((_connect(lab, vm, adapter, lab[external].name),) if external
               else (Manual(f"Create an External switch on {lab.owner(switch)} (New-VMSwitch -SwitchType External …) "
                            f"and connect {name_of(vm)}'s adapter to it"),))
        yield Hit(
            subject=adapter,
            summary=f"{name_of(vm)}'s adapter is on Private switch {lab[switch].name}: it reaches neither its host "
                    f"nor the LAN ({why})",
            evidence=(*_attachment_items(ev, vm, adapter, switch),
                      *((shown(ev, vm, cmd("Get-NetIPAddress", AddressFamily="IPv4"), "IPAddress", ip_of(lab[adapter].ip),
                               probe="ipaddresses", where={"IPAddress": ip_of(lab[adapter].ip)}),)
                        if lab[adapter].ip else ())),
            resolution=fix,
            explains=NETWORK_SYMPTOMS,
        )


@rule("mac-spoofing-disabled", category="network", severity="error", reference=REFERENCE)
def mac_spoofing_disabled(ev: Evidence) -> Iterator[Hit]:
    lab = ev.lab
    for vm in all_vms(lab):
        for switch in lab.owned(vm, "switch"):
            record = lab[switch]
            if record.type != "External" or not record.adapter:
                continue
            outer = next((a for a in lab.adapters(vm) if lab[a].name == record.adapter), None)
            bridged = [a for a in lab.into(switch, Edge.ATTACHED) if lab.kind(a) == "adapter"]
            if outer is None or lab[outer].mac_spoofing or not bridged:
                continue
            yield Hit(
                subject=outer,
                summary=f"{name_of(vm)}'s adapter bridges its External switch {record.name} but MAC address spoofing "
                        "is off, so the nested VMs on it get no traffic",
                evidence=(
                    shown(ev, outer, get_vmnetworkadapter(vm), "MacAddressSpoofing", "Off"),
                    shown(ev, switch, cmd("Get-VMSwitch", Name=record.name), "SwitchType", "External"),
                ),
                resolution=on_parent(vm, ps("Set-VMNetworkAdapter", **adapter_selector(lab, outer), MacAddressSpoofing="On")),
                explains=NETWORK_SYMPTOMS,
            )
    yield from bridged_guest.unseen_bridges(ev)  # a bridge its guest cannot show (rules/bridged_guest.py)


def internal_switches(lab: Lab, owner: str) -> list[str]:
    return [s for s in lab.owned(owner, "switch") if lab[s].type == "Internal" and lab[s].host_ip]


def covers(lab: Lab, nat: str, switch: str) -> bool:
    prefix = ipaddress.ip_network(lab[nat].internal_prefix, strict=False)
    return ipaddress.ip_interface(lab[switch].host_ip).ip in prefix


@rule("nat-prefix-mismatch", category="network", severity="error", reference=REFERENCE)
def nat_prefix_mismatch(ev: Evidence) -> Iterator[Hit]:
    lab = ev.lab
    for owner in chain_platforms(ev):
        nats = lab.owned(owner, "nat")
        if not nats:  # no NAT, no prefix to mismatch (most owners)
            continue
        switches = internal_switches(lab, owner)
        uncovered = [s for s in switches if not any(covers(lab, n, s) for n in nats)]
        uncovered.sort(key=lambda s: not lab.into(s, Edge.ATTACHED))  # switches with VMs on them first
        for nat in nats:
            if any(covers(lab, nat, s) for s in switches) or not uncovered:
                continue
            switch = uncovered[0]
            name, right = lab[nat].name, str(network_of(lab[switch].host_ip))
            yield Hit(
                subject=nat,
                summary=f"NAT {name} on {owner} translates {lab[nat].internal_prefix}, but Internal switch "
                        f"{lab[switch].name} is on {right}",
                evidence=(
                    shown(ev, nat, cmd("Get-NetNat", Name=name), "InternalIPInterfaceAddressPrefix",
                          lab[nat].internal_prefix, probe="nat"),
                    shown(ev, owner, cmd("Get-NetIPAddress", InterfaceAlias=f"vEthernet ({lab[switch].name})"), "IPAddress",
                          ip_of(lab[switch].host_ip), where={"InterfaceAlias": f"vEthernet ({lab[switch].name})"}),
                    shown(ev, owner, cmd("Get-NetIPAddress", InterfaceAlias=f"vEthernet ({lab[switch].name})"),
                          "PrefixLength", network_of(lab[switch].host_ip).prefixlen,
                          where={"InterfaceAlias": f"vEthernet ({lab[switch].name})"}),
                ),
                resolution=on_platform(lab, owner, [
                    ps("Remove-NetNat", Name=name, Confirm=False),
                    ps("New-NetNat", Name=name, InternalIPInterfaceAddressPrefix=right),
                ]),
                explains=NETWORK_SYMPTOMS,
            )


# -- services behind an owner, and how they are forwarded --------------------------------------


@dataclass(frozen=True)
class Service:
    vm: str
    ip: str
    port: int
    protocol: str


def services_behind(lab: Lab, owner: str, *, internal_only: bool, system: bool = False) -> tuple[Service, ...]:
    """Listening services of the Running VMs an owner runs (only those on its Internal switches, if
    asked; with Windows' own listeners, if asked). nat-static-mapping-wrong asks again for each
    forward into a nested host: kept per lab state (Lab.memo)."""
    return views.per_node(lab, "rules.network.services_behind", (owner, internal_only, system),
                          lambda: tuple(_services_behind(lab, owner, internal_only=internal_only, system=system)))


def _services_behind(lab: Lab, owner: str, *, internal_only: bool, system: bool) -> list[Service]:
    if not system:  # the services of every adapter, each made once: the Internal switches' are a part of them
        return [service for service, internal in _placed_services(lab, owner) if internal or not internal_only]
    found = []
    for vm, ip, internal in addressed_adapters(lab, owner):
        if internal_only and not internal:
            continue
        found.extend(Service(vm, ip, port, protocol) for port, protocol in listeners(lab, vm, system=system))
    return found


def _placed_services(lab: Lab, owner: str) -> tuple[tuple[Service, bool], ...]:
    """Each service behind an owner (Windows' own listeners left out), with whether its adapter is on
    an Internal switch: all of them and the Internal ones are asked both, of the same owners."""
    return views.per_node(lab, "rules.network.placed_services", owner, lambda: tuple(
        (Service(vm, ip, port, protocol), internal)
        for vm, ip, internal in addressed_adapters(lab, owner) for port, protocol in listeners(lab, vm)))


def listening_at(lab: Lab, owner: str) -> set[tuple[str, int]]:
    """(address, port) of every TCP listener behind an owner, Windows' own included: the endpoints of
    `services_behind(internal_only=False, system=True)`, without making a Service for each of
    Windows' listeners on every VM (nat-static-mapping-wrong asks it of every owner that forwards)."""
    found = {(s.ip, s.port) for s, _ in _placed_services(lab, owner) if s.protocol == "TCP"}
    found.update((ip, port) for vm, ip, _ in addressed_adapters(lab, owner)
                 if "windows" in lab[vm].guest.os.caption.lower() for port in WINDOWS_LISTENERS)
    return found


def addressed_adapters(lab: Lab, owner: str) -> tuple[tuple[str, str, bool], ...]:
    """(vm, address, on an Internal switch?) of each connected, addressed adapter of the Running VMs
    an owner runs, in order: what `services_behind` stands on. It is asked in three variants (all
    switches or the Internal ones, with or without Windows' own listeners), which share this walk
    of the owner's VMs: kept per lab state (Lab.memo)."""
    return views.per_node(lab, "rules.network.addressed_adapters", owner, lambda: tuple(_addressed_adapters(lab, owner)))


def _addressed_adapters(lab: Lab, owner: str) -> Iterator[tuple[str, str, bool]]:
    for vm in views.running_vms(lab, owner):
        for adapter in lab.adapters(vm):
            switch = lab.switch_of(adapter)
            ip = ip_of(lab[adapter].ip)
            if ip is None or switch is None:
                continue
            yield vm, ip, lab[switch].type == "Internal"


def listeners(lab: Lab, vm: str, *, system: bool = False) -> set[tuple[int, str]]:
    """What accepts connections in a VM's guest: its services, and the ports it forwards on itself
    (a portproxy listens; a NAT static mapping answers on its external port) — forwards can chain;
    with `system`, also what every Windows listens on."""
    found = {(s.port, s.protocol) for s in lab[vm].services}
    found |= {(port, "TCP") for _, port, _, _, _ in forwards(lab, vm)}
    if system and "windows" in lab[vm].guest.os.caption.lower():
        found |= {(port, "TCP") for port in WINDOWS_LISTENERS}
    return found


# Every Windows listens on these (RPC, NetBIOS, SMB, WinRM on Server); collectors leave them out of
# the listeners they report as noise, so a forward to one of them is never "to nothing".
WINDOWS_LISTENERS = (135, 139, 445, 5985)

# Ports Windows itself listens on or opens with its built-in firewall rules: RPC endpoint mapper
# 135, NetBIOS 137-139, SMB 445, Remote Desktop 3389, WinRM 5985/5986 and its listener 47001, and
# the dynamic RPC range 49152-65535 (Windows' default dynamic port range since Vista/2008,
# Microsoft KB 929851; the RPC services sit at 49664+); on Windows 10/11 the Connected Devices
# Platform service (CDPSvc) 5040 and Delivery Optimization 7680 (Microsoft's "Delivery Optimization
# FAQ": TCP 7680 for peers); with the Hyper-V role, VMMS's VMConnect 2179 and live migration 6600
# (the "Hyper-V (REMOTE_DESKTOP_TCP-In)" and "Hyper-V (MIG-TCP-In)" rules). A service on one of them is never a
# "missing" forward (publishing SMB, RPC or WinRM to the LAN is not a fix), and an allow rule for
# one is not a hole where a forward was meant to be.
SYSTEM_PORTS = frozenset({135, 137, 138, 139, 445, 2179, 3389, 5040, 5985, 5986, 6600, 7680, 47001})
DYNAMIC_PORTS_FROM = 49152


def system_port(port: int) -> bool:
    return port in SYSTEM_PORTS or port >= DYNAMIC_PORTS_FROM


Forward = tuple[str, int, str, int, str | None]  # (listen/external ip, port, internal ip, port, nat)


def forwards(lab: Lab, owner: str) -> tuple[Forward, ...]:
    """(listen/external ip, port, internal ip, port, nat) of every portproxy rule and NAT static mapping.

    Six rules ask it of every platform, and of each VM they look behind: kept per lab state (Lab.memo)."""
    return views.per_node(lab, "rules.network.forwards", owner, lambda: tuple(_forwards(lab, owner)))


def _forwards(lab: Lab, owner: str) -> list[Forward]:
    platform = lab.platform(owner)
    found: list[Forward] = [
        (r.listen_address, r.listen_port, r.connect_address, r.connect_port, None) for r in platform.portproxy
    ]
    for nat in lab.owned(owner, "nat"):
        found.extend((m.external_ip, m.external_port, m.internal_ip, m.internal_port, nat)
                     for m in lab[nat].static_mappings)
    return found


def unforwarded(lab: Lab, owner: str, *, system: bool = False) -> list[Service]:
    """TCP services behind an owner's Internal switches that no portproxy rule or static mapping
    reaches (Windows' own listeners, SYSTEM_PORTS, only when asked)."""
    targets = {(f[2], f[3]) for f in forwards(lab, owner)}
    return [s for s in services_behind(lab, owner, internal_only=True)
            if s.protocol == "TCP" and (s.ip, s.port) not in targets and (system or not system_port(s.port))]


def outside_address(lab: Lab, owner: str) -> str | None:
    """The owner's own address on the way out: a host's NIC, a VM's first addressed adapter."""
    candidates = lab.owned(owner, "nic") if lab.kind(owner) == "host" else lab.adapters(owner)
    for node in candidates:
        ip = ip_of(lab[node].ip)
        if ip:
            return ip
    return None


def free_listen_port(lab: Lab, owner: str, port: int) -> int:
    used = {f[1] for f in forwards(lab, owner)}
    while port in used:
        port += 8000 if port < 8000 else 1
    return port


def orphan_allow_ports(lab: Lab, owner: str) -> list[int]:
    """Ports an inbound allow rule opens on an owner with nothing behind them: no forward, no
    listener of the owner's own. Such a hole is where a forward was meant to be (or was).

    Only a rule someone added counts: a rule of a rule group (Get-NetFirewallRule's Group, e.g.
    "@FirewallAPI.dll,-…" for "Hyper-V" or "File and Printer Sharing") came with Windows or one of
    its roles and opens the port for that feature's own service, not for a forward."""
    opened = [r.port for r in lab.platform(owner).firewall
              if r.enabled and r.direction == "inbound" and r.action == "allow" and r.protocol in ("TCP", "Any")
              and r.group is None and r.port is not None and not system_port(r.port)]
    if not opened:  # no such rule (most platforms): what is behind the owner need not be looked up
        return []
    used = {f[1] for f in forwards(lab, owner)}
    own = {s.port for s in lab[owner].services} if lab.kind(owner) == "vm" else set()
    return [port for port in opened if port not in used and port not in own]


def portproxy_add(listen: str, listen_port: int, target: str, target_port: int) -> Command:
    return ps("netsh", "int", "portproxy", "add", "v4tov4", f"listenaddress={listen}", f"listenport={listen_port}",
              f"connectaddress={target}", f"connectport={target_port}")


def allow_rule(port: int) -> Command:
    return ps("New-NetFirewallRule", DisplayName=f"Allow-TCP-{port}", Direction="Inbound", Action="Allow",
              Protocol="TCP", LocalPort=port)


PORTPROXY_SHOW = cmd("netsh", "interface", "portproxy", "show", "all")


@dataclass(frozen=True)
class Wanted:
    """A service someone wants reachable from outside, why we think so, and where to forward it."""

    service: Service
    why: str
    listen_port: int
    certain: bool  # an allow rule, a statement or a seen error: its absence fails someone (error)


def wanted(ev: Evidence, owner: str) -> list[Wanted]:
    """The unforwarded services behind `owner` (system ports included) there is evidence someone
    wants reachable (issue 11, item 3): stated (`--reachable VM:PORT`); an inbound allow rule on the
    owner with nothing behind it (the hole a forward was meant to fill: its port's service first,
    else the next service); an error seen about it ("Unable to reach nested VMs…" placed on the VM
    or the owner); or a forward of the same VM on another port (a warning: likely, not certain).
    System ports only when stated. Without any of these evidences nothing is wanted, and the
    services behind the owner are not looked up (most owners of a large lab)."""
    lab = ev.lab
    stated = {(vm, port) for vm, port in ev.stated.reachable}
    holes = orphan_allow_ports(lab, owner)
    complained = {o.node for o in ev.stated.symptoms if "nested-vm-unreachable" in o.symptoms}
    forwarded_ips = {f[2] for f in forwards(lab, owner)}
    if not (stated or holes or complained or forwarded_ips):
        return []
    found: list[Wanted] = []
    rest = []
    for service in unforwarded(lab, owner, system=True):
        if (service.vm, service.port) in stated:
            found.append(Wanted(service, f"--reachable {name_of(service.vm)}:{service.port}",
                                _take(holes, service.port, lab, owner), True))
        elif not system_port(service.port):
            rest.append(service)
    for service in [s for s in rest if s.port in holes]:
        holes.remove(service.port)
        found.append(Wanted(service, f"an inbound allow rule opens {service.port} with nothing behind it", service.port, True))
        rest.remove(service)
    for service in list(rest):
        if holes:
            port = holes.pop(0)
            found.append(Wanted(service, f"an inbound allow rule opens {port} with nothing behind it", port, True))
        elif service.vm in complained or owner in complained:
            found.append(Wanted(service, "an error seen says it cannot be reached",
                                free_listen_port(lab, owner, service.port), True))
        elif service.ip in forwarded_ips:
            found.append(Wanted(service, f"{name_of(service.vm)} is forwarded on another port",
                                free_listen_port(lab, owner, service.port), False))
    return found


def _take(holes: list[int], port: int, lab: Lab, owner: str) -> int:
    if port in holes:
        holes.remove(port)
        return port
    return holes.pop(0) if holes else free_listen_port(lab, owner, port)


@rule("portproxy-missing", category="network", severity="error", reference=REFERENCE)
def portproxy_missing(ev: Evidence) -> Iterator[Hit]:
    # Only what someone wants reachable is "missing" (wanted): an error when the evidence is
    # certain (an allow rule waiting for it, a statement, a seen error), a warning when likely.
    lab = ev.lab
    for owner in chain_platforms(ev):
        listen = outside_address(lab, owner)
        if listen is None:
            continue
        missing = wanted(ev, owner)
        if not missing:
            continue
        commands = []
        for want in missing:
            commands.append(portproxy_add(listen, want.listen_port, want.service.ip, want.service.port))
            if blocking_state(lab.platform(owner).firewall, want.listen_port) != "allowed":
                commands.append(allow_rule(want.listen_port))
        listed = ", ".join(f"{name_of(w.service.vm)} {w.service.ip}:{w.service.port} ({w.why})" for w in missing)
        yield Hit(
            subject=owner,
            summary=f"{owner} forwards no port to {listed} behind its NAT, so it cannot be reached from outside",
            evidence=(
                shown(ev, owner, PORTPROXY_SHOW, "v4tov4",
                      [f"{f[0]}:{f[1]} -> {f[2]}:{f[3]}" for f in forwards(lab, owner) if f[4] is None],
                      probe="portproxy", summary=True),
                shown(ev, owner, "Get-NetNatStaticMapping", "InternalIPAddress",
                      [f"{f[2]}:{f[3]}" for f in forwards(lab, owner) if f[4] is not None],
                      probe="natmappings", summary=True),
                *(shown(ev, w.service.vm, cmd("Get-NetTCPConnection", State="Listen"), "LocalPort", w.service.port,
                        probe="tcplisteners", where={"LocalPort": w.service.port}) for w in missing),
            ),
            resolution=on_platform(lab, owner, commands),
            explains=("nested-vm-unreachable",),
            severity="error" if any(w.certain for w in missing) else "warning",
        )


# -- firewall --------------------------------------------------------------------------------


def _matches(rule_: FirewallRule, port: int, protocol: str) -> bool:
    return (rule_.enabled and rule_.direction == "inbound" and rule_.protocol in (protocol, "Any")
            and rule_.port in (None, port))


def blocking_state(rules: tuple[FirewallRule, ...], port: int, protocol: str = "TCP") -> str:
    """'blocked' (a block rule wins in Windows Firewall), 'allowed', or 'no-rule' (default inbound: block)."""
    return _verdict([r for r in rules if _matches(r, port, protocol)])


def _verdict(matching: Sequence[FirewallRule]) -> str:
    if any(r.action == "block" for r in matching):
        return "blocked"
    return "allowed" if matching else "no-rule"


def inbound_rules(lab: Lab, owner: str, port: int, protocol: str) -> list[FirewallRule]:
    """A platform's rules that decide inbound `protocol` `port` (`_matches`), in the platform's
    order. The enabled inbound rules are grouped by port once per lab state: a guest has a few
    dozen rules and firewall-blocking checks each forwarded and listening port, so it reads the
    rules of that port and of any port, not all of them per check."""
    return _deciding(_inbound(lab, owner), port, protocol)


def _inbound(lab: Lab, owner: str) -> dict[int | None, list[tuple[int, FirewallRule]]]:
    """A platform's enabled inbound rules by port (`_by_port`), kept per lab state (Lab.memo)."""
    return views.per_node(lab, "rules.network.inbound", owner, lambda: _by_port(lab.platform(owner).firewall))


def _deciding(by_port: dict[int | None, list[tuple[int, FirewallRule]]], port: int, protocol: str) -> list[FirewallRule]:
    """The rules of `by_port` that decide inbound `protocol` `port`, in the platform's order: the
    port's own and the any-port rules, merged by place only when there are both."""
    own, any_port = by_port.get(port, ()), by_port.get(None, ())
    found = sorted((*own, *any_port), key=lambda placed: placed[0]) if own and any_port else own or any_port
    return [r for _, r in found if r.protocol in (protocol, "Any")]


def _by_port(rules: tuple[FirewallRule, ...]) -> dict[int | None, list[tuple[int, FirewallRule]]]:
    """Port (None: any) -> the enabled inbound rules on it, each with its place in `rules`."""
    found: dict[int | None, list[tuple[int, FirewallRule]]] = {}
    for place, r in enumerate(rules):
        if r.enabled and r.direction == "inbound":
            found.setdefault(r.port, []).append((place, r))
    return found


def _firewall_items(ev: Evidence, owner: str, rules: tuple[FirewallRule, ...], port: int, protocol: str) -> list:
    items = []
    for r in rules:
        if r.direction == "inbound" and r.port in (None, port) and r.protocol in (protocol, "Any"):
            command, which = cmd("Get-NetFirewallRule", Name=r.name), {"Name": r.name}
            items += [shown(ev, owner, command, "Enabled", r.enabled, probe="firewall", where=which),
                      shown(ev, owner, command, "Action", r.action.capitalize(), probe="firewall", where=which)]
    if not items:
        items.append(shown(ev, owner, cmd("Get-NetFirewallRule", Direction="Inbound", Action="Allow"), "LocalPort", [],
                           probe="portfilters", summary=True))
    return items


@rule("firewall-blocking", category="network", severity="error", reference=REFERENCE)
def firewall_blocking(ev: Evidence) -> Iterator[Hit]:
    lab = ev.lab
    for owner in chain_platforms(ev):
        checks = [(f[1], "TCP", "forwarded") for f in forwards(lab, owner)]
        if lab.kind(owner) == "vm":
            checks += [(s.port, s.protocol, "listening") for s in lab[owner].services]
        if not checks:  # nothing forwarded, nothing listening: no port to decide
            continue
        by_port = _inbound(lab, owner)
        for port, protocol, why in checks:
            matching = _deciding(by_port, port, protocol)
            state = _verdict(matching)
            if state == "allowed" or (state == "no-rule" and why == "listening"):
                continue
            blockers = [r for r in matching if r.action == "block"]
            fix = [ps("Disable-NetFirewallRule", Name=r.name) for r in blockers]
            if not any(r.action == "allow" for r in matching) and protocol == "TCP":
                fix.append(allow_rule(port))
            yield Hit(
                subject=owner,
                summary=f"Windows Firewall on {owner} {'blocks' if state == 'blocked' else 'has no rule allowing'} "
                        f"inbound {protocol} {port} ({why})",
                evidence=tuple(_firewall_items(ev, owner, lab.platform(owner).firewall, port, protocol)),
                resolution=on_platform(lab, owner, fix),
                explains=("nested-vm-unreachable",),
                severity="error" if state == "blocked" else "warning",
            )


RULES = (switch_internal, switch_private, mac_spoofing_disabled, nat_prefix_mismatch, portproxy_missing, firewall_blocking)
