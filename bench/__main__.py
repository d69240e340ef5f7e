"""`python -m bench` (`make bench`): every figure of issue 17 as a ratio measured in this one run.

A bench is a module `bench/NAME.py` whose `run(*, quick: bool) -> dict` returns {"title",
"columns", "rows", "notes", "data", "ratios"}: rows are formatted strings for its own table, and
`ratios` are its figures, each {"figure", "ratio", "goal", "met"} (`ratio` None when the figure
is a count or a time, `met` None when it has no goal). Both sides of every ratio are measured in
the same run, so the load of a shared machine weighs on both alike. Each bench runs in an
interpreter of its own (bench/isolated.py: no bench inherits another's heap; `--in-process` for
tests and profilers). Adding a bench is adding a module and its name to BENCHES.

A bench that cannot run (no Docker, a port it cannot bind, a bug) becomes one figure saying why —
never a traceback that loses the others. The run is written, atomically, to
`bench/results/runs/run-<UTC time>.json` and `.md` (a Markdown table of the figures, then each
bench's own table) and copied to `bench/results/latest.json` / `latest.md`; a `--quick` run is
`run-<time>-quick` and `latest-quick`, so a smoke run never hides the last full one.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.isolated import not_measured, run_isolated
from nestlab.simulator.labfile import write_atomic

BENCHES = ("startup", "labs", "diagnosis", "endpoint", "scripts", "fleet")
RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=BENCHES, help="run only this bench (repeatable)")
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (a smoke run, about a minute)")
    parser.add_argument("--results", type=Path, default=RESULTS, help=f"where the run files go (default {RESULTS})")
    parser.add_argument("--in-process", action="store_true",
                        help="run every bench in this process (default: each in a fresh interpreter, bench/isolated.py)")
    args = parser.parse_args(argv)
    console = Console()
    started = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started))
    name = f"run-{stamp}" + ("-quick" if args.quick else "")
    run = {"name": name, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)), "quick": args.quick,
           "isolated": not args.in_process,
           "cpus": os.cpu_count(), "python": sys.version.split()[0], "load_average_before": _load()}
    figures: list[dict[str, Any]] = []
    benches: dict[str, dict[str, Any]] = {}
    for bench in args.only or BENCHES:
        begun = time.perf_counter()
        with console.status(f"bench {bench} …"):
            report = run_bench(bench, quick=args.quick) if args.in_process else run_isolated(bench, quick=args.quick)
        report["seconds"] = round(time.perf_counter() - begun, 1)
        benches[bench] = report
        console.print(_table(report))
        for note in report.get("notes", ()):
            console.print(f"  {note}")
        figures += [{"bench": bench, **f} for f in report.get("ratios", ())]
    run["load_average_after"] = _load()
    run["seconds"] = round(time.time() - started, 1)
    console.print(_summary(figures, run))
    paths = write_run(args.results, name, {"run": run, "figures": figures, "benches": benches},
                      latest="latest-quick" if args.quick else "latest")
    console.print("  results: " + ", ".join(str(p) for p in paths))
    return 0


def run_bench(name: str, *, quick: bool) -> dict[str, Any]:
    """The bench's report, or a report of one unmeasured figure that says why (one line, where it failed)."""
    try:
        return importlib.import_module(f"bench.{name}").run(quick=quick)
    except Exception as exc:  # noqa: BLE001 - any failure of one bench is that bench's figure, not the run's end
        where = traceback.extract_tb(exc.__traceback__)[-1]
        why = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} ({Path(where.filename).name}:{where.lineno})"
        return not_measured(name, why)


def write_run(folder: Path, name: str, result: dict[str, Any], *, latest: str) -> list[Path]:
    """The run as JSON and as Markdown, under runs/ by its name and again as `latest` (each atomically)."""
    text, markdown = json.dumps(result, indent=2, default=str) + "\n", to_markdown(result)
    paths = []
    for stem in (folder / "runs" / name, folder / latest):
        stem.parent.mkdir(parents=True, exist_ok=True)
        for suffix, content in ((".json", text), (".md", markdown)):
            path = stem.with_name(stem.name + suffix)
            write_atomic(path, content)
            paths.append(path)
    return paths


def to_markdown(result: dict[str, Any]) -> str:
    run = result["run"]
    lines = [f"# make bench: {run['name']}", "",
             f"Started {run['started']}, {run['seconds']} s, {run['cpus']} CPUs, load average "
             f"{run['load_average_before']} → {run['load_average_after']}" + (" (--quick: small sizes)" if run["quick"] else "")
             + ". Each ratio's two sides were measured in this run.", "",
             "| bench | figure | ratio | goal | met |", "|---|---|---|---|---|"]
    lines += [f"| {f['bench']} | {_cell(f['figure'])} | {_ratio(f['ratio'])} | {_cell(f['goal'])} | {_met(f['met'])} |"
              for f in result["figures"]]
    for name, report in result["benches"].items():
        lines += ["", f"## {name}: {_cell(report['title'])} ({report.get('seconds', '?')} s)", "",
                  "| " + " | ".join(_cell(c) for c in report["columns"]) + " |",
                  "|" + "---|" * len(report["columns"])]
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in report["rows"]]
        if report.get("notes"):
            lines += ["", *(f"- {_cell(n)}" for n in report["notes"])]
    return "\n".join(lines) + "\n"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _ratio(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.2f}×"


def _met(met: bool | None) -> str:
    return "—" if met is None else ("yes" if met else "NO")


def _load() -> list[float] | None:
    """The machine's load average: the ratios are measured in one run, but a loaded machine says why
    the absolute seconds are what they are."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _summary(figures: list[dict[str, Any]], run: dict[str, Any]) -> Table:
    table = Table(title=f"make bench {run['name']}: each figure measured in this run "
                        f"({run['cpus']} CPUs, load {run['load_average_before']} → {run['load_average_after']}, {run['seconds']} s)")
    for column in ("bench", "figure", "ratio", "goal", "met"):
        table.add_column(column, justify="right" if column == "ratio" else "left")
    for f in figures:
        table.add_row(f["bench"], f["figure"], _ratio(f["ratio"]), f["goal"], _met(f["met"]))
    return table


def _table(report: dict[str, Any]) -> Table:
    table = Table(title=report["title"])
    for column in report["columns"]:
        table.add_column(column, justify="right")
    for row in report["rows"]:
        table.add_row(*row)
    return table


if __name__ == "__main__":
    sys.exit(main())
