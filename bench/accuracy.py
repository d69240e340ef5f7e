"""`python -m bench.accuracy --labs N` (`make accuracy`): recall and precision per root-cause id.

N random generated labs (1–2 hosts, 1–3 levels of nesting) of the realistic world (ordinary VMs
beside the nested chain, every Windows with its system listeners, built-in firewall rules and event
history: `nestlab generate`'s default), each diagnosed twice through a SimSession as `nestlab
diagnose` does: healthy, then with 1–3 random faults of the catalog (`simulator.faults.inject_random`).
The diagnosis never sees what was injected; `judge` compares afterwards:

* recall of an id    = injected (id, subject) pairs some finding names / pairs injected;
* precision of an id = its error and warning findings that name an injected subject / all of them
  (a finding another one explains is info, so it is neither counted nor blamed), also per severity;
* a false error      = an error finding whose (id, subject) was not injected;
* healthy            = the error and warning findings on the labs before any fault went in.

The table goes to the terminal, the numbers to bench/results/accuracy.json (atomically). Exit 1
unless issue 11's bar holds (`passed`): recall 1.0, no false error, no error or warning on a
healthy lab, precision of errors >= 0.95 and of warnings >= 0.80.

Past one machine: `--shard I/N` runs every N-th case from I-1 (a case depends only on its index
and the seed, so each machine draws the same labs) and keeps its raw counts in
bench/results/accuracy-shards/; `--merge` adds the N slices up into accuracy.json — the same
numbers one machine would have made (tests/test_shard_accuracy.py).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from rich.console import Console
from rich.table import Table

from nestlab.diagnosis.findings import Finding, Report
from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import SimSession
from nestlab.simulator import faults
from nestlab.simulator.generate import WORLDS, generate
from nestlab.simulator.labfile import write_atomic

RESULTS = Path(__file__).resolve().parent / "results"
SHARDS = RESULTS / "accuracy-shards"
Pair = tuple[str, str]  # (root cause, subject)
KEPT_FAILURES = 20  # failing labs listed in the JSON, to reproduce them
MIN_PRECISION = {"error": 0.95, "warning": 0.80}  # issue 11, "Done when"
# Raw counts a slice keeps and `merge` adds up; keys are root causes, or "root-cause|severity"
# for the per-severity ones (JSON has no tuple keys), or a severity for `healthy`.
COUNTERS = ("injected", "found", "named", "right", "false_errors", "healthy")


@dataclass(frozen=True)
class Judgement:
    """One diagnosis measured against what was injected."""

    injected: tuple[Pair, ...]
    missed: tuple[Pair, ...]
    named: tuple[Finding, ...]  # error and warning findings that nothing explains
    false_errors: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.missed and not self.false_errors


def judge(injected: Iterable[Pair], report: Report) -> Judgement:
    injected = tuple(injected)
    truth = set(injected)
    found = {(f.root_cause, f.subject) for f in report.findings}
    named = tuple(f for f in report.findings if f.severity in ("error", "warning"))
    return Judgement(
        injected=injected,
        missed=tuple(p for p in injected if p not in found),
        named=named,
        false_errors=tuple(f for f in named if f.severity == "error" and (f.root_cause, f.subject) not in truth),
    )


@dataclass(frozen=True)
class Case:
    """One random lab of the run: generate(**args), then k faults drawn with fault_seed."""

    args: dict[str, Any]
    k: int
    fault_seed: int

    @classmethod
    def draw(cls, index: int, seed: int, world: str = "realistic") -> "Case":
        rng = random.Random(f"nestlab-accuracy:{seed}:{index}")
        args = {"seed": rng.randrange(2**31), "hosts": rng.randint(1, 2), "depth": rng.randint(1, 3), "world": world}
        return cls(args, rng.randint(1, 3), rng.randrange(2**31))

    def run(self) -> Judgement:
        lab = generate(**self.args)
        injected = faults.inject_random(lab, self.k, random.Random(self.fault_seed))
        return judge(injected, diagnose_session(SimSession(lab), target=lab.name).report)

    def run_healthy(self) -> Judgement:
        """The same lab before any fault: every error or warning on it is a false alarm."""
        lab = generate(**self.args)
        return judge((), diagnose_session(SimSession(lab), target=lab.name).report)


def cases_of(labs: int, shard: tuple[int, int] = (1, 1)) -> list[int]:
    """The case indices of slice I of N: every N-th case from I-1, so slices are disjoint, cover
    the run, and hold the same labs on whichever machine runs them (a case depends only on its
    index and the seed)."""
    index, count = shard
    return list(range(index - 1, labs, count))


def tally(labs: int, seed: int = 0, shard: tuple[int, int] = (1, 1), *, world: str = "realistic",
          step: Any = None) -> dict[str, Any]:
    """Run the cases of one slice, healthy then faulted; the raw counts, which `merge` adds up."""
    counts: dict[str, Counter[str]] = {name: Counter() for name in COUNTERS}
    failures, false_alarms = [], []
    start = time.perf_counter()
    indices = cases_of(labs, shard)
    for index in indices:
        case = Case.draw(index, seed, world)
        before = case.run_healthy()
        for finding in before.named:
            counts["healthy"][finding.severity] += 1
        if before.named:
            false_alarms.append({"index": index, "case": {"args": case.args},
                                 "findings": [[f.severity, f.root_cause, f.subject] for f in before.named]})
        result = case.run()
        truth = set(result.injected)
        for root_cause, _ in result.injected:
            counts["injected"][root_cause] += 1
        for root_cause, _ in set(result.injected) - set(result.missed):
            counts["found"][root_cause] += 1
        for finding in result.named:
            key = f"{finding.root_cause}|{finding.severity}"
            counts["named"][key] += 1
            counts["right"][key] += (finding.root_cause, finding.subject) in truth
        for finding in result.false_errors:
            counts["false_errors"][finding.root_cause] += 1
        if not result.ok:
            failures.append({
                "index": index,
                "case": {"args": case.args, "faults": case.k, "fault_seed": case.fault_seed},
                "injected": [list(p) for p in result.injected],
                "missed": [list(p) for p in result.missed],
                "false_errors": [[f.root_cause, f.subject] for f in result.false_errors],
            })
        if step is not None:
            step()
    return {"labs": labs, "seed": seed, "world": world, "shard": list(shard), "cases": len(indices),
            "seconds": round(time.perf_counter() - start, 2),
            "counts": {name: dict(counter) for name, counter in counts.items()},
            "failures": failures, "false_alarms": false_alarms}


def merge(tallies: list[dict[str, Any]]) -> dict[str, Any]:
    """The slices of one run added up: the same labs, seed, world and N, every slice exactly once."""
    if not tallies:
        raise ValueError("no slices to merge")
    first = tallies[0]
    labs, seed, world, count = first["labs"], first["seed"], first.get("world", "realistic"), first["shard"][1]
    if any((t["labs"], t["seed"], t.get("world", "realistic"), t["shard"][1]) != (labs, seed, world, count)
           for t in tallies):
        raise ValueError("the slices are of different runs (labs, seed, world or N differ)")
    indices = sorted(t["shard"][0] for t in tallies)
    if indices != list(range(1, count + 1)):
        raise ValueError(f"slices {indices} of {count}: each of 1..{count} is needed once")
    counts = {name: sum((Counter(t["counts"].get(name, {})) for t in tallies), Counter()) for name in COUNTERS}
    by_index = lambda key: sorted((f for t in tallies for f in t.get(key, [])), key=lambda f: f["index"])  # noqa: E731
    return {"labs": labs, "seed": seed, "world": world, "shard": [1, 1], "cases": sum(t["cases"] for t in tallies),
            "seconds": round(max(t["seconds"] for t in tallies), 2), "slices": count,
            "counts": {name: dict(c) for name, c in counts.items()},
            "failures": by_index("failures"), "false_alarms": by_index("false_alarms")}


def accuracy(labs: int, seed: int = 0, shard: tuple[int, int] = (1, 1), *, world: str = "realistic",
             step: Any = None) -> dict[str, Any]:
    """Run `labs` cases (or one slice of them), healthy and faulted, and score them (module docstring)."""
    return score(tally(labs, seed, shard, world=world, step=step))


def score(raw: dict[str, Any]) -> dict[str, Any]:
    """Recall and precision per root cause, and of errors and warnings apart, from raw counts."""
    injected, found, false_errors, healthy = (Counter(raw["counts"].get(name, {}))
                                              for name in ("injected", "found", "false_errors", "healthy"))
    named = _split(raw["counts"].get("named", {}))
    right = _split(raw["counts"].get("right", {}))
    ids = [i for i in faults.CATALOG if injected[i] or any(k[0] == i for k in named)]
    per_id = {i: _row(injected[i], found[i], _only(named, i), _only(right, i), false_errors[i]) for i in ids}
    return {
        "labs": raw["labs"],
        "seed": raw["seed"],
        "world": raw.get("world", "realistic"),
        "shard": raw["shard"],
        "slices": raw.get("slices", 1),
        "cases": raw["cases"],
        "seconds": raw["seconds"],
        "overall": _row(sum(injected.values()), sum(found.values()), _by_severity(named), _by_severity(right),
                        sum(false_errors.values())),
        "healthy": {"labs": raw["cases"], "errors": healthy["error"], "warnings": healthy["warning"]},
        "root_causes": per_id,
        "never_injected": [i for i in faults.CATALOG if not injected[i]],
        "failures": raw["failures"][:KEPT_FAILURES],
        "false_alarms": raw.get("false_alarms", [])[:KEPT_FAILURES],
    }


def _split(counts: dict[str, int]) -> Counter[tuple[str, str]]:
    out: Counter[tuple[str, str]] = Counter()
    for key, n in counts.items():
        root_cause, _, severity = key.rpartition("|")
        out[root_cause, severity] += n
    return out


def _only(counts: Counter[tuple[str, str]], root_cause: str) -> Counter[str]:
    return Counter({severity: n for (rc, severity), n in counts.items() if rc == root_cause})


def _by_severity(counts: Counter[tuple[str, str]]) -> Counter[str]:
    out: Counter[str] = Counter()
    for (_, severity), n in counts.items():
        out[severity] += n
    return out


def _row(injected: int, found: int, named: Counter[str], right: Counter[str], false_errors: int) -> dict[str, Any]:
    """One line of the table: recall, precision overall and of errors and warnings apart."""
    return {
        "injected": injected,
        "found": found,
        "recall": _ratio(found, injected),
        "findings": sum(named.values()),
        "precision": _ratio(sum(right.values()), sum(named.values())),
        "precision_errors": _ratio(right["error"], named["error"]),
        "precision_warnings": _ratio(right["warning"], named["warning"]),
        "false_errors": false_errors,
    }


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def table(result: dict[str, Any]) -> Table:
    overall = result["overall"]
    healthy = result["healthy"]
    out = Table(title=f"Diagnosis accuracy on {result['labs']} random {result['world']} labs (seed {result['seed']}, "
                      f"{result['seconds']} s)",
                caption=f"the same {healthy['labs']} labs healthy: {healthy['errors']} errors, "
                        f"{healthy['warnings']} warnings")
    for column in ("root cause", "injected", "found", "recall", "findings", "precision", "of errors",
                   "of warnings", "false errors"):
        out.add_column(column, justify="left" if column == "root cause" else "right", no_wrap=True)
    for root_cause, row in result["root_causes"].items():
        out.add_row(root_cause, *_cells(row))
    out.add_row("[bold]all[/bold]", *_cells(overall))
    return out


def _cells(row: dict[str, Any]) -> list[str]:
    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value:.1%}"

    return [str(row["injected"]), str(row["found"]), pct(row["recall"]), str(row["findings"]),
            pct(row["precision"]), pct(row["precision_errors"]), pct(row["precision_warnings"]),
            str(row["false_errors"])]


def passed(result: dict[str, Any]) -> bool:
    """Issue 11's bar: full recall, no false error, silence on healthy labs, and precision of
    errors and of warnings at least MIN_PRECISION (None: no such finding at all)."""
    overall, healthy = result["overall"], result["healthy"]
    precise = all(overall[f"precision_{severity}s"] is None or overall[f"precision_{severity}s"] >= low
                  for severity, low in MIN_PRECISION.items())
    return (overall["recall"] in (1.0, None) and overall["false_errors"] == 0
            and healthy["errors"] == 0 and healthy["warnings"] == 0 and precise)


def write(result: dict[str, Any], path: Path = RESULTS / "accuracy.json") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(result, indent=2) + "\n")
    return path


def shard_path(shard: tuple[int, int]) -> Path:
    return SHARDS / f"shard-{shard[0]}-of-{shard[1]}.json"


def main(argv: list[str] | None = None) -> int:
    from nestlab.sharding import parse_shard

    parser = argparse.ArgumentParser(prog="python -m bench.accuracy", description=__doc__.splitlines()[0])
    parser.add_argument("--labs", type=int, default=200, help="how many random labs (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed: same seed, same labs")
    parser.add_argument("--world", choices=WORLDS, default="realistic",
                        help="the generator's world (default realistic: what a real Hyper-V server shows)")
    parser.add_argument("--json", action="store_true", help="print the JSON document instead of the table")
    parser.add_argument("--shard", metavar="I/N", help="run only slice I of N (one CI machine's part); its raw counts "
                                                       f"go to {SHARDS.relative_to(RESULTS.parent)}/shard-I-of-N.json")
    parser.add_argument("--merge", nargs="+", type=Path, metavar="SHARD.json",
                        help="add up the slices' files of one run into accuracy.json (run nothing)")
    args = parser.parse_args(argv)
    if args.labs < 1:
        parser.error(f"--labs: must be at least 1 (got {args.labs})")
    try:
        shard = parse_shard(args.shard) if args.shard else (1, 1)
    except ValueError as exc:
        parser.error(str(exc))
    console = Console(stderr=args.json, width=None if sys.stdout.isatty() else 150)  # a log is not 80 columns
    if args.merge:
        try:
            raw = merge([json.loads(path.read_text(encoding="utf-8")) for path in args.merge])
        except (OSError, ValueError, KeyError) as exc:
            parser.error(f"--merge: {exc}")
    else:
        raw = _run_with_progress(console, args.labs, args.seed, shard, args.world)
        if shard != (1, 1):
            SHARDS.mkdir(parents=True, exist_ok=True)
            write_atomic(shard_path(shard), json.dumps(raw, indent=2) + "\n")
    result = score(raw)
    path = write(result, RESULTS / ("accuracy.json" if shard == (1, 1) else f"accuracy.shard-{shard[0]}-of-{shard[1]}.json"))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        console.print(table(result))
        for failure in result["failures"]:
            console.print(f"  failed: {failure['case']} missed {failure['missed']} "
                          f"false errors {failure['false_errors']}")
        for alarm in result["false_alarms"]:
            console.print(f"  healthy lab with findings: {alarm['case']} {alarm['findings']}")
        if shard != (1, 1):
            console.print(f"  slice {shard[0]}/{shard[1]}: {shard_path(shard)} (merge: python -m bench.accuracy --merge "
                          f"{SHARDS.relative_to(RESULTS.parent.parent)}/shard-*-of-{shard[1]}.json)")
        console.print(f"  results: {path}")
    return 0 if passed(result) else 1


def _run_with_progress(console: Console, labs: int, seed: int, shard: tuple[int, int], world: str) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn("diagnosing random labs"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console, transient=True) as progress:
        task = progress.add_task("labs", total=len(cases_of(labs, shard)))
        return tally(labs, seed, shard, world=world, step=lambda: progress.advance(task))


if __name__ == "__main__":
    sys.exit(main())
