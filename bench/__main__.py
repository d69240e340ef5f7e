"""`python -m bench` (`make bench`): run every bench module, print a table each, keep the numbers.

The registry below is the table of what exists: a bench is a module `bench/NAME.py` whose
`run(*, quick: bool) -> dict` returns {"title", "columns", "rows", "notes", "data"} — rows are
already formatted strings, `data` is what goes to `bench/results/NAME.json` (`NAME.quick.json` with
--quick, so a smoke run never overwrites the full numbers). Adding a bench is
adding a module and its name here.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from nestlab.simulator.labfile import write_atomic

BENCHES = ("startup", "labs", "diagnosis", "endpoint", "scripts")
RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=BENCHES, help="run only this bench (repeatable)")
    parser.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    args = parser.parse_args(argv)
    console = Console()
    run = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "quick": args.quick,
           "cpus": os.cpu_count(), "load_average_before": _load()}
    ratios = []
    for name in args.only or BENCHES:
        module = importlib.import_module(f"bench.{name}")
        with console.status(f"bench {name} …"):
            report = module.run(quick=args.quick)
        console.print(_table(report))
        for note in report.get("notes", ()):
            console.print(f"  {note}")
        ratios += [{"bench": name, **r} for r in report.get("ratios", ())]
        path = _write_json(f"{name}.quick" if args.quick else name, {"quick": args.quick, "run": run, **report["data"],
                                                                         "ratios": report.get("ratios", [])})
        console.print(f"  results: {path}\n")
    run["load_average_after"] = _load()
    console.print(_summary(ratios, run))
    name = "summary.quick" if args.quick else "summary"
    path = _write_json(name, {"run": run, "ratios": ratios})
    _write_json(f"runs/{name}-{run['started'].replace(':', '')}", {"run": run, "ratios": ratios})  # each run kept: repeats compare
    console.print(f"  results: {path} (and in {RESULTS / 'runs'})")
    return 0


def _load() -> list[float] | None:
    """The machine's load average: the ratios are measured in one run, but a loaded machine says why
    the absolute seconds are what they are."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _summary(ratios: list[dict[str, Any]], run: dict[str, Any]) -> Table:
    table = Table(title=f"make bench, {run['started']}: each figure measured in this run "
                        f"({run['cpus']} CPUs, load {run['load_average_before']} → {run['load_average_after']})")
    for column in ("bench", "figure", "ratio", "goal", "met"):
        table.add_column(column, justify="right" if column == "ratio" else "left")
    for r in ratios:
        met = "—" if r["met"] is None else ("yes" if r["met"] else "NO")
        table.add_row(r["bench"], r["figure"], "—" if r["ratio"] is None else f"{r['ratio']:.2f}×", r["goal"], met)
    return table


def _table(report: dict[str, Any]) -> Table:
    table = Table(title=report["title"])
    for column in report["columns"]:
        table.add_column(column, justify="right")
    for row in report["rows"]:
        table.add_row(*row)
    return table


def _write_json(name: str, data: dict[str, Any]) -> Path:
    """Atomically, so a reader (CI, a plot) never sees half a result."""
    path = RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(data, indent=2) + "\n")
    return path


if __name__ == "__main__":
    sys.exit(main())
