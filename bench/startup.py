"""Bench: how long the `nestlab` command takes to start, against a bare Python on the same machine.

Each figure is the fastest of several runs of a fresh process, interleaved with the bare Python
runs (`python -c pass`) it is compared with, so a load that comes and goes on a shared machine
weighs on both sides alike: the ratio is what says how much the CLI adds. Goal of issue 17:
`--help`, `--version` and every subcommand's `--help` under 0.15 s; `diagnose builtin:reference`
costs start-up plus the diagnosis (bench/diagnosis.py measures that one alone).
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from nestlab.lab.commands import COMMANDS

TITLE = "CLI start-up (fresh process each run; fastest of the runs)"
GOAL_SECONDS = 0.15
RUNS = 7
QUICK_RUNS = 3
BARE = ("bare python", [sys.executable, "-c", "pass"])


def cases(quick: bool) -> list[tuple[str, list[str]]]:
    nestlab = [sys.executable, "-m", "nestlab"]
    found = [("nestlab --version", [*nestlab, "--version"]), ("nestlab --help", [*nestlab, "--help"])]
    names = ["diagnose", "up"] if quick else sorted(COMMANDS)
    found += [(f"nestlab {name} --help", [*nestlab, name, "--help"]) for name in names]
    found.append(("nestlab diagnose builtin:reference", [*nestlab, "diagnose", "builtin:reference", "--json"]))
    return found


def _once(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def run(*, quick: bool = False) -> dict[str, Any]:
    """The bench report: {title, columns, rows, notes, data} (see bench/__main__.py)."""
    runs = QUICK_RUNS if quick else RUNS
    measured = []
    for name, argv in cases(quick):
        bare, this = [], []
        for _ in range(runs):  # interleaved: the same moments of load for both
            bare.append(_once(BARE[1]))
            this.append(_once(argv))
        measured.append({"command": name, "seconds": min(this), "bare_seconds": min(bare), "ratio": min(this) / min(bare)})
    helps = [m for m in measured if "builtin:" not in m["command"]]
    worst = max(helps, key=lambda m: m["seconds"])
    met = worst["seconds"] < GOAL_SECONDS
    rows = [[m["command"], f"{m['seconds']:.3f}", f"{m['bare_seconds']:.3f}", f"{m['ratio']:.1f}×",
             "—" if "builtin:" in m["command"] else ("yes" if m["seconds"] < GOAL_SECONDS else "NO")] for m in measured]
    notes = [
        f"slowest --help/--version: {worst['command']} {worst['seconds']:.3f} s = {worst['ratio']:.1f}× a bare python "
        f"({worst['bare_seconds']:.3f} s); goal < {GOAL_SECONDS} s: {'met' if met else 'NOT met'}",
        f"fastest of {runs} fresh processes each, interleaved with a bare python (the machine's load weighs on both)",
    ]
    return {
        "title": TITLE,
        "columns": ["command", "seconds", "bare python s", "ratio", f"< {GOAL_SECONDS} s"],
        "rows": rows,
        "notes": notes,
        "data": {"runs": runs, "goal_seconds": GOAL_SECONDS, "commands": measured,
                 "worst": worst, "met": met},
        "ratios": [{"figure": f"CLI start ({worst['command']}, the slowest) vs bare python", "ratio": worst["ratio"],
                    "goal": f"< {GOAL_SECONDS} s ({worst['seconds']:.3f} s)", "met": met},
                   *({"figure": f"{m['command']} vs bare python", "ratio": m["ratio"],
                      "goal": f"start-up + diagnosis ({m['seconds']:.2f} s)", "met": None}
                     for m in measured if "builtin:" in m["command"])],
    }
