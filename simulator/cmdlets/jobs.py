"""Background jobs and per-item script blocks: enough to load a guest's CPUs the way people do it.

`1..$env:NUMBER_OF_PROCESSORS | ForEach-Object { Start-Job { while ($true) {} } }` makes a guest's
workload heavy (Get-VM CPUUsage on its parent rises); `Get-Job | Stop-Job` ends it. Nothing is
evaluated: a job's script block counts as load when it is an endless `while ($true)` loop.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from nestlab.simulator import psparse
from nestlab.simulator.cmdlets.base import Call, Ctx, Terminating, cmdlet, obj
from nestlab.simulator.model import VM
from nestlab.simulator.psdata import ErrorRecord, PSObject

ENDLESS = re.compile(r"while\s*\(\s*\$true\s*\)", re.IGNORECASE)


@cmdlet(psparse.RANGE_COMMAND)
def range_expression(ctx: Ctx, call: Call) -> Iterable[int]:
    start, end = call.arguments
    if str(end).lower() == "$env:number_of_processors":
        record = ctx.lab[ctx.owner]
        end = record.processor.count if isinstance(record, VM) else record.cpu.cores
    try:
        return list(range(int(start), int(end) + 1))
    except ValueError:
        raise Terminating(ErrorRecord(f"Cannot convert value \"{end}\" to type \"System.Int32\".",
                                      "InvalidCastFromStringToInteger", "InvalidArgument", reason="RuntimeException"))


@cmdlet("ForEach-Object", positional=("Process",), params=("Process", "MemberName", "Begin", "End", "InputObject"))
def foreach_object(ctx: Ctx, call: Call) -> Iterable[Any]:
    block = call.get("Process")
    if block is None:
        return []
    pipeline = psparse.parse(str(block))
    out: list[Any] = []
    for _ in call.input:
        result = ctx.run_nested(ctx.owner, pipeline)
        out.extend(result.output)
        for error in result.errors:
            ctx.error(error)
    return out


def _job(ctx: Ctx, number: int, command: str, state: str) -> PSObject:
    return obj("System.Management.Automation.PSRemotingJob", [
        ("Id", number * 2 - 1), ("Name", f"Job{number * 2 - 1}"), ("PSJobTypeName", "BackgroundJob"), ("State", state),
        ("HasMoreData", True), ("Location", "localhost"), ("Command", command),
    ])


def _set_load(ctx: Ctx, heavy: bool) -> None:
    if isinstance(ctx.lab[ctx.owner], VM):
        ctx.lab.update(ctx.owner, workload="heavy" if heavy else "light")


@cmdlet("Start-Job", positional=("ScriptBlock",), params=("ScriptBlock", "Name", "ArgumentList"))
def start_job(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    script = str(call.get("ScriptBlock") or "")
    if ENDLESS.search(script):
        _set_load(ctx, True)
    return [_job(ctx, 1, script, "Running")]


@cmdlet("Get-Job", params=("Id", "Name", "State"))
def get_job(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    record = ctx.lab[ctx.owner]
    if not isinstance(record, VM) or record.workload != "heavy":
        return []
    return [_job(ctx, i, " while ($true) {} ", "Running") for i in range(1, record.processor.count + 1)]


@cmdlet("Stop-Job", positional=("Id",), params=("Id", "Name", "Job", "State", "PassThru"))
def stop_job(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    if call.input or call.has("Id") or call.has("Name") or call.has("Job"):
        _set_load(ctx, False)
    return []
