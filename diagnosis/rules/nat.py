"""Guide section "NAT and port forwarding issues" (category nat): wrong mappings, conflicting NATs, WinNAT's lock."""

from __future__ import annotations

import ipaddress
from typing import Iterator

from nestlab.diagnosis import views
from nestlab.diagnosis.evidence import Evidence
from nestlab.diagnosis.probes import SERVICE_FAILED_EVENTS
from nestlab.diagnosis.rules.common import (
    GUIDE,
    Hit,
    Note,
    cmd,
    on_platform,
    platform_test,
    platforms,
    platforms_where,
    ps,
    reboot,
    rule,
    shown,
)
from nestlab.diagnosis.rules.network import (
    PORTPROXY_SHOW,
    Service,
    covers,
    forwards,
    internal_switches,
    listening_at,
    outside_address,
    portproxy_add,
    services_behind,
    unforwarded,
)
from nestlab.simulator.model import Lab, Platform, ip_of

REFERENCE = GUIDE + "NAT and port forwarding issues"


def _pick_target(services: list[Service], taken: set[tuple[str, int]], ip: str, port: int) -> Service | None:
    """The service a wrong forward most likely meant: the one unforwarded TCP service on the same
    address, else on the same port, else the only unforwarded one at all; None when ambiguous."""
    free = [s for s in services if s.protocol == "TCP" and (s.ip, s.port) not in taken]
    for candidates in ([s for s in free if s.ip == ip], [s for s in free if s.port == port], free):
        if len(candidates) == 1:
            return candidates[0]
    return None


def _subject_nat(lab: Lab, owner: str, ip: str) -> str:
    for nat in lab.owned(owner, "nat"):
        if ipaddress.ip_address(ip) in ipaddress.ip_network(lab[nat].internal_prefix, strict=False):
            return nat
    nats = lab.owned(owner, "nat")
    return nats[0] if nats else owner


@rule("nat-static-mapping-wrong", category="nat", severity="error", reference=REFERENCE)
def nat_static_mapping_wrong(ev: Evidence) -> Iterator[Hit]:
    lab = ev.lab
    for owner in platforms(lab):
        forwarded = forwards(lab, owner)
        if not forwarded:  # nothing forwarded, nothing forwarded wrong (most platforms)
            continue
        services = services_behind(lab, owner, internal_only=False)
        listening = listening_at(lab, owner)
        vm_at = _vms_by_ip(lab, owner)
        taken = {(f[2], f[3]) for f in forwarded} & listening
        for listen, port, ip, target_port, nat in forwarded:
            if (ip, target_port) in listening or not _judgeable(lab, owner, vm_at, ip):
                continue
            if ip in vm_at and unforwarded(lab, vm_at[ip]):
                continue  # it forwards on into a nested host whose own forwarding has the gap: portproxy-missing there
            right = _pick_target(services, taken, ip, target_port)
            if nat is None:
                wrong = shown(ev, owner, PORTPROXY_SHOW, "v4tov4", f"{listen}:{port} -> {ip}:{target_port}",
                              probe="portproxy", summary=True)
                fix = [ps("netsh", "int", "portproxy", "delete", "v4tov4", f"listenaddress={listen}", f"listenport={port}")]
                if right:
                    fix.append(portproxy_add(listen, port, right.ip, right.port))
            else:
                name = lab[nat].name
                wrong = shown(ev, nat, cmd("Get-NetNatStaticMapping", NatName=name), "InternalIPAddress",
                              f"{ip}:{target_port}", probe="natmappings", where={"ExternalPort": port}, summary=True)
                fix = [(ps("Get-NetNatStaticMapping", NatName=name), ps("Where-Object", "ExternalPort", eq=port),
                        ps("Remove-NetNatStaticMapping", Confirm=False))]
                if right:
                    fix.append(ps("Add-NetNatStaticMapping", NatName=name, Protocol="TCP", ExternalIPAddress=listen,
                                  ExternalPort=port, InternalIPAddress=right.ip, InternalPort=right.port))
            resolution = on_platform(lab, owner, fix)
            if right is None:
                resolution += (Note("Point it at the nested VM's address and the port its service listens on"),)
            yield Hit(
                subject=nat or _subject_nat(lab, owner, ip),
                summary=f"{owner} forwards port {port} to {ip}:{target_port}, where nothing listens"
                        + (f"; {right.ip}:{right.port} does" if right else ""),
                evidence=(wrong, shown(ev, vm_at.get(ip, owner), cmd("Get-NetTCPConnection", State="Listen"), "LocalPort",
                                       sorted(p for i, p in listening if i == ip), probe="tcplisteners", summary=True)),
                resolution=resolution,
                explains=("portproxy-missing", "nested-vm-unreachable"),
            )


