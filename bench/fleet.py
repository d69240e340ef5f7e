"""Bench: how long `nestlab up` and `nestlab down` of N hosts take on a real Docker engine, and
where the time of `up` goes (issue 17 item 5: 10 hosts in under 10 s, `down` likewise).

`measure_up(n)` is what `make bench` calls: it brings up a generated lab of N hosts as a fleet
(the same `fleet.up` as the command: every container created, started and checked by a real
PSRP pipeline at once), takes it down, and returns the seconds of each. `profile_up(n)` gives
the same run split by phase: when the last container was created, started, answered PSRP.

The engine is DOCKER_HOST's (or `engine=`, e.g. `unix:///tmp/fleetwt-docker.sock`); the image
is NESTLAB_IMAGE's or nestlab:latest (`make image`). Every fleet it makes is named
`bench-fleet-<random>` (`prefix=`) and removed afterwards, also when `up` fails.

    python -m bench.fleet 10                      # up/down of 10 hosts on DOCKER_HOST's engine
    python -m bench.fleet 10 --swarm              # the same as Swarm services (a swarm manager)
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from nestlab.lab.image import IMAGE

TITLE = "nestlab up / down of a fleet (real engine; a real PSRP answer per host)"
GOAL_SECONDS = 10.0
SIZES = (1, 10)
QUICK_SIZES = (2,)
PASSWORD = "Bench-fleet-pa55"


def measure_up(n: int, *, engine: str | None = None, image: str = IMAGE, swarm: bool = False) -> tuple[float, float]:
    """(seconds of `up`, seconds of `down`) for a fleet of `n` hosts."""
    profile = profile_up(n, engine=engine, image=image, swarm=swarm)
    return profile["up"], profile["down"]


def profile_up(n: int, *, engine: str | None = None, image: str = IMAGE, swarm: bool = False, prefix: str = "bench-fleet") -> dict[str, Any]:
    """One up + down of `n` hosts: total seconds of each, and when (seconds after the start of `up`)
    the last host reached each phase: created, started (its container runs), ready (answers PSRP)."""
    from nestlab.lab import fleet
    from nestlab.lab.docker_engine import connect
    from nestlab.simulator import labfile
    from nestlab.simulator.generate import generate

    client = connect(engine)
    driver = client.info().get("Driver")
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as folder:
        lab_file = Path(folder) / f"{prefix}-{uuid.uuid4().hex[:6]}.yaml"
        labfile.save(generate(seed=1, hosts=n, depth=1), lab_file)
        spec = fleet.spec_for(str(lab_file), lab_file, image=image)
        module = _swarm_module() if swarm else fleet
        phases: dict[str, float] = {}
        started = time.perf_counter()

        def progress(event: str, host: str) -> None:
            phases[event] = time.perf_counter() - started  # the last host to reach it sets it

        cpu_before = time.process_time()
        try:
            module.up(client, spec, PASSWORD, progress=progress, timeout=600)
            up_seconds = time.perf_counter() - started
            client_cpu = time.process_time() - cpu_before
            hosts_cpu = _containers_cpu(client, spec.lab)
        finally:
            removing = time.perf_counter()
            module.down(client, spec.lab)
            down_seconds = time.perf_counter() - removing
    return {"hosts": n, "driver": driver, "swarm": swarm, "image": image, "up": up_seconds, "down": down_seconds,
            "image_mb": _image_mb(client, image), "client_cpu": client_cpu, "hosts_cpu": hosts_cpu,
            "load_average": _load(), **{f"last_{event}": seconds for event, seconds in sorted(phases.items())}}


def run(*, quick: bool = False) -> dict[str, Any]:
    """The bench report: {title, columns, rows, notes, data} (see bench/__main__.py)."""
    from nestlab.simulator.errors import BadInput

    try:
        profiles = [profile_up(n) for n in (QUICK_SIZES if quick else SIZES)]
    except BadInput as exc:  # no engine, or no image: say so, measure nothing
        return {"title": TITLE, "columns": ["hosts"], "rows": [], "notes": [f"not measured: {exc}"], "data": {"error": str(exc)}}
    rows = [[str(p["hosts"]), p["driver"], f"{p['image_mb']:.0f}", *(f"{p.get(k, 0):.1f}" for k in ("last_created", "last_started", "last_ready")),
             f"{p['up']:.1f}", f"{p['down']:.1f}"] for p in profiles]
    biggest, smallest = profiles[-1], profiles[0]
    met = biggest["up"] < GOAL_SECONDS and biggest["down"] < GOAL_SECONDS
    notes = [f"{biggest['hosts']} hosts: up {biggest['up']:.1f} s, down {biggest['down']:.1f} s on the {biggest['driver']} driver "
             f"(image {biggest['image_mb']:.0f} MB); goal < {GOAL_SECONDS:.0f} s each: {'met' if met else 'NOT met'}"]
    ratios = [{"figure": f"up of {biggest['hosts']} hosts vs {smallest['hosts']} ({biggest['driver']})",
               "ratio": biggest["up"] / smallest["up"], "goal": f"< {GOAL_SECONDS:.0f} s ({biggest['up']:.1f} s)", "met": met}] \
        if len(profiles) > 1 else []
    return {"title": TITLE, "columns": ["hosts", "driver", "image MB", "created s", "started s", "ready s", "up s", "down s"],
            "rows": rows, "notes": notes, "data": {"profiles": profiles, "goal_seconds": GOAL_SECONDS, "met": met}, "ratios": ratios}


def _containers_cpu(client: Any, lab: str) -> float | None:
    """CPU seconds the fleet's containers (this node's) spent so far, from their cgroups (v1 or v2),
    or None where the cgroups cannot be read: what `up` costs whatever the machine's load."""
    prefix = f"nestlab-{lab}-"
    total, seen = 0.0, False
    for container in client.containers.list(all=True):
        labels = container.labels or {}
        if labels.get("nestlab.lab") != lab and not labels.get("com.docker.swarm.service.name", "").startswith(prefix):
            continue
        for path, scale in ((f"/sys/fs/cgroup/cpuacct/docker/{container.id}/cpuacct.usage", 1e-9),
                            (f"/sys/fs/cgroup/system.slice/docker-{container.id}.scope/cpu.stat", 1e-6)):
            try:
                text = Path(path).read_text()
            except OSError:
                continue
            value = text.split()[1] if text.startswith("usage_usec") else text
            total, seen = total + int(value) * scale, True
            break
    return total if seen else None


def _load() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return None


def _swarm_module() -> Any:
    from nestlab.lab import swarm

    return swarm


def _image_mb(client: Any, tag: str) -> float:
    return client.images.get(tag).attrs["Size"] / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__.splitlines()[0])
    parser.add_argument("hosts", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--engine", default=None, help="the engine's URL (default: DOCKER_HOST)")
    parser.add_argument("--image", default=IMAGE)
    parser.add_argument("--swarm", action="store_true", help="as Swarm services (the engine must be a swarm manager)")
    parser.add_argument("--prefix", default="bench-fleet", help="the fleet's name starts with this (on a shared engine: your own)")
    args = parser.parse_args(argv)
    for n in args.hosts:
        print(profile_up(n, engine=args.engine, image=args.image, swarm=args.swarm, prefix=args.prefix), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
