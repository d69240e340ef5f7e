"""`nestlab capture TARGET -o LAB`: read a real (or served) host into a lab file that reproduces it."""

from __future__ import annotations

from pathlib import Path

import click

from nestlab.lab import timeout_option
from nestlab.lab.completion import complete_target


@click.command("capture")
@click.argument("target", shell_complete=complete_target)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The lab file to write (atomically).")
@timeout_option.option
def command(target: str, output: Path, timeout: float) -> None:
    """Collect TARGET's evidence and write it as a lab file (what it could not see is in its header).

    \b
    Examples:
      NESTLAB_PASSWORD=… nestlab capture 'psrp://admin@hv01.lab.example' -o hv01.yaml
      nestlab capture inventory:lab/inventory.yaml -o lab.yaml
      nestlab capture builtin:reference -o copy.yaml
    """
    from nestlab.lab import capture as capturing
    from nestlab.lab.targets import parse_target

    with parse_target(target).open(timeout=timeout) as session:
        captured = capturing.capture(session, target=target)
    capturing.write(captured, output)
    vms = len(list(captured.lab.all_vms()))
    click.echo(f"captured {', '.join(captured.lab.hosts())} ({vms} VMs) from {target} -> {output}", err=True)
    for vm, why in captured.skipped:
        click.echo(f"  not seen inside {vm}: {why}", err=True)
