"""The journal of a destructive run: every fault put into a real host, with how to take it out again.

A fault is injected on a real (or served) host with the catalog's actions
(`Fault.inject_script`: `simulator.actions.Run`s). Before the first one runs, the journal file
holds, for that step: the host, the actions to inject, the actions that undo them
(`Fault.undo_script`, computed on the lab before injection; stored structured, with their text
beside them for people, and never parsed back), and read-back checks with the value each one showed *before* the change. The
file is rewritten atomically (temp file, fsync, os.replace) at every change of a step's status, so
whatever kills the run — a failed scenario, Ctrl-C, SIGTERM, kill -9 — leaves a journal that says
exactly what may still be changed on which host.

Undo runs the steps in reverse order. A step is *undone* only when every read-back shows its
before value again; when they already do, nothing is run (so undoing twice is harmless, and a step
that crashed before changing anything costs nothing). `nestlab restore JOURNAL` is the same undo,
started from the file.

A read-back is the Get-* command that shows what a line changes, and the properties to compare
(`lab.readback`). A line whose effect no read-back can show is refused before anything is
written: a change to a real host that cannot be verified is not made.

The other changes a scenario makes (an engineer's `Stop-VM`, a resolution's `Set-VMProcessor`)
are journalled the same way by `run_journaled`, one command per step, with an undo computed from
what its read-backs showed before it (`lab.readback.INVERSES`, by cmdlet: Stop-VM → Start-VM when it ran,
Set-X -P v → Set-X -P <before> …); a command with no known undo is refused, unrun (NoUndo).
A reboot's undo is nothing: what it applied is checked by the other steps, and the baseline
capture (lab.capture.settle) starts the VMs it left off.

The journal never holds a password: hosts are stored as addresses (server, port, transport, auth,
user), errors are the hosts' own messages or PsrpSession's (which scrubs the password).
"""

from __future__ import annotations

import json
import os
import signal
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from nestlab.lab.psrp_session import HostAddress
from nestlab.lab.readback import Check, checks_for, repairs, undo_of
from nestlab.lab.session import Session, address
from nestlab.simulator import actions
from nestlab.simulator.actions import Run, render
from nestlab.simulator.errors import BadInput
from nestlab.simulator.labfile import write_atomic
from nestlab.simulator.model import Lab, NodeId
from nestlab.simulator.psdata import Command, Result

FORMAT = "nestlab-journal"
JOURNAL_DIR = Path(".nestlab") / "journals"  # where destructive runs and `nestlab fix` write theirs
VERSION = 2  # 2: lines are actions (simulator.actions.to_data), no longer PowerShell text
WRITTEN, APPLIED, APPLY_FAILED, UNDONE, UNDO_FAILED = "written", "applied", "apply-failed", "undone", "undo-failed"
UNDOING, UNDO_RAN = "undoing", "undo-ran"  # the undo lines are running / have run; power repairs may follow
STATUSES = (WRITTEN, APPLIED, APPLY_FAILED, UNDOING, UNDO_RAN, UNDONE, UNDO_FAILED)
REPAIR_ROUNDS = 3  # a VM started by a repair shows its own VMs only then: outer, then inner, then theirs


# ----------------------------------------------------------------------------------------------
# the journal file
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One injected fault: what went in, how it comes out, how to tell, and how far it got."""

    index: int
    fault: str
    subject: str
    host: str
    inject: tuple[Run, ...]
    undo: tuple[Run, ...]
    checks: tuple[Check, ...]
    status: str = WRITTEN
    error: str = ""
    repairs: tuple[Run, ...] = ()  # Start-VM / Stop-VM lines run after the undo (readback.repairs)
    note: str = ""  # what a step with no lines of its own is for (a move back to the baseline)

    @property
    def pending(self) -> bool:
        """Whether the host may still carry this step's change."""
        return self.status != UNDONE

    @property
    def what(self) -> str:
        """`extensions-not-exposed on HV01/L1` for a fault; `[HV01] Stop-VM -Name L1` for a command."""
        if self.fault:
            return f"{self.fault} on {self.subject}"
        return f"[{self.subject}] {render(self.inject[0])}" if self.inject else f"[{self.subject}] {self.note}"


