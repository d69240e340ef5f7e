"""`nestlab check TARGET`: the guide's troubleshooting checklist, item by item."""

from __future__ import annotations

import sys

import click

from nestlab.lab import timeout_option
from nestlab.lab.completion import complete_target


STYLE = {"pass": "green", "fail": "bold red", "not-applicable": "dim"}


@click.command("check")
@click.argument("target", shell_complete=complete_target)
@click.option("--json", "as_json", is_flag=True, help="Print the checklist as JSON.")
@timeout_option.option
def command(target: str, as_json: bool, timeout: float) -> None:
    """Walk the guide's troubleshooting checklist on TARGET: pass / fail / not applicable.

    Exit 0 when no item fails, 1 when one does, 2 when TARGET cannot be reached or read.

    \b
    Examples:
      nestlab check builtin:reference
      nestlab check broken.yaml --json
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from nestlab.diagnosis.checklist import run_checklist
    from nestlab.lab.diagnose import diagnose_target, reached_nothing, unreachable_error

    result = diagnose_target(target, timeout=timeout)
    if reached_nothing(result):  # no host answered: a checklist of "not applicable" would mislead
        raise unreachable_error(result)
    checklist = run_checklist(result.evidence, result.report)
    if as_json:
        click.echo(checklist.to_json())
    else:
        table = Table(title=f"Troubleshooting checklist: {target}", show_lines=True)
        table.add_column("item")
        table.add_column("status")
        table.add_column("evidence / findings")
        for r in checklist.results:
            detail = "\n".join(f"{f.root_cause} on {f.subject}" for f in r.findings) or "\n".join(
                f"{e.command}: {e.property} = {e.value}" for e in r.evidence[:4])
            table.add_row(escape(r.item.title), f"[{STYLE[r.status]}]{r.status}[/]", escape(detail))
        Console().print(table)
    failed = unreachable_error(result)
    if failed:
        raise failed
    sys.exit(1 if checklist.failed else 0)
