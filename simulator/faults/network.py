"""Guide section "Network connectivity issues in nested VMs": switches, MAC spoofing, NAT prefix, forwards, firewall."""

from __future__ import annotations

import ipaddress

from nestlab.simulator.actions import cmd, run
from nestlab.simulator.faults.base import Fault, Script, run_all
from nestlab.simulator.faults.symptoms import inbound, outbound
from nestlab.simulator.faults.where import name, outward_ip, reachable, relink, system_port
from nestlab.simulator.model import Edge, FirewallRule, Lab, NodeId, PortProxyRule, Switch, ip_of, switch_id
from nestlab.simulator.psdata import Command

SECTION = "Network connectivity issues in nested VMs"

# ----------------------------------------------------------------------------------------------
# Adapters and switches
# ----------------------------------------------------------------------------------------------


def adapter_vm(adapter: str) -> str:
    return str(NodeId.parse(adapter).owner)


def _switches(lab: Lab, owner: str, kind: str) -> list[str]:
    return [s for s in lab.owned(owner, "switch") if lab[s].type == kind]


def _bridged_adapters(lab: Lab) -> list[str]:
    """VM adapters on an External switch of their parent: the ones a switch change can cut off."""
    found = []
    for vm in lab.all_vms():
        for adapter in lab.adapters(vm):
            switch = lab.switch_of(adapter)
            if switch is not None and lab[switch].type == "External" and lab.path_to_lan(vm):
                found.append(adapter)
    return found


# Internal switches that give their VMs a way out without a NetNat (Windows' ICS Default Switch,
# WSL 2's switch, Docker Desktop's DockerNAT): moving an adapter there is no switch-internal fault, so the fault
# makes its own bare Internal switch instead (the diagnosis's MANAGED_NAT_SWITCHES, rules/network.py).
NAT_BY_OTHER_MEANS = ("default switch", "wsl", "dockernat")


def _switch_for(lab: Lab, owner: str, kind: str) -> tuple[str, bool]:
    """The owner's first switch of this type, or the name a new one gets (and True: create it)."""
    existing = [s for s in _switches(lab, owner, kind) if lab[s].name.lower() not in NAT_BY_OTHER_MEANS]
    if existing:
        return lab[existing[0]].name, False
    taken = {lab[s].name.lower() for s in lab.owned(owner, "switch")}
    base = kind
    candidate, n = base, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{base}{n}"
    return candidate, True


def _connect(lab: Lab, adapter: str, switch_name: str) -> None:
    vm = adapter_vm(adapter)
    owner = lab.parent(vm)
    current = lab.switch_of(adapter)
    if current is not None:
        lab.unlink(adapter, current, Edge.ATTACHED)
    lab.link(adapter, switch_id(owner, switch_name), Edge.ATTACHED)


def _move(kind: str):
    """Connect an adapter to a switch of `kind` of its VM's parent, creating it (New-VMSwitch) if needed."""

    def apply(lab: Lab, adapter: str) -> None:
        owner = lab.parent(adapter_vm(adapter))
        switch, create = _switch_for(lab, owner, kind)
        if create:
            lab.link(owner, lab.add(switch_id(owner, switch), Switch(name=switch, type=kind)), Edge.HAS)
        _connect(lab, adapter, switch)

    def script(lab: Lab, adapter: str) -> Script:
        vm = adapter_vm(adapter)
        owner = lab.parent(vm)
        switch, create = _switch_for(lab, owner, kind)
        lines = [cmd("New-VMSwitch", Name=switch, SwitchType=kind)] if create else []
        lines.append(_connect_line(lab, adapter, switch))
        return [run(owner, line) for line in lines]

    def unscript(lab: Lab, adapter: str) -> Script:
        vm = adapter_vm(adapter)
        owner = lab.parent(vm)
        switch, create = _switch_for(lab, owner, kind)
        lines = [_connect_line(lab, adapter, lab[lab.switch_of(adapter)].name)]
        if create:
            lines.append(cmd("Remove-VMSwitch", Name=switch, Force=True))
        return [run(owner, line) for line in lines]

    return apply, script, unscript


def _connect_line(lab: Lab, adapter: str, switch: str) -> Command:
    vm = adapter_vm(adapter)
    return cmd("Connect-VMNetworkAdapter", VMName=name(lab, vm), Name=lab[adapter].name, SwitchName=switch)


