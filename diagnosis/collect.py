"""Collect evidence through a Session: walk a target from its hosts down every Running guest.

The walk sends one batch of probes per platform (`diagnosis.probes`), follow-up batches for what
the first revealed about disks, and goes down into each Running VM through PowerShell Direct, to
any depth — breadth first, so that each round trip carries every platform's next probes. VMs that are not Running are reported as skipped: their guests cannot answer. Everything
the diagnosis knows comes back through `Session.send`; `diagnosis.parse` rebuilds an
evidence Lab from the answers and nothing else.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, ContextManager

from nestlab import gc_pause
from nestlab.diagnosis import parse, probes
from nestlab.diagnosis.evidence import Evidence
from nestlab.simulator.errors import BadInput, SessionError
from nestlab.simulator.model import Lab, NodeId
from nestlab.simulator.psdata import Command, Result
from nestlab.simulator.session_protocol import Request, Session


Progress = Callable[[str], None]


@dataclass
class Walk:
    """What a collection did: batches sent per host, and guests it could not enter."""

    round_trips: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (vm id, why)
    unreachable: list[tuple[str, str]] = field(default_factory=list)  # (host, the one-line error)
    kinds: dict[str, str] = field(default_factory=dict)  # host → why it is in `unreachable`, when not "unreachable" (auth-failed)


def collect(
    session: Session,
    *,
    target: str = "",
    lab_name: str = "evidence",
    progress: Progress | None = None,
    walk: Walk | None = None,
) -> Evidence:
    """Probe every host of the session and every Running guest below; rebuild what they showed.

    Hosts are walked at once, a thread each, when the session says its hosts are separate
    machines (`concurrent_hosts`, as PsrpSession does): over a WAN a host's time is mostly
    waiting, and twenty hosts then cost about what one does. In process (SimSession) they are
    walked one after the other — threads would only share one interpreter. Either way the
    evidence is rebuilt in host order, so it is the same whichever host answered first.
    """
    walk = walk if walk is not None else Walk()
    hosts = session.hosts()
    with _cycle_collection_paused():
        builder = parse.Builder(Lab(lab_name))
        if getattr(session, "concurrent_hosts", False) and len(hosts) > 1:
            for host, walked in zip(hosts, _walk_hosts(session, hosts, progress)):
                _rebuild_host(builder, host, walked, walk)
        else:  # each host rebuilt as soon as it is walked: its answers are freed before the next is asked
            for host in hosts:
                _rebuild_host(builder, host, _walk_one(session, host, progress), walk)
        return Evidence(
            lab=builder.finish(),
            facts=builder.facts,
            target=target,
            collected_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )


def _rebuild_host(builder: parse.Builder, host: str, walked: tuple[list["_Platform"], Walk], walk: Walk) -> None:
    """One host's platforms added to the evidence, parents first; its counts joined to `walk`."""
    platforms, part = walked
    # every guest's answers are in: each VM's record is made once, with its guest
    guests = {platform.node: platform.read for platform in platforms if platform.parent is not None}
    try:
        for platform in platforms:  # parents first, in the order the walk completed them
            if platform.parent is None:
                builder.add_host(platform.node, platform.read, guests)
            else:
                builder.add_guest(platform.node, platform.read, guests)
    except BadInput as exc:  # answers that cannot be read count as a host that stopped answering
        part.unreachable.append((host, str(exc)))
    walk.round_trips.update(part.round_trips)
    walk.skipped.extend(part.skipped)
    walk.unreachable.extend(part.unreachable)
    walk.kinds.update(part.kinds)


def _cycle_collection_paused() -> ContextManager[None]:
    """The walk allocates hundreds of thousands of answers and the evidence rebuilt from them,
    none of it cyclic garbage, and each full pass of the cyclic collector rescans everything
    alive — the whole lab included — so its share grew faster than the lab: paused for the walk
    and the rebuild, and the evidence then frozen (nestlab.gc_pause: a quarter to a third of a
    10,000-VM diagnosis had been the collector rescanning it, issue 17)."""
    return gc_pause.paused()


MAX_THREADS = 32  # hosts walked at once; more only queue on the same few cores and sockets


def _walk_hosts(session: Session, hosts: list[str], progress: Progress | None) -> list[tuple[list["_Platform"], Walk]]:
    """Every host's walk at once, a thread each, in host order."""
    with ThreadPoolExecutor(min(len(hosts), MAX_THREADS), thread_name_prefix="nestlab-collect") as pool:
        return list(pool.map(lambda host: _walk_one(session, host, progress), hosts))


