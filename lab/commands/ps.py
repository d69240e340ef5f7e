"""`nestlab ps LAB [--host ID] 'CMDLET …'`: run simulated cmdlets and print them as PowerShell would.

For people reproducing a case by hand. Objects print in their default view (Format-Table for the
types whose default view is a table, Format-List otherwise; `| fl *` / `| ft` as typed); errors
print as the console does (`Cmdlet : message`, CategoryInfo, FullyQualifiedErrorId) and make the
exit code 1. Changes to the lab are thrown away unless --save writes them back (atomically).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from nestlab.lab.completion import complete_lab
from nestlab.simulator.errors import BadInput


@click.command("ps")
@click.argument("lab_ref", metavar="LAB", shell_complete=complete_lab)
@click.argument("command_line", metavar="'CMDLET …'")
@click.option("--host", "context", default=None, metavar="ID",
              help="Where to run: a host (HV01) or a VM's guest (HV01/L1). Default: the first host.")
@click.option("--save", is_flag=True, help="Write the lab's changed state back to its file.")
def command(lab_ref: str, command_line: str, context: str | None, save: bool) -> None:
    """Run simulated PowerShell on a lab and print it as PowerShell would.

    \b
    Examples:
      nestlab ps builtin:reference 'Get-VMProcessor -VMName L1 | fl *'
      nestlab ps builtin:reference --host HV01/L1 'netsh interface portproxy show all'
      nestlab ps my-lab.yaml 'Set-VMProcessor -VMName L1 -ExposeVirtualizationExtensions $true' --save
    """
    from nestlab.simulator import labfile, powershell, psformat

    lab = labfile.load(lab_ref)
    if context is None:
        hosts = lab.hosts()
        if not hosts:
            raise BadInput(f"{lab_ref}: the lab has no hosts")
        context = hosts[0]
    result = powershell.run_line(lab, context, command_line)
    text = psformat.render(list(result.output))
    if text:
        click.echo(text)
    for error in result.errors:
        click.echo(psformat.format_error(error, command_line), err=True)
    if save:
        _save(lab, lab_ref)
    if not result.ok:
        raise SystemExit(1)


def _save(lab, lab_ref: str) -> None:
    from nestlab.simulator import labfile

    if lab_ref.startswith("builtin:"):
        raise BadInput(f"{lab_ref}: a builtin lab cannot be saved; copy it to a file first")
    saver = getattr(labfile, "save", None)
    if saver is not None:
        saver(lab, lab_ref)
        return
    path = Path(lab_ref)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(labfile.dumps(lab))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
