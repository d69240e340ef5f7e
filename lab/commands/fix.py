"""`nestlab fix TARGET`: apply the resolutions of the current findings."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from typing import TYPE_CHECKING

from nestlab.lab.completion import complete_target

if TYPE_CHECKING:
    from nestlab.lab.diagnose import Diagnosis
    from nestlab.lab.journal import Journal
    from nestlab.lab.psrp_session import HostAddress
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
    command is echoed first, and physical actions are printed for a person to do; a capture of
    the hosts and a journal go to .nestlab/journals/ first, and each command is written there
    with its undo before it is sent (a command whose undo is not known is not run), so
    `nestlab restore JOURNAL` puts the hosts back as they were, even after a lost connection.

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
    from nestlab.lab.named import named
    from nestlab.simulator.errors import SessionError
    from nestlab.lab.targets import parse_target

    parsed = parse_target(target)
    simulated = parsed.kind in ("lab", "builtin")
    if not simulated and not dry_run and not yes:
        raise BadInput(f"{target}: a real host is changed only with --yes (or look first with --dry-run)")
    if parsed.kind == "builtin" and not dry_run and output is None:
        raise BadInput(f"{target}: builtin labs are read-only; give -o FILE for the healed lab")
    console = Console()
    session = parsed.open()
    journal = None
    try:
        if not simulated:  # findings name hosts as they call themselves (HV01), not by address
            session, addresses = named(session, parsed.addresses)
        diagnosis = diagnose_session(session, target=target)
        before = diagnosis.report
        steps = fix.plan(before)
        if not steps:
            console.print(f"[green]{target}: nothing to fix[/green]")
            sys.exit(0)
        if dry_run:
            for step in steps:
                console.print(str(step), markup=False, highlight=False)
            sys.exit(1)
        manual = fix.simulated_manual_action(session.lab) if simulated else None
        if not simulated:
            journal = _journal(target, diagnosis, addresses)
            console.print(f"journal {journal.path} (each change is written there with its undo before it is made)",
                          markup=False, highlight=False, soft_wrap=True)
        try:
            outcomes = fix.apply(session, steps, manual=manual, journal=journal,
                                 echo=lambda s: console.print(f"> {s}", markup=False, highlight=False))
        except SessionError as exc:
            raise type(exc)(exc.host, f"{exc}; what changed so far is in the journal: "
                                  f"`nestlab restore {journal.path}` puts it back") from None
        for o in outcomes:
            if not o.done:
                console.print(f"[yellow]  not done: {escape(o.step.line)} ({escape(o.note)})[/yellow]")
        after = diagnose_session(session, target=target).report
    finally:
        session.close()
    if journal is not None:
        console.print(f"`nestlab restore {journal.path}` puts the hosts back as they were before this fix",
                      markup=False, highlight=False, soft_wrap=True)
    if simulated:
        from nestlab.simulator import labfile

        labfile.save(session.lab, output) if output else labfile.save(session.lab)
        console.print(f"wrote {output or parsed.lab_path}")
    left = [f for f in after.findings if f.severity in ("error", "warning")]
    console.print(f"{len(fix.actionable(before))} finding(s) before, {len(left)} after")
    sys.exit(1 if blocking(after) else 0)


def _journal(target: str, diagnosis: Diagnosis, addresses: list[HostAddress]) -> Journal:
    """The journal of this fix, with the capture the diagnosis just made beside it as its baseline."""
    from datetime import datetime, timezone

    from nestlab.lab.capture import Capture, write
    from nestlab.lab.journal import JOURNAL_DIR, Journal

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    JOURNAL_DIR.mkdir(parents=True, exist_ok=True)
    before = write(Capture(diagnosis.evidence.lab, target, stamp, tuple(diagnosis.walk.skipped)),
                   JOURNAL_DIR / f"{stamp}-fix.before.yaml")
    return Journal.create(JOURNAL_DIR / f"{stamp}-fix.json", addresses, target=target,
                          baseline=str(before.resolve()))
