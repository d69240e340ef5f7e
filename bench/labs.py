"""Bench: how long loading a lab file takes (parse + validate + graph build), and how it grows.

The goal of issue 2: a lab of 10,000 VMs loaded and built in under 2 s on a 2-core machine, and
time growing no worse than linearly with the number of VMs. Each size is a generated lab written
to a temporary file first (writing is not timed), then read with `simulator.labfile.load` —
whatever the loader does (YAML, validation, graph) is what is measured. `build` times
`lab_from_data` alone on already-parsed data, so the rest of `load` is reading and validating.
Peak memory comes from a separate traced load (tracemalloc slows what it traces).
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from nestlab.simulator.generate import generate
from nestlab.simulator.labfile import dumps, lab_from_data, lab_to_data, load

TITLE = "Lab load + validate + graph build"
GOAL_VMS = 10_000
GOAL_SECONDS = 2.0
# The best of RUNS runs per size, the same at every size: a 10× ratio compares the best of each
# side's runs, and the least of more samples is lower, so a side given more runs than the other
# tilts the ratio (stop 22 first gave the small sizes more, to steady them, and tilted every
# ratio upward).
RUNS = 5
LINEAR_TOLERANCE = 1.25  # per-VM time may grow 25 % from one size to the next before we call it worse than linear


@dataclass(frozen=True)
class Size:
    """A lab shape with `vms` VMs in all: hosts x VMs per host, two levels deep."""

    vms: int
    hosts: int

    @property
    def per_host(self) -> int:
        return self.vms // self.hosts


SIZES = (Size(10, 1), Size(100, 1), Size(1_000, 10), Size(10_000, 100))  # 100 VMs per host from 100 VMs on
QUICK_SIZES = SIZES[:3]


@dataclass(frozen=True)
class Measure:
    vms: int
    nodes: int
    file_kb: int
    load_s: float
    build_s: float
    load_cpu_s: float  # this process's CPU time: what the machine's other load does not inflate
    peak_mb: float


def run(*, quick: bool = False) -> dict[str, Any]:
    """The bench report: {title, columns, rows, notes, data} (see bench/__main__.py)."""
    with tempfile.TemporaryDirectory(prefix="nestlab-bench-") as folder:
        measures = measure_sizes(QUICK_SIZES if quick else SIZES, Path(folder))
    growth = _growth(measures)
    rows = [
        [f"{m.vms:,}", f"{m.nodes:,}", f"{m.file_kb:,}", f"{m.load_s:.3f}", f"{m.build_s:.3f}", f"{m.peak_mb:.1f}",
         "—" if g is None else f"{g:.2f}"]
        for m, g in zip(measures, [None, *growth])
    ]
    goal = next((m for m in measures if m.vms == GOAL_VMS), None)
    linear = all(g <= LINEAR_TOLERANCE for g in growth[1:])  # 10 → 100 is dominated by fixed costs
    notes = [
        "growth = (load time ratio) / (VM count ratio) from the previous size; 1.0 is linear",
        f"goal {GOAL_VMS:,} VMs < {GOAL_SECONDS} s: "
        + ("not run (--quick)" if goal is None else f"{'met' if goal.load_s < GOAL_SECONDS else 'NOT met'} ({goal.load_s:.2f} s)"),
        f"growth no worse than linear (≤ {LINEAR_TOLERANCE} per step from 100 VMs): {'yes' if linear else 'NO'}",
        *(f"{b.vms:,} VMs vs {a.vms:,} (10× the lab): {b.load_s / a.load_s:.1f}× the load time, "
          f"{b.load_cpu_s / a.load_cpu_s:.1f}× its CPU time"
          for a, b in zip(measures[1:], measures[2:]) if b.vms == 10 * a.vms),
    ]
    return {
        "title": TITLE,
        "columns": ["VMs", "nodes", "file KB", "load s", "build s", "peak MB", "growth"],
        "rows": rows,
        "notes": notes,
        "data": {
            "sizes": [m.__dict__ for m in measures],
            "growth": growth,
            "goal": {"vms": GOAL_VMS, "seconds": GOAL_SECONDS, "load_s": goal.load_s if goal else None,
                     "met": None if goal is None else goal.load_s < GOAL_SECONDS},
            "linear": linear,
        },
        "ratios": [*({"figure": f"lab load CPU, {b.vms:,} vs {a.vms:,} VMs (10× the lab)",
                      "ratio": b.load_cpu_s / a.load_cpu_s, "goal": "≤ 11×", "met": b.load_cpu_s / a.load_cpu_s <= 11}
                     for a, b in zip(measures[1:], measures[2:])
                     if b.vms == 10 * a.vms),
                   *({"figure": f"lab load, {goal.vms:,} VMs vs the {GOAL_SECONDS:.0f} s goal (best of {RUNS})",
                      "ratio": goal.load_s / GOAL_SECONDS, "goal": f"< 1× ({goal.load_s:.2f} s wall, {goal.load_cpu_s:.2f} s CPU)",
                      "met": goal.load_s < GOAL_SECONDS} for _ in [0] if goal is not None)],
    }


def measure_sizes(sizes: tuple[Size, ...], folder: Path) -> list[Measure]:
    """Each size's lab written to `folder` (not timed), then the loads of all sizes timed in turns
    (`interleaved`), then each size's build alone and its traced peak."""
    labs = [generate(seed=size.vms, hosts=size.hosts, depth=2, vms_per_host=size.per_host) for size in sizes]
    paths = []
    for size, lab in zip(sizes, labs):
        path = folder / f"lab-{size.vms}.yaml"
        path.write_text(dumps(lab), encoding="utf-8")
        paths.append(path)
    loads = interleaved([(lambda path=path: load(path), RUNS)
                         for size, path in zip(sizes, paths)])
    measures = []
    for size, lab, path, timing in zip(sizes, labs, paths, loads):
        data = lab_to_data(lab)
        build_s = _best(lambda: lab_from_data(data), RUNS)
        peak = _peak_bytes(lambda: load(path))
        measures.append(Measure(size.vms, lab.graph.number_of_nodes(), path.stat().st_size // 1024, timing.wall,
                                build_s, timing.cpu, peak / 2**20))
    return measures