@dataclass
class Journal:
    """A journal file and its steps; every change is written through to the file at once."""

    path: Path
    addresses: dict[str, HostAddress]
    target: str = ""
    created: str = ""
    steps: list[Step] = field(default_factory=list)
    baseline: str = ""  # a capture (lab file) of the hosts before the run, when one was taken

    @classmethod
    def create(cls, path: Path, addresses: Sequence[HostAddress], *, target: str = "", baseline: str = "") -> "Journal":
        created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        journal = cls(Path(path), {a.name: a for a in addresses}, target, created, baseline=baseline)
        journal.save()
        return journal

    @classmethod
    def load(cls, path: Path) -> "Journal":
        return from_data(Path(path), _read(Path(path)))

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        self.save()
        return step

    def update(self, step: Step, **changes: Any) -> Step:
        changed = replace(step, **changes)
        self.steps[self.steps.index(step)] = changed
        self.save()
        return changed

    def pending(self) -> list[Step]:
        return [s for s in self.steps if s.pending]

    def save(self) -> None:
        write_atomic(self.path, json.dumps(to_data(self), indent=2) + "\n")
        _fsync_directory(self.path.parent)


def _fsync_directory(folder: Path) -> None:
    """os.replace is durable only once the folder's entry is on disk too (POSIX)."""
    try:
        fd = os.open(folder or Path("."), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def to_data(journal: Journal) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "target": journal.target,
        "created": journal.created,
        "baseline": journal.baseline,
        "hosts": [_address_data(a) for a in journal.addresses.values()],
        "steps": [
            {**{k: v for k, v in asdict(s).items() if k not in ("inject", "undo", "checks", "repairs")},
             "inject": [actions.to_data(a) for a in s.inject],
             "undo": [actions.to_data(a) for a in s.undo],
             "repairs": [actions.to_data(a) for a in s.repairs],
             "checks": [_check_data(c) for c in s.checks]}
            for s in journal.steps
        ],
    }


def _check_data(check: Check) -> dict[str, Any]:
    """A read-back: `command` its text for people, `pipeline` what is sent (read back structured)."""
    return {"context": check.context, "command": check.text, "pipeline": actions.pipeline_data(check.command),
            "properties": list(check.properties), "before": check.before, "after": check.after}


ADDRESS_FIELDS = ("name", "server", "port", "user", "transport", "auth", "cert_validation")


def _address_data(address: HostAddress) -> dict[str, Any]:
    return {name: getattr(address, name) for name in ADDRESS_FIELDS}


def _read(path: Path) -> Any:
    if not path.is_file():
        raise BadInput(f"{path}: no such journal")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{path}: not a nestlab journal (not JSON: {exc})") from None


def from_data(path: Path, data: Any) -> Journal:
    """A journal read back; anything malformed is one BadInput line naming the file and the place."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BadInput(f"{path}: not a nestlab journal (no \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise BadInput(f"{path}: journal version {data.get('version')!r} is not {VERSION}")
    try:
        addresses = [HostAddress(**{k: h[k] for k in ADDRESS_FIELDS if k in h}) for h in data["hosts"]]
        steps = [_step(s) for s in data["steps"]]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise BadInput(f"{path}: malformed journal: {type(exc).__name__}: {exc}") from None
    except BadInput as exc:
        raise BadInput(f"{path}: malformed journal: {exc}") from None
    hosts = {a.name: a for a in addresses}
    for step in steps:
        if step.host not in hosts:
            raise BadInput(f"{path}: steps[{step.index}]: host {step.host!r} is not in the journal's hosts")
    return Journal(path, hosts, str(data.get("target", "")), str(data.get("created", "")), steps,
                   baseline=str(data.get("baseline") or ""))


def _step(d: dict[str, Any]) -> Step:
    if d["status"] not in STATUSES:
        raise ValueError(f"unknown status {d['status']!r}")
    return Step(
        index=int(d["index"]),
        fault=str(d["fault"]),
        subject=str(d["subject"]),
        host=str(d["host"]),
        inject=_runs(d["inject"]),
        undo=_runs(d["undo"]),
        checks=tuple(Check(str(c["context"]), actions.pipeline_from_data(c["pipeline"]), tuple(c["properties"]),
                           c.get("before"), c.get("after"))
                     for c in d["checks"]),
        status=d["status"],
        error=str(d.get("error", "")),
        repairs=_runs(d.get("repairs", ())),
        note=str(d.get("note", "")),
    )


def _runs(items: Any) -> tuple[Run, ...]:
    runs = tuple(actions.from_data(item) for item in items)
    if not all(isinstance(a, Run) for a in runs):
        raise ValueError("a journal line is not a command")
    return runs


# ----------------------------------------------------------------------------------------------
# injecting and undoing
# ----------------------------------------------------------------------------------------------


class LineFailed(RuntimeError):
    """A line of a script failed on the host; its message is the host's own error text."""


