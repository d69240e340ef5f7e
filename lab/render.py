"""Reports for people: rich tables of findings, checklist items and trace hops."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from diagnosis.findings import Report

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
            body += "\n" + "\n".join(f"  [cyan]{escape(line)}[/cyan]" for line in f.resolution)
        table.add_row(f"[{SEVERITY_STYLE[f.severity]}]{f.severity}[/]", f.root_cause, escape(f.subject), body)
    return table


def print_report(console: Console, report: Report, *, skipped: list[tuple[str, str]] = ()) -> None:
    if not report.findings:
        console.print(f"[green]{report.target}: no findings[/green] (hosts: {', '.join(report.hosts)})")
    else:
        console.print(report_table(report))
    for vm, why in skipped:
        console.print(f"[dim]skipped {escape(vm)}: {escape(why)}[/dim]")
