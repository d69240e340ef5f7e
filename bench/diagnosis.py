"""Bench: how fast a diagnosis runs in process, where its time goes, and how it grows with a lab.

A diagnosis is what `nestlab diagnose` does: `lab.diagnose.diagnose_session` over a SimSession —
collection (every probe through the simulated cmdlets and the CLIXML round trip, parsed into an
evidence lab) plus the rules. Goals of issue 4: builtin:reference under 20 ms; a generated lab
of 10,000 VMs under 5 s; time growing linearly with the VMs.

* builtin:reference — the fastest of many runs (the least disturbed by the rest of the machine),
  split into collection and rules; round trips per host (batches the collector sent, guests
  included) and pipelines in all.
* scaling — generated labs of 100, 1,000 and 10,000 VMs (1, 10 and 100 hosts of 100 VMs each, two
  levels deep, as `nestlab generate --hosts H --vms 100` makes them), the best of RUNS samples each,
  a sample of a smaller lab being as many diagnoses back to back as make 10,000 VMs
  (`bench.labs.equal_windows`), and the ratio of 10× the lab to the time (issue 17: ≤ 11×); peak
  memory from a separate traced run (tracemalloc slows what it traces), skipped for the largest lab
  unless asked, where it would take minutes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence

from bench.labs import RUNS, Size, Timed, _best, _peak_bytes, equal_windows, interleaved, sampling_notes
from nestlab.diagnosis.collect import Walk, collect
from nestlab.diagnosis.engine import diagnose
from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import Request, SimSession
from nestlab.simulator import labfile
from nestlab.simulator.generate import generate
from nestlab.simulator.model import Lab
from nestlab.simulator.psdata import Result

TITLE = "Diagnosis in process (collect through SimSession + rules)"
REFERENCE = "builtin:reference"
REFERENCE_GOAL_MS = 20.0
GOAL_VMS = 10_000
GOAL_SECONDS = 5.0
LINEAR_TOLERANCE = 1.25  # per-VM time may grow 25 % from one size to the next
REFERENCE_RUNS = 30
# `nestlab generate --hosts H --vms 100`: 100 VMs per host at every size, so 10× the lab is 10× the hosts
SIZES = (Size(100, 1), Size(1_000, 10), Size(10_000, 100))
QUICK_SIZES = SIZES[:2]
GOAL_GROWTH = 1.1  # issue 17: 10× the lab in at most 11× the time
TRACED_UP_TO = 1_000  # VMs: peak memory is traced up to this size


class TimingSession(SimSession):
    """A SimSession that also adds up the CPU time of its two parts: the simulated cmdlets
    (`powershell.run`, all of a batch but the copies) and the copy of each answer as it comes off
    the wire (`self.wire`, timed around each call). CPU time of this thread (`thread_time`): the
    process's clock also counts other threads, which made a short copy outlast its whole batch."""

    def __init__(self, lab: Lab) -> None:
        super().__init__(lab)
        self.in_batches = 0.0
        self.wire_copy = 0.0
        copy = self.wire

        def timed_copy(result: Result) -> Result:
            start = time.thread_time()
            try:
                return copy(result)
            finally:
                self.wire_copy += time.thread_time() - start

        self.wire = timed_copy

    @property
    def cmdlets(self) -> float:
        return self.in_batches - self.wire_copy

    def send(self, requests: Sequence[Request]) -> list[Result]:
        """Timed where every batch goes (the collector calls `send`; `run_batch` is a helper over it)."""
        start = time.thread_time()
        try:
            return super().send(requests)
        finally:
            self.in_batches += time.thread_time() - start


@dataclass(frozen=True)
class Split:
    """Where the CPU time of one diagnosis goes (seconds): what to make faster next, and whose it is."""

    vms: int
    cmdlets: float  # simulator/cmdlets + powershell.run
    wire_copy: float  # clixml.wire_copy_result, per answer (lab/session.py)
    collector_and_parsers: float  # diagnosis/collect.py + diagnosis/parse.py: the rest of collect
    rules: float  # diagnosis/rules/*

    @property
    def total(self) -> float:
        return self.cmdlets + self.wire_copy + self.collector_and_parsers + self.rules


class CountingSession(SimSession):
    """A SimSession that also counts the pipelines it ran (round trips it counts already)."""

    def __init__(self, lab: Lab) -> None:
        super().__init__(lab)
        self.pipelines = 0

    def send(self, requests: Sequence[Request]) -> list[Result]:
        self.pipelines += len(requests)
        return super().send(requests)


@dataclass(frozen=True)
class Reference:
    total_ms: float
    collect_ms: float
    rules_ms: float
    round_trips: dict[str, int]
    pipelines: int
    findings: int

    @property
    def per_second(self) -> float:
        return 1000 / self.total_ms


@dataclass(frozen=True)
class Scale:
    vms: int
    hosts: int
    platforms: int  # hosts and guests the walk entered
    round_trips: int
    seconds: float
    cpu_seconds: float  # this process's CPU time: what the machine's other load does not inflate
    peak_mb: float | None
    first_cpu_seconds: float = 0.0  # the first run on the freshly made lab: it also builds the lab's indexes
    single_cpu_seconds: float = 0.0  # the least CPU time of one diagnosis alone (the estimator before stop 23)
    repeat: int = 1  # diagnoses per sample