def _walk_one(session: Session, host: str, progress: Progress | None) -> tuple[list["_Platform"], Walk]:
    """One host's walk: the platforms to rebuild (in order) and what the walk did."""
    part, order = Walk(), []
    if progress:
        progress(host)
    try:
        _walk_host(session, order, host, part, progress)
    except BadInput as exc:  # a host that refuses or stops answering: the others still count
        part.unreachable.append((host, str(exc)))
        if isinstance(exc, SessionError) and exc.kind != "unreachable":
            part.kinds[host] = exc.kind
    return order, part


@dataclass(eq=False)
class _Platform:
    """A host or a Running guest being probed: its answers so far and where it sits."""

    path: tuple[str, ...]  # the PowerShell Direct path below the host; () for the host itself
    parent: "_Platform | None" = None
    node: str = ""  # its evidence node id, known once it answered (host) or when found (guest)
    answers: dict[str, Result] = field(default_factory=dict)
    added: bool = False
    _read: "parse.Read | None" = field(default=None, init=False, repr=False)

    def take(self, answers: dict[str, Result]) -> None:
        """A round's answers, added to what it showed before."""
        self.answers.update(answers)
        self._read = None

    @property
    def read(self) -> parse.Read:
        """Its answers so far, read once for every question until the next round adds to them:
        naming it, its VMs, its next probes, and (once complete) the rebuild."""
        if self._read is None:
            self._read = parse.Read(self.answers)
        return self._read

    def next_probes(self) -> tuple[probes.Probe, ...]:
        if not self.answers:
            return probes.first_batch(guest=bool(self.path))
        return _follow_up(self.read)


FAN_OUT_LEVELS = 8  # guest levels the first round reads at once; deeper ones cost a round trip each


def _walk_host(
    session: Session, order: list["_Platform"], host: str, walk: Walk, progress: Progress | None
) -> None:
    """Breadth first, one round trip per round: each round carries every platform's next probes
    (a guest's first batch beside its parent's disk follow-up). The first round also asks for
    every Running guest's first batch below the host, down to FAN_OUT_LEVELS levels
    (`Request.guest_levels`: one host-side walk), so a whole host usually costs two round trips
    at any depth: everything's first batch, then the disk follow-ups. A guest the fan-out did
    not answer (deeper, or started meanwhile) is asked the usual way, a level per round."""
    root = _Platform(())
    active, complete = [root], []
    prefetched: dict[tuple[str, ...], dict[str, Result]] = {}
    while active:
        plans = [(p, p.next_probes()) for p in active]
        complete += [p for p, plan in plans if not plan]
        plans = [(p, plan) for p, plan in plans if plan]
        found: list[_Platform] = []
        if plans:
            answers = _send(session, host, plans, walk, prefetched if root is active[0] and not root.answers else None)
            for (platform, plan), answer in zip(plans, answers):
                first = not platform.answers
                platform.take(answer)
                if first:
                    _found(platform, host, walk, progress, spawn=found)
        found = _enter_prefetched(found, prefetched, host, walk, progress)
        active = [p for p, _ in plans if p.node] + found  # a guest that could not be entered stops here
        _add_in_order(order, complete)


def _enter_prefetched(
    found: list["_Platform"], prefetched: dict[tuple[str, ...], dict[str, Result]], host: str, walk: Walk,
    progress: Progress | None,
) -> list["_Platform"]:
    """Give each newly found guest the first batch the fan-out already read, level by level, as
    if its own round had come; the guests to walk on (those it could enter, and the unanswered)."""
    queue, walking = list(found), []
    while queue:
        platform = queue.pop(0)
        answers = prefetched.pop(platform.path, None)
        if answers is None:
            walking.append(platform)
            continue
        platform.take(answers)
        below: list[_Platform] = []
        _found(platform, host, walk, progress, spawn=below)
        if platform.node:
            walking.append(platform)
        queue += below
    return walking


