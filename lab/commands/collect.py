"""`nestlab collect TARGET -o DIR|ZIP`: the guide's data-collection bundle (lab/bundle.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from nestlab.lab import timeout_option
from nestlab.lab.completion import complete_target


@click.command("collect")
@click.argument("target", shell_complete=complete_target)
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path),
              help="A new folder, or a file ending in .zip.")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 365),
              help="How many days of the Hyper-V VMMS and Worker event logs.")
@click.option("--trace", is_flag=True, help="Also run the guide's `netsh trace` captures (listed otherwise).")
@click.option("--json", "as_json", is_flag=True, help="Print the bundle's path and failures as JSON.")
@timeout_option.option
def command(target: str, output: Path, days: int, trace: bool, as_json: bool, timeout: float) -> None:
    """Collect the troubleshooting guide's data-collection bundle from TARGET.

    \b
    Examples:
      nestlab collect builtin:reference -o reference-bundle.zip
      nestlab collect psrp://admin@hv01.contoso.test -o hv01/ --days 3 --timeout 600
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from nestlab.lab.bundle import collect
    from nestlab.lab.targets import parse_target

    parsed = parse_target(target)
    session = parsed.open(timeout=timeout)
    lab_name = parsed.lab_path.stem if parsed.lab_path else None
    console = Console(stderr=True)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True, disable=as_json) as progress:
            task = progress.add_task("collecting", total=0)

            def on_step(text: str, planned: int, done: int) -> None:
                total = progress.tasks[0].total or 0
                progress.update(task, total=total + planned, advance=done, description=text[:60])

            result = collect(session, output, target=target, lab_name=lab_name, days=days, trace=trace, on_step=on_step)
    finally:
        session.close()
    failures = [f"{e.host}{'/' + '/'.join(e.vm) if e.vm else ''}: {e.command}: {e.errors[0]}" for e in result.failures]
    if as_json:
        click.echo(json.dumps({"bundle": str(result.path), "commands": len(result.entries),
                               "unreachable": result.down, "failures": failures}, indent=2))
    else:
        click.echo(f"{result.path}: {sum(1 for e in result.entries if e.file)} outputs, manifest.json")
        for host, why in result.down.items():
            click.echo(f"nestlab: partial bundle: {host} stopped answering ({why}); "
                       f"{len(failures)} commands not run, listed in manifest.json", err=True)
    if result.down:
        raise SystemExit(1)