def _reconnect_external(lab: Lab, adapter: str) -> None:
    """The guide's resolution: assign an External switch to the VM's network adapter.

    A host without an External switch (an MSLab host has only the Default Switch and its Private
    lab switch) gets one first, as the person following the diagnosis's "Create an External
    switch on …" would: New-VMSwitch over the owner's first NIC no switch is bound to yet.
    """
    owner = lab.parent(adapter_vm(adapter))
    lines = []
    existing = _switches(lab, owner, "External")
    if existing:
        switch = lab[existing[0]].name
    else:
        switch, _ = _switch_for(lab, owner, "External")
        lines.append(run(owner, cmd("New-VMSwitch", Name=switch, NetAdapterName=_free_uplink(lab, owner),
                                    AllowManagementOS=True)))
    lines.append(run(owner, _connect_line(lab, adapter, switch)))
    run_all(lab, lines)


def _free_uplink(lab: Lab, owner: str) -> str:
    """The name New-VMSwitch -NetAdapterName takes for the owner's first NIC no External switch uses:
    a host's physical NIC, or, inside a guest, its adapters as the guest names them (Ethernet, Ethernet 2 …)."""
    bound = {(lab[s].adapter or "").lower() for s in _switches(lab, owner, "External")}
    if lab.kind(owner) == "host":
        names = [(lab[n].adapter, lab[n].adapter) for n in lab.owned(owner, "nic")]
    else:
        names = [(lab[a].name, "Ethernet" if i == 0 else f"Ethernet {i + 1}") for i, a in enumerate(lab.adapters(owner))]
    for model_name, shown in names:
        if model_name.lower() not in bound:
            return shown
    raise RuntimeError(f"{owner} has no network adapter free to bridge an External switch to")


def _owner_has_nat(lab: Lab, adapter: str) -> bool:
    return bool(lab.owned(lab.parent(adapter_vm(adapter)), "nat"))


# -- switch-internal ---------------------------------------------------------------------------

_internal = _move("Internal")

switch_internal = Fault(
    id="switch-internal",
    category="network",
    kind="cmd",
    section=SECTION,
    description="the VM's adapter is on an Internal switch and its host has no NAT at all, so it reaches the host but not the LAN",
    find=lambda lab: [a for a in _bridged_adapters(lab) if not _owner_has_nat(lab, a)],
    apply=_internal[0],
    shows=lambda lab, adapter: outbound(lab, adapter_vm(adapter), "internal-no-nat"),
    mend=_reconnect_external,
    script=_internal[1],
    unscript=_internal[2],
    aspect="traffic",
)

# -- switch-private ----------------------------------------------------------------------------

_private = _move("Private")

switch_private = Fault(
    id="switch-private",
    category="network",
    kind="cmd",
    section=SECTION,
    description="the adapter is on a Private switch (no host, no LAN)",
    find=_bridged_adapters,
    apply=_private[0],
    shows=lambda lab, adapter: outbound(lab, adapter_vm(adapter), "private-switch"),
    mend=_reconnect_external,
    script=_private[1],
    unscript=_private[2],
    aspect="traffic",
)

# -- mac-spoofing-disabled ---------------------------------------------------------------------


def _bridged_behind(lab: Lab, adapter: str) -> list[str]:
    """Nested VMs on a guest External switch that bridges through this adapter."""
    vm = adapter_vm(adapter)
    return [
        lab.owner(inner)
        for switch in lab.into(adapter, Edge.UPLINK)
        for inner in lab.into(switch, Edge.ATTACHED)
        if lab.owner(inner) in lab.vms(vm)
    ]


def _spoofing(flag: bool):
    value = "On" if flag else "Off"

    def lines(lab: Lab, adapter: str) -> Script:
        vm = adapter_vm(adapter)
        line = cmd("Set-VMNetworkAdapter", VMName=name(lab, vm), Name=lab[adapter].name, MacAddressSpoofing=value)
        return [run(lab.parent(vm), line)]

    return lines


mac_spoofing_disabled = Fault(
    id="mac-spoofing-disabled",
    category="network",
    kind="cmd",
    section=SECTION,
    description="the L1 VM's adapter under a nested External switch has MAC address spoofing off, so L2 VMs get no traffic",
    find=lambda lab: [
        a for a in _bridged_adapters(lab) if lab[a].mac_spoofing and _bridged_behind(lab, a)
    ],
    apply=lambda lab, adapter: lab.update(adapter, mac_spoofing=False),
    shows=lambda lab, adapter: outbound(lab, _bridged_behind(lab, adapter)[0], "mac-spoofing-dropped"),
    mend=lambda lab, adapter: run_all(lab, _spoofing(True)(lab, adapter)),
    script=_spoofing(False),
    unscript=_spoofing(True),
    aspect="traffic",
)

# -- nat-prefix-mismatch -----------------------------------------------------------------------


