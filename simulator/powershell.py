"""The simulated PowerShell surface: run a pipeline of cmdlets on a host or inside a VM's guest.

`run(lab, context, pipeline)` is what every Session reaches: context 'HV01' runs on the host,
'HV01/L1' inside L1's guest (PowerShell Direct, which needs the VM running at every level).
Commands are resolved before anything runs, as PowerShell does, so an unknown name fails the
whole pipeline with CommandNotFoundException; each stage's output objects are the next stage's
input. Cmdlets live in `simulator.cmdlets` (one module per area), registered by their real names.
The dependency is one way: cmdlets import `cmdlets.base` (the table, Ctx, command_not_found), never
this module; Invoke-Command reaches back here only through `Ctx.run_nested`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from nestlab.simulator import behaviour, psparse
from nestlab.simulator.cmdlets import TABLE
from nestlab.simulator.cmdlets.base import Call, Cmdlet, Ctx, Terminating, bind, binding, command_not_found, quiet_without_input
from nestlab.simulator.errors import BadInput
from nestlab.simulator.kept import KeptByIdentity
from nestlab.simulator.model import Lab
from nestlab.simulator.psdata import Command, ErrorRecord, Result
from nestlab.simulator.repeated_reads import RepeatedReads


def run(lab: Lab, context: str, pipeline: tuple[Command, ...], *, request: Any = None,
        plan: "_Plan | None" = None) -> Result:
    """Run one pipeline where `context` says; never raises for PowerShell errors (they are in Result).

    `request` is the session's Request this answers, stamped on the Result as it is made
    (`Result.request`; SimSession), so that no copy is made only to stamp it. `plan` is
    `plan_of(pipeline)`, for a caller that runs one pipeline in many places (a fan-out)."""
    places = lab.memo(_PLACES, dict)
    runs = places.get(context)
    if runs is None:
        runs = places[context] = _runs_commands(lab, context)
    if not runs:
        return Result((), (guest_unreachable(lab[context].name),), True, request=request)
    if plan is None:
        kept = _PLAN_IDS.get(id(pipeline))  # plan_of(pipeline), without its two calls (every run asks it)
        plan = kept[1] if kept is not None and kept[0] is pipeline else plan_of(pipeline)
    if plan.missing is not None:
        return Result((), (command_not_found(plan.missing),), True, request=request)
    ctx = Ctx(lab, context, None, run)
    reads = RepeatedReads(lab, context, pipeline, plan.entries) if plan.reads else None
    objects: list = []
    done = 0
    if reads is not None:  # it may start from a kept prefix's output
        done, seen = reads.longest_seen()
        if seen is not None:
            objects, ctx.errors[:] = list(seen.objects), list(seen.errors)
    entries, bound, quiet, errors = plan.entries, plan.bound, plan.quiet, ctx.errors
    try:
        for stage in range(done, len(pipeline)):
            if not objects and stage >= quiet:
                break  # nothing reaches the stages left, and none of them runs without input
            entry, named = entries[stage], bound[stage]
            call = bind(entry, pipeline[stage], objects) if named is None else \
                Call(entry, dict(named[0]), named[1], objects)
            objects = list(entry.func(ctx, call) or ())
            if reads is not None:
                reads.ran(stage, objects, errors)
    except Terminating as stop:
        return Result((), (*errors, stop.record), True, request=request)
    if reads is not None:
        reads.handed_out(objects)  # keeps the outputs its caller cannot reach
    if not objects and not errors and request is None:
        return NOTHING
    return _answer(tuple(objects), tuple(errors), request)


def _answer(output: tuple[Any, ...], errors: tuple[ErrorRecord, ...], request: Any) -> Result:
    """Result(output, errors, request=request), its fields set at once (as clixml's copy makes
    one): every pipeline that writes something makes one, and Result's __init__ is a Python
    call with keywords and defaults."""
    made = object.__new__(Result)
    made.__dict__.update(output=output, errors=errors, failed=False, request=request, guests=())
    return made


NOTHING = Result()
"""The answer of a pipeline that wrote nothing, for no request (a fan-out's guests, Invoke-Command):
one shared record, as a Result is frozen; about half the probes of a guest without VMs or disks
answer it."""


class _Plan(NamedTuple):
    """What `run` works out once per pipeline object (the collector sends the same probe tuples
    again and again), not once per run: each stage's cmdlet and binding, whether repeated reads
    apply, and from which stage on an empty input ends the pipeline."""

    missing: str | None  # the first command name with no cmdlet (CommandNotFoundException), if any
    entries: tuple[Cmdlet, ...]
    bound: tuple[tuple[dict[str, Any], tuple[Any, ...]] | None, ...]  # None: does not bind (bound as it runs)
    reads: bool  # more than one stage, and starts with a read-only stage (RepeatedReads)
    quiet: int  # every stage from here on (never the first) is quiet without input (`quiet_without_input`)


def plan_of(pipeline: tuple[Command, ...]) -> _Plan:
    """The pipeline's plan, worked out once per pipeline object (`_PLANS`)."""
    plan = _PLANS.get(pipeline)
    if plan is None:
        plan = _PLANS.keep(pipeline, _plan(pipeline))
    return plan


def _plan(pipeline: tuple[Command, ...]) -> _Plan:
    entries = []
    for command in pipeline:
        entry = TABLE.get(command.name.lower())
        if entry is None:
            return _Plan(command.name, (), (), False, 0)
        entries.append(entry)
    bound = []
    for entry, command in zip(entries, pipeline):
        try:
            bound.append(binding(entry, command, kept=False))  # kept with the plan
        except Terminating:
            bound.append(None)  # fails where it stands, after the stages before it ran (as before)
    quiet = len(pipeline)
    while quiet > 1 and bound[quiet - 1] is not None and quiet_without_input(entries[quiet - 1], bound[quiet - 1][0]):
        quiet -= 1
    # a one-stage pipeline keeps nothing (its only output is the caller's), and what it would start
    # from it computes afresh just as cheaply: no RepeatedReads for it
    reads = len(pipeline) > 1 and RepeatedReads.applies(entries)
    return _Plan(None, tuple(entries), tuple(bound), reads, quiet)


_PLANS: KeptByIdentity[_Plan] = KeptByIdentity(4096)  # pipeline -> its plan; pipelines made per call must not grow it
_PLAN_IDS = _PLANS.by_id  # what `run` reads it through: id -> (pipeline, plan)


_PLACES = ("powershell: places that run commands",)  # Lab.memo key: context -> runs commands now


def runs_commands(lab: Lab, context: str) -> bool:
    """Whether `context` runs a pipeline now (else `run` answers InvalidVMState); BadInput for
    anything that is not a host or a VM."""
    places = lab.memo(_PLACES, dict)
    runs = places.get(context)
    if runs is None:
        runs = places[context] = _runs_commands(lab, context)
    return runs


def _runs_commands(lab: Lab, context: str) -> bool:
    """Whether a place runs a pipeline now: a host always, a VM's guest when the VM runs at every
    level (PowerShell Direct). Kept per lab state (`Lab.memo`): a collection sends some forty
    pipelines to each place. Anything else is not a place to run commands (BadInput)."""
    if context not in lab:
        raise BadInput(f"no host or VM {context!r} in lab {lab.name!r}")
    kind = lab.kind(context)
    if kind == "vm":
        return behaviour.is_running(lab, context)
    if kind != "host":
        raise BadInput(f"{context!r} is a {kind}, not a host or VM")
    return True


def run_line(lab: Lab, context: str, text: str) -> Result:
    """Parse a PowerShell command line (psparse) and run it."""
    return run(lab, context, psparse.parse(text))


def guest_unreachable(vm_name: str) -> ErrorRecord:
    # PowerShell's RemotingErrorIdStrings.InvalidVMState: "The virtual machine {0} is not in running state."
    # (PowerShell/PowerShell src/System.Management.Automation/resources/RemotingErrorIdStrings.resx)
    return ErrorRecord(
        f"The virtual machine {vm_name} is not in running state.",
        "InvalidVMState,Microsoft.PowerShell.Commands.InvokeCommandCommand", "InvalidArgument",
        target_name=vm_name, target_type="String", activity="Invoke-Command", reason="ArgumentException",
        exception_type="System.ArgumentException")
