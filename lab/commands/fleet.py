"""`nestlab fleet`: the hosts that `nestlab up` runs, and their inventory."""

from __future__ import annotations

import click

from nestlab.lab.completion import complete_lab
from nestlab.simulator.errors import BadInput
from nestlab.lab import fleet


@click.command(name="fleet")
@click.argument("lab_target", metavar="[LAB]", required=False, shell_complete=complete_lab)
@click.option("--inventory", "as_inventory", is_flag=True, help="Print the inventory (for nestlab diagnose inventory:FILE) instead of a table.")
@click.option("--ansible", "as_ansible", is_flag=True, help="Print Ansible's YAML inventory (psrp connection) instead of a table.")
def command(lab_target: str | None, as_inventory: bool, as_ansible: bool) -> None:
    """List the containers of every fleet (or of LAB's): lab, host, container, status, address.

    On a swarm manager it lists the services of `up --swarm` too, at their node's address and port.

    \b
    Examples:
      nestlab fleet
      nestlab fleet builtin:reference --inventory > fleet.yaml
      nestlab fleet builtin:reference --ansible > hosts.yml
    """
    from rich.console import Console
    from rich.table import Table

    from nestlab.lab import swarm

    client = fleet.connect()
    if as_inventory or as_ansible:
        if not lab_target:
            raise BadInput("fleet: --inventory and --ansible need LAB (one fleet's hosts)")
        running = swarm.running(client, fleet.fleet_name(lab_target))
        click.echo(fleet.yaml_text(fleet.ansible_inventory(running) if as_ansible else fleet.inventory(running)), nl=False)
        return
    name = fleet.fleet_name(lab_target) if lab_target else None
    found = sorted(fleet.members(client, name) + swarm.members(client, name), key=lambda m: (m.lab, m.host))
    table = Table(title="nestlab fleet")
    for column in ("lab", "host", "container", "status", "address"):
        table.add_column(column)
    for m in found:
        table.add_row(m.lab, m.host, m.container, m.status, f"{m.address}:{m.port}" if m.address else "-")
    Console().print(table)
