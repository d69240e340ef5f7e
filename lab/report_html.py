"""The diagnosis as one self-contained HTML page, to attach to a ticket (`nestlab diagnose --html`).

One file, nothing fetched: inline CSS, the topology as inline SVG (lab/draw.py) with the subjects
of findings outlined, then each finding with its evidence (command, property, value seen) and
the resolution commands, the guide's checklist item by item, and reachability traces hop by hop
(lab/flows.py) with the hop where a flow stops marked. A Content-Security-Policy of
`default-src 'none'` makes any outside fetch a blocked request rather than a silent one.

Everything drawn is what the diagnosis saw: the evidence lab rebuilt from PowerShell answers,
so a report of a real host shows that host, not a simulation of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from typing import Iterable

from nestlab.diagnosis.checklist import Checklist, run_checklist
from nestlab.diagnosis.findings import Finding, Report
from nestlab.lab import draw
from nestlab.lab.diagnose import Diagnosis
from nestlab.lab.flows import Flow, traces
from nestlab.simulator.actions import texts
from nestlab.simulator.network import Trace

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

PAGE_CSS = "body{margin:0;background:#f6f7f9} main{max-width:1280px;margin:0 auto;padding:20px 28px 60px}"
_RULES = """
.nestlab-report{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d2733}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:32px 0 10px;border-bottom:1px solid #d5dbe3;padding-bottom:4px}
h3{font-size:15px;margin:0 0 6px} .meta{color:#56616d;font-size:13px}
.counts span{display:inline-block;margin-right:10px;padding:2px 10px;border-radius:10px;font-size:13px;font-weight:600}
.sev{display:inline-block;min-width:58px;text-align:center;padding:1px 8px;border-radius:9px;font-size:12px;font-weight:700;color:#fff}
.sev.error,.counts .error{background:#c62828;color:#fff} .sev.warning,.counts .warning{background:#e08a00;color:#fff}
.sev.info,.counts .info{background:#5b7db1;color:#fff} .counts .none{background:#2e7d32;color:#fff}
.topology{background:#fff;border:1px solid #d5dbe3;border-radius:8px;padding:10px;overflow:auto}
.card{background:#fff;border:1px solid #d5dbe3;border-left:5px solid #8796a8;border-radius:6px;padding:12px 16px;margin:12px 0}
.card.error{border-left-color:#c62828} .card.warning{border-left-color:#e08a00} .card.info{border-left-color:#5b7db1}
code,pre{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
pre{background:#1f2933;color:#e6edf3;padding:10px 12px;border-radius:6px;overflow:auto;white-space:pre-wrap}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{border:1px solid #d5dbe3;padding:5px 8px;text-align:left;vertical-align:top} th{background:#eef1f5}
td.value{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;word-break:break-all}
.status{font-weight:700} .status.pass{color:#2e7d32} .status.fail{color:#c62828} .status.not-applicable{color:#8a939c}
ol.hops{margin:6px 0 0;padding-left:24px} ol.hops li{margin:3px 0} ol.hops .node{font-weight:600}
ol.hops .steps{color:#4a5561;font-size:13px;margin:1px 0 0;padding-left:16px}
ol.hops li.stop{background:#fdecea;border-left:4px solid #c62828;padding:2px 6px;margin-left:-10px}
.stopmark{background:#c62828;color:#fff;font-size:12px;font-weight:700;margin-left:8px;padding:1px 7px;border-radius:8px}
.disposition.delivered{color:#2e7d32;font-weight:700} .disposition.stopped{color:#c62828;font-weight:700}
.legend span{display:inline-block;margin-right:14px;font-size:12px} .legend i{display:inline-block;width:14px;height:10px;border:1px solid #8796a8;margin-right:4px}
"""


def _scoped(rules: str, scope: str = ".nestlab-report") -> str:
    """Every selector under `scope`, so that in a notebook the report styles only itself."""
    out = []
    for rule in re.findall(r"([^{}]+)\{([^{}]*)\}", rules):
        selectors = ",".join(sel.strip() if sel.strip() == scope else f"{scope} {sel.strip()}" for sel in rule[0].split(","))
        out.append(f"{selectors}{{{rule[1]}}}")
    return "\n".join(out)


CSS = _scoped(_RULES)


@dataclass(frozen=True)
class HtmlReport:
    """A diagnosis ready to render: as a page (`page()`) or in a notebook (`_repr_html_`)."""

    diagnosis: Diagnosis
    checklist: Checklist
    traces: tuple[tuple[Flow, Trace], ...]
    skipped: tuple[tuple[str, str], ...] = ()
    unreachable: tuple[str, ...] = ()

    @classmethod
    def of(cls, diagnosis: Diagnosis) -> "HtmlReport":
        lab = diagnosis.evidence.lab
        return cls(
            diagnosis,
            run_checklist(diagnosis.evidence, diagnosis.report),
            tuple(traces(lab)),
            tuple(diagnosis.walk.skipped),
            tuple(why for _, why in diagnosis.walk.unreachable),
        )

    def page(self) -> str:
        report = self.diagnosis.report
        return "\n".join([
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>nestlab diagnosis of {escape(report.target)}</title>",
            f"<style>{PAGE_CSS}\n{CSS}</style></head>",
            f'<body><main class="nestlab-report">{self.body()}</main></body></html>',
        ]) + "\n"

    def body(self) -> str:
        return "\n".join([
            _heading(self.diagnosis.report),
            self._topology(),
            findings_html(self.diagnosis.report),
            _checklist(self.checklist),
            _traces(self.traces),
            _not_collected(self.skipped, self.unreachable),
        ])

    def _repr_html_(self) -> str:
        return f'<style>{CSS}</style><div class="nestlab-report">{self.body()}</div>'

    def _topology(self) -> str:
        report = self.diagnosis.report
        subjects: dict[str, list[tuple[str, str]]] = {}
        for f in report.findings:
            subjects.setdefault(f.subject, []).append((f.root_cause, f.severity))
        legend = "".join(f'<span><i style="background:{fill}"></i>L{level}</span>'
                         for level, fill in enumerate(draw.LEVEL_FILL[:_depth(self) + 1]))
        return (
            '<section id="topology"><h2>Topology</h2>'
            '<p class="meta">As the diagnosis saw it through PowerShell. Outlined: the subjects of findings '
            "(red error, orange warning, blue info). Hover a box, switch or line for details.</p>"
            f'<div class="legend">{legend}<span>host and VM boxes by nesting level</span></div>'
            f'<div class="topology">{draw.svg(self.diagnosis.evidence.lab, highlight=subjects)}</div></section>'
        )


def _depth(report: HtmlReport) -> int:
    lab = report.diagnosis.evidence.lab
    return max((lab.depth(vm) for vm in lab.all_vms()), default=0)


def report_page(diagnosis: Diagnosis) -> str:
    """The whole page for `nestlab diagnose --html`."""
    return HtmlReport.of(diagnosis).page()


def _heading(report: Report) -> str:
    counts = {sev: sum(1 for f in report.findings if f.severity == sev) for sev in ("error", "warning", "info")}
    badges = "".join(f'<span class="{sev}">{n} {sev}{"s" if n != 1 else ""}</span>' for sev, n in counts.items() if n)
    badges = badges or '<span class="none">no findings</span>'
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"<header><h1>Diagnosis of {escape(report.target)}</h1>"
        f'<p class="meta">Collected {escape(report.collected_at)} from {escape(", ".join(report.hosts) or "no host")}; '
        f"report made {made} by nestlab.</p>"
        f'<p class="counts">{badges}</p></header>'
    )


def findings_html(report: Report) -> str:
    """The findings, worst first, each with its evidence and resolution (also `Report._repr_html_`)."""
    if not report.findings:
        return '<section id="findings"><h2>Findings</h2><p>No findings: nothing the guide lists is wrong here.</p></section>'
    cards = "\n".join(_finding(i, f) for i, f in enumerate(report.findings, 1))
    return f'<section id="findings"><h2>Findings</h2>{cards}</section>'


def _finding(index: int, f: Finding) -> str:
    evidence = "".join(
        f"<tr><td><code>{escape(e.command)}</code>{escape(' (' + e.where + ')' if e.where else '')}</td><td>{escape(e.property)}</td>"
        f'<td class="value">{escape(_value(e.value))}</td></tr>'
        for e in f.evidence
    )
    parts = [
        f'<article class="card {f.severity}" id="finding-{index}" data-root-cause="{escape(f.root_cause)}" data-subject="{escape(f.subject)}">',
        f'<h3><span class="sev {f.severity}">{f.severity}</span> <code>{escape(f.root_cause)}</code> on <code>{escape(f.subject)}</code></h3>',
        f"<p>{escape(f.summary)}</p>",
    ]
    if evidence:
        parts.append(f"<table><tr><th>command</th><th>property</th><th>value seen</th></tr>{evidence}</table>")
    if f.resolution:
        parts.append("<p><b>Resolution</b> (PowerShell, in order):</p>"
                     f'<pre class="resolution">{escape(chr(10).join(texts(f.resolution)))}</pre>')
    if f.reference:
        parts.append(f'<p class="meta">Reference: {escape(f.reference)}</p>')
    parts.append("</article>")
    return "\n".join(parts)


def _value(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "(nothing)"
    return "$null" if value is None else str(value)


def _checklist(checklist: Checklist) -> str:
    rows = []
    for r in checklist.results:
        found = "<br>".join(f"<code>{escape(f.root_cause)}</code> on <code>{escape(f.subject)}</code>" for f in r.findings)
        lines = list(dict.fromkeys(f"<code>{escape(e.command)}</code>: {escape(e.property)} = {escape(_value(e.value))}"
                                   for e in r.evidence))
        seen = "<br>".join(lines[:6])
        more = f"<br>… {len(lines) - 6} more" if len(lines) > 6 else ""
        rows.append(f'<tr data-item="{escape(r.item.id)}"><td>{escape(r.item.title)}</td>'
                    f'<td class="status {r.status}">{r.status}</td><td>{found or seen + more}</td></tr>')
    return ('<section id="checklist"><h2>Troubleshooting checklist</h2>'
            "<table><tr><th>item (the guide's words)</th><th>status</th><th>findings / evidence</th></tr>"
            f'{"".join(rows)}</table></section>')


def _traces(found: Iterable[tuple[Flow, Trace]]) -> str:
    items = [_trace(i, flow, t) for i, (flow, t) in enumerate(found, 1)]
    if not items:
        return '<section id="reachability"><h2>Reachability</h2><p>No flow to trace (no VM with an address on a host with a network).</p></section>'
    return ('<section id="reachability"><h2>Reachability</h2>'
            '<p class="meta">Computed from the evidence, hop by hop; where a flow stops, that hop is marked.</p>'
            f'{"".join(items)}</section>')


def _trace(index: int, flow: Flow, t: Trace) -> str:
    stopped = not t.delivered
    hops = []
    for n, hop in enumerate(t.hops, 1):
        last = n == len(t.hops)
        mark = f'<span class="stopmark">STOPS HERE: {escape(t.disposition.value)}</span>' if stopped and last else ""
        steps = "".join(f"<li>{escape(step)}</li>" for step in hop.steps)
        hops.append(f'<li class="{"stop" if stopped and last else "hop"}" data-node="{escape(hop.node)}">'
                    f'<span class="node">{escape(hop.node)}</span>{mark}<ul class="steps">{steps}</ul></li>')
    verdict = (f'<span class="disposition stopped">stopped: {escape(t.disposition.value)}</span>' if stopped
               else '<span class="disposition delivered">delivered</span>')
    return (f'<article class="card {"error" if stopped else ""}" id="trace-{index}" data-disposition="{t.disposition.value}">'
            f"<h3>{escape(flow.why)}</h3>"
            f'<p class="meta"><code>{escape(t.source)} → {escape(t.destination)}:{t.port}/{t.protocol}</code> — {verdict}</p>'
            f'<ol class="hops">{"".join(hops)}</ol></article>')


def _not_collected(skipped: Iterable[tuple[str, str]], unreachable: Iterable[str]) -> str:
    lines = [f"<li><code>{escape(vm)}</code>: {escape(why)}</li>" for vm, why in skipped]
    lines += [f"<li>{escape(why)}</li>" for why in unreachable]
    if not lines:
        return ""
    return f'<section id="not-collected"><h2>Not collected</h2><ul>{"".join(lines)}</ul></section>'
