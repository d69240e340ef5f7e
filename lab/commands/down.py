"""`nestlab down LAB`: remove the containers and network that `nestlab up LAB` created."""

from __future__ import annotations

import click

from nestlab.lab.completion import complete_lab
from nestlab.lab import fleet


@click.command(name="down")
@click.argument("lab_target", metavar="LAB", shell_complete=complete_lab)
def command(lab_target: str) -> None:
    """Remove every container and network labelled as LAB's fleet, and nothing else.

    LAB is what was given to `nestlab up` (builtin:NAME or the lab file; the file need not
    exist any more) or the fleet's name as `nestlab fleet` shows it.

    \b
    Examples:
      nestlab down builtin:reference
      nestlab down lab.yaml
    """
    removed = fleet.down(fleet.connect(), fleet.fleet_name(lab_target))
    for line in removed:
        click.echo(f"removed {line}")
    if not removed:
        click.echo(f"down: nothing of {fleet.fleet_name(lab_target)} to remove", err=True)
