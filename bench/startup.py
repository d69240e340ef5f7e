"""Bench: how long the `nestlab` command takes to start, against a bare Python on the same machine.

Each figure is the fastest of several runs of a fresh process, interleaved with the bare Python
runs (`python -c pass`) it is compared with, so a load that comes and goes on a shared machine
weighs on both sides alike: the ratio is what says how much the CLI adds. Goal of issue 17:
`--help`, `--version` and every subcommand's `--help` under 0.15 s; `diagnose builtin:reference`
costs start-up plus the diagnosis (bench/diagnosis.py measures that one alone).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from nestlab.lab.commands import COMMANDS

TITLE = "CLI start-up (fresh process each run; fastest of the runs)"
GOAL_SECONDS = 0.15
RUNS = 7
QUICK_RUNS = 3
SUBCOMMAND_RUNS = 3  # each of the ~20 other subcommands' --help: fewer runs keep `make bench` to a few minutes
HEADLINE = ("nestlab --version", "nestlab --help", "nestlab diagnose --help", "nestlab diagnose builtin:reference")
BARE = ("bare python", [sys.executable, "-c", "pass"])


def cases(quick: bool) -> list[tuple[str, list[str]]]:
    nestlab = [sys.executable, "-m", "nestlab"]
    found = [("nestlab --version", [*nestlab, "--version"]), ("nestlab --help", [*nestlab, "--help"])]
    names = ["diagnose", "up"] if quick else sorted(COMMANDS)
    found += [(f"nestlab {name} --help", [*nestlab, name, "--help"]) for name in names]
    found.append(("nestlab diagnose builtin:reference", [*nestlab, "diagnose", "builtin:reference", "--json"]))
    return found


def _headline(helps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`--version`, `--help`, and the slowest subcommand's `--help`: the figures of issue 17 item 1."""
    top = [m for m in helps if m["command"] in ("nestlab --version", "nestlab --help")]
    subcommands = [m for m in helps if m not in top]
    slowest = max(subcommands, key=lambda m: m["seconds"])
    return [*top, {**slowest, "command": f"{slowest['command']} (slowest of {len(subcommands)} subcommands)"}]


def _once(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one fresh process. The CPU time is what the process itself
    spent — a loaded machine makes it wait for a core (wall) far more than it makes it work (CPU)."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(child.pid, 0)
    child.returncode = 0  # reaped here; Popen must not wait for it again
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def run(*, quick: bool = False) -> dict[str, Any]:
    """The bench report: {title, columns, rows, notes, data} (see bench/__main__.py)."""
    runs = QUICK_RUNS if quick else RUNS
    measured = []
    for name, argv in cases(quick):
        bare, this = [], []
        repeats = runs if quick or name in HEADLINE else SUBCOMMAND_RUNS
        for _ in range(repeats):  # interleaved: the same moments of load for both
            bare.append(_once(BARE[1]))
            this.append(_once(argv))
        wall, bare_wall = min(t[0] for t in this), min(t[0] for t in bare)
        cpu, bare_cpu = min(t[1] for t in this), min(t[1] for t in bare)
        measured.append({"command": name, "seconds": wall, "bare_seconds": bare_wall, "ratio": wall / bare_wall,
                         "cpu_seconds": cpu, "bare_cpu_seconds": bare_cpu, "cpu_ratio": cpu / bare_cpu if bare_cpu else None})
    helps = [m for m in measured if "builtin:" not in m["command"]]
    worst = max(helps, key=lambda m: m["seconds"])
    met = worst["seconds"] < GOAL_SECONDS
    rows = [[m["command"], f"{m['seconds']:.3f}", f"{m['bare_seconds']:.3f}", f"{m['ratio']:.1f}×",
             f"{m['cpu_seconds']:.3f}", f"{m['bare_cpu_seconds']:.3f}", "—" if m["cpu_ratio"] is None else f"{m['cpu_ratio']:.1f}×",
             "—" if "builtin:" in m["command"] else ("yes" if m["seconds"] < GOAL_SECONDS else "NO")] for m in measured]
    worst_cpu = max(helps, key=lambda m: m["cpu_seconds"])
    notes = [
        f"slowest --help/--version: {worst['command']} {worst['seconds']:.3f} s = {worst['ratio']:.1f}× a bare python "
        f"({worst['bare_seconds']:.3f} s); goal < {GOAL_SECONDS} s: {'met' if met else 'NOT met'}",
        f"by CPU time (what a loaded machine inflates least): slowest {worst_cpu['command']} {worst_cpu['cpu_seconds']:.3f} s "
        f"CPU = {worst_cpu['cpu_ratio'] or 0:.1f}× a bare python's {worst_cpu['bare_cpu_seconds']:.3f} s",
        f"fastest of {runs} fresh processes each ({SUBCOMMAND_RUNS} for the other subcommands' --help), interleaved "
        "with a bare python (the machine's load weighs on both)",
    ]
    return {
        "title": TITLE,
        "columns": ["command", "seconds", "bare python s", "ratio", "CPU s", "bare CPU s", "CPU ratio", f"< {GOAL_SECONDS} s"],
        "rows": rows,
        "notes": notes,
        "data": {"runs": runs, "goal_seconds": GOAL_SECONDS, "commands": measured,
                 "worst": worst, "met": met},
        "ratios": [*({"figure": f"{m['command']} vs bare python", "ratio": m["ratio"],
                      "goal": f"< {GOAL_SECONDS} s ({m['seconds']:.3f} s vs {m['bare_seconds']:.3f} s)",
                      "met": m["seconds"] < GOAL_SECONDS} for m in _headline(helps)),
                   {"figure": f"CLI start CPU time ({worst_cpu['command']}, the slowest) vs bare python",
                    "ratio": worst_cpu["cpu_ratio"], "goal": f"({worst_cpu['cpu_seconds']:.3f} s CPU)", "met": None},
                   *({"figure": f"{m['command']} vs bare python", "ratio": m["ratio"],
                      "goal": f"start-up + diagnosis ({m['seconds']:.2f} s)", "met": None}
                     for m in measured if "builtin:" in m["command"])],
    }
