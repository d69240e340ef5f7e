"""Apply a report's resolutions: the same lines a person would run, through the same Session.

Each finding's resolution is a list of lines: PowerShell commands (run where the finding's subject
lives: a VM's parent host, the owner of a switch, NAT or disk) or, for physical causes, an
instruction for a person ("enable VT-x in firmware"). Commands go through the Session as
structured Commands (parsed once here); instructions are `manual` steps. On a simulated lab a
manual step can be carried out by the fault catalog's simulated action (`heal`), which is how
`nestlab fix`, `nestlab demo` and the BDD suite prove that every resolution heals its symptom.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Literal

from nestlab.diagnosis.findings import Finding, Report
from nestlab.lab.session import address
from nestlab.simulator.errors import BadInput
from nestlab.simulator.psdata import Result

NATIVE = ("netsh", "bcdedit", "reg", "net")
COMMAND_WORD = re.compile(r"^[A-Za-z]+-[A-Za-z0-9]+$")


@dataclass(frozen=True)
class Step:
    """One line of a resolution: a command, an action for a person, or guidance after the commands.

    A line for a person that comes before any command of its finding is an action ("enable VT-x in
    firmware", "add RAM"); after a command it says how to verify ("check Msinfo32") and is a note.
    """

    finding: Finding
    context: str  # node id where the line runs: a host, or a VM id meaning inside its guest
    line: str
    kind: Literal["command", "manual", "note"]

    def __str__(self) -> str:
        where = f"[{self.context}]"
        prefix = {"command": "", "manual": "(by hand) ", "note": "(then) "}[self.kind]
        return f"{where} {prefix}{self.line}"


@dataclass(frozen=True)
class Outcome:
    step: Step
    result: Result | None  # None for a manual step
    done: bool
    note: str = ""


def is_command(line: str) -> bool:
    word = line.strip().split(" ", 1)[0]
    return bool(COMMAND_WORD.match(word)) or word.lower() in NATIVE


def _parent(node: str) -> str:
    return node.rsplit("/", 1)[0] if "/" in node else node


def context_of(subject: str, line: str) -> str:
    """Where a resolution line runs (the convention of diagnosis.rules.common.on_platform).

    A VM's settings (and its adapters') are changed from its parent host; a switch, NAT or disk
    from inside its owner — or from the owner's parent when the line is wrapped in
    `Invoke-Command -VMName <owner>` (PowerShell Direct into the owner's guest).
    """
    if ":" in subject:
        owner, kind, _ = subject.split(":", 2)
        wrapped = line.lstrip().lower().startswith("invoke-command")
        return _parent(owner) if kind == "adapter" or wrapped else owner
    return _parent(subject)


def actionable(report: Report) -> list[Finding]:
    """Findings worth fixing, causes first: errors and warnings that nothing else explains."""
    return [f for f in report.findings if f.severity in ("error", "warning") and f.explained_by is None]


def plan(report: Report) -> list[Step]:
    steps: list[Step] = []
    for finding in actionable(report):
        commands_seen = False
        for line in finding.resolution:
            command = is_command(line)
            kind = "command" if command else "note" if commands_seen else "manual"
            commands_seen = commands_seen or command
            steps.append(Step(finding, context_of(finding.subject, line), line, kind))
    return steps


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
    from nestlab.simulator import psparse  # PowerShell text → structured Commands (no simulator behaviour)

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
        try:
            pipeline = psparse.parse(step.line)
        except BadInput as exc:
            outcomes.append(Outcome(step, None, False, f"could not parse: {exc}"))
            continue
        if journal is not None:
            outcomes.append(_journaled(session, journal, step, pipeline))
            continue
        host, vm = address(step.context)
        result = session.run(host, pipeline, vm=vm)
        outcomes.append(Outcome(step, result, result.ok, "; ".join(e.message for e in result.errors)))
    return outcomes


def _journaled(session, journal, step: Step, pipeline) -> Outcome:
    from nestlab.lab import journal as journaling
    from nestlab.lab.readback import NoUndo

    host, vm = address(step.context)
    pipeline, vm = journaling.into_guest(pipeline, tuple(vm))
    try:
        result = journaling.run_journaled(session, journal, "/".join((host, *vm)), pipeline,
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