def _natted_vm(lab: Lab, switch: str) -> str | None:
    """A VM with an address on this Internal switch (the one whose traffic the NAT carries)."""
    for adapter in lab.into(switch, Edge.ATTACHED):
        if lab[adapter].ip:
            return lab.owner(adapter)
    return None


def _served_switch(lab: Lab, nat: str) -> str | None:
    served = [s for s in lab.out(nat, Edge.NAT) if _natted_vm(lab, s)]
    return served[0] if served else None


def unserved_switch(lab: Lab, owner: str) -> str | None:
    """An Internal switch with an address and NATed VMs that no NAT's prefix holds."""
    for switch in _switches(lab, owner, "Internal"):
        if lab[switch].host_ip and _natted_vm(lab, switch) and not lab.into(switch, Edge.NAT):
            return switch
    return None


def _other_prefix(prefix: str) -> str:
    """The next network of the same size: close to the right one, but not holding it."""
    network = ipaddress.ip_network(prefix, strict=False)
    nxt = ipaddress.ip_network((int(network.network_address) + network.num_addresses, network.prefixlen))
    return str(nxt)


def _renat(prefix_of):
    def lines(lab: Lab, nat: str) -> Script:
        owner = lab.owner(nat)
        record = lab[nat]
        return [
            run(owner, cmd("Remove-NetNat", Name=record.name, Confirm=False)),
            run(owner, cmd("New-NetNat", Name=record.name, InternalIPInterfaceAddressPrefix=prefix_of(lab, nat))),
        ]

    return lines


def _set_prefix(lab: Lab, nat: str, prefix: str) -> None:
    lab.update(nat, internal_prefix=prefix)
    relink(lab, lab.owner(nat))


def _right_prefix(lab: Lab, nat: str) -> str:
    switch = unserved_switch(lab, lab.owner(nat))
    return str(ipaddress.ip_interface(lab[switch].host_ip).network)


nat_prefix_mismatch = Fault(
    id="nat-prefix-mismatch",
    category="network",
    kind="cmd",
    section=SECTION,
    description="a NAT exists but its internal prefix does not contain the Internal switch's subnet",
    find=lambda lab: [
        n for n in lab.nodes("nat") if _served_switch(lab, n) and not lab[n].static_mappings
        and len(lab.owned(lab.owner(n), "nat")) == 1
    ],
    apply=lambda lab, nat: _set_prefix(lab, nat, _other_prefix(lab[nat].internal_prefix)),
    shows=lambda lab, nat: outbound(lab, _natted_vm(lab, unserved_switch(lab, lab.owner(nat))), "nat-prefix-mismatch"),
    mend=lambda lab, nat: run_all(lab, _renat(_right_prefix)(lab, nat)),
    script=_renat(lambda lab, nat: _other_prefix(lab[nat].internal_prefix)),
    unscript=_renat(lambda lab, nat: lab[nat].internal_prefix),
    aspect="traffic",
)

# ----------------------------------------------------------------------------------------------
# Inbound forwards (portproxy) and the firewall in front of them
# ----------------------------------------------------------------------------------------------


def _allows(lab: Lab, owner: str, port: int) -> bool:
    return any(
        r.enabled and r.direction == "inbound" and r.action == "allow" and r.port == port and r.protocol in ("TCP", "Any")
        for r in lab.platform(owner).firewall
    )


def _listening_behind(lab: Lab, owner: str) -> list[tuple[str, int]]:
    """(address, port) of every TCP service of a running VM on the owner's NAT-served switches;
    Windows' own listeners (where.system_port: SMB, RPC, WinRM …) are never a forward that is
    missing, so they are not counted."""
    found = []
    for nat in lab.owned(owner, "nat"):
        for switch in lab.out(nat, Edge.NAT):
            for adapter in lab.into(switch, Edge.ATTACHED):
                vm = lab.owner(adapter)
                if not reachable(lab, vm):
                    continue
                for service in lab[vm].services:
                    if service.protocol == "TCP" and lab[adapter].ip and not system_port(service.port):
                        found.append((ip_of(lab[adapter].ip), service.port))
    return found


def expected_forwards(lab: Lab, owner: str, rules: tuple[PortProxyRule, ...] | None = None) -> list[PortProxyRule]:
    """The forwards an owner is set up for but lacks: an inbound allow rule for a port nobody forwards,
    and a service behind the owner's NAT to send it to (one whose port matches, else the first not yet
    forwarded to)."""
    rules = lab.platform(owner).portproxy if rules is None else rules
    listen = outward_ip(lab, owner)
    forwarded_ports = {r.listen_port for r in rules}
    targets = {(r.connect_address, r.connect_port) for r in rules}
    services = [s for s in _listening_behind(lab, owner) if s not in targets]
    missing = []
    for rule in lab.platform(owner).firewall:
        if not (rule.enabled and rule.direction == "inbound" and rule.action == "allow" and rule.port):
            continue
        if rule.port in forwarded_ports or not services or listen is None:
            continue
        target = next((s for s in services if s[1] == rule.port), services[0])
        services.remove(target)
        missing.append(PortProxyRule(listen_address=listen, listen_port=rule.port, connect_address=target[0], connect_port=target[1]))
    return missing


