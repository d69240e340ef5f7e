"""The same reads, answered once: leading read-only stages of a pipeline reused while the lab stands still.

A collection asks `Get-VMHardDiskDrive -VMName * | Get-VHD` three times per platform (the VHDs,
their parents, their grandparents: `diagnosis.probes`), each time rebuilding the same objects.
`powershell.run` keeps the output of each leading stage that only reads (READ_ONLY) under the
place and the exact stages that produced it, and a later pipeline that starts with the same
stages starts from there. What a pipeline returns does not change, only how often it is computed:

* kept in `Lab.memo`, so any change of the lab forgets everything;
* only objects nobody outside the pipeline holds are kept: a stage's output that reaches the
  caller (passed through, or nested in what is returned, as Select-Object -ExpandProperty does)
  is not kept, and a kept output that reaches a caller later is forgotten at once — scripts may
  change the objects they hold (`$o.Name = …`), and a kept object must not see that;
* a few hundred prefixes per lab state at most (a batch's worth, not a whole collection), and
  none left over from an earlier session (`forget`: each SimSession starts with none kept).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from typing import Any, Iterable, NamedTuple

from nestlab.simulator.kept import Kept, KeptByIdentity
from nestlab.simulator.model import Lab
from nestlab.simulator.psdata import Command, ErrorRecord, PSEnum, PSObject

# the stages a collection repeats (a first stage no later pipeline repeats only costs the bookkeeping)
READ_ONLY = frozenset(("get-vmharddiskdrive", "get-vhd", "select-object", "where-object"))
KEPT = 256  # prefixes per lab state


class Seen(NamedTuple):
    """A kept prefix's output. A NamedTuple, not a frozen dataclass: one is made for every fresh
    output kept (~900 per diagnosis of 200 VMs), and a tuple is made in one step where a frozen
    dataclass's __init__ sets each field through object.__setattr__."""

    objects: tuple[Any, ...]
    errors: tuple[ErrorRecord, ...]
    reach: frozenset[int]  # ids of the objects and of every mutable value inside them


class RepeatedReads:
    """One pipeline's view of the kept prefixes: what it may start from, and what it leaves."""

    def __init__(self, lab: Lab, context: str, pipeline: tuple[Command, ...], entries: list[Any]) -> None:
        self.lab = lab
        self.keys = _prefix_keys(context, pipeline, entries)
        self.last = len(pipeline) - 1
        self.fresh: list[tuple[tuple, tuple[Any, ...], tuple[ErrorRecord, ...]]] = []
        self.started: Seen | None = None

    @classmethod
    def of(cls, lab: Lab, context: str, pipeline: tuple[Command, ...], entries: list[Any]) -> "RepeatedReads | None":
        """The view for a pipeline that starts with a read-only stage; None (nothing to do) for any other."""
        return cls(lab, context, pipeline, entries) if cls.applies(entries) else None

    @staticmethod
    def applies(entries: Any) -> bool:
        """Whether a pipeline of these cmdlets starts with a read-only stage (has prefixes to keep)."""
        return bool(entries) and entries[0].name.lower() in READ_ONLY

    def longest_seen(self) -> tuple[int, Seen | None]:
        """(stages already done, their output) for the longest kept prefix of this pipeline."""
        if not self.keys:
            return 0, None
        kept = _kept(self.lab)
        for stage in range(len(self.keys), 0, -1):
            seen = kept.get(self.keys[stage - 1])
            if seen is not None:
                self.started = seen
                return stage, seen
        return 0, None

    def ran(self, stage: int, objects: list[Any], errors: list[ErrorRecord]) -> None:
        if stage < len(self.keys) and stage < self.last:  # the last stage's output is the caller's
            self.fresh.append((self.keys[stage], tuple(objects), tuple(errors)))

    def handed_out(self, objects: list[Any]) -> None:
        """The pipeline returns `objects`: keep the fresh outputs the caller cannot reach, drop kept ones it can."""
        if not self.fresh and self.started is None:
            return
        handed = reach(objects)
        kept = _kept(self.lab)
        if self.started is not None and not handed.isdisjoint(self.started.reach):
            for key in [k for k, seen in kept.items() if not handed.isdisjoint(seen.reach)]:
                del kept[key]
        for key, output, errors in self.fresh:
            inside = reach(output)
            if handed.isdisjoint(inside):
                kept[key] = Seen(output, errors, inside)
                if len(kept) > KEPT:
                    del kept[next(iter(kept))]  # the oldest


