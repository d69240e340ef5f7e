"""Apply a report's resolutions: the same actions a person would take, through the same Session.

Each finding's resolution is a tuple of actions (`simulator.actions`): `Run`s — commands, each
already saying where it executes (a host, or a VM's guest) — a person's `Manual` steps ("enable
VT-x in firmware") and `Note`s after the commands. Commands go through the Session as the
structured Commands they are; nothing is guessed or parsed from text. On a simulated lab a manual
step can be carried out by the fault catalog's simulated action (`heal`), which is how
`nestlab fix`, `nestlab demo` and the BDD suite prove that every resolution heals its symptom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

from nestlab.diagnosis.findings import Finding, Report
from nestlab.simulator.actions import Action, Manual, Note, Run, render
from nestlab.simulator.model import NodeId
from nestlab.simulator.psdata import Result

KIND = {Run: "command", Manual: "manual", Note: "note"}


@dataclass(frozen=True)
class Step:
    """One action of a finding's resolution, with the finding it heals."""

    finding: Finding
    action: Action

    @property
    def kind(self) -> Literal["command", "manual", "note"]:
        return KIND[type(self.action)]

    @property
    def context(self) -> str:
        """Where a person types it: the command's node (its parent for Invoke-Command), else the
        finding's subject."""
        if isinstance(self.action, Run):
            return str(self.action.typed_on)
        node = NodeId.parse(self.finding.subject)  # a person works on the machine that holds it
        holder = node.owner.owner if node.kind == "adapter" else node.owner
        return str(holder or node)

    @property
    def line(self) -> str:
        return render(self.action)

    def __str__(self) -> str:
        prefix = {"command": "", "manual": "(by hand) ", "note": "(then) "}[self.kind]
        return f"[{self.context}] {prefix}{self.line}"


@dataclass(frozen=True)
class Outcome:
    step: Step
    result: Result | None  # None for a manual step
    done: bool
    note: str = ""


def actionable(report: Report) -> list[Finding]:
    """Findings worth fixing, causes first: errors and warnings that nothing else explains."""
    return [f for f in report.findings if f.severity in ("error", "warning") and f.explained_by is None]


def plan(report: Report) -> list[Step]:
    return [Step(finding, action) for finding in actionable(report) for action in finding.resolution]


def apply(
    session,
    steps: list[Step],
    *,
    manual: Callable[[Step], bool] | None = None,
    echo: Callable[[Step], None] | None = None,
    journal=None,
) -> list[Outcome]:
    """Run each command step through the session; hand manual steps to `manual` (or skip them).

    With a `journal` (a real host), each command is journalled with its undo before it is sent
    (`journal.run_journaled`, as the BDD suite's destructive runs are), and one whose undo is not
    known is not run at all: the outcome says so. A host lost between lines leaves every change
    so far in the journal, for `nestlab restore`.
    """
    outcomes = []
    for step in steps:
        if echo:
            echo(step)
        if step.kind == "note":
            outcomes.append(Outcome(step, None, True, "guidance"))
            continue
        if step.kind == "manual":
            done = manual(step) if manual else False
            outcomes.append(Outcome(step, None, done, "carried out (simulated)" if done else "needs a person"))
            continue
        where = step.action.where
        if journal is not None:
            outcomes.append(_journaled(session, journal, step))
            continue
        result = session.run(where.host, step.action.pipeline, vm=where.guest_path)
        outcomes.append(Outcome(step, result, result.ok, "; ".join(e.message for e in result.errors)))
    return outcomes


def _journaled(session, journal, step: Step) -> Outcome:
    from nestlab.lab import journal as journaling
    from nestlab.lab.readback import NoUndo

    action = step.action
    try:  # journalled where it executes: a guest's command with its read-backs in that guest
        result = journaling.run_journaled(session, journal, str(action.where), action.pipeline,
                                          allowed=lambda host: True)  # --yes is the opt-in
    except NoUndo as exc:
        return Outcome(step, None, False, str(exc))
    return Outcome(step, result, result.ok, "; ".join(e.message for e in result.errors))


def by_hand(change: Callable[[str, str], None]) -> Callable[[Step], bool]:
    """A person's action, once per finding: `change(root_cause, subject)` does it.

    Only a simulated target can: its change is the fault catalog's `heal` for that root cause.
    """
    done: set[tuple[str, str]] = set()

    def act(step: Step) -> bool:
        key = (step.finding.root_cause, step.finding.subject)
        if key not in done:
            change(*key)
            done.add(key)
        return True

    return act


def simulated_manual_action(lab) -> Callable[[Step], bool]:
    """On a lab in process, a person's action is the fault catalog's `heal` for that root cause."""
    from nestlab.simulator import faults

    return by_hand(lambda root_cause, subject: faults.get(root_cause).heal(lab, subject))
