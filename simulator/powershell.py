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

from typing import Any

from nestlab.simulator import behaviour, psparse
from nestlab.simulator.cmdlets import TABLE
from nestlab.simulator.cmdlets.base import Ctx, Terminating, bind, command_not_found
from nestlab.simulator.errors import BadInput
from nestlab.simulator.model import Lab
from nestlab.simulator.psdata import Command, ErrorRecord, Result
from nestlab.simulator.repeated_reads import RepeatedReads


def run(lab: Lab, context: str, pipeline: tuple[Command, ...], *, request: Any = None) -> Result:
    """Run one pipeline where `context` says; never raises for PowerShell errors (they are in Result).

    `request` is the session's Request this answers, stamped on the Result as it is made
    (`Result.request`; SimSession), so that no copy is made only to stamp it."""
    places = lab.memo(_PLACES, dict)
    runs = places.get(context)
    if runs is None:
        runs = places[context] = _runs_commands(lab, context)
    if not runs:
        return Result((), (guest_unreachable(lab[context].name),), True, request=request)
    entries = []
    for command in pipeline:
        entry = TABLE.get(command.name.lower())
        if entry is None:
            return Result((), (command_not_found(command.name),), True, request=request)
        entries.append(entry)
    ctx = Ctx(lab, context, lambda where, commands: run(lab, where, commands))
    reads = RepeatedReads.of(lab, context, pipeline, entries)
    objects: list = []
    done = 0
    if reads is not None:
        done, seen = reads.longest_seen()
        if seen is not None:
            objects, ctx.errors[:] = list(seen.objects), list(seen.errors)
    try:
        for stage in range(done, len(pipeline)):
            entry = entries[stage]
            objects = list(entry.func(ctx, bind(entry, pipeline[stage], objects)) or ())
            if reads is not None:
                reads.ran(stage, objects, ctx.errors)
    except Terminating as stop:
        return Result((), (*ctx.errors, stop.record), True, request=request)
    if reads is not None:
        reads.handed_out(objects)
    return Result(tuple(objects), tuple(ctx.errors), request=request)


_PLACES = ("powershell: places that run commands",)  # Lab.memo key: context -> runs commands now


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
