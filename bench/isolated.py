"""One bench in an interpreter of its own: what `make bench` runs each bench in.

A bench measured after others inherits their heap: the diagnosis of 1,000 VMs took 0.36–0.38 s
in a fresh process and 0.38–0.42 s after the lab-load bench had built and dropped its 10,000-VM
labs in the same process (stop 22), and the whole bench run had read 0.43 s. Each figure is meant
as what a user's own process gets (`nestlab diagnose` starts fresh), so each bench starts fresh
too; both sides of each ratio are still measured inside that one bench's process, in the same
minutes. `python -m bench --in-process` keeps the old way (for tests and profilers).

The child writes its report (the dict `bench.__main__.run_bench` returns) as JSON to a file
named by the parent; a child that ends without one becomes a figure that says why, as a bench
that raises does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


def run_isolated(name: str, *, quick: bool, python: str = sys.executable) -> dict[str, Any]:
    """`run_bench(name, quick=quick)` in a new `python`; its report, or one figure saying why not."""
    with tempfile.TemporaryDirectory(prefix="nestlab-bench-") as folder:
        report_path = Path(folder) / "report.json"
        command = [python, "-m", "bench.isolated", name, str(report_path), *(["--quick"] if quick else [])]
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parent.parent)
        if done.returncode == 0 and report_path.exists():
            return json.loads(report_path.read_text(encoding="utf-8"))
        last = next((line for line in reversed(done.stderr.splitlines()) if line.strip()), "no output")
        return not_measured(name, f"its process ended with exit code {done.returncode} and no report ({last.strip()})")


def not_measured(name: str, why: str) -> dict[str, Any]:
    """The report of a bench that could not be measured: one figure, `why` as its goal column."""
    return {"title": f"bench {name}: not measured", "columns": ["why"], "rows": [[why]], "notes": [],
            "data": {"error": why},
            "ratios": [{"figure": f"bench {name}", "ratio": None, "goal": f"not measured: {why}", "met": None}]}


def _child(argv: list[str]) -> int:
    from nestlab.simulator.labfile import write_atomic

    from bench.__main__ import run_bench

    name, report_path, quick = argv[0], Path(argv[1]), "--quick" in argv[2:]
    write_atomic(report_path, json.dumps(run_bench(name, quick=quick), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
