"""Bench: 20 served hosts collected at once against one, through `nestlab serve --latency 50`,
and the HTTP requests a host costs at each nesting depth (issue 17 item 3).

The server runs in its own process (its CPU is not the client's); each request waits the given
latency there, as a WAN to a real host would. The client's time is pypsrp's HTTP and XML work
plus our reading of the answers; `client_cpu_s` is this process's CPU time for the collection,
the part that concurrency on few cores cannot hide. Every figure is a ratio within one run.

`measure()` gives the figures and `run()` the report in `make bench`'s shape (bench/__main__.py,
the bench helper's harness: add "collection" to BENCHES); alone: `python -m bench.collection`.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from bench.endpoint import measure_hosts, served_elsewhere
from nestlab.diagnosis.collect import collect
from nestlab.lab.psrp_session import HostAddress, PsrpSession
from nestlab.simulator.generate import generate

GOAL_RATIO = 3.0
GOAL_REQUESTS = 10


@dataclass(frozen=True)
class Concurrent:
    hosts: int
    latency_ms: float
    one_s: float  # best of two: one host alone
    all_s: float  # every host at once, one PsrpSession (as an inventory target opens it)
    one_cpu_s: float
    all_cpu_s: float

    @property
    def ratio(self) -> float:
        return self.all_s / self.one_s


def _timed(addresses: list[HostAddress], password: str) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    with PsrpSession(addresses, passwords=lambda a: password) as session:
        collect(session)
    return time.perf_counter() - wall, time.process_time() - cpu


def concurrent(hosts: int = 20, latency_ms: float = 50.0, *, seed: int = 7) -> Concurrent:
    """One host alone (best of two), then all `hosts` at once, served with `latency_ms` per request."""
    lab = generate(seed=seed, hosts=hosts, depth=1)
    password = secrets.token_urlsafe(16)
    with served_elsewhere(lab, password, latency_ms) as addresses:
        one = min(_timed(addresses[:1], password) for _ in range(2))
        every = _timed(addresses, password)
    return Concurrent(hosts, latency_ms, one[0], every[0], one[1], every[1])


def requests_by_depth(depths: tuple[int, ...] = (1, 2, 3)) -> dict[int, int]:
    """The most HTTP requests one host of `generate(seed=1, hosts=2, depth=d)` costs, per depth."""
    return {d: max(m.requests for m in measure_hosts(generate(seed=1, hosts=2, depth=d), f"depth {d}"))
            for d in depths}


def measure(*, quick: bool = False, repeats: int = 1) -> dict[str, Any]:
    """The figures: each run's ratio measured within it (best of `repeats` runs), and the goals."""
    runs = [concurrent(4 if quick else 20) for _ in range(repeats)]
    best = min(runs, key=lambda r: r.ratio)
    depths = requests_by_depth((1,) if quick else (1, 2, 3))
    worst = max(depths.values())
    return {
        "runs": [{**asdict(r), "ratio": r.ratio} for r in runs],
        "requests_by_depth": depths,
        "load_average": _load(),
        "ratios": [
            {"figure": f"{best.hosts} hosts vs 1 at once, {best.latency_ms:g} ms per request (bench/collection.py)",
             "ratio": best.ratio, "goal": f"< {GOAL_RATIO}×", "met": best.ratio < GOAL_RATIO},
            {"figure": "client CPU, all hosts vs one", "ratio": best.all_cpu_s / best.one_cpu_s, "goal": "—", "met": None},
            {"figure": "HTTP requests per host, worst depth", "ratio": None, "goal": f"≤ {GOAL_REQUESTS} ({worst})",
             "met": worst <= GOAL_REQUESTS},
        ],
    }


def run(*, quick: bool = False) -> dict[str, Any]:
    """The report in `make bench`'s shape (bench/__main__.py): add "collection" to its BENCHES."""
    figures = measure(quick=quick)
    rows = [[f"{r['hosts']} vs 1", f"{r['latency_ms']:g}", f"{r['one_s']:.2f}", f"{r['all_s']:.2f}", f"{r['ratio']:.2f}",
             f"{r['one_cpu_s']:.2f}", f"{r['all_cpu_s']:.2f}"] for r in figures["runs"]]
    notes = [f"HTTP requests per host by nesting depth: {figures['requests_by_depth']} (goal ≤ {GOAL_REQUESTS})",
             f"load average {figures['load_average']}: the ratio is CPU on both sides once latency is hidden"]
    return {"title": "20 hosts at once vs one, served with latency (nestlab serve --latency)",
            "columns": ["hosts", "ms/request", "one s", "all s", "ratio", "one CPU s", "all CPU s"],
            "rows": rows, "notes": notes, "data": figures, "ratios": figures["ratios"]}


def _load() -> list[float] | None:
    try:
        import os

        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(measure(quick="--quick" in sys.argv, repeats=3), indent=2))
