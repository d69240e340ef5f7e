"""Faults put into a lab for one test, and taken out again: what the `inject` fixture does.

`inject(root_cause, subject=None)` breaks the lab with the fault catalog's injection (the same
one the BDD suite and `nestlab inject` use) and returns an `Injection`. Its undo restores the
lab's exact state from before (records are frozen, so a graph copy is a snapshot): the
catalog's `heal` is the manual action a person would take, which need not give the same state
back. Whatever a test did not undo is undone when it ends, latest first.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from nestlab.simulator.model import Lab


@dataclass
class Injection:
    """One fault put into the lab: its root cause, the subject a diagnosis must name, its undo."""

    root_cause: str
    subject: str
    injector: "Injector" = field(repr=False)
    before: Any = field(repr=False)  # the lab's graph before this injection
    undone: bool = False

    def undo(self) -> None:
        """Restore the lab as it was before this injection (later injections go with it)."""
        self.injector.undo(self)


@dataclass
class Injector:
    """The `inject` fixture's callable, over one lab (and the lock a served lab shares)."""

    lab: Lab
    lock: Any = field(default_factory=nullcontext)
    injections: list[Injection] = field(default_factory=list)

    def __call__(self, root_cause: str, subject: str | None = None) -> Injection:
        from nestlab.simulator import faults

        fault = faults.get(root_cause)  # an unknown id is BadInput naming the known ones
        with self.lock:
            before = self.lab.graph.copy()
            shown = fault.inject(self.lab, subject)
        injection = Injection(root_cause, shown, self, before)
        self.injections.append(injection)
        return injection

    def undo(self, injection: Injection) -> None:
        if injection.undone:
            return
        index = self.injections.index(injection)
        with self.lock:
            self.lab.graph = injection.before
        for later in self.injections[index:]:
            later.undone = True
        del self.injections[index:]

    def undo_all(self) -> None:
        if self.injections:
            self.undo(self.injections[0])
