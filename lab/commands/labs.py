"""`nestlab labs`: the builtin labs, and the shape of a lab (hosts, VMs, nesting depth)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import click


@dataclass(frozen=True)
class LabShape:
    """What a person asks first about a lab: how many hosts and VMs, and how deep the nesting goes."""

    hosts: int
    vms: int
    depth: int


def shape(lab: Lab) -> LabShape:
    vms = lab.all_vms()
    return LabShape(hosts=len(lab.hosts()), vms=len(vms), depth=max((lab.depth(v) for v in vms), default=0))


@click.command("labs")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@click.option("--tree", "as_tree", is_flag=True, help="Draw each builtin lab as a tree of hosts, switches and VMs.")
def command(as_json: bool, as_tree: bool) -> None:
    """List the builtin labs (use them as builtin:NAME).

    \b
    Examples:
      nestlab labs
      nestlab labs --tree
      nestlab labs --json
      nestlab validate builtin:reference
    """
    from rich.console import Console
    from rich.table import Table
    from nestlab.simulator import labfile

    if as_tree:
        from nestlab.lab.tree import lab_tree

        for name in labfile.builtin_names():
            Console().print(lab_tree(labfile.load(f"builtin:{name}")))
        return
    rows = []
    for name in labfile.builtin_names():
        lab = labfile.load(f"builtin:{name}")
        rows.append({"name": f"builtin:{name}", "description": lab.description or "", **asdict(shape(lab))})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="builtin labs")
    for column, justify in (("name", "left"), ("description", "left"), ("hosts", "right"), ("VMs", "right"), ("depth", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(row["name"], row["description"], str(row["hosts"]), str(row["vms"]), str(row["depth"]))
    Console().print(table)
