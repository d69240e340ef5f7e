"""A diagnosis of a target, end to end: open its Session, collect, run the rules.

The CLI, `nestlab demo`, `nestlab fix` and the BDD steps all diagnose through this one function,
so they see exactly what a real host would show them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from nestlab.diagnosis.collect import Walk, collect
from nestlab.diagnosis.engine import diagnose
from nestlab.diagnosis.evidence import NO_STATEMENTS, Evidence, Statements
from nestlab.diagnosis.findings import CollectionGap, Report
from nestlab.lab.session import Session
from nestlab.simulator.errors import BadInput


@dataclass(frozen=True)
class Diagnosis:
    report: Report
    evidence: Evidence
    walk: Walk


def diagnose_session(
    session: Session, *, target: str = "", progress: Callable[[str], None] | None = None,
    stated: Statements = NO_STATEMENTS,
) -> Diagnosis:
    """Collect, add what the person stated (intent, symptoms seen, services meant to be
    reachable: evidence too, docs/severity.md), run the rules."""
    walk = Walk()
    evidence = collect(session, target=target, progress=progress, walk=walk)
    if stated != NO_STATEMENTS:
        from nestlab.diagnosis.symptoms import place

        evidence = replace(evidence, stated=place(evidence, stated))
    return Diagnosis(replace(diagnose(evidence), gaps=collection_gaps(walk)), evidence, walk)


def collection_gaps(walk: Walk) -> tuple[CollectionGap, ...]:
    """What the walk could not see, for the report to carry: hosts that did not answer, then
    guests it could not enter."""
    return (*(CollectionGap(host, walk.kinds.get(host, "unreachable"), why) for host, why in walk.unreachable),
            *(CollectionGap(vm, "skipped", why) for vm, why in walk.skipped))


def diagnose_target(target: str, stated: Statements = NO_STATEMENTS, *, timeout: float | None = None) -> Diagnosis:
    """Open TARGET (lab file, builtin:, psrp://, inventory:), diagnose it with a status line on
    stderr, and close it: what `diagnose`, `check` and `capture`-style commands share.
    `stated`: what the person said (--nested-host, --symptom, --reachable).
    `timeout`: seconds real hosts get for all of it (lab/deadline.py)."""
    from rich.console import Console

    from nestlab.lab.targets import open_target

    session = open_target(target, timeout=timeout)
    try:
        with Console(stderr=True).status("collecting evidence…") as status:
            return diagnose_session(session, target=target, stated=stated,
                                    progress=lambda node: status.update(f"collecting evidence: {node}"))
    finally:
        session.close()


def unreachable_error(diagnosis: Diagnosis) -> BadInput | None:
    """The hosts a diagnosis could not reach, as the error the CLI ends with (exit 2).

    When some hosts were diagnosed, the last line names them, so a partial report is never
    mistaken for a whole one (still one line per unreachable host)."""
    lines = [why for _, why in diagnosis.walk.unreachable]
    if not lines:
        return None
    reached = [h for h in diagnosis.report.hosts if h not in {h for h, _ in diagnosis.walk.unreachable}]
    if reached:
        lines[-1] += f" (partial report: diagnosed {', '.join(reached)} only)"
    return BadInput(lines[0], lines=lines)


def reached_nothing(diagnosis: Diagnosis) -> bool:
    """Every host failed: there is no report to print, only the error."""
    unreachable = {h for h, _ in diagnosis.walk.unreachable}
    return bool(unreachable) and not [h for h in diagnosis.report.hosts if h not in unreachable]


def blocking(report: Report) -> bool:
    """What the exit code says: a finding worth acting on (error or warning)."""
    return any(f.severity in ("error", "warning") for f in report.findings)
