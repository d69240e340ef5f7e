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

from nestlab.simulator import behaviour, psparse
from nestlab.simulator.cmdlets import TABLE
from nestlab.simulator.cmdlets.base import Ctx, Terminating, bind, command_not_found
from nestlab.simulator.errors import BadInput
from nestlab.simulator.model import Lab
from nestlab.simulator.psdata import Command, ErrorRecord, Result


def run(lab: Lab, context: str, pipeline: tuple[Command, ...]) -> Result:
    """Run one pipeline where `context` says; never raises for PowerShell errors (they are in Result)."""
    if context not in lab:
        raise BadInput(f"no host or VM {context!r} in lab {lab.name!r}")
    if lab.kind(context) == "vm" and not behaviour.is_running(lab, context):
        return Result(errors=(guest_unreachable(lab[context].name),), failed=True)
    if lab.kind(context) not in ("vm", "host"):
        raise BadInput(f"{context!r} is a {lab.kind(context)}, not a host or VM")
    entries = []
    for command in pipeline:
        entry = TABLE.get(command.name.lower())
        if entry is None:
            return Result(errors=(command_not_found(command.name),), failed=True)
        entries.append(entry)
    ctx = Ctx(lab, context, lambda where, commands: run(lab, where, commands))
    objects: list = []
    keys = _prefix_keys(context, pipeline, entries)
    done, seen = _longest_seen(lab, keys)
    if seen is not None:
        objects, ctx.errors[:] = list(seen[0]), seen[1]
    try:
        for stage in range(done, len(pipeline)):
            entry = entries[stage]
            call = bind(entry, pipeline[stage], objects)
            objects = list(entry.func(ctx, call) or ())
            if stage < len(keys):
                _remember(lab, keys[stage], (tuple(objects), tuple(ctx.errors)))
    except Terminating as stop:
        return Result(output=(), errors=(*ctx.errors, stop.record), failed=True)
    return Result(output=tuple(objects), errors=tuple(ctx.errors))


# -- the same reads, answered once ------------------------------------------------------------
#
# A collection asks `Get-VMHardDiskDrive -VMName *` four times per platform (drives, their VHDs,
# the VHDs' parents and grandparents) and `Get-VMNetworkAdapter -VMName *` twice, in one batch.
# A pipeline whose first stages only read is answered from the outputs of the same stages run
# moments ago in the same place, for as long as the lab does not change (`Lab.memo`, which
# every change empties). The objects are the very ones the stages returned: what the cmdlets
# return does not change, only how often they are computed.

READ_ONLY = frozenset(("get-vm", "get-vmharddiskdrive", "get-vhd", "get-vmnetworkadapter", "select-object",
                       "where-object"))
REMEMBERED = 256  # pipeline prefixes kept per lab state: a batch's worth, not a whole collection


def _prefix_keys(context: str, pipeline: tuple[Command, ...], entries: list) -> list[tuple]:
    """A key for each leading stage of the pipeline that only reads (none if a value is unhashable)."""
    keys: list[tuple] = []
    so_far: tuple = (context,)
    for entry, command in zip(entries, pipeline):
        if entry.name.lower() not in READ_ONLY:
            break
        # the value's type is part of the key: True == 1, but a switch is not the number 1
        so_far = (*so_far, (command.name, tuple((k, type(v), v) for k, v in command.parameters),
                            tuple((type(a), a) for a in command.arguments)))
        try:
            hash(so_far)
        except TypeError:
            break
        keys.append(so_far)
    return keys


def _seen(lab: Lab) -> dict:
    return lab.memo(("pipeline prefixes",), dict)


def _longest_seen(lab: Lab, keys: list[tuple]) -> tuple[int, tuple | None]:
    if not keys:
        return 0, None
    seen = _seen(lab)
    for stage in range(len(keys), 0, -1):
        hit = seen.get(keys[stage - 1])
        if hit is not None:
            return stage, hit
    return 0, None


def _remember(lab: Lab, key: tuple, answer: tuple) -> None:
    seen = _seen(lab)
    seen[key] = answer
    if len(seen) > REMEMBERED:
        del seen[next(iter(seen))]  # the oldest


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
