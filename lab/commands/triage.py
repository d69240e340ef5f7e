"""`nestlab triage "TEXT" [--json]`: symptom or error text → likely root causes and the checks to run.

Exit codes: 0 when triage ran (whether or not anything matched: it diagnoses text, not a lab, so
"nothing matched" is an answer, not a failure); 2 for bad input (empty text).
"""

from __future__ import annotations

import click


@click.command("triage")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print {query, matches[{root_cause, category, score, why}], categories, checks}.")
def command(text: str, as_json: bool) -> None:
    """Rank the root causes that TEXT points to: an error message (verbatim or in your own words),
    an event id (3112, 41, 7023, 19100) or a hex code (0xC03A000D, 0x80070002, 0x80370102).

    \b
    Examples:
      nestlab triage "The chain of virtual hard disks is broken (0xC03A000D)"
      nestlab triage "my nested VM has no internet" --json
      nestlab triage 3112

    Exit 0 when it ran (even with no match), 2 when TEXT is empty.
    """
    from rich.console import Console
    from rich.table import Table
    from nestlab.diagnosis.triage import triage

    result = triage(text)
    if as_json:
        click.echo(result.to_json())
        return
    console = Console()
    if not result.matches:
        console.print(f"No known symptom matches {text!r}. Try the exact error text, an event id or a hex code.")
        return
    table = Table(title=f"triage: {text}")
    for column in ("score", "root cause", "category", "why"):
        table.add_column(column)
    for match in result.matches:
        table.add_row(f"{match.score:.2f}", match.root_cause, match.category, match.why)
    console.print(table)
    console.print("Checks to run:")
    for check in result.checks:
        console.print(f"  {check}", markup=False, highlight=False)