def run_line(session: Session, action: Run) -> None:
    """One command of a script, sent where it executes (a guest: the session enters it)."""
    result = session.run(action.where.host, action.pipeline, vm=action.where.guest_path)
    if not result.ok:
        error = result.first_error()
        raise LineFailed(f"[{action.typed_on}] {render(action)}: {error.message if error else 'failed'}")


def inject(
    session: Session, journal: Journal, lab: Lab, fault_id: str, subject: str | None = None,
    *, allowed: Callable[[str], bool] = lambda host: False,
) -> Step:
    """Journal, then inject, one `cmd` fault through the session; `lab` is what the host shows now.

    `allowed(host)` is the safety gate (`--allow-destructive` and the inventory's `destructive:`);
    a host it refuses gets nothing, not even a read. The step is on disk before the first line runs.
    """
    from nestlab.simulator import faults

    fault = faults.get(fault_id)
    if fault.kind != "cmd":
        raise BadInput(f"fault '{fault_id}' needs a physical change (inject: state): it cannot be injected on a real host")
    subject = subject or (fault.candidates(lab) or [None])[0]
    script = fault.inject_script(lab, subject)
    undo = fault.undo_script(lab, subject)
    hosts = {a.where.host for a in [*script, *undo]}
    refused = sorted(h for h in hosts if not allowed(h))
    if refused:
        raise BadInput(f"{', '.join(refused)}: read-only (a fault is injected only with --allow-destructive "
                       "on a host whose inventory entry says destructive: true)")
    host = script[0].where.host  # the catalog's scripts each run on one host
    checks = tuple(replace(c, before=c.read(session)) for c in checks_for([*script, *undo]))
    step = journal.add(Step(len(journal.steps), fault_id, str(subject), host, tuple(script), tuple(undo), checks))
    try:
        for action in script:
            run_line(session, action)
    except BaseException as exc:
        journal.update(step, status=APPLY_FAILED, error=_one_line(exc))
        raise
    return journal.update(step, status=APPLIED)


def run_journaled(
    session: Session, journal: Journal, context: str, pipeline: Sequence[Command],
    *, allowed: Callable[[str], bool] = lambda host: False,
) -> Result:
    """One state-changing command a scenario runs (an engineer's command, a resolution line), journalled
    with the undo its read-backs allow; NoUndo (nothing run) when none is known. Its Result is returned
    whether it succeeded or not: a scenario may expect it to fail."""
    host, vm = address(context)
    if not allowed(host):
        raise BadInput(f"{host}: read-only (a change is made only with --allow-destructive "
                       "on a host whose inventory entry says destructive: true)")
    checks, undo = undo_of(context, pipeline)
    checks = [replace(c, before=c.read(session)) for c in checks]
    lines = undo(checks)
    step = journal.add(Step(len(journal.steps), "", context, host, (actions.run(context, *pipeline),), tuple(lines),
                            tuple(checks) if lines else ()))
    try:
        result = session.run(host, pipeline, vm=vm)
    except BaseException as exc:
        journal.update(step, status=APPLY_FAILED, error=_one_line(exc))
        raise
    journal.update(step, status=APPLIED if result.ok else APPLY_FAILED,
                   error="" if result.ok else "; ".join(e.message for e in result.errors)[:300])
    return result


@dataclass(frozen=True)
class Outcome:
    """What undoing one step did: ran its lines or found it already undone; each check's verdict."""

    step: Step
    ran: bool
    errors: tuple[str, ...] = ()
    unreachable: bool = False  # the host could not be reached: nothing was read or run

    @property
    def undone(self) -> bool:
        return self.step.status == UNDONE

    def __str__(self) -> str:
        s = self.step
        head = f"step {s.index}: {s.what}"
        if self.undone:
            how = "undone" if self.ran else "already undone (read-backs show the values from before)"
            return f"{head}: {how}; {len(s.checks)} read-back(s) equal"
        wrong = [f"{c.describe()} shows {c.after!r}, was {c.before!r}" for c in s.checks if not c.same]
        return f"{head}: NOT undone: " + "; ".join([*self.errors, *wrong])


