"""`nestlab faults [--json]`: the fault catalog (simulator/faults), one row per root-cause id."""

from __future__ import annotations

import json

import click


def catalog_rows() -> list[dict[str, str]]:
    from nestlab.simulator.faults import CATALOG

    return [
        {"id": f.id, "category": f.category, "inject": f.kind, "description": f.description, "section": f.section}
        for f in CATALOG.values()
    ]


@click.command("faults")
@click.option("--json", "as_json", is_flag=True, help='Print {"faults": [{"id", "category", "inject", "description", "section"}, …]}.')
def command(as_json: bool) -> None:
    """List every fault the simulator can inject (the root-cause ids of the catalog).

    \b
    Examples:
      nestlab faults
      nestlab faults --json
      nestlab inject builtin:reference extensions-not-exposed -o broken.yaml
    """
    from rich.console import Console
    from rich.table import Table

    rows = catalog_rows()
    if as_json:
        click.echo(json.dumps({"faults": rows}, indent=2))
        return
    table = Table(title=f"{len(rows)} faults", show_lines=False)
    for column in ("id", "category", "inject", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["id"], row["category"], row["inject"], row["description"])
    Console().print(table)
