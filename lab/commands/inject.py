"""`nestlab inject LAB FAULT_ID [--subject ID] [-o OUT]`: a lab file with one fault applied.

The output is state only (spec/lab-format.md): what changed is printed to stderr, never stored.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import click

from nestlab.lab.completion import complete_fault, complete_lab


def changes(before: str, after: str) -> list[str]:
    """The changed lines of the lab file, as a person reads a diff."""
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]


@click.command("inject")
@click.argument("lab_file", metavar="LAB", shell_complete=complete_lab)
@click.argument("fault_id", shell_complete=complete_fault)
@click.option("--subject", default=None, help="Node id to break (default: the fault's first natural subject).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the broken lab (default: stdout).")
def command(lab_file: str, fault_id: str, subject: str | None, output: Path | None) -> None:
    """Write LAB with the fault FAULT_ID applied (see `nestlab faults`).

    \b
    Examples:
      nestlab inject builtin:reference extensions-not-exposed -o broken.yaml
      nestlab inject lab.yaml switch-private --subject 'HV01/L1:adapter:Network Adapter'
    """
    from nestlab.simulator import faults, labfile

    fault = faults.get(fault_id)
    lab = labfile.load(lab_file)
    before = labfile.dumps(lab)
    subject = fault.inject(lab, subject)
    after = labfile.dumps(lab)
    click.echo(f"injected {fault.id} on {subject}", err=True)
    for line in changes(before, after):
        click.echo(f"  {line}", err=True)
    if output is None:
        click.echo(after, nl=False)
    else:
        labfile.write_atomic(output, after)