def run(*, quick: bool = False) -> dict[str, Any]:
    """The bench report: {title, columns, rows, notes, data} (see bench/__main__.py)."""
    reference = measure_reference()
    scales = measure_scales(QUICK_SIZES if quick else SIZES)
    split = measure_split(SIZES[1])
    growth = _growth(scales)
    goal = next((s for s in scales if s.vms == GOAL_VMS), None)
    linear = all(g <= LINEAR_TOLERANCE for g in growth)
    rows = [[REFERENCE.split(":", 1)[1], "—", f"{sum(reference.round_trips.values())}", f"{reference.total_ms / 1000:.4f}", "—", "—", "—", "—"]]
    rows += [[f"{s.vms:,} VMs", f"{s.platforms:,}", f"{s.round_trips:,}", f"{s.seconds:.2f}", f"{s.cpu_seconds:.2f}",
              f"{s.first_cpu_seconds:.2f}", "—" if s.peak_mb is None else f"{s.peak_mb:.0f}", "—" if g is None else f"{g:.2f}"]
             for s, g in zip(scales, [None, *growth])]
    notes = [
        f"{REFERENCE}: {reference.total_ms:.1f} ms per diagnosis ({reference.per_second:.0f}/s) = "
        f"collect {reference.collect_ms:.1f} ms + rules {reference.rules_ms:.1f} ms; goal < {REFERENCE_GOAL_MS:.0f} ms: "
        + ("met" if reference.total_ms < REFERENCE_GOAL_MS else "NOT met"),
        f"{REFERENCE}: round trips per host {reference.round_trips} ({reference.pipelines} pipelines)",
        "growth = (CPU time ratio) / (VM count ratio) from the previous size; 1.0 is linear",
        f"goal {GOAL_VMS:,} VMs < {GOAL_SECONDS:.0f} s: "
        + ("not run (--quick)" if goal is None else
           f"{'met' if goal.seconds < GOAL_SECONDS else 'NOT met'} ({goal.seconds:.1f} s, {goal.cpu_seconds:.1f} s CPU)"),
        f"growth no worse than linear (≤ {LINEAR_TOLERANCE} per step): {'yes' if linear else 'NO'}",
        *(f"{b.vms:,} VMs vs {a.vms:,} (10× the lab): {b.cpu_seconds / a.cpu_seconds:.1f}× the CPU time, "
          f"{b.seconds / a.seconds:.1f}× the wall time; goal ≤ {10 * GOAL_GROWTH:.0f}×: "
          f"{'met' if b.cpu_seconds / a.cpu_seconds <= 10 * GOAL_GROWTH else 'NOT met'}"
          for a, b in zip(scales, scales[1:]) if b.vms == 10 * a.vms),
        "SimSession answers through clixml.wire_copy (the CLIXML round trip without the text; "
        "tests/test_speed_wire.py keeps it identical to the real one)",
        *sampling_notes("diagnoses", [(s.vms, s.cpu_seconds, s.single_cpu_seconds, s.repeat) for s in scales]),
        "seconds and CPU s are per diagnosis (a sample's time over its diagnoses), wall and CPU time apart; "
        "'first run': the first diagnosis of the freshly made lab, which also builds what the lab keeps until it changes",
        *split_notes(split),
    ]
    return {
        "title": TITLE,
        "columns": ["lab", "platforms", "round trips", "seconds", "CPU s", "first run CPU s", "peak MB", "growth"],
        "rows": rows,
        "notes": notes,
        "data": {
            "reference": {**reference.__dict__, "per_second": reference.per_second,
                          "goal_ms": REFERENCE_GOAL_MS, "met": reference.total_ms < REFERENCE_GOAL_MS},
            "sizes": [s.__dict__ for s in scales],
            "growth": growth,
            "goal": {"vms": GOAL_VMS, "seconds": GOAL_SECONDS, "measured": goal.seconds if goal else None,
                     "met": None if goal is None else goal.seconds < GOAL_SECONDS},
            "linear": linear,
            "split": {**split.__dict__, "total": split.total},
            "tenfold": [{"from": a.vms, "to": b.vms, "cpu_ratio": b.cpu_seconds / a.cpu_seconds,
                         "wall_ratio": b.seconds / a.seconds, "met": b.cpu_seconds / a.cpu_seconds <= 10 * GOAL_GROWTH}
                        for a, b in zip(scales, scales[1:]) if b.vms == 10 * a.vms],
        },
        "ratios": [*({"figure": f"diagnosis CPU, {b.vms:,} vs {a.vms:,} VMs (10× the lab)", "ratio": b.cpu_seconds / a.cpu_seconds,
                      "goal": "≤ 11×", "met": b.cpu_seconds / a.cpu_seconds <= 10 * GOAL_GROWTH}
                     for a, b in zip(scales, scales[1:]) if b.vms == 10 * a.vms),
                   {"figure": f"{REFERENCE} diagnosis", "ratio": None,
                    "goal": f"< {REFERENCE_GOAL_MS:.0f} ms ({reference.total_ms:.1f} ms)", "met": reference.total_ms < REFERENCE_GOAL_MS},
                   *({"figure": f"diagnosis of {goal.vms:,} VMs vs the {GOAL_SECONDS:.0f} s goal (CPU time)",
                      "ratio": goal.cpu_seconds / GOAL_SECONDS,
                      "goal": f"< 1× ({goal.seconds:.1f} s wall, {goal.cpu_seconds:.1f} s CPU; first run {goal.first_cpu_seconds:.1f} s CPU)",
                      "met": goal.seconds < GOAL_SECONDS} for _ in [0] if goal is not None)],
    }


