"""`nestlab validate LAB`: every error of a lab file, one line each with file:line and path."""

from __future__ import annotations

import click

from nestlab.lab.completion import complete_lab
from nestlab.lab.commands.labs import shape


@click.command("validate")
@click.argument("lab", shell_complete=complete_lab)
def command(lab: str) -> None:
    """Check a lab file (a path or builtin:NAME) and report every error, not just the first.

    Exit 0 and a one-line summary when it is valid; otherwise each error on stderr as
    FILE:LINE: PATH: MESSAGE and exit 2.

    \b
    Examples:
      nestlab validate my-lab.yaml
      nestlab validate builtin:reference
    """
    from nestlab.simulator import labfile

    loaded = labfile.load(lab)  # BadInput (every error line) -> stderr, exit 2, by the CLI group
    s = shape(loaded)
    click.echo(f"{lab}: valid ({s.hosts} hosts, {s.vms} VMs, depth {s.depth})")