def undo_step(session: Session, journal: Journal, step: Step) -> Outcome:
    """Idempotent: when the read-backs already show the before values, nothing is run.

    Otherwise the step is marked `undoing` (on disk) while its undo lines run and `undo-ran` once
    they have, so a run killed after them does not run them again; then, while Get-VM read-backs
    still differ, the power repairs (readback.repairs) are journalled and run. Only read-backs that
    all show their before values make the step `undone`.
    """
    if step.status == UNDONE:
        return Outcome(step, ran=False)
    checks = _read_all(session, step)
    if all(c.same for c in checks):
        return Outcome(journal.update(step, status=UNDONE, checks=checks), ran=False)
    errors: list[str] = []
    ran = False
    if step.status != UNDO_RAN:
        step = journal.update(step, status=UNDOING, checks=checks)
        errors += _run_lines(session, step.undo)  # go on after a failed line: the checks judge
        step = journal.update(step, status=UNDO_RAN)
        ran = bool(step.undo)
        checks = _read_all(session, step)
    cycled: set[tuple[str, str]] = set()
    for _ in range(REPAIR_ROUNDS):
        lines = repairs(checks, cycled) if not all(c.same for c in checks) else []
        if not lines:
            break
        step = journal.update(step, checks=checks, repairs=step.repairs + tuple(lines))
        errors += _run_lines(session, lines)
        ran = True
        checks = _read_all(session, step)
    status = UNDONE if all(c.same for c in checks) else UNDO_FAILED
    error = "" if status == UNDONE else "; ".join(errors) or "read-backs differ from the values before"
    return Outcome(journal.update(step, status=status, checks=checks, error=error), ran=ran, errors=tuple(errors))


def _run_lines(session: Session, lines: Sequence[Run]) -> list[str]:
    errors = []
    for action in lines:
        try:
            run_line(session, action)
        except LineFailed as exc:
            errors.append(str(exc))
    return errors


def _read_all(session: Session, step: Step) -> tuple[Check, ...]:
    return tuple(replace(c, after=c.read(session)) for c in step.checks)


def _verify(session: Session, step: Step) -> bool:
    return all(c.same for c in _read_all(session, step))


def undo_all(session: Session, journal: Journal) -> list[Outcome]:
    """Every pending step, newest first; a host that is gone stops only its own steps."""
    from nestlab.simulator.errors import SessionError

    outcomes = []
    for step in reversed(journal.pending()):
        try:
            outcomes.append(undo_step(session, journal, step))
        except SessionError as exc:
            step = journal.update(step, status=UNDO_FAILED, error=str(exc))
            outcomes.append(Outcome(step, ran=False, errors=(str(exc),), unreachable=True))
    return [_looked_at_again(session, journal, o) for o in outcomes]


def _looked_at_again(session: Session, journal: Journal, outcome: Outcome) -> Outcome:
    """A step whose before values were a moment between older steps (a VM's memory while an older
    step's Startup was still in place) can only show them once those steps are undone too: after
    the whole pass, read it once more; nothing is run."""
    if outcome.undone or outcome.unreachable:
        return outcome
    from nestlab.simulator.errors import SessionError

    step = next(s for s in journal.steps if s.index == outcome.step.index)
    try:
        checks = _read_all(session, step)
    except SessionError:
        return outcome
    if not all(c.same for c in checks):
        return outcome
    return Outcome(journal.update(step, status=UNDONE, checks=checks, error=""), ran=outcome.ran)


# ----------------------------------------------------------------------------------------------
# the baseline: a capture from before the run, and the journal's own before values
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settled:
    """What comparing with a baseline capture did: the moves it journalled and ran, what still differs."""

    outcomes: tuple[Outcome, ...]
    differences: tuple[str, ...]
    unreachable: tuple[str, ...] = ()