def reach(values: Iterable[Any]) -> frozenset[int]:
    """Ids of every object, list and dict in `values`, at any depth (what a holder could change)."""
    found: set[int] = set()
    stack = list(values)
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind in _UNCHANGEABLE:
            continue
        if kind is PSObject or kind is list or kind is dict or isinstance(value, (PSObject, list, dict)):
            if id(value) not in found:
                found.add(id(value))
                items = value._props.values() if isinstance(value, PSObject) else (
                    value.values() if isinstance(value, dict) else value)
                stack.extend(v for v in items if type(v) not in _UNCHANGEABLE)
        elif kind is tuple:
            stack.extend(value)
        else:
            inner = getattr(value, "obj", None)  # cmdlets.network.Nested: a str that holds its object
            if isinstance(inner, PSObject):
                stack.append(inner)
    return frozenset(found)


_UNCHANGEABLE = frozenset((str, int, float, bool, type(None), PSEnum, datetime, timedelta))


def _prefix_keys(context: str, pipeline: tuple[Command, ...], entries: list[Any]) -> list[tuple]:
    """A key for each leading stage of the pipeline that only reads (none past an unhashable value):
    the place and a token that stands for the stages so far (`_prefix_tokens`)."""
    return [(context, token) for token in _prefix_tokens(pipeline, entries)]


def _prefix_tokens(pipeline: tuple[Command, ...], entries: list[Any]) -> tuple[int, ...]:
    """One token per leading read-only prefix of the pipeline, equal for equal prefixes.

    Worked out once per pipeline object (the collector sends the same probe tuples again and
    again; the pipeline is kept with its tokens, so its id stays its own) instead of hashing
    every stage's parameters on each lookup. Tokens are never reused: a prefix forgotten when the
    table is full gets a new one, and what was kept under the old one is only not found again."""
    plan = _PLANS.get(pipeline)
    if plan is not None:
        return plan
    tokens = []
    so_far: tuple = ()
    for entry, command in zip(entries, pipeline):
        if entry.name.lower() not in READ_ONLY:
            break
        # the value's type is part of the key: True == 1, but a switch is not the number 1
        so_far = (*so_far, (command.name, tuple((k, type(v), v) for k, v in command.parameters),
                            tuple((type(a), a) for a in command.arguments)))
        try:
            token = _TOKENS.get(so_far)
        except TypeError:
            break
        if token is None:
            token = _TOKENS.keep(so_far, next(_NEXT_TOKEN))
        tokens.append(token)
    return _PLANS.keep(pipeline, tuple(tokens))


_PREFIXES_KEPT = 4096  # pipelines made per call (a path each) must not grow them without bound
_TOKENS: Kept[int] = Kept(_PREFIXES_KEPT)  # a prefix of stages (name, typed parameters, typed arguments) -> its token
_NEXT_TOKEN = count()
_PLANS: KeptByIdentity[tuple[int, ...]] = KeptByIdentity(_PREFIXES_KEPT)  # pipeline -> its tokens


def _kept(lab: Lab) -> dict[tuple, Seen]:
    return lab.memo(("repeated reads",), dict)


def forget(lab: Lab) -> None:
    """Drop every prefix kept for `lab`: what a new SimSession does, so that no diagnosis starts
    from what an earlier one left. A small lab's whole collection fits in KEPT, and a second
    diagnosis of it built a seventh of the first one's VHD objects (1 host of 100 VMs: 52 against
    358) — a best-of-N bench flattered at small sizes only (stop 22), while a large lab's kept
    prefixes are long gone by the time it is asked again."""
    _kept(lab).clear()
