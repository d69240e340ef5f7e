"""diagnose(evidence) -> Report: run every rule, then put consequences under their causes.

Causal ordering: a finding whose `explains` names another finding's root cause, on a subject at
or below its own, is that finding's cause. The consequence stays in the report (it is true) but
is demoted to info and says what explains it, so a broken host does not bury the reader in
errors; and the report's order puts causes (higher up the chain) first.
"""

from __future__ import annotations

from datetime import datetime, timezone

from nestlab.diagnosis.evidence import Evidence
from nestlab.diagnosis.findings import Finding, Report, sort_key
from nestlab.diagnosis.rules import RULES
from nestlab.diagnosis.rules.common import within


def diagnose(evidence: Evidence) -> Report:
    findings = [finding for r in RULES for finding in r.run(evidence)]
    return Report(
        target=evidence.target or evidence.lab.name,
        collected_at=evidence.collected_at or _now(),
        hosts=tuple(evidence.lab.hosts()),
        findings=tuple(explain(findings)),
    )


def explain(findings: list[Finding]) -> list[Finding]:
    """Demote each finding that another one explains (the cause highest up the chain wins)."""
    explainers: dict[str, list[Finding]] = {}
    for cause in sorted(findings, key=sort_key):
        for explained in cause.explains:
            explainers.setdefault(explained, []).append(cause)
    result = []
    for finding in findings:
        cause = next((c for c in explainers.get(finding.root_cause, ())
                      if c is not finding and within(finding.subject, c.subject)), None)
        result.append(finding.demoted(cause) if cause else finding)
    return result


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
