"""Hosts are collected at once when the session says they are separate machines (issue 17):
every host's first batch is in flight before any of them is answered, and the evidence is the
one a host-by-host collection gives, in the same order."""

from __future__ import annotations

import threading

from nestlab.diagnosis.collect import Walk, collect
from nestlab.lab.session import SimSession
from nestlab.simulator.errors import BadInput
from nestlab.simulator.session_protocol import FunctionSession
from nestlab.simulator import labfile
from nestlab.simulator.generate import generate


def separate_machines(lab, *, down: str | None = None):
    """A session over `lab` that claims its hosts are separate machines; the first batch to each
    host waits at a barrier until every host has been asked (a host-by-host walk would never get
    there). `down`: a host that refuses, releasing the others. Returns (session, threads seen)."""
    inner = SimSession(lab)
    barrier = threading.Barrier(len(lab.hosts()), timeout=30)
    first: set[str] = set()
    lock = threading.Lock()
    threads: set[str] = set()

    def batches(requests):
        host = requests[0].host
        if host == down:
            barrier.abort()  # the others need not wait for it
            raise BadInput(f"{host}: connection refused")
        with lock:
            is_first = host not in first
            first.add(host)
            threads.add(threading.current_thread().name)
            answers = inner.send(requests)  # the simulator itself, one at a time
        if is_first:
            try:
                barrier.wait()  # raises BrokenBarrierError if the hosts were walked one by one
            except threading.BrokenBarrierError:
                if down is None:
                    raise
        return answers

    return FunctionSession(batches=batches, hosts=inner.hosts(), concurrent_hosts=True), threads


def watching(lab, seen):
    """A session over `lab` that calls `seen()` at every batch it is sent."""
    inner = SimSession(lab)
    return FunctionSession(batches=lambda requests: (seen(), inner.send(requests))[1], hosts=inner.hosts())


def test_hosts_of_separate_machines_are_walked_at_once_and_give_the_same_evidence():
    lab = generate(seed=11, hosts=5, depth=2)
    (at_once, threads), one_by_one = separate_machines(lab.copy()), SimSession(lab.copy())
    walk_a, walk_b = Walk(), Walk()
    a = collect(at_once, target="t", walk=walk_a)
    b = collect(one_by_one, target="t", walk=walk_b)
    assert len(threads) == len(lab.hosts())
    assert labfile.dumps(a.lab) == labfile.dumps(b.lab)
    assert a.facts == b.facts
    assert (walk_a.round_trips, walk_a.skipped, walk_a.unreachable) == (walk_b.round_trips, walk_b.skipped, walk_b.unreachable)
    assert list(walk_a.round_trips) == lab.hosts()


def test_in_process_sessions_are_walked_host_by_host():
    lab = generate(seed=11, hosts=3, depth=1)
    seen: set[str] = set()
    collect(watching(lab, lambda: seen.add(threading.current_thread().name)))
    assert seen == {threading.current_thread().name}


def test_a_host_that_stops_answering_does_not_stop_the_others():
    lab = generate(seed=2, hosts=3, depth=1)
    down = lab.hosts()[1]
    session, _ = separate_machines(lab, down=down)
    walk = Walk()
    evidence = collect(session, walk=walk)
    assert walk.unreachable == [(down, f"{down}: connection refused")]
    assert down not in evidence.lab.hosts() and len(evidence.lab.hosts()) == 2


def test_the_cycle_collector_is_paused_during_the_walk_and_restored_after():
    import gc

    states: list[bool] = []
    assert gc.isenabled()
    collect(watching(labfile.load("builtin:reference"), lambda: states.append(gc.isenabled())))
    assert states and not any(states)
    assert gc.isenabled()
    gc.disable()
    try:
        collect(SimSession(labfile.load("builtin:reference")))
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()


def test_differencing_chains_two_levels_up_cost_no_round_trip_of_their_own(monkeypatch):
    """One round trip per level of nesting without the fan-out: the first batch already reads
    parents and grandparents; with it, two at any depth (first batches, then the disks)."""
    from nestlab.diagnosis import collect as collecting

    for depth in (2, 3):
        lab = generate(seed=1, hosts=2, depth=depth)
        walk = Walk()
        collect(SimSession(lab), walk=walk)
        assert set(walk.round_trips.values()) == {2}, (depth, walk.round_trips)
        with monkeypatch.context() as patch:
            patch.setattr(collecting, "FAN_OUT_LEVELS", 0)
            walk = Walk()
            collect(SimSession(lab), walk=walk)
        assert set(walk.round_trips.values()) == {depth + 1}, (depth, walk.round_trips)


def test_reading_the_chains_early_finds_what_the_follow_ups_found(monkeypatch):
    import random
    from dataclasses import replace

    from nestlab.diagnosis import probes
    from nestlab.diagnosis.evidence import Facts
    from nestlab.diagnosis.engine import diagnose
    from nestlab.simulator import faults

    labs = []
    for seed in range(6):
        lab = generate(seed=seed, hosts=2, depth=1 + seed % 3)
        faults.inject_random(lab, 2, random.Random(seed))
        labs.append(lab)
    for fault_id in ("vhd-parent-missing", "vhd-parent-moved", "vhd-chain-broken", "vhd-corrupt"):
        if fault_id in faults.CATALOG:
            lab = labfile.load("builtin:reference")
            faults.get(fault_id).inject(lab, None)
            labs.append(lab)
    early = probes.PLATFORM
    late = tuple(p for p in early if not p.key.startswith("vhd:*"))
    assert len(late) == len(early) - 2
    for lab in labs:
        found = []
        for plan in (late, early):
            monkeypatch.setattr(probes, "PLATFORM", plan)
            evidence = collect(SimSession(lab.copy()))
            report = diagnose(evidence)
            # the same facts; which probe showed a disk (its provenance, Facts.shown) differs by plan
            facts = {node: replace(f, shown=()) for node, f in evidence.facts.items() if replace(f, shown=()) != Facts()}
            found.append((facts, sorted(labfile.dumps(evidence.lab).splitlines()),
                          [(f.root_cause, f.subject, f.severity, f.summary) for f in report.findings]))
        assert found[0] == found[1], lab.name
