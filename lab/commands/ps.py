"""`nestlab ps LAB 'SCRIPT'` / `nestlab ps LAB --file script.ps1 [-- ARGS]`: PowerShell on a simulated host.

For people reproducing a case by hand and for running a diagnostic script unchanged. The text
runs through the PowerShell engine (`simulator.pwsh`), every stream printed in the order it was
written, as a console prints it: output in its default view (Format-Table for the types whose
default view is a table, Format-List otherwise; `| fl *` / `| ft` as typed), Write-Host text,
`WARNING:`/`VERBOSE:`/`DEBUG:` lines, errors as the console does (`Cmdlet : message`, the
position, CategoryInfo, FullyQualifiedErrorId) on stderr. Read-Host and prompts take the
`--answer` values in order. Exit code: a command line exits 1 when it wrote any error; a
`--file` script exits as powershell.exe -File does (its `exit N`, else 1 when a terminating
error stopped it, else $LASTEXITCODE or 0). Changes to the lab are thrown away unless --save
writes them back (atomically).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from nestlab.lab.completion import complete_lab
from nestlab.simulator.errors import BadInput
from nestlab.simulator.psdata import ErrorRecord
from nestlab.simulator.pwsh import ScriptResult, run_script


class Answers:
    """The host of a local run: Read-Host takes the --answer values in order."""

    echo = True  # the engine shows prompt and answer where a console would

    def __init__(self, answers: tuple[str, ...]) -> None:
        self.pending = list(answers)

    def read_line(self, prompt: str) -> str | None:
        return self.pending.pop(0) if self.pending else None

    def write(self, text: str) -> None:
        click.echo(text, nl=False)


@click.command("ps")
@click.argument("lab_ref", metavar="LAB", shell_complete=complete_lab)
@click.argument("command_line", metavar="'SCRIPT'", required=False)
@click.argument("script_args", nargs=-1, metavar="[-- ARGS]")
@click.option("--file", "script_file", type=click.Path(dir_okay=False), default=None,
              help="Run this .ps1 file (ARGS after -- are its arguments).")
@click.option("--host", "context", default=None, metavar="ID",
              help="Where to run: a host (HV01) or a VM's guest (HV01/L1). Default: the first host.")
@click.option("--answer", "answers", multiple=True, metavar="TEXT",
              help="An answer for Read-Host, in order (repeat for several prompts).")
@click.option("--save", is_flag=True, help="Write the lab's changed state back to its file.")
def command(lab_ref: str, command_line: str | None, script_args: tuple[str, ...], script_file: str | None,
            context: str | None, answers: tuple[str, ...], save: bool) -> None:
    """Run PowerShell on a simulated host and print it as a PowerShell console would.

    \b
    Examples:
      nestlab ps builtin:reference 'Get-VMProcessor -VMName L1 | fl *'
      nestlab ps builtin:reference '$vms = Get-VM; foreach ($v in $vms) { $v.Name }'
      nestlab ps builtin:reference --host HV01/L1 'netsh interface portproxy show all'
      nestlab ps builtin:reference --file fixtures/scripts/Test-NestedHost.ps1
      nestlab ps my-lab.yaml --file fixtures/scripts/Repair-NestedVm.ps1 --answer Y -- -VMName L1
      nestlab ps my-lab.yaml 'Set-VMProcessor -VMName L1 -ExposeVirtualizationExtensions $true' --save
    """
    from nestlab.simulator import labfile, powershell, psformat

    lab = labfile.load(lab_ref)
    context = _context(lab, lab_ref, context)
    if script_file is None and command_line is None:
        raise BadInput("ps: give a command line or --file SCRIPT.ps1")
    if script_file is not None:
        path = Path(script_file)
        if not path.is_file():
            raise BadInput(f"{script_file}: no such script file")
        text = path.read_text(encoding="utf-8-sig")
        args = tuple(a for a in ((command_line,) if command_line is not None else ()) + script_args)
        result = run_script(lambda where, pipeline: powershell.run(lab, where, pipeline), context, text,
                            args=args, host=Answers(answers), files=_reader(path.parent))
    else:
        result = run_script(lambda where, pipeline: powershell.run(lab, where, pipeline), context, command_line or "",
                            host=Answers(answers))
    _print(result, script_file or "")
    if save:
        _save(lab, lab_ref)
    if script_file is not None:
        raise SystemExit(result.exit_code)
    if result.errors or result.failed:
        raise SystemExit(1)


def _context(lab: Any, lab_ref: str, context: str | None) -> str:
    if context is None:
        hosts = lab.hosts()
        if not hosts:
            raise BadInput(f"{lab_ref}: the lab has no hosts")
        return hosts[0]
    if context not in lab or lab.kind(context) not in ("host", "vm"):
        raise BadInput(f"--host {context}: no host or VM of that id in {lab_ref}")
    return context


def _reader(folder: Path):
    """Dot-sourced or called paths of a local script resolve against its folder."""
    def read(name: str) -> str | None:
        candidate = (folder / name.replace("\\", "/")).resolve()
        return candidate.read_text(encoding="utf-8-sig") if candidate.is_file() else None
    return read


def _print(result: ScriptResult, script_file: str) -> None:
    from nestlab.simulator import psformat

    pending: list[Any] = []

    def flush() -> None:
        if pending:
            text = psformat.render(pending)
            if text:
                click.echo(text)
            pending.clear()

    for kind, value in result.events:
        if kind == "output":
            pending.append(value)
            continue
        flush()
        if kind == "information":
            click.echo(value)
        elif kind == "warning":
            click.echo(f"WARNING: {value}")
        elif kind in ("verbose", "debug"):
            click.echo(f"{kind.upper()}: {value}")
        elif kind == "error":
            record, position = value
            click.echo(console_error(record, position, script_file), err=True)
    flush()


def console_error(record: ErrorRecord, position: str, script_file: str = "") -> str:
    """An error as powershell.exe prints it: 'Cmdlet : message', 'At file:line char:col', the line, the ids."""
    from nestlab.simulator import psformat

    text = psformat.format_error(record)
    if not position or record.exception_type.endswith("ParseException"):
        return text
    if script_file:
        position = position.replace("At line:", f"At {script_file}:", 1)
    head, _, rest = text.partition("\n    + CategoryInfo")
    return f"{head}\n{position}\n    + CategoryInfo{rest}"


def _save(lab: Any, lab_ref: str) -> None:
    from nestlab.simulator import labfile
    from nestlab.simulator.labfile import write_atomic

    if lab_ref.startswith("builtin:"):
        raise BadInput(f"{lab_ref}: a builtin lab cannot be saved; copy it to a file first")
    saver = getattr(labfile, "save", None)
    if saver is not None:
        saver(lab, lab_ref)
        return
    write_atomic(Path(lab_ref), labfile.dumps(lab))
