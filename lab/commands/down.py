"""`nestlab down LAB`: remove the containers and network that `nestlab up LAB` created."""

from __future__ import annotations

import click

from nestlab.lab.completion import complete_lab
from nestlab.lab import fleet


@click.command(name="down")
@click.argument("lab_target", metavar="LAB", shell_complete=complete_lab)
def command(lab_target: str) -> None:
    """Remove every container and network labelled as LAB's fleet, and nothing else.

    On a swarm manager it also removes the fleet's services, configs and network of `up --swarm`.

    LAB is what was given to `nestlab up` (builtin:NAME or the lab file; the file need not
    exist any more) or the fleet's name as `nestlab fleet` shows it.

    \b
    Examples:
      nestlab down builtin:reference
      nestlab down lab.yaml
    """
    from nestlab.lab import swarm
    from nestlab.lab.progress import fleet_progress

    client, name = fleet.connect(), fleet.fleet_name(lab_target)
    total = fleet.planned_removals(client, name) + swarm.planned_removals(client, name)
    with fleet_progress({"removed": "removed"}, total) as (_, step):
        removed = fleet.down(client, name, progress=lambda what: step("removed", what))
        removed += swarm.down(client, name, progress=lambda what: step("removed", what))
    for line in removed:
        click.echo(f"removed {line}")
    if not removed:
        click.echo(f"down: nothing of {fleet.fleet_name(lab_target)} to remove", err=True)