def _found(platform: _Platform, host: str, walk: Walk, progress: Progress | None, *, spawn: list) -> None:
    """After a platform's first batch: name it, and start on each of its Running VMs."""
    if platform.parent is None:
        platform.node = parse.computer_name(platform.read) or host  # what it calls itself
    elif platform.read.first("os") is None:
        walk.skipped.append((platform.node, "PowerShell Direct failed"))
        platform.node = ""
        return
    for name, running in parse.vm_states(platform.read):
        vm = f"{platform.node}/{name}"
        if not running:
            walk.skipped.append((vm, "not Running: its guest cannot answer PowerShell Direct"))
            continue
        if progress:
            progress(vm)
        spawn.append(_Platform((*platform.path, name), platform, vm))


def _add_in_order(order: list[_Platform], complete: list[_Platform]) -> None:
    """Queue each complete platform for the rebuild once its parent is queued (parents first)."""
    progressed = True
    while progressed:
        progressed = False
        for platform in complete:
            if platform.added or not platform.node or (platform.parent and not platform.parent.added):
                continue
            order.append(platform)
            platform.added = progressed = True


def _follow_up(read: parse.Read) -> tuple[probes.Probe, ...]:
    """The next disk batch: parents not yet seen and disks not yet tested; else where a missing
    parent went; else Get-VHD of the files found there (whose own parents the next round reads).

    Every disk a VM uses is tested, even one Get-VHD cannot open (a damaged file shows only there).
    """
    vhds = parse.vhd_objects(read)
    drives = parse.drive_paths(read)
    if not vhds and not drives and not read.of_kind("testpath") and not read.of_kind("search"):
        return ()  # no disk shown (a guest that runs no VM, most of them): nothing below can be asked
    get = parse.get  # by the names Windows writes (Get-VHD objects always carry both)
    own_paths = {str(get(v, "Path")) for v in vhds}
    known = {p.lower() for p in own_paths}
    parents = sorted({str(parent) for parent in (get(v, "ParentPath") for v in vhds) if parent})
    path_tested, vhd_tested = read.of_kind("testpath"), read.of_kind("testvhd")
    unresolved = [p for p in parents if p not in path_tested]
    untested = sorted(p for p in own_paths.union(drives) if p not in vhd_tested)
    if unresolved or untested:
        return probes.disk_batch(known, unresolved, untested)
    searched = read.of_kind("search")
    unsearched = [p for p in parse.missing_parents(read) if p not in searched]
    if unsearched:
        return probes.search_batch(unsearched, parse.drive_letters(read))
    opened = read.of_kind("vhd")
    extra = sorted({p for p in parse.search_hits(read) if p.lower() not in known and p not in opened})
    return tuple(probes.probe(f"vhd:{p}", Command.of("Get-VHD", Path=p)) for p in extra)


def _send(
    session: Session, host: str, plans: list[tuple[_Platform, tuple[probes.Probe, ...]]], walk: Walk,
    prefetch: dict[tuple[str, ...], dict[str, Result]] | None = None,
) -> list[dict[str, Result]]:
    """One round trip for every platform's probes; their answers, per platform, by probe key.
    With `prefetch`, the round also fans the guests' first batch out below the host, and what
    each guest answered is put there, by its path."""
    requests = [Request(where, probe.pipeline) for where, plan in
                ((NodeId.of_host(host, platform.path), plan) for platform, plan in plans) for probe in plan]
    fan_out = probes.first_batch(guest=True) if prefetch is not None and FAN_OUT_LEVELS > 0 else ()
    if fan_out:  # one NodeId for the host's forty (Request.at's, made directly as the plans' are)
        where = NodeId.of_host(host)
        requests += [Request(where, probe.pipeline, FAN_OUT_LEVELS) for probe in fan_out]
    results = session.send(requests)
    walk.round_trips[host] = walk.round_trips.get(host, 0) + 1
    if fan_out and len(results) > len(fan_out) and all(r.failed for r in results[:len(results) - len(fan_out)]):
        # the whole batch failed (a host that refuses the fan-out's script fails what rode with
        # it): ask again without it; the guests are then walked a level per round
        results = session.send(requests[:len(requests) - len(fan_out)]) + [Result()] * len(fan_out)
        walk.round_trips[host] += 1
    planned = iter(results[:len(results) - len(fan_out)])
    for probe, result in zip(fan_out, results[len(results) - len(fan_out):]):
        key = probe.key  # some forty probes, each answered by every Running guest below the host
        for path, answer in result.guests:
            found = prefetch.get(path)  # type: ignore[union-attr]
            if found is None:
                found = prefetch[path] = {}  # type: ignore[index]
            found[key] = answer
    return [{probe.key: next(planned) for probe in plan} for _, plan in plans]
