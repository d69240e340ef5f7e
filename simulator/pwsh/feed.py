"""`Write-Output` as a simulated cmdlet: how objects of a script reach a structured pipeline.

`Write-Output -InputObject $objects | Get-VMProcessor` is plain PowerShell; registering it in the
cmdlet table lets the engine hand script values to simulated cmdlets as pipeline input through
the same Executor call, so the cmdlets bind piped objects exactly as they bind each other's.
"""

from __future__ import annotations

from typing import Any, Iterable

from nestlab.simulator.cmdlets.base import Call, Ctx, as_list, cmdlet


@cmdlet("Write-Output", positional=("InputObject",), params=("InputObject", "NoEnumerate"),
        cls="Microsoft.PowerShell.Commands.WriteOutputCommand")
def write_output(ctx: Ctx, call: Call) -> Iterable[Any]:
    return [*call.input, *as_list(call.get("InputObject"))]
