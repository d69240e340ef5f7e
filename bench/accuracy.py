"""`python -m bench.accuracy --labs N` (`make accuracy`): recall and precision per root-cause id.

N random generated labs (1–2 hosts, 1–3 levels of nesting), each with 1–3 random faults of the
catalog (`simulator.faults.inject_random`), diagnosed through a SimSession as `nestlab diagnose`
does. The diagnosis never sees what was injected; `judge` compares afterwards:

* recall of an id    = injected (id, subject) pairs some finding names / pairs injected;
* precision of an id = its error and warning findings that name an injected subject / all of them
  (a finding another one explains is info, so it is neither counted nor blamed);
* a false error      = an error finding whose (id, subject) was not injected.

The table goes to the terminal, the numbers to bench/results/accuracy.json (atomically). Exit 1
when recall is below 1.0 or there is a false error, so CI can run it as a check.

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
from nestlab.simulator.generate import generate
from nestlab.simulator.labfile import write_atomic

RESULTS = Path(__file__).resolve().parent / "results"
SHARDS = RESULTS / "accuracy-shards"
Pair = tuple[str, str]  # (root cause, subject)
KEPT_FAILURES = 20  # failing labs listed in the JSON, to reproduce them


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

    args: dict[str, int]
    k: int
    fault_seed: int

    @classmethod
    def draw(cls, index: int, seed: int) -> "Case":
        rng = random.Random(f"nestlab-accuracy:{seed}:{index}")
        args = {"seed": rng.randrange(2**31), "hosts": rng.randint(1, 2), "depth": rng.randint(1, 3)}
        return cls(args, rng.randint(1, 3), rng.randrange(2**31))

    def run(self) -> Judgement:
        lab = generate(**self.args)
        injected = faults.inject_random(lab, self.k, random.Random(self.fault_seed))
        return judge(injected, diagnose_session(SimSession(lab), target=lab.name).report)


COUNTERS = ("injected", "found", "named", "right", "false_errors")


def cases_of(labs: int, shard: tuple[int, int] = (1, 1)) -> list[int]:
    """The case indices of slice I of N: every N-th case from I-1, so slices are disjoint, cover
    the run, and hold the same labs on whichever machine runs them (a case depends only on its
    index and the seed)."""
    index, count = shard
    return list(range(index - 1, labs, count))


def tally(labs: int, seed: int = 0, shard: tuple[int, int] = (1, 1), *, step: Any = None) -> dict[str, Any]:
    """Run the cases of one slice; the raw counts, which `merge` adds up across slices."""
    counts: dict[str, Counter[str]] = {name: Counter() for name in COUNTERS}
    failures = []
    start = time.perf_counter()
    indices = cases_of(labs, shard)
    for index in indices:
        case = Case.draw(index, seed)
        result = case.run()
        truth = set(result.injected)
        for root_cause, _ in result.injected:
            counts["injected"][root_cause] += 1
        for root_cause, _ in set(result.injected) - set(result.missed):
            counts["found"][root_cause] += 1
        for finding in result.named:
            counts["named"][finding.root_cause] += 1
            counts["right"][finding.root_cause] += (finding.root_cause, finding.subject) in truth
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
    return {"labs": labs, "seed": seed, "shard": list(shard), "cases": len(indices),
            "seconds": round(time.perf_counter() - start, 2),
            "counts": {name: dict(counter) for name, counter in counts.items()}, "failures": failures}


def merge(tallies: list[dict[str, Any]]) -> dict[str, Any]:
    """The slices of one run added up: the same labs, seed and N, every slice exactly once."""
    if not tallies:
        raise ValueError("no slices to merge")
    labs, seed, count = tallies[0]["labs"], tallies[0]["seed"], tallies[0]["shard"][1]
    if any((t["labs"], t["seed"], t["shard"][1]) != (labs, seed, count) for t in tallies):
        raise ValueError("the slices are of different runs (labs, seed or N differ)")
    indices = sorted(t["shard"][0] for t in tallies)
    if indices != list(range(1, count + 1)):
        raise ValueError(f"slices {indices} of {count}: each of 1..{count} is needed once")
    counts = {name: sum((Counter(t["counts"][name]) for t in tallies), Counter()) for name in COUNTERS}
    failures = sorted((f for t in tallies for f in t["failures"]), key=lambda f: f["index"])
    return {"labs": labs, "seed": seed, "shard": [1, 1], "cases": sum(t["cases"] for t in tallies),
            "seconds": round(max(t["seconds"] for t in tallies), 2), "slices": count,
            "counts": {name: dict(c) for name, c in counts.items()}, "failures": failures}


def accuracy(labs: int, seed: int = 0, shard: tuple[int, int] = (1, 1), *, step: Any = None) -> dict[str, Any]:
    """Run `labs` cases (or one slice of them) and score them; the JSON document (module docstring)."""
    return score(tally(labs, seed, shard, step=step))


def score(raw: dict[str, Any]) -> dict[str, Any]:
    """Recall and precision per root cause from raw counts (one slice's or merged ones)."""
    injected, found, named, right, false_errors = (Counter(raw["counts"][name]) for name in COUNTERS)
    ids = [i for i in faults.CATALOG if injected[i] or named[i]]
    per_id = {
        i: {
            "injected": injected[i],
            "found": found[i],
            "recall": _ratio(found[i], injected[i]),
            "findings": named[i],
            "precision": _ratio(right[i], named[i]),
            "false_errors": false_errors[i],
        }
        for i in ids
    }
    total_injected, total_found = sum(injected.values()), sum(found.values())
    total_named, total_right = sum(named.values()), sum(right.values())
    return {
        "labs": raw["labs"],
        "seed": raw["seed"],
        "shard": raw["shard"],
        "slices": raw.get("slices", 1),
        "cases": raw["cases"],
        "seconds": raw["seconds"],
        "overall": {
            "injected": total_injected,
            "found": total_found,
            "recall": _ratio(total_found, total_injected),
            "findings": total_named,
            "precision": _ratio(total_right, total_named),
            "false_errors": sum(false_errors.values()),
        },
        "root_causes": per_id,
        "never_injected": [i for i in faults.CATALOG if not injected[i]],
        "failures": raw["failures"][:KEPT_FAILURES],
    }


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def table(result: dict[str, Any]) -> Table:
    overall = result["overall"]
    out = Table(title=f"Diagnosis accuracy on {result['labs']} random labs (seed {result['seed']}, "
                      f"{result['seconds']} s)")
    for column in ("root cause", "injected", "found", "recall", "findings", "precision", "false errors"):
        out.add_column(column, justify="left" if column == "root cause" else "right", no_wrap=True)
    for root_cause, row in result["root_causes"].items():
        out.add_row(root_cause, *_cells(row))
    out.add_row("[bold]all[/bold]", *_cells(overall))
    return out


def _cells(row: dict[str, Any]) -> list[str]:
    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value:.1%}"

    return [str(row["injected"]), str(row["found"]), pct(row["recall"]), str(row["findings"]),
            pct(row["precision"]), str(row["false_errors"])]


