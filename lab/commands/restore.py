"""`nestlab restore JOURNAL [--dry-run]`: finish the undo a crash or Ctrl-C left half done, and say
whether the hosts are back as they were.

The journal (lab/journal.py) names each host by address, never with a password: the password comes
from NESTLAB_PASSWORD, the keyring or a prompt, as for any psrp target. Steps are undone newest
first and verified by their read-backs; running it again on a restored host changes nothing.
Every run then compares the hosts with the baseline, whether or not a step was pending (a run
killed after its undo but before its VMs were started again has nothing pending and is still not
back): with a baseline capture beside the journal (`pytest --lab=inventory:…` and `nestlab fix`
write one), VMs left off or running with other memory are put back, each move journalled first,
and whatever else differs from the capture is listed. A journal without a capture is compared
with its own before values instead: every value a step read back is read again and compared with
what it showed before the first step that read it (a coarser baseline: two steps may read one
value by different commands, so a difference there says "look", not "changed").
Exit 0 the hosts are back, 1 some step could not be undone or the hosts still differ from the
baseline (each line says why), 2 the journal cannot be read or a host cannot be reached at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from nestlab.lab.journal import Journal, Settled
    from nestlab.lab.psrp_session import PsrpSession

EXIT_NOT_UNDONE = 1
EXIT_UNREACHABLE = 2  # as for any target that cannot be reached; its steps stay pending


@click.command("restore")
@click.argument("journal_path", metavar="JOURNAL", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print the undo lines that would run; connect to nothing.")
def command(journal_path: Path, dry_run: bool) -> None:
    """Undo, newest first, every step of JOURNAL not yet undone, verify each by reading back, and
    compare the hosts with the run's baseline.

    \b
    Examples:
      nestlab restore nestlab-journal.json --dry-run
      NESTLAB_PASSWORD=… nestlab restore nestlab-journal.json
    """
    from nestlab.lab.journal import Journal, Settled, drift, undo_all
    from nestlab.simulator.actions import shown
    from nestlab.lab.psrp_session import PsrpSession
    from nestlab.simulator.errors import SessionError

    journal = Journal.load(journal_path)
    pending = journal.pending()
    if dry_run:
        for step in reversed(pending):
            click.echo(f"step {step.index}: {step.what} ({step.status}); would run:")
            for action in step.undo:
                click.echo(f"  {shown(action)}")
        if journal.baseline:
            click.echo(f"then compare with the baseline {journal.baseline}")
        return
    with PsrpSession(list(journal.addresses.values())) as session:
        outcomes = undo_all(session, journal)
        unreachable = [str(o) for o in outcomes if o.unreachable]
        settled, drifted = Settled((), ()), []
        if not unreachable:
            try:
                settled = _settled(session, journal)
                unreachable += settled.unreachable
                drifted = [] if unreachable or journal.baseline else drift(session, journal)
            except SessionError as exc:
                unreachable.append(str(exc))
    for outcome in (*outcomes, *settled.outcomes):
        if not outcome.unreachable:
            click.echo(str(outcome), err=not outcome.undone)
    for line in unreachable:
        click.echo(line, err=True)
    for difference in settled.differences:
        click.echo(f"differs from the baseline {journal.baseline}: {difference}", err=True)
    for difference in drifted:
        click.echo(f"differs from before the run: {difference}", err=True)
    if unreachable:
        raise SystemExit(EXIT_UNREACHABLE)
    if settled.differences or drifted or not all(o.undone for o in (*outcomes, *settled.outcomes)):
        raise SystemExit(EXIT_NOT_UNDONE)
    if not outcomes and not settled.outcomes:
        click.echo(f"{journal_path}: nothing to undo ({len(journal.steps)} step(s), all undone; "
                   "the hosts show what they showed before the run)")


def _settled(session: PsrpSession, journal: Journal) -> Settled:
    """With a baseline capture beside the journal: VMs put back in its power states, and what still
    differs from it (nothing, when the run is fully undone)."""
    from nestlab.lab.journal import Settled

    if not journal.baseline:
        return Settled((), ())
    if not Path(journal.baseline).is_file():
        return Settled((), (f"the capture is gone ({journal.baseline}): cannot compare",))
    from nestlab.lab.journal import settle
    from nestlab.simulator import labfile

    return settle(session, journal, labfile.load(journal.baseline))
