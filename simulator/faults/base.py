"""What a fault is: an id of spec/root-causes.md plus the functions that break and mend a lab.

A fault never leaves a record in the lab: `inject` changes state (a flag, a file, a switch) and the
simulator's semantics turn that state into the symptom. `symptom` says what a person would see and
`check_symptom` asks the simulated cmdlets whether it shows, so a fault is proved by behaviour,
not by looking for itself. `heal` applies the root cause's resolution: the catalog's commands for
`cmd` faults (through the simulated cmdlets, as on a real host), a simulated manual action for
`state` faults (a firmware switch, a restore from backup, an OS upgrade).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Sequence

from nestlab.simulator.actions import Action, Run, render
from nestlab.simulator.errors import BadInput
from nestlab.simulator.model import Category, Lab
from nestlab.simulator.psdata import Command, Result

Kind = Literal["cmd", "state"]
Script = tuple[Action, ...]  # the Runs that inject or undo a fault (simulator.actions)


@dataclass(frozen=True)
class Symptom:
    """What a person runs, where, and what they see when the fault is present.

    `setup` lines run first in the same context (e.g. turn a VM off so that starting it shows the
    error); the expectation applies to `command`. Exactly one `expect_*` is set:
    `expect_error` a substring of an error message (case-insensitive, the guide's text where it
    has one), `expect_disposition` the last hop's reason of a Test-NetConnection trace,
    `expect_property` (name, value) on an output object, `expect_factor` a factor named by
    Measure-NestedPerformance, `expect_mismatch` two properties of an output object that differ
    (configured vs applied).
    Traces and factors are read from the simulator's own model behind those commands
    (`simulator.network.trace`, `simulator.performance.measure`) with the arguments in `probe`.
    """

    context: str
    command: str | tuple[Command, ...]
    setup: tuple[str, ...] = ()
    expect_error: str | None = None
    expect_disposition: str | None = None
    expect_property: tuple[str, Any] | None = None
    expect_factor: str | None = None
    expect_mismatch: tuple[str, str] | None = None
    probe: tuple[Any, ...] = ()  # traces: (source node, destination, port, protocol); factors: (VM node,)

    def __str__(self) -> str:
        expected = next(
            f"{name}={value!r}"
            for name, value in (
                ("error", self.expect_error),
                ("disposition", self.expect_disposition),
                ("property", self.expect_property),
                ("factor", self.expect_factor),
                ("mismatch", self.expect_mismatch),
            )
            if value is not None
        )
        command = self.command if isinstance(self.command, str) else " | ".join(map(str, self.command))
        return f"[{self.context}] {command} -> {expected}"


@dataclass(frozen=True)
class Fault:
    """One root cause of the catalog with its injection, symptom and resolution.

    `aspect` and `blocking` drive composition (`inject_random`): two faults on related nodes
    (the same VM or host, or one above the other) are not combined when they touch the same
    aspect, or when either one stops everything below its subject (a hypervisor that cannot run).
    """

    id: str
    category: Category
    kind: Kind
    section: str
    description: str
    find: Callable[[Lab], list[str]] = field(repr=False)
    apply: Callable[[Lab, str], None] = field(repr=False)
    shows: Callable[[Lab, str], Symptom] = field(repr=False)
    mend: Callable[[Lab, str], None] = field(repr=False)
    script: Callable[[Lab, str], Script] | None = field(default=None, repr=False)
    unscript: Callable[[Lab, str], Script] | None = field(default=None, repr=False)
    aspect: str = "config"
    blocking: bool = False

    def candidates(self, lab: Lab) -> list[str]:
        """The natural subjects in this lab where the fault can be put, best first."""
        return self.find(lab)

    def inject(self, lab: Lab, subject: str | None = None) -> str:
        """Break the lab's state (in place) at `subject`, or at the first candidate.

        Returns the subject the broken state shows, the one a diagnosis must name: usually the one
        given; a fault that puts a new node in place (dynamic-vhd attaches a converted copy)
        returns that node.
        """
        subject = self._subject(lab, subject)
        shown = self.apply(lab, subject)
        return shown if isinstance(shown, str) else subject

    def symptom(self, lab: Lab, subject: str) -> Symptom:
        return self.shows(lab, subject)

    def heal(self, lab: Lab, subject: str) -> None:
        self.mend(lab, subject)

    def inject_script(self, lab: Lab, subject: str | None = None) -> Script:
        """The actions that inject this fault on a real host; computed on the lab before injection."""
        return self._script(self.script, lab, subject)

    def undo_script(self, lab: Lab, subject: str | None = None) -> Script:
        """The actions that put back what `inject_script` changed; computed on the lab before injection."""
        return self._script(self.unscript, lab, subject)

    def _script(self, make: Callable[[Lab, str], Script] | None, lab: Lab, subject: str | None) -> Script:
        if make is None:
            raise BadInput(f"fault '{self.id}' is a state fault: no PowerShell command can inject it")
        return tuple(make(lab, self._subject(lab, subject)))

    def _subject(self, lab: Lab, subject: str | None) -> str:
        found = self.find(lab)
        if subject is None:
            if not found:
                raise BadInput(f"fault '{self.id}': lab '{lab.name}' has no subject it applies to")
            return found[0]
        if subject not in found:
            where = ", ".join(found) if found else "none"
            raise BadInput(f"fault '{self.id}': '{subject}' is not a subject it applies to in lab '{lab.name}' (candidates: {where})")
        return subject


# ----------------------------------------------------------------------------------------------
# Running symptoms and resolutions through the simulated cmdlets
# ----------------------------------------------------------------------------------------------


def run(lab: Lab, context: str, command: str | Sequence[Command]) -> Result:
    from nestlab.simulator import powershell

    if isinstance(command, str):
        return powershell.run_line(lab, context, command)
    return powershell.run(lab, context, tuple(command))


def run_all(lab: Lab, actions: Script) -> None:
    """Run a script's commands in order; one that fails is a wrong resolution, so it raises."""
    for action in actions:
        if not isinstance(action, Run):
            continue
        result = run(lab, str(action.where), action.pipeline)
        if not result.ok:
            error = result.first_error()
            raise RuntimeError(f"[{action.where}] {render(action)}: {error.message if error else 'failed'}")


