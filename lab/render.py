"""Reports for people: rich tables of findings, checklist items and trace hops.

Every format shows the report's collection gaps (`Report.gaps`: guests not entered, hosts that
did not answer), so that a place without findings is never read as a healthy one it did not see.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nestlab.diagnosis.findings import CollectionGap, Report
from nestlab.simulator.actions import texts

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


def report_table(report: Report, *, title: str | None = None) -> Table:
    table = Table(title=title or f"Diagnosis of {report.target}", show_lines=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("root cause", style="bold", overflow="fold")
    table.add_column("subject", overflow="fold")
    table.add_column("summary and resolution", overflow="fold")  # commands are never cut short
    for f in report.findings:
        body = escape(f.summary)  # a host's text may hold [brackets]: never markup
        if f.resolution:
            body += "\n" + "\n".join(f"  [cyan]{escape(line)}[/cyan]" for line in texts(f.resolution))
        table.add_row(f"[{SEVERITY_STYLE[f.severity]}]{f.severity}[/]", f.root_cause, escape(f.subject), body)
    return table


def print_report(console: Console, report: Report) -> None:
    if not report.findings:
        partly = " in what was collected" if report.partial else ""
        console.print(f"[green]{escape(report.target)}: no findings{partly}[/green] (hosts: {escape(', '.join(report.hosts))})")
    else:
        console.print(report_table(report))
    for observed in report.symptoms:
        where = f" on {observed.node}" if observed.node else ""
        console.print(f"seen{escape(where)} ({escape(observed.source)}): {escape(observed.text)}"
                      + (f" [dim]→ {escape(', '.join(observed.symptoms))}[/dim]" if observed.symptoms else ""))
    for gap in report.gaps:
        console.print(f"[dim]{gap_line(gap)}[/dim]" if gap.kind == "skipped" else f"[yellow]{gap_line(gap)}[/yellow]")


def gap_line(gap: CollectionGap) -> str:
    """`skipped HV01/L1: not Running …` / `unreachable HV02: …`: one gap, markup-safe."""
    return f"{gap.kind} {escape(gap.node)}: {escape(gap.why)}"


def report_markdown(report: Report) -> str:
    """The report as Markdown, to paste into a ticket: a summary table, then each finding with
    its evidence and the resolution as a PowerShell block, then what was not collected."""
    partial = f" Partial: {len(report.gaps)} not collected (below)." if report.partial else ""
    lines = [f"# Diagnosis of {report.target}", "",
             f"Collected {report.collected_at} from {', '.join(report.hosts) or 'no host'}.{partial}", ""]
    if report.symptoms:
        lines += ["Symptoms seen:", ""]
        lines += [f"- {_cell(o.text)} ({o.source}{', on `' + o.node + '`' if o.node else ''})" for o in report.symptoms]
        lines.append("")
    if not report.findings:
        lines.append("No findings in what was collected." if report.partial else "No findings.")
    else:
        lines += ["| severity | root cause | subject | summary |", "|---|---|---|---|"]
        lines += [f"| {f.severity} | `{f.root_cause}` | `{f.subject}` | {_cell(f.summary)} |" for f in report.findings]
        for f in report.findings:
            lines += ["", f"## `{f.root_cause}` on `{f.subject}` ({f.severity})", "", f.summary, ""]
            lines += [f"- `{e.command}`{' (' + e.where + ')' if e.where else ''}: {e.property} = `{e.value}`" for e in f.evidence]
            if f.resolution:
                lines += ["", "```powershell", *texts(f.resolution), "```"]
            if f.reference:
                lines += ["", f"Reference: {f.reference}"]
    if report.gaps:
        lines += ["", "Not collected:"] + [f"- `{g.node}` ({g.kind}): {_cell(g.why)}" for g in report.gaps]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