def _removable_forward(lab: Lab, owner: str) -> PortProxyRule | None:
    """A working forward that, once deleted, can be told from the rest of the state (firewall, services)."""
    rules = lab.platform(owner).portproxy
    for rule in rules:
        rest = tuple(r for r in rules if r != rule)
        if expected_forwards(lab, owner, rest)[:1] == [rule]:
            return rule
    return None


def _portproxy_line(verb: str, rule: PortProxyRule) -> Command:
    words = ["interface", "portproxy", verb, "v4tov4", f"listenport={rule.listen_port}", f"listenaddress={rule.listen_address}"]
    if verb == "add":
        words += [f"connectport={rule.connect_port}", f"connectaddress={rule.connect_address}"]
    return cmd("netsh", *words)


def _remove_forward(lab: Lab, owner: str) -> None:
    rule = _removable_forward(lab, owner)
    lab.update_platform(owner, portproxy=tuple(r for r in lab.platform(owner).portproxy if r != rule))


portproxy_missing = Fault(
    id="portproxy-missing",
    category="network",
    kind="cmd",
    section=SECTION,
    description="an inbound service on a nested VM has no port forwarding",
    find=lambda lab: [o for o in lab.all_vms() if lab.platform(o).portproxy and _removable_forward(lab, o)],
    apply=_remove_forward,
    shows=lambda lab, owner: inbound(lab, owner, expected_forwards(lab, owner)[0].listen_port, "no-forward"),
    mend=lambda lab, owner: run_all(lab, [run(owner, _portproxy_line("add", r)) for r in expected_forwards(lab, owner)]),
    script=lambda lab, owner: [run(owner, _portproxy_line("delete", _removable_forward(lab, owner)))],
    unscript=lambda lab, owner: [run(owner, _portproxy_line("add", _removable_forward(lab, owner)))],
    aspect="traffic",
)

# -- firewall-blocking -------------------------------------------------------------------------


def _guarded_rule(lab: Lab, owner: str) -> FirewallRule | None:
    """The allow rule that lets a forwarded port in (the only one for that port)."""
    for forward in lab.platform(owner).portproxy:
        rules = [
            r for r in lab.platform(owner).firewall
            if r.enabled and r.direction == "inbound" and r.action == "allow" and r.port == forward.listen_port
        ]
        if len(rules) == 1 and rules[0].protocol in ("TCP", "Any"):
            return rules[0]
    return None


def _unguarded_port(lab: Lab, owner: str) -> int:
    return next(f.listen_port for f in lab.platform(owner).portproxy if not _allows(lab, owner, f.listen_port))


def _new_rule_line(rule: FirewallRule) -> Command:
    return cmd("New-NetFirewallRule", Name=rule.name, DisplayName=rule.name, Direction=rule.direction.title(),
               Action=rule.action.title(), Protocol=rule.protocol, LocalPort=rule.port)


def _allow_forwarded(lab: Lab, owner: str) -> None:
    port = _unguarded_port(lab, owner)
    run_all(lab, [run(owner, _new_rule_line(FirewallRule(name=f"Allow-TCP-{port}", port=port)))])


def _drop_rule(lab: Lab, owner: str) -> None:
    rule = _guarded_rule(lab, owner)
    lab.update_platform(owner, firewall=tuple(r for r in lab.platform(owner).firewall if r != rule))


firewall_blocking = Fault(
    id="firewall-blocking",
    category="network",
    kind="cmd",
    section=SECTION,
    description="no Windows Firewall rule lets a forwarded port in (the rule was removed), so the default blocks the traffic",
    find=lambda lab: [o for o in lab.all_vms() if _guarded_rule(lab, o)],
    apply=_drop_rule,
    shows=lambda lab, owner: inbound(lab, owner, _unguarded_port(lab, owner), "firewall-blocked"),
    mend=_allow_forwarded,
    script=lambda lab, owner: [run(owner, cmd("Remove-NetFirewallRule", Name=_guarded_rule(lab, owner).name))],
    unscript=lambda lab, owner: [run(owner, _new_rule_line(_guarded_rule(lab, owner)))],
    aspect="traffic",
)

FAULTS = (switch_internal, switch_private, mac_spoofing_disabled, nat_prefix_mismatch, portproxy_missing, firewall_blocking)