def check_symptom(lab: Lab, symptom: Symptom) -> bool:
    """Does the symptom show? Runs on a copy, so looking never changes the lab."""
    scratch = lab.copy()
    for line in symptom.setup:
        run(scratch, symptom.context, line)
    if symptom.expect_disposition is not None:
        from nestlab.simulator import network

        return network.trace(scratch, *symptom.probe).disposition == symptom.expect_disposition
    if symptom.expect_factor is not None:
        from nestlab.simulator import performance

        return any(f.name == symptom.expect_factor for f in performance.measure(scratch, symptom.probe[0]).factors)
    result = run(scratch, symptom.context, symptom.command)
    if symptom.expect_error is not None:
        wanted = symptom.expect_error.lower()
        # native commands (net, netsh, bcdedit) print their errors as text lines
        shown = [error.message for error in result.errors] + ["\n".join(o for o in result.output if isinstance(o, str))]
        return any(wanted in text.lower() for text in shown)
    if symptom.expect_mismatch is not None:
        first, second = symptom.expect_mismatch
        return any(_prop(obj, first) != _prop(obj, second) for obj in result.output)
    if symptom.expect_property is not None:
        name, value = symptom.expect_property
        return any(_has(obj, name, value) for obj in result.output)
    raise ValueError(f"symptom without an expectation: {symptom}")


def _prop(obj: Any, name: str) -> Any:
    try:
        return obj[name]
    except (KeyError, TypeError):
        return getattr(obj, name.lower(), None)


def _has(obj: Any, name: str, value: Any) -> bool:
    actual = _prop(obj, name)
    return actual == value or (actual is not None and str(actual) == str(value))
