"""Bench: 20 served hosts collected at once against one, through `nestlab serve --latency 50`,
and the HTTP requests a host costs at each nesting depth (issue 17 item 3).

The server runs in its own process (its CPU is not the client's); each request waits the given
latency there, as a WAN to a real host would. The client's time is pypsrp's HTTP and XML work
plus our reading of the answers; `client_cpu_s` is this process's CPU time for the collection,
the part that concurrency on few cores cannot hide. Every figure is a ratio within one run.

`measure()` is what `make bench` calls (bench/__main__.py, the bench helper's harness); run this
module alone for a quick look: `python -m bench.collection`.
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


def measure(*, quick: bool = False) -> dict[str, Any]:
    """The figures as `make bench` reports them: ratios measured in this run, and the goals."""
    run = concurrent(4 if quick else 20)
    depths = requests_by_depth((1,) if quick else (1, 2, 3))
    worst = max(depths.values())
    return {
        "concurrent": {**asdict(run), "ratio": run.ratio},
        "requests_by_depth": depths,
        "ratios": [
            {"figure": f"{run.hosts} hosts vs 1 at once, {run.latency_ms:g} ms per request (bench/collection.py)",
             "ratio": run.ratio, "goal": f"< {GOAL_RATIO}×", "met": run.ratio < GOAL_RATIO},
            {"figure": "client CPU, all hosts vs one", "ratio": run.all_cpu_s / run.one_cpu_s, "goal": "—", "met": None},
            {"figure": "HTTP requests per host, worst depth", "ratio": None, "goal": f"≤ {GOAL_REQUESTS} ({worst})",
             "met": worst <= GOAL_REQUESTS},
        ],
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(measure(quick="--quick" in sys.argv), indent=2))