@dataclass(frozen=True)
class Timing:
    """The runs of one action: the fastest wall time, the least CPU time, and the first run's CPU."""

    wall: float
    cpu: float
    first_cpu: float


def interleaved(actions: list[tuple[Callable[[], object], int]]) -> list[Timing]:
    """Each (action, runs) timed `runs` times, the actions taking turns — round 1 runs each once,
    round 2 each that has runs left, … — so that the two sides of a 10× ratio are measured in the
    same minutes: this machine's speed drifts within a bench (it shares its cores), and sizes
    measured one after the other put the drift into the ratio."""
    walls: list[list[float]] = [[] for _ in actions]
    cpus: list[list[float]] = [[] for _ in actions]
    for round_ in range(max((runs for _, runs in actions), default=0)):
        for i, (action, runs) in enumerate(actions):
            if round_ >= runs:
                continue
            start, started_cpu = time.perf_counter(), time.process_time()
            made = action()
            walls[i].append(time.perf_counter() - start)
            cpus[i].append(time.process_time() - started_cpu)
            del made  # freed outside the clocks
    return [Timing(min(w), min(c), c[0]) for w, c in zip(walls, cpus)]


def _best(action: Callable[[], object], repeats: int) -> float:
    """The fastest wall time of `repeats` runs (the least disturbed by the rest of the machine):
    `interleaved` with one action."""
    return interleaved([(action, repeats)])[0].wall


def _peak_bytes(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _growth(measures: list[Measure]) -> list[float]:
    return [
        (b.load_s / a.load_s) / (b.vms / a.vms) if a.load_s > 0 else float("inf")
        for a, b in zip(measures, measures[1:])
    ]