def passed(result: dict[str, Any]) -> bool:
    return result["overall"]["recall"] in (1.0, None) and result["overall"]["false_errors"] == 0


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
    console = Console(stderr=args.json, width=None if sys.stdout.isatty() else 120)  # a log is not 80 columns
    if args.merge:
        try:
            raw = merge([json.loads(path.read_text(encoding="utf-8")) for path in args.merge])
        except (OSError, ValueError, KeyError) as exc:
            parser.error(f"--merge: {exc}")
    else:
        raw = _run_with_progress(console, args.labs, args.seed, shard)
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
        if shard != (1, 1):
            console.print(f"  slice {shard[0]}/{shard[1]}: {shard_path(shard)} (merge: python -m bench.accuracy --merge "
                          f"{SHARDS.relative_to(RESULTS.parent.parent)}/shard-*-of-{shard[1]}.json)")
        console.print(f"  results: {path}")
    return 0 if passed(result) else 1


def _run_with_progress(console: Console, labs: int, seed: int, shard: tuple[int, int]) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn("diagnosing random labs"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console, transient=True) as progress:
        task = progress.add_task("labs", total=len(cases_of(labs, shard)))
        return tally(labs, seed, shard, step=lambda: progress.advance(task))


if __name__ == "__main__":
    sys.exit(main())
