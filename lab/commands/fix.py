"""`nestlab fix TARGET`: apply the resolutions of the current findings."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from nestlab.lab.completion import complete_target
from nestlab.simulator.errors import BadInput


@click.command("fix")
@click.argument("target", shell_complete=complete_target)
@click.option("--dry-run", is_flag=True, help="Print the resolution commands, change nothing.")
@click.option("--yes", is_flag=True, help="Allow changes to a real host (psrp:// or inventory:).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the healed lab here instead of over TARGET (required for builtin labs).")
def command(target: str, dry_run: bool, yes: bool, output: Path | None) -> None:
    """Diagnose TARGET, then apply each finding's resolution (causes first).

    On a lab file the commands run through the simulator and the lab is saved atomically; a
    physical action (firmware, hardware, OS upgrade, restore from backup) is carried out as the
    simulator's stand-in for a person. On a real host nothing changes without --yes, every
    command is echoed first, and physical actions are printed for a person to do.

    \b
    Examples:
      nestlab fix broken.yaml --dry-run
      nestlab fix broken.yaml
      nestlab fix builtin:reference -o healed.yaml
      nestlab fix psrp://admin@hv01 --yes
    """
    from rich.console import Console
    from rich.markup import escape
    from nestlab.lab import fix
    from nestlab.lab.diagnose import blocking, diagnose_session
    from nestlab.lab.targets import parse_target

    parsed = parse_target(target)
    simulated = parsed.kind in ("lab", "builtin")
    if not simulated and not dry_run and not yes:
        raise BadInput(f"{target}: a real host is changed only with --yes (or look first with --dry-run)")
    if parsed.kind == "builtin" and not dry_run and output is None:
        raise BadInput(f"{target}: builtin labs are read-only; give -o FILE for the healed lab")
    console = Console()
    session = parsed.open()
    try:
        before = diagnose_session(session, target=target).report
        steps = fix.plan(before)
        if not steps:
            console.print(f"[green]{target}: nothing to fix[/green]")
            sys.exit(0)
        if dry_run:
            for step in steps:
                console.print(str(step), markup=False, highlight=False)
            sys.exit(1)
        manual = fix.simulated_manual_action(session.lab) if simulated else None
        outcomes = fix.apply(session, steps, manual=manual,
                             echo=lambda s: console.print(f"> {s}", markup=False, highlight=False))
        for o in outcomes:
            if not o.done:
                console.print(f"[yellow]  not done: {escape(o.step.line)} ({escape(o.note)})[/yellow]")
        after = diagnose_session(session, target=target).report
    finally:
        session.close()
    if simulated:
        from nestlab.simulator import labfile

        labfile.save(session.lab, output) if output else labfile.save(session.lab)
        console.print(f"wrote {output or parsed.lab_path}")
    left = [f for f in after.findings if f.severity in ("error", "warning")]
    console.print(f"{len(fix.actionable(before))} finding(s) before, {len(left)} after")
    sys.exit(1 if blocking(after) else 0)
