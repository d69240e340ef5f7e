"""The diagnosis and its resolutions, as the steps use them — through a Session only.

`diagnose` is what `nestlab diagnose` does (lab.diagnose: collect evidence through the Session,
run the rules); `apply` is what `nestlab fix` does (lab.fix), plus the one thing only a simulated
target can do: the physical change a person makes for a root cause no command fixes (the fault
catalog's `heal`, through the testbed). Nothing here reads the lab behind the Session.
"""

from __future__ import annotations

from typing import Any, Iterable

from nestlab.diagnosis.findings import Finding, Report
from nestlab.lab import fix
from nestlab.lab.session import Session
from nestlab.steps.target import Testbed

PROBLEM_SEVERITIES = {"error", "warning"}


def diagnose(session: Session, stated: Any = None) -> Report:
    """Collect evidence through the Session and run the rules (`nestlab diagnose`'s one path),
    with what the scenario stated (`--nested-host`, `--symptom`, `--reachable`)."""
    from nestlab.diagnosis.evidence import NO_STATEMENTS
    from nestlab.lab.diagnose import diagnose_session

    return diagnose_session(session, stated=stated or NO_STATEMENTS).report


def checklist(session: Session) -> Any:
    """The guide's troubleshooting checklist on the evidence of the Session (`nestlab check`)."""
    from nestlab.diagnosis.checklist import run_checklist
    from nestlab.lab.diagnose import diagnose_session

    diagnosis = diagnose_session(session)
    return run_checklist(diagnosis.evidence, diagnosis.report)


def problems(findings: Iterable[Finding]) -> list[Finding]:
    """Error and warning findings: what a healed lab must not have (info notes may stay)."""
    return [f for f in findings if f.severity in PROBLEM_SEVERITIES]


def describe(findings: Iterable[Finding]) -> str:
    return "; ".join(f"{f.root_cause} on {f.subject} ({f.severity})" for f in findings) or "nothing"


def the_finding(report: Report, root_cause: str, subject: str | None = None) -> Finding:
    """The one finding of this root cause (about this subject, when given); fails with what was found."""
    matches = [f for f in report.findings if f.root_cause == root_cause and (subject is None or f.subject == subject)]
    where = f" on {subject}" if subject else ""
    assert matches, f"no {root_cause}{where}; the diagnosis found: {describe(report.findings)}"
    assert len(matches) == 1, f"{len(matches)} findings of {root_cause}{where}: {describe(matches)}"
    return matches[0]


def explains(cause: Finding, consequence: Finding) -> bool:
    """Whether the consequence's finding says it is explained by this cause (diagnosis.findings)."""
    return consequence.explained_by == f"{cause.root_cause} on {cause.subject}"


def apply(testbed: Testbed, report: Report) -> list[str]:
    """Apply the report's resolutions as `nestlab fix` does (lab/fix.py: plan, then send each
    command through the Session where its action says it runs); returns what was done.

    A person's action (a `Manual` action: "Enable VT-x in BIOS/UEFI …") is the target's physical change, which only a simulated target can make (the catalog's heal;
    other targets skip the scenario); guidance after the commands is not acted on, so a scenario
    that heals proves that the diagnosis's own commands are right."""
    outcomes = fix.apply(testbed.session, fix.plan(report), manual=fix.by_hand(testbed.physical_change))
    failed = [f"{o.step}: {o.note}" for o in outcomes if not o.done]
    assert not failed, "resolution steps failed: " + "; ".join(failed)
    return [str(o.step) for o in outcomes]
