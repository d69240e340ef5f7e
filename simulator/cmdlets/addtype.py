"""Add-Type: a simulated host has no C# compiler, so compiling fails as it does on a Windows
host whose .NET Framework lacks csc.exe (text and ids as PowerShell prints them, e.g.
proxb/PoshRSJob#23: "Cannot add type due to the following exception: Compiler executable file
csc.exe cannot be found. …", NotSpecified, System.InvalidOperationException). Ansible's `win_*`
modules load their C# module utils (Ansible.Basic …) with Add-Type, so they fail here with this.
"""

from __future__ import annotations

from typing import Any, Iterable

from nestlab.simulator.cmdlets.base import Call, Ctx, Terminating, cmdlet
from nestlab.simulator.psdata import ErrorRecord

NO_COMPILER = (
    "Cannot add type due to the following exception: Compiler executable file csc.exe cannot be found.. Verify that "
    "Microsoft .NET Framework 3.5  is installed. On x64-based versions of Windows, you must also install the WOW64 "
    "feature."
)


@cmdlet("Add-Type", positional=("TypeDefinition",),
        params=("TypeDefinition", "Name", "MemberDefinition", "Namespace", "UsingNamespace", "Path", "LiteralPath",
                "AssemblyName", "Language", "ReferencedAssemblies", "CodeDomProvider", "CompilerParameters",
                "OutputAssembly", "OutputType", "PassThru", "IgnoreWarnings"),
        cls="Microsoft.PowerShell.Commands.AddTypeCommand")
def add_type(ctx: Ctx, call: Call) -> Iterable[Any]:
    raise Terminating(ErrorRecord(
        NO_COMPILER, "System.InvalidOperationException,Microsoft.PowerShell.Commands.AddTypeCommand", "NotSpecified",
        activity="Add-Type", reason="InvalidOperationException", exception_type="System.InvalidOperationException"))
