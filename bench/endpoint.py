"""Bench: a full collection through the served endpoint — HTTP requests and wall time per host, and
how many hosts per second are collected when a 20-host lab is collected concurrently.

Goals of issues 6 and 17: at most 10 HTTP requests per host for a full collection (the floor is
about 3: open the pool, one pipeline, close), and 20 hosts collected concurrently (one PsrpSession
over all of them, as an inventory target opens it) in under 3 times the time of one, with 50 ms
of latency per request (`nestlab serve --latency 50`, in its own process).

Requests are the endpoint's own counters (`HostEndpoint.requests`, one per WS-Man action; a
Receive that timed out is counted once as a Receive, and again under "TimedOut", which is left
out of the total). The walk of a host goes down every Running guest by PowerShell Direct, and each
guest level costs its own pipelines on the host's endpoint (diagnosis/collect.py: one batch per
platform, plus disk batches where a platform has differencing disks): requests per host grow
with the VMs under it, so the per-host numbers are given per lab shape.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

from nestlab.diagnosis.collect import Walk, collect
from nestlab.lab.psrp_session import HostAddress, PsrpSession
from nestlab.simulator import labfile
from nestlab.simulator.endpoint.auth import Credentials
from nestlab.simulator.endpoint.server import LabServer
from nestlab.simulator.generate import generate
from nestlab.simulator.model import Lab

TITLE = "Collection through the served endpoint (pypsrp, http + basic, loopback)"
USER = "nestlab"
GOAL_REQUESTS = 10
GOAL_RATIO = 3.0
CONCURRENT_HOSTS = 20


@contextmanager
def served(lab: Lab, password: str | None = None) -> Iterator[tuple[LabServer, list[HostAddress]]]:
    """Every host of `lab` served on free loopback ports; the addresses a PsrpSession needs."""
    server = LabServer(lab, Credentials(USER, password or secrets.token_urlsafe(16))).start()
    try:
        yield server, [HostAddress(h, "127.0.0.1", s.port, USER, "http", "basic") for h, s in server.servers.items()]
    finally:
        server.stop()


@contextmanager
def served_elsewhere(lab: Lab, password: str, latency_ms: float = 0, *, extra: tuple[str, ...] = (),
                     processes: int = 1) -> Iterator[list[HostAddress]]:
    """The same, by `nestlab serve` in its own process: the server's CPU is not the clients'.

    With `processes` > 1 the hosts are dealt round-robin to that many `nestlab serve --host …`
    processes: separate machines do not share one interpreter's GIL, and one process per CPU
    models that fairly on one machine (each process then has its own copy of the lab)."""
    hosts = lab.hosts()
    shares = [hosts[i::processes] for i in range(max(1, min(processes, len(hosts))))]
    with tempfile.TemporaryDirectory(prefix="nestlab-bench-") as folder:
        path = Path(folder) / "lab.yaml"
        path.write_text(labfile.dumps(lab), encoding="utf-8")
        env = {**os.environ, "NESTLAB_PASSWORD": password}
        only = (lambda share: [a for h in share for a in ("--host", h)]) if len(shares) > 1 else (lambda share: [])
        servers = [subprocess.Popen([sys.executable, "-m", "nestlab", "serve", str(path), "--port", "0", "--user", USER,
                                     "--latency", str(latency_ms), *only(share), *extra],
                                    stdout=subprocess.PIPE, text=True, env=env) for share in shares]
        try:
            ports: dict[str, int | None] = {}
            for server, share in zip(servers, shares):
                lines = [server.stdout.readline().split() for _ in share]
                if not all(len(line) == 2 for line in lines):  # it stopped (or printed something else) before listing its hosts
                    raise RuntimeError(f"nestlab serve did not list its {len(lines)} hosts (exit code {server.poll()})")
                ports.update((name, urlsplit(url).port) for name, url in lines)
            yield [HostAddress(h, "127.0.0.1", ports[h], USER, "http", "basic") for h in hosts]
        finally:
            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(10)


def requests_of(server: LabServer, host: str) -> int:
    counts = server.servers[host].endpoint.requests
    return sum(n for action, n in counts.items() if action != "TimedOut")


@dataclass(frozen=True)
class HostMeasure:
    lab: str
    host: str
    vms: int
    pipelines: int
    requests: int
    seconds: float


def measure_hosts(lab: Lab, name: str) -> list[HostMeasure]:
    """Each host collected alone, one after the other: its requests, pipelines and wall time."""
    password = secrets.token_urlsafe(16)
    out = []
    with served(lab, password) as (server, addresses):
        for address in addresses:
            walk = Walk()
            start = time.perf_counter()
            with PsrpSession([address], passwords=lambda a: password) as session:
                collect(session, walk=walk)
            seconds = time.perf_counter() - start
            vms = sum(1 for vm in lab.all_vms() if vm.split("/", 1)[0] == address.name)
            out.append(HostMeasure(name, address.name, vms, walk.round_trips[address.name],
                                   requests_of(server, address.name), seconds))
    return out


@dataclass(frozen=True)
class Concurrency:
    server: str  # "in process" or "own process"
    hosts: int
    one_s: float
    all_s: float

    @property
    def ratio(self) -> float:
        return self.all_s / self.one_s

    @property
    def hosts_per_second(self) -> float:
        return self.hosts / self.all_s


def measure_concurrency(lab: Lab, *, own_process: bool = False, latency_ms: float = 0, processes: int = 1) -> Concurrency:
    """One host collected alone, then every host at once: one PsrpSession over all of them, as
    `nestlab diagnose inventory:FILE` opens it, whose collection walks the hosts side by side.

    With the server in this process, the clients and the served simulator share one interpreter
    (and its GIL); `own_process` serves the lab with `nestlab serve` in a process of its own,
    `latency_ms` delays each of its requests (`serve --latency`), as a WAN would.
    """
    password = secrets.token_urlsafe(16)

    def timed(addresses: list[HostAddress]) -> float:
        start = time.perf_counter()
        with PsrpSession(addresses, passwords=lambda a: password) as session:
            collect(session)
        return time.perf_counter() - start

    def both(addresses: list[HostAddress]) -> tuple[float, float]:
        one_s = min(timed(addresses[:1]) for _ in range(2))  # the first run also warms imports and caches
        return one_s, timed(addresses)

    if own_process or latency_ms or processes > 1:
        with served_elsewhere(lab, password, latency_ms, processes=processes) as addresses:
            where = ("own process" if processes < 2 else f"{processes} processes (one per CPU)") + (
                f", {latency_ms:g} ms per request" if latency_ms else "")
            return Concurrency(where, len(addresses), *both(addresses))
    with served(lab, password) as (_, addresses):
        return Concurrency("in process", len(addresses), *both(addresses))


def measure_collection(lab: Lab, *, own_process: bool = False, latency_ms: float = 0, processes: int = 1) -> Concurrency:
    """The one call site of the "20 hosts vs 1" and "with vs without latency" figures: the same
    PsrpSession (fan-out, one parse of each answer) the CLI collects real hosts with."""
    return measure_concurrency(lab, own_process=own_process, latency_ms=latency_ms, processes=processes)


LATENCY_MS = 50.0


def run(*, quick: bool = False) -> dict[str, Any]:
    """The bench report: {title, columns, rows, notes, data, ratios} (see bench/__main__.py).

    Requests per host (in-process server) and the concurrent collection (`nestlab serve` in a
    process of its own) are measured apart: if one cannot be, its figures say why, the other's stand."""
    shapes = [("builtin:reference", labfile.load("builtin:reference"))]
    if not quick:
        shapes += [(f"generated lab of depth {d} (seed 1, 2 hosts)", generate(seed=1, hosts=2, depth=d)) for d in (1, 2, 3)]
    hosts = [m for name, lab in shapes for m in measure_hosts(lab, name)]
    worst = max(m.requests for m in hosts)
    by_depth: dict[str, int] = {}
    for m in hosts:
        by_depth[m.lab] = max(by_depth.get(m.lab, 0), m.requests)
    size = 4 if quick else CONCURRENT_HOSTS
    try:
        concurrency = _concurrency(generate(seed=7, hosts=size, depth=1))
    except Exception as exc:  # noqa: BLE001 - e.g. `nestlab serve` could not start: say so, keep the request counts
        concurrency = _unmeasured(size, f"{type(exc).__name__}: {exc}")
    rows = [[m.lab, m.host, str(m.vms), str(m.pipelines), str(m.requests), f"{m.seconds:.2f}"] for m in hosts]
    notes = [
        f"≤ {GOAL_REQUESTS} HTTP requests per host: {'met' if worst <= GOAL_REQUESTS else 'NOT met'} "
        f"(worst {worst}; per lab shape {by_depth}; requests = 3 + 2 × round trips: Create + Receive to open, "
        "Command + Receive per round trip, Delete; a round trip per level of nesting and one per further "
        "level of a differencing-disk chain below the deepest level)",
        *concurrency["notes"],
        f"{os.cpu_count()} CPUs: collecting a simulated host is CPU work on both sides (pypsrp's XML, the "
        "cmdlets), so on few cores concurrency cannot hide it; against real hosts the time is their latency",
    ]
    return {
        "title": TITLE,
        "columns": ["lab", "host", "VMs", "pipelines", "HTTP requests", "seconds"],
        "rows": rows,
        "notes": notes,
        "data": {
            "hosts": [m.__dict__ for m in hosts],
            "requests_by_shape": by_depth,
            **concurrency["data"],
            "cpus": os.cpu_count(),
            "goals": {"requests_per_host": GOAL_REQUESTS, "ratio": GOAL_RATIO,
                      "requests_met": worst <= GOAL_REQUESTS, "ratio_met": concurrency["met"]},
        },
        "ratios": [
            *concurrency["ratios"],
            *({"figure": f"HTTP requests per host, {shape}", "ratio": None, "goal": f"≤ {GOAL_REQUESTS} ({count})",
               "met": count <= GOAL_REQUESTS} for shape, count in by_depth.items()),
        ],
    }


