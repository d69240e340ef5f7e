"""Collect evidence through a Session: walk a target from its hosts down every Running guest.

The walk sends one batch of probes per platform (`diagnosis.probes`), a second batch for what the
first revealed about disks, and goes down into each Running VM through PowerShell Direct, to any
depth. VMs that are not Running are reported as skipped: their guests cannot answer. Everything
the diagnosis knows comes back through `Session.run_batch`; `diagnosis.parse` rebuilds an
evidence Lab from the answers and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Protocol, Sequence

from diagnosis import parse, probes
from diagnosis.evidence import Evidence
from simulator.model import Lab
from simulator.psdata import Command, Result


class Session(Protocol):
    """The part of lab.session.Session the collector uses (the diagnosis does not import lab)."""

    def hosts(self) -> list[str]: ...

    def run_batch(
        self, host: str, pipelines: Sequence[Sequence[Command]], *, vm: Sequence[str] = ()
    ) -> list[Result]: ...


Progress = Callable[[str], None]


@dataclass
class Walk:
    """What a collection did: batches sent per host, and guests it could not enter."""

    round_trips: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (vm id, why)


def collect(
    session: Session,
    *,
    target: str = "",
    lab_name: str = "evidence",
    progress: Progress | None = None,
    walk: Walk | None = None,
) -> Evidence:
    """Probe every host of the session and every Running guest below; rebuild what they showed."""
    walk = walk if walk is not None else Walk()
    builder = parse.Builder(Lab(lab_name))
    for host in session.hosts():
        if progress:
            progress(host)
        answers = _platform(session, host, (), guest=False, walk=walk)
        node = parse.computer_name(answers) or host  # what the host calls itself, not our alias
        builder.add_host(node, answers)
        _descend(session, builder, host, node, (), walk, progress)
    return Evidence(
        lab=builder.finish(),
        facts=builder.facts,
        target=target,
        collected_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def _descend(
    session: Session, builder: "parse.Builder", host: str, owner: str, path: tuple[str, ...],
    walk: Walk, progress: Progress | None,
) -> None:
    """Into each Running VM of `owner`; `host` is the session's name for the top-level host."""
    for vm, running in builder.vms_of(owner):
        if not running:
            walk.skipped.append((vm, "not Running: its guest cannot answer PowerShell Direct"))
            continue
        name = vm.rsplit("/", 1)[-1]
        if progress:
            progress(vm)
        answers = _platform(session, host, (*path, name), guest=True, walk=walk)
        if not builder.add_guest(vm, answers):
            walk.skipped.append((vm, "PowerShell Direct failed"))
            continue
        _descend(session, builder, host, vm, (*path, name), walk, progress)


def _platform(
    session: Session, host: str, vm: tuple[str, ...], *, guest: bool, walk: Walk
) -> dict[str, Result]:
    """The first batch, then a follow-up batch for what each answer revealed, until nothing is new."""
    answers = _send(session, host, vm, probes.first_batch(guest=guest), walk)
    while batch := _follow_up(answers):
        answers.update(_send(session, host, vm, batch, walk))
    return answers


def _follow_up(answers: dict[str, Result]) -> tuple[probes.Probe, ...]:
    """The next disk batch: parents not yet seen and disks not yet tested; else where a missing
    parent went; else Get-VHD of the files found there (whose own parents the next round reads).

    Every disk a VM uses is tested, even one Get-VHD cannot open (a damaged file shows only there).
    """
    vhds = parse.vhd_objects(answers)
    known = {str(v["Path"]).lower() for v in vhds}
    parents = sorted({str(v["ParentPath"]) for v in vhds if v["ParentPath"]})
    unresolved = [p for p in parents if f"testpath:{p}" not in answers]
    paths = {str(v["Path"]) for v in vhds} | set(parse.drive_paths(answers))
    untested = sorted(p for p in paths if f"testvhd:{p}" not in answers)
    if unresolved or untested:
        return probes.disk_batch(known, unresolved, untested)
    unsearched = [p for p in parse.missing_parents(answers) if f"search:{p}" not in answers]
    if unsearched:
        return probes.search_batch(unsearched, parse.drive_letters(answers))
    extra = sorted({p for p in parse.search_hits(answers) if p.lower() not in known and f"vhd:{p}" not in answers})
    return tuple(probes.probe(f"vhd:{p}", Command.of("Get-VHD", Path=p)) for p in extra)


def _send(
    session: Session, host: str, vm: tuple[str, ...], batch: tuple[probes.Probe, ...], walk: Walk
) -> dict[str, Result]:
    if not batch:
        return {}
    results = session.run_batch(host, [p.pipeline for p in batch], vm=vm)
    walk.round_trips[host] = walk.round_trips.get(host, 0) + 1
    return {p.key: r for p, r in zip(batch, results)}