def _judgeable(lab: Lab, owner: str, vm_at: dict[str, str], ip: str) -> bool:
    """Whether what listens at `ip` is known: its VM runs, or every VM here runs (so an unknown
    address is really nobody's). A VM that is off shows neither its address nor its listeners."""
    if ip in vm_at:
        return lab[vm_at[ip]].state == "Running"
    return _all_running(lab, owner)


def _all_running(lab: Lab, owner: str) -> bool:
    """Every VM the owner runs is Running: kept per lab state, as it is asked for each forward to
    an address no VM has (a host of many VMs with many such forwards read each VM per forward)."""
    return views.per_node(lab, "rules.nat.all_running", owner,
                          lambda: all(lab[vm].state == "Running" for vm in lab.vms(owner)))


def _vms_by_ip(lab: Lab, owner: str) -> dict[str, str]:
    """The VMs an owner runs, by adapter address (a VM that is off shows no listeners: not judged)."""
    return {ip_of(lab[a].ip): vm for vm in lab.vms(owner) for a in lab.adapters(vm) if lab[a].ip}


@rule("nat-conflict", category="nat", severity="error", reference=REFERENCE)
def nat_conflict(ev: Evidence) -> Iterator[Hit]:
    lab = ev.lab
    for owner in platforms(lab):
        nats = lab.owned(owner, "nat")
        if not nats:  # no NAT, no conflict (most platforms)
            continue
        outside = outside_address(lab, owner)
        overlapping = [n for n in nats if outside and _overlaps_outside(lab, owner, n)]
        if len(nats) < 2 and not overlapping:
            continue
        serving = [n for n in nats if any(covers(lab, n, s) for s in internal_switches(lab, owner))]
        keep = next((n for n in serving if n not in overlapping), None)
        extra = [n for n in nats if n != keep]
        yield Hit(
            subject=owner,
            summary=f"{owner} has {len(nats)} NATs" + (" (WinNAT supports one)" if len(nats) > 1 else "")
                    + (f"; {', '.join(lab[n].name for n in overlapping)} overlaps its own network" if overlapping else ""),
            evidence=tuple(shown(ev, n, "Get-NetNat", "InternalIPInterfaceAddressPrefix",
                                 f"{lab[n].name}: {lab[n].internal_prefix}", probe="nat", summary=True) for n in nats),
            resolution=on_platform(lab, owner, [ps("Remove-NetNat", Name=lab[n].name, Confirm=False) for n in extra]),
            explains=("nat-prefix-mismatch", "nested-vm-no-network"),
        )


def _overlaps_outside(lab: Lab, owner: str, nat: str) -> bool:
    outside = outside_address(lab, owner)
    return outside is not None and ipaddress.ip_address(outside) in ipaddress.ip_network(
        lab[nat].internal_prefix, strict=False)


WINNAT = cmd("Get-Service", Name="WinNat")


@platform_test("winnat-locked")
def _winnat_locked(platform: Platform) -> bool:
    return platform.services.winnat == "locked"


@rule("winnat-locked", category="nat", severity="error", reference=REFERENCE)
def winnat_locked(ev: Evidence) -> Iterator[Hit]:
    for owner in platforms_where(ev.lab, "winnat-locked"):
        events = ev.of(owner).events_with_id(*SERVICE_FAILED_EVENTS)
        yield Hit(
            subject=owner,
            summary=f"WinNAT on {owner} cannot start: its file is being used by another process",
            evidence=(shown(ev, owner, WINNAT, "Status", "Stopped", where={"Name": "WinNat"}),
                      *(item for e in events for item in e.items())),
            resolution=(reboot(ev.lab, owner),
                        *on_platform(ev.lab, owner, [ps("Start-Service", Name="WinNat")]),
                        Note(f"Check Get-NetNat on {owner} and recreate the NAT (New-NetNat) if it is gone")),
            explains=("winnat-fails-to-start", "nested-vm-unreachable", "nested-vm-no-network"),
        )


RULES = (nat_static_mapping_wrong, nat_conflict, winnat_locked)