def _concurrency(many: Lab) -> dict[str, Any]:
    """Every host vs one, in process, in a server process of its own, and there with LATENCY_MS per request."""
    runs = [measure_collection(many), measure_collection(many, own_process=True),
            measure_collection(many, latency_ms=LATENCY_MS)]
    if (os.cpu_count() or 1) > 1:  # separate machines share no GIL: the same, served by one process per CPU
        runs.append(measure_collection(many, latency_ms=LATENCY_MS, processes=os.cpu_count() or 1))
    lagged, bare = runs[2], runs[1]
    return {
        "met": lagged.ratio < GOAL_RATIO,
        "notes": [
            *(f"{c.hosts} hosts at once, server {c.server}: {c.all_s:.2f} s vs {c.one_s:.2f} s for one = "
              f"{c.ratio:.2f}× ({c.hosts_per_second:.1f} hosts/s); goal < {GOAL_RATIO}×: "
              f"{'met' if c.ratio < GOAL_RATIO else 'NOT met'}" for c in runs),
            f"with vs without {LATENCY_MS:g} ms per request: {lagged.hosts} hosts {lagged.all_s:.2f} s vs {bare.all_s:.2f} s "
            f"= {lagged.all_s / bare.all_s:.2f}×; one host {lagged.one_s:.2f} s vs {bare.one_s:.2f} s = "
            f"{lagged.one_s / bare.one_s:.2f}× (what concurrency hides: the {lagged.hosts} hosts' latency is paid about once)",
        ],
        "data": {
            "concurrency": [{**c.__dict__, "ratio": c.ratio, "hosts_per_second": c.hosts_per_second} for c in runs],
            "latency": {"ms": LATENCY_MS, "hosts": lagged.hosts, "all_with": lagged.all_s, "all_without": bare.all_s,
                        "one_with": lagged.one_s, "one_without": bare.one_s, "ratio_all_vs_one": lagged.ratio,
                        "ratio_with_vs_without": lagged.all_s / bare.all_s},
        },
        "ratios": [
            {"figure": f"{lagged.hosts} hosts vs 1, {LATENCY_MS:g} ms per request", "ratio": lagged.ratio,
             "goal": f"< {GOAL_RATIO}×", "met": lagged.ratio < GOAL_RATIO},
            {"figure": f"{bare.hosts} hosts vs 1, no added latency", "ratio": bare.ratio, "goal": "—", "met": None},
            *({"figure": f"{c.hosts} hosts vs 1, served by {c.server}", "ratio": c.ratio, "goal": "—", "met": None}
              for c in runs[3:]),
            {"figure": f"{lagged.hosts} hosts with vs without {LATENCY_MS:g} ms per request", "ratio": lagged.all_s / bare.all_s,
             "goal": "—", "met": None},
        ],
    }


def _unmeasured(hosts: int, why: str) -> dict[str, Any]:
    figures = [f"{hosts} hosts vs 1, {LATENCY_MS:g} ms per request", f"{hosts} hosts vs 1, no added latency",
               f"{hosts} hosts with vs without {LATENCY_MS:g} ms per request"]
    return {"met": None, "notes": [f"concurrent collection not measured: {why}"],
            "data": {"concurrency": None, "latency": None, "concurrency_error": why},
            "ratios": [{"figure": f, "ratio": None, "goal": f"not measured: {why}", "met": None} for f in figures]}
