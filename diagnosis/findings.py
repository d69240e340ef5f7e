"""Findings and the report that carries them: the diagnosis's output, shaped as spec/cli.md says.

A finding names one root cause (an id of spec/root-causes.md) on one subject (a lab-format node
id), with the evidence that was seen and the commands that heal it. Order matters to a person
reading a report: the worst first, and among equals the cause furthest up the nesting chain first,
because a host without VT-x explains everything below it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Literal

from nestlab.simulator.actions import Action, Manual, Note, Run, texts
from nestlab.simulator.model import CATEGORIES, Category, NodeId  # noqa: F401  (CATEGORIES: re-exported)

Severity = Literal["error", "warning", "info"]

SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")

# The one severity rule (docs/severity.md); every rule's Hit chooses by it:
SEVERITY_RULE: dict[Severity, str] = {
    "error": "something fails or will fail, shown by evidence",
    "warning": "a departure from the guide's recommendation that matters for this lab",
    "info": "readiness, explanations, recommendations with nothing at stake",
}


@dataclass(frozen=True)
class EvidenceItem:
    """One thing a host showed: the command sent, the property read, the value it had, and where.

    `seen_on` is the node id of the host or guest the probe ran in (`HV01`, `HV01/L1`), or
    `STATED` when a person said it (`--nested-host`, a symptom); "" when the evidence was not
    collected (a lab handed to the diagnosis as it is). JSON carries it only when set, beside
    spec/cli.md's three keys.
    """

    command: str
    property: str
    value: Any
    seen_on: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = {"command": self.command, "property": self.property, "value": _jsonable(self.value)}
        if self.seen_on:
            data["seen_on"] = self.seen_on
        return data

    @property
    def where(self) -> str:
        """Where it was seen, for people: "on HV01/L1", "stated", or "" when not collected (the
        table, Markdown and HTML reports print it beside the command)."""
        if not self.seen_on:
            return ""
        return self.seen_on if self.seen_on == STATED else f"on {self.seen_on}"


STATED = "stated"  # EvidenceItem.seen_on of what a person stated rather than a host showed


@dataclass(frozen=True, kw_only=True)
class Finding:
    root_cause: str
    category: Category
    severity: Severity
    subject: str
    summary: str
    evidence: tuple[EvidenceItem, ...] = ()
    resolution: tuple[Action, ...] = ()  # simulator.actions: commands, a person's steps, notes
    explains: tuple[str, ...] = ()  # root-cause ids or symptom ids (diagnosis.triage) this finding accounts for
    reference: str = ""
    explained_by: str | None = None  # "ROOT_CAUSE on SUBJECT" when another finding causes this one (not in JSON)
    seen: tuple[str, ...] = ()  # the error texts people saw that this finding explains (ranks it first; JSON when set)

    def __post_init__(self) -> None:
        # a resolution is data (issue 16): a line of text here would be guessed back by `fix`
        wrong = [a for a in self.resolution if not isinstance(a, (Run, Manual, Note))]
        if wrong:
            raise TypeError(f"{self.root_cause} on {self.subject}: a resolution is Run/Manual/Note actions, "
                            f"not {type(wrong[0]).__name__} {wrong[0]!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "root_cause": self.root_cause,
            "category": self.category,
            "severity": self.severity,
            "subject": self.subject,
            "summary": self.summary,
            "evidence": [item.to_dict() for item in self.evidence],
            "resolution": list(texts(self.resolution)),
            "explains": list(self.explains),
            "reference": self.reference,
            **({"explains_seen": list(self.seen)} if self.seen else {}),
        }

    def demoted(self, cause: "Finding") -> "Finding":
        """This finding as a consequence of `cause`: info severity, saying so in its summary."""
        by = f"{cause.root_cause} on {cause.subject}"
        return replace(self, severity="info", explained_by=by, summary=f"{self.summary} (explained by {by})")


def chain_depth(subject: str) -> int:
    """How far down the nesting a subject sits: 0 for a host, 1 for L1 and what L1 owns, …"""
    return NodeId.parse(subject).depth


def sort_key(finding: Finding) -> tuple:
    return (SEVERITIES.index(finding.severity), not finding.seen, chain_depth(finding.subject), finding.subject,
            finding.root_cause)


def ordered(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """By severity, then what explains an error someone saw, then the cause furthest up the chain
    first (spec/cli.md); stable for ties."""
    return tuple(sorted(findings, key=sort_key))


GapKind = Literal["skipped", "unreachable", "auth-failed"]


@dataclass(frozen=True)
class CollectionGap:
    """A place the collection could not see, carried by the report so that no output passes a
    blind spot off as healthy: a guest it could not enter (`skipped`: not Running, or PowerShell
    Direct failed) or a host that did not answer (`unreachable`: nothing of it was diagnosed), or
    that could not be asked for want of accepted credentials (`auth-failed`: likewise)."""

    node: str  # the node id: the guest's, or the host's name
    kind: GapKind
    why: str  # one line, as the collector or the transport said it

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "kind": self.kind, "why": self.why}


@dataclass(frozen=True)
class Report:
    target: str
    collected_at: str
    hosts: tuple[str, ...]
    findings: tuple[Finding, ...] = field(default=())
    gaps: tuple[CollectionGap, ...] = ()  # what was not collected; () when everything was
    symptoms: tuple[Any, ...] = ()  # diagnosis.evidence.Observed: the error texts people saw


    def __post_init__(self) -> None:
        object.__setattr__(self, "findings", ordered(self.findings))

    @property
    def has_findings(self) -> bool:
        return bool(self.findings)

    def by_root_cause(self, root_cause: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.root_cause == root_cause)

    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def partial(self) -> bool:
        """Whether some host or guest went uncollected: no finding there means "not seen", not "fine"."""
        return bool(self.gaps)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "target": self.target,
            "collected_at": self.collected_at,
            "hosts": list(self.hosts),
            "findings": [f.to_dict() for f in self.findings],
            **({"symptoms": [s.to_dict() for s in self.symptoms]} if self.symptoms else {}),
        }
        if self.gaps:  # additive to spec/cli.md: present exactly when the collection missed something
            data["gaps"] = [g.to_dict() for g in self.gaps]
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def _repr_html_(self) -> str:
        """In a notebook a report shows its findings with evidence and resolution (the HTML
        report's section; the full page with topology and traces is nestlab.lab.report_html)."""
        from nestlab.lab.report_html import CSS, findings_html

        return f'<style>{CSS}</style><div class="nestlab-report">{findings_html(self)}</div>'


def _jsonable(value: Any) -> Any:
    """PowerShell values as JSON: enums by name, tuples as lists, anything else exotic as text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