def measure_reference(runs: int = REFERENCE_RUNS) -> Reference:
    lab = labfile.load(REFERENCE)
    session = CountingSession(lab)
    walk = Walk()
    evidence = collect(session, target=lab.name, walk=walk)
    report = diagnose(evidence)
    return Reference(
        total_ms=_best(lambda: diagnose_session(SimSession(lab), target=lab.name), runs) * 1000,
        collect_ms=_best(lambda: collect(SimSession(lab), target=lab.name), runs) * 1000,
        rules_ms=_best(lambda: diagnose(evidence), runs) * 1000,
        round_trips=dict(walk.round_trips),
        pipelines=session.pipelines,
        findings=len(report.findings),
    )


def measure_scale(size: Size, *, trace: bool | None = None, repeats: int | None = None) -> Scale:
    """One size: the best of `repeats` diagnoses, wall and CPU time each the least of its runs."""
    return measure_scales((size,), trace=trace, repeats=repeats)[0]


def measure_scales(sizes: tuple[Size, ...], *, trace: bool | None = None, repeats: int | None = None) -> list[Scale]:
    """Each size's best of `repeats` samples (`RUNS` by default), the sizes taking turns and a
    smaller size's sample as many diagnoses as make the largest's VMs (`bench.labs.interleaved`,
    `equal_windows`: both sides of a 10× ratio in the same minutes, for as long and with as much
    memory); then what one more diagnosis of each shows (platforms, round trips) and, up to
    TRACED_UP_TO, its traced peak."""
    labs = [generate(seed=size.vms, hosts=size.hosts, depth=2, vms_per_host=size.per_host) for size in sizes]
    timings = interleaved([Timed(lambda lab=lab: diagnose_session(SimSession(lab), target=lab.name), repeats or RUNS, repeat)
                           for lab, repeat in zip(labs, equal_windows(sizes))])
    scales = []
    for size, lab, timing in zip(sizes, labs, timings):
        traced = size.vms <= TRACED_UP_TO if trace is None else trace
        peak = _peak_bytes(lambda: diagnose_session(SimSession(lab), target=lab.name)) / 2**20 if traced else None
        diagnosis = diagnose_session(SimSession(lab), target=lab.name)
        evidence = diagnosis.evidence.lab
        platforms = len(evidence.hosts()) + sum(1 for vm in evidence.all_vms() if evidence[vm].state == "Running")
        scales.append(Scale(size.vms, size.hosts, platforms, sum(diagnosis.walk.round_trips.values()),
                            timing.wall, timing.cpu, peak, timing.first_cpu, timing.single_cpu, timing.repeat))
        del diagnosis, evidence
    return scales


def measure_split(size: Size, repeats: int = 2) -> Split:
    """Where a diagnosis of `size` spends its CPU time: cmdlets, wire copy, collector + parsers, rules
    (the run of `repeats` with the least CPU time in all; the first run also pays first-use costs)."""
    lab = generate(seed=size.vms, hosts=size.hosts, depth=2, vms_per_host=size.per_host)
    return min((_split(lab, size) for _ in range(repeats)), key=lambda split: split.total)


def _split(lab: Lab, size: Size) -> Split:
    session = TimingSession(lab)
    start = time.thread_time()
    evidence = collect(session, target=lab.name)
    collected = time.thread_time()
    diagnose(evidence)
    rules = time.thread_time() - collected
    rest = collected - start - session.cmdlets - session.wire_copy
    return Split(size.vms, session.cmdlets, session.wire_copy, rest, rules)


def split_notes(split: Split) -> list[str]:
    """The split as note lines, each part with its share of the whole."""
    parts = (("simulated cmdlets", split.cmdlets), ("wire copy", split.wire_copy),
             ("collector + parsers", split.collector_and_parsers), ("rules", split.rules))
    return [f"{split.vms:,} VMs, where the CPU time goes: "
            + ", ".join(f"{name} {seconds:.2f} s ({seconds / split.total:.0%})" for name, seconds in parts)]


def _growth(scales: list[Scale]) -> list[float]:
    """Per-VM CPU time from one size to the next (CPU time: a shared machine's load does not skew it)."""
    return [(b.cpu_seconds / a.cpu_seconds) / (b.vms / a.vms) if a.cpu_seconds > 0 else float("inf")
            for a, b in zip(scales, scales[1:])]
