"""`nestlab demo`: every fault of the catalog, injected, diagnosed and healed on builtin:reference."""

from __future__ import annotations

import sys

import click

from nestlab.lab.completion import complete_fault


MARK = {True: "[green]yes[/green]", False: "[bold red]no[/bold red]"}


@click.command("demo")
@click.option("--fault", "only", multiple=True, metavar="ID", shell_complete=complete_fault, help="Only these faults (repeatable).")
def command(only: tuple[str, ...]) -> None:
    """For every fault: build builtin:reference, inject it, show the symptom the simulator produces,
    diagnose, apply the resolution, diagnose again. Exit 0 only if every row is right.

    \b
    Examples:
      nestlab demo
      nestlab demo --fault extensions-not-exposed --fault winnat-locked
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import Progress
    from rich.table import Table
    from nestlab.lab.demo import closed_loop
    from nestlab.lab.tree import lab_tree
    from nestlab.simulator import faults, labfile

    ids = [faults.get(i).id for i in only] or list(faults.CATALOG)
    console = Console(width=max(Console().width, 140))
    console.print(lab_tree(labfile.load("builtin:reference")))
    rows = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("closed loops", total=len(ids))
        for fault_id in ids:
            progress.update(task, description=f"{fault_id}")
            rows.append(closed_loop(fault_id))
            progress.advance(task)
    table = Table(title="nestlab demo on builtin:reference: inject → symptom → diagnose → fix → diagnose",
                  show_lines=True)
    table.add_column("fault", no_wrap=True)
    table.add_column("subject", overflow="fold")
    table.add_column("symptom the simulator shows", overflow="fold")
    table.add_column("diagnosed", overflow="fold")
    table.add_column("healed", overflow="fold")
    for r in rows:  # every text from the lab is escaped: "[network:corp-lan]" is not markup
        diagnosed = MARK[r.found and not r.others] + ("" if not r.others else escape(f" (also {', '.join(r.others)})"))
        healed = MARK[r.healed] + ("" if not r.left else escape(f" (left: {', '.join(r.left)})"))
        table.add_row(r.fault, escape(r.subject), f"{MARK[r.symptom_shown]} {escape(r.symptom)}", diagnosed, healed)
    console.print(table)
    good = sum(r.ok for r in rows)
    console.print(f"{good}/{len(rows)} faults shown, diagnosed and healed")
    sys.exit(0 if good == len(rows) else 1)
