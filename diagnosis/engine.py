"""diagnose(evidence) -> Report: run every rule, then put consequences under their causes.

Causal ordering: a finding whose `explains` names another finding's root cause, on a subject at
or below its own, is that finding's cause. The consequence stays in the report (it is true) but
is demoted to info and says what explains it, so a broken host does not bury the reader in
errors; and the report's order puts causes (higher up the chain) first.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from nestlab.diagnosis import views
from nestlab.diagnosis.evidence import Evidence, Observed
from nestlab.diagnosis.findings import Finding, Report, sort_key
from nestlab.diagnosis.rules import RULES
from nestlab.diagnosis.rules.common import within
from nestlab.diagnosis.triage import SYMPTOMS_BY_ID


def diagnose(evidence: Evidence) -> Report:
    findings = [finding for r in RULES for finding in r.run(evidence)]
    symptoms = evidence.stated.symptoms
    return Report(
        target=evidence.target or evidence.lab.name,
        collected_at=evidence.collected_at or _now(),
        hosts=views.hosts(evidence.lab),
        findings=tuple(rank(explain(findings), symptoms)),
        symptoms=symptoms,
    )


def rank(findings: list[Finding], symptoms: tuple[Observed, ...]) -> list[Finding]:
    """Mark each finding with the seen error texts it explains: its root cause is one the
    symptom's catalog entry names, or it explains that symptom; on the node the text was seen on
    or above it (a text placed nowhere matches anywhere). Marked findings sort first (findings.sort_key)."""
    if not symptoms:
        return findings
    marked = []
    for finding in findings:
        texts = tuple(o.text for o in symptoms if _explains(finding, o))
        marked.append(replace(finding, seen=texts) if texts else finding)
    return marked


def _explains(finding: Finding, observed: Observed) -> bool:
    causes = {c for s in observed.symptoms if s in SYMPTOMS_BY_ID for c in SYMPTOMS_BY_ID[s].causes}
    if finding.root_cause not in causes and not set(finding.explains) & set(observed.symptoms):
        return False
    return not observed.node or within(observed.node, finding.subject) or within(finding.subject, observed.node)


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
