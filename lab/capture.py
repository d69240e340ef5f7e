"""A capture: what a real (or served) host shows, written as a lab file that reproduces it offline.

The collector (`diagnosis.collect`) already rebuilds an evidence Lab from probe answers alone;
a capture is that lab saved with `simulator.labfile`, headed by a comment that says where and when
it was read and what it could not see. Guests of VMs that were not Running cannot answer
PowerShell Direct, so their insides take the lab format's defaults; the header lists them (the
walk's skipped list) so nobody mistakes a default for an observation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from nestlab.diagnosis.collect import Walk, collect
from nestlab.lab.session import Session
from nestlab.simulator.errors import BadInput
from nestlab.simulator.cmdlets import background
from nestlab.simulator.labfile import dumps, write_atomic
from nestlab.simulator.model import VM, Edge, Lab

# Every Windows has this built-in rule (Core Networking); a platform that shows it has the background
BACKGROUND_SIGNATURE = "CoreNet-DHCP-In"

ALWAYS_UNSEEN = (
    "raw answers that are not lab state (event log, CPU usage, Test-VHD errors): the diagnosis reads them live",
    "anything docs/evidence.md does not map to a lab attribute: it holds the lab format's default",
)


@dataclass(frozen=True)
class Capture:
    lab: Lab
    target: str
    captured_at: str
    skipped: tuple[tuple[str, str], ...]  # (VM id, why its guest could not be read)

    def header(self) -> str:
        hosts = ", ".join(self.lab.hosts())
        lines = [
            f"Captured by `nestlab capture` from {self.target} (hosts: {hosts}) at {self.captured_at}.",
            "What this capture could not see (the lab holds the lab format's defaults there):",
            *(f"  - {vm}: {why} (its OS, security, listeners, nested VMs, adapter addresses)" for vm, why in self.skipped),
            *(f"  - {what}" for what in ALWAYS_UNSEEN),
        ]
        return "".join(f"# {line}\n" for line in lines)

    def text(self) -> str:
        return self.header() + dumps(self.lab)


def capture(session: Session, *, target: str, name: str = "captured") -> Capture:
    walk = Walk()
    evidence = collect(session, target=target, lab_name=name, walk=walk)
    if walk.unreachable:  # a capture that silently lacks a host would reproduce the wrong lab
        lines = [why for _, why in walk.unreachable]
        raise BadInput(lines[0], lines=lines)
    recognise_background(evidence.lab)
    return Capture(evidence.lab, target, evidence.collected_at, tuple(walk.skipped))


def recognise_background(lab: Lab) -> None:
    """A platform that shows Windows' built-in firewall rules has its edition's background
    (`os.background: realistic`): keep in the lab only what the background does not already say
    (lab rules and changed built-in ones, a guest's own listeners, switches other than the Default
    Switch), so the captured file stays short and the simulator reproduces the rest."""
    for owner in [*lab.hosts(), *lab.all_vms()]:
        platform = lab.platform(owner)
        if not any(r.name == BACKGROUND_SIGNATURE for r in platform.firewall):
            continue
        seen = replace(platform, os=replace(platform.os, background="realistic"))
        builtin = {r.name.lower(): r for r in background.builtin_rules(seen)}
        kept = []
        for rule in platform.firewall:
            known = builtin.get(rule.name.lower())
            if known is None:
                kept.append(rule)
            elif _rule_key(rule) != _rule_key(known):  # a built-in rule somebody changed
                kept.append(replace(known, direction=rule.direction, action=rule.action, protocol=rule.protocol,
                                    port=rule.port, enabled=rule.enabled))
        lab.update_platform(owner, os=seen.os, firewall=tuple(kept))
        record = lab[owner]
        if isinstance(record, VM):
            tcp = {s.port for s in background.tcp_listeners(seen)} | {background.NETBIOS_TCP}
            udp = set(background.udp_ports(seen)) | set(background.NETBIOS_UDP)
            own = tuple(s for s in record.services if s.port not in (tcp if s.protocol == "TCP" else udp))
            lab.update(owner, services=own)
        elif (derived := background.default_switch(seen, owner)) is not None:
            for sw in lab.owned(owner, "switch"):
                # the Default Switch as the background makes it: no need to write it down
                if lab[sw] == derived[1] and not lab.into(sw, Edge.ATTACHED):
                    lab.remove(sw)


def _rule_key(rule) -> tuple:
    return (rule.direction, rule.action, rule.protocol, rule.port, rule.enabled)


def write(result: Capture, path: Path) -> Path:
    """Atomically: a reader sees the old file or the whole capture."""
    write_atomic(Path(path), result.text())
    return Path(path)


# ----------------------------------------------------------------------------------------------
# a capture as a baseline: what changed since, and putting VM states back
# ----------------------------------------------------------------------------------------------


def differences(before: Lab, after: Lab) -> list[str]:
    """Node by node, what differs between two captures (ids; a record's changed fields)."""
    out = [f"gone {n}" for n in before if n not in after]
    out += [f"new {n}" for n in after if n not in before]
    for node in before:
        if node in after and before[node] != after[node]:
            was, now = before[node], after[node]
            fields = [f for f in getattr(was, "__dataclass_fields__", {}) if getattr(was, f) != getattr(now, f, None)]
            out.append(f"changed {node}: " + ", ".join(f"{f} {getattr(was, f)!r} -> {getattr(now, f)!r}" for f in fields))
    return out


def settle(session: Session, baseline: Lab, *, rounds: int = 4) -> list[str]:
    """Start or turn off every VM whose state is not what the baseline shows, outermost first, and
    return what still differs from it.

    A reboot (a fault's or its undo's) leaves VMs off that were running; their guests are only seen
    once they run again, so this looks again after each round. Only Running and Off are put back.
    """
    from nestlab.lab.journal import run_line
    from nestlab.simulator.actions import cmd, run
    from nestlab.simulator.model import NodeId

    remaining: list[str] = []
    for _ in range(rounds):
        now = collect(session).lab
        moves = [(vm, baseline[vm].state) for vm in baseline.all_vms()
                 if vm in now and now[vm].state != baseline[vm].state and baseline[vm].state in ("Running", "Off")]
        remaining = differences(baseline, now)
        if not moves:
            break
        for vm, state in sorted(moves, key=lambda m: NodeId.parse(m[0]).depth * (1 if m[1] == "Running" else -1)):
            node = NodeId.parse(vm)
            power = cmd("Start-VM", Name=node.name) if state == "Running" else cmd("Stop-VM", Name=node.name, TurnOff=True)
            run_line(session, run(node.owner, power))
    return remaining
