"""`nestlab restore JOURNAL [--dry-run]`: finish the undo a crash or Ctrl-C left half done.

The journal (lab/journal.py) names each host by address, never with a password: the password comes
from NESTLAB_PASSWORD, the keyring or a prompt, as for any psrp target. Steps are undone newest
first and verified by their read-backs; running it again on a restored host changes nothing.
When the journal names a baseline (a capture taken before the run, as `pytest --lab=inventory:…`
writes), VMs left off are started again and anything else that still differs from it is listed.
Exit 0 every step is undone, 1 some step could not be undone or the hosts still differ from the
baseline (each line says why), 2 the journal cannot be read or a host cannot be reached at all.
"""

from __future__ import annotations

from pathlib import Path

import click


EXIT_NOT_UNDONE = 1
EXIT_UNREACHABLE = 2  # as for any target that cannot be reached; its steps stay pending


@click.command("restore")
@click.argument("journal_path", metavar="JOURNAL", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print the undo lines that would run; connect to nothing.")
def command(journal_path: Path, dry_run: bool) -> None:
    """Undo, newest first, every step of JOURNAL not yet undone, and verify each by reading back.

    \b
    Examples:
      nestlab restore nestlab-journal.json --dry-run
      NESTLAB_PASSWORD=… nestlab restore nestlab-journal.json
    """
    from nestlab.lab.journal import Journal, undo_all
    from nestlab.lab.psrp_session import PsrpSession

    journal = Journal.load(journal_path)
    pending = journal.pending()
    if not pending:
        click.echo(f"{journal_path}: nothing to undo ({len(journal.steps)} step(s), all undone)")
        return
    if dry_run:
        for step in reversed(pending):
            click.echo(f"step {step.index}: {step.fault} on {step.subject} ({step.status}); would run:")
            for context, line in step.undo:
                click.echo(f"  [{context}] {line}")
        return
    hosts = sorted({s.host for s in pending})
    with PsrpSession([journal.addresses[h] for h in hosts]) as session:
        outcomes = undo_all(session, journal)
        reachable = not any(o.unreachable for o in outcomes)
        left = _settled(session, journal) if reachable else []
    for outcome in outcomes:
        click.echo(str(outcome), err=not outcome.undone)
    for difference in left:
        click.echo(f"differs from the baseline {journal.baseline}: {difference}", err=True)
    if not reachable:
        raise SystemExit(EXIT_UNREACHABLE)
    if left or not all(o.undone for o in outcomes):
        raise SystemExit(EXIT_NOT_UNDONE)


def _settled(session: PsrpSession, journal: Journal) -> list[str]:
    """With a baseline capture beside the journal: VMs a reboot left off started again, and what
    still differs from it (nothing, when the run is fully undone)."""
    if not journal.baseline or not Path(journal.baseline).is_file():
        return []
    from nestlab.lab.capture import settle
    from nestlab.simulator import labfile

    return settle(session, labfile.load(journal.baseline))
