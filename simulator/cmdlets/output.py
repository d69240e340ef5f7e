"""Write-Output: objects onto the success stream, one by one (a collection is enumerated unless
-NoEnumerate). The served endpoint puts a PSRP pipeline's input (PIPELINE_INPUT) at the head of
its first statement with it, which is what PowerShell does with input given to a remote pipeline.
"""

from __future__ import annotations

from typing import Any, Iterable

from nestlab.simulator.cmdlets.base import Call, Ctx, as_list, cmdlet


@cmdlet("Write-Output", positional=("InputObject",), params=("InputObject", "NoEnumerate"),
        cls="Microsoft.PowerShell.Commands.WriteOutputCommand")
def write_output(ctx: Ctx, call: Call) -> Iterable[Any]:
    """Piped objects pass through; -InputObject's value follows them. The PowerShell engine hands
    script values to simulated cmdlets the same way (`Write-Output -InputObject $x | Get-VM…`)."""
    if not call.has("InputObject"):
        return list(call.input)
    value = call.get("InputObject")
    return [*call.input, *([value] if call.flag("NoEnumerate") else as_list(value))]