def settle(session: Session, journal: Journal, baseline: Lab, *,
           allowed: Callable[[str], bool] = lambda host: True, rounds: int = 4) -> Settled:
    """Put every VM back in the power state (and, running, the memory) the baseline capture shows,
    each move a journalled step first, and say what still differs from the capture.

    A move is a step with no lines of its own whose read-back holds the baseline's value: undoing
    it (`undo_step`) runs the power repair that gives that value, and a run killed in the middle
    leaves it pending for `nestlab restore`. Guests are only seen once they run again, so this
    looks again after each round, outermost VMs first. Hosts `allowed` refuses get no moves.
    """
    from nestlab.diagnosis.collect import Walk, collect
    from nestlab.lab.capture import differences

    outcomes: list[Outcome] = []
    for round_ in range(rounds + 1):
        walk = Walk()
        now = collect(session, walk=walk).lab
        if walk.unreachable:
            return Settled(tuple(outcomes), (), tuple(why for _, why in walk.unreachable))
        moves = [m for m in _moves(baseline, now) if allowed(address(m.context)[0])]
        if not moves or round_ == rounds:
            return Settled(tuple(outcomes), tuple(differences(baseline, now)))
        for check in moves:
            host = address(check.context)[0]
            note = "back to the baseline: " + ", ".join(
                f"{p} {v}" for p, v in zip(check.properties, check.before[0])) + f" for {actions.q(check.command[0].param('Name'))}"
            step = journal.add(Step(len(journal.steps), "", check.context, host, (), (), (check,), note=note))
            outcomes.append(undo_step(session, journal, step))
    raise AssertionError("unreachable: the last round returns")


def _moves(baseline: Lab, now: Lab) -> list[Check]:
    """A Get-VM read-back holding the baseline's value, for each VM whose power or applied memory
    differs from it: starts outermost first, stops innermost first. A running VM's memory is put
    back by a power cycle only when its configured Startup already is the baseline's."""
    moves = []
    for vm in baseline.all_vms():
        if vm not in now or baseline[vm].state not in ("Running", "Off"):
            continue
        want, have = baseline[vm], now[vm]
        configured = have.memory.pending_startup_gb if have.memory.pending_startup_gb is not None else have.memory.startup_gb
        memory_differs = (want.state == have.state == "Running" and not want.memory.dynamic
                          and have.memory != want.memory and configured == want.memory.startup_gb)
        if have.state == want.state and not memory_differs:
            continue
        node = NodeId.parse(vm)
        owner, command = str(node.owner), (actions.cmd("Get-VM", Name=node.name),)
        if want.state == "Running" and not want.memory.dynamic:
            check = Check(owner, command, ("State", "MemoryAssigned"), before=[["Running", int(want.memory.startup_gb * 2**30)]])
        else:
            check = Check(owner, command, ("State",), before=[[want.state]])
        moves.append((node.depth * (1 if want.state == "Running" else -1), check))
    return [check for _, check in sorted(moves, key=lambda m: m[0])]


def drift(session: Session, journal: Journal) -> list[str]:
    """Every value the journal's steps read back that does not show what it showed before the
    first step that read it: the journal's own baseline, for a journal without a capture. Coarse:
    a value two steps read by different commands (`-Name` given or not) is compared from the
    later one's before value, so a line here means "look", not certainly "changed". Nothing is run."""
    first: dict[tuple[str, str, tuple[str, ...]], Check] = {}
    for step in journal.steps:
        for check in step.checks:
            first.setdefault((check.context, check.command, check.properties), check)
    out = []
    for check in first.values():
        now = check.read(session)
        if now != check.before:
            out.append(f"{check.describe()} shows {now!r}, was {check.before!r} before the run")
    return out


@contextmanager
def undone_on_exit(session: Session, journal: Journal) -> Iterator[Journal]:
    """Run a scenario; whatever happens (failure, Ctrl-C, SIGTERM), undo its steps afterwards.

    SIGTERM is turned into KeyboardInterrupt so the `finally` runs; while undoing, Ctrl-C is held
    back until the undo is done (a second Ctrl-C must not leave a host half restored).
    """
    with _sigterm_interrupts():
        try:
            yield journal
        finally:
            with interrupts_held():
                undo_all(session, journal)


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def interrupts_held() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: held.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if held:
            raise KeyboardInterrupt(f"signal {held[0]} (held back until the undo finished)")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
