"""A diagnosis of a target, end to end: open its Session, collect, run the rules.

The CLI, `nestlab demo`, `nestlab fix` and the BDD steps all diagnose through this one function,
so they see exactly what a real host would show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from diagnosis.collect import Walk, collect
from diagnosis.engine import diagnose
from diagnosis.evidence import Evidence
from diagnosis.findings import Report
from lab.session import Session


@dataclass(frozen=True)
class Diagnosis:
    report: Report
    evidence: Evidence
    walk: Walk


def diagnose_session(
    session: Session, *, target: str = "", progress: Callable[[str], None] | None = None
) -> Diagnosis:
    walk = Walk()
    evidence = collect(session, target=target, progress=progress, walk=walk)
    return Diagnosis(diagnose(evidence), evidence, walk)


def blocking(report: Report) -> bool:
    """What the exit code says: a finding worth acting on (error or warning)."""
    return any(f.severity in ("error", "warning") for f in report.findings)
