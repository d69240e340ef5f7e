"""New-Module, Import-Module, Export-ModuleMember: dynamic modules made from script blocks.

`New-Module -ScriptBlock $sb` runs the block in a scope of its own (the module's variables stay
there); the functions it defines are exported, which is New-Module's default, or only those
named by Export-ModuleMember -Function. The engine keeps one function table per session, so an
exported function is callable at once; `Import-Module` of the PSModuleInfo (any -Scope) is
therefore a pass-through. Importing a module by name or path is what a simulated host cannot do:
PowerShell's own "was not loaded because no valid module file was found" error.
"""

from __future__ import annotations

from typing import Any

from nestlab.simulator.pwsh.builtins import BuiltinCall, builtin
from nestlab.simulator.pwsh.scope import Scope
from nestlab.simulator.pwsh.values import DotNet, ScriptBlock, enumerate_value, to_str


@builtin("New-Module", positional=("ScriptBlock",), params=("Name", "ScriptBlock", "Function", "Cmdlet", "ArgumentList"),
         switches=("AsCustomObject", "ReturnResult"))
def new_module(call: BuiltinCall) -> list[Any]:
    session = call.session
    block = call.get("ScriptBlock")
    if not isinstance(block, ScriptBlock):
        raise call.fail("Cannot bind parameter 'ScriptBlock'.", "CannotConvertArgument", "InvalidArgument")
    name = to_str(call.get("Name")) or f"__DynamicModule_{id(block):x}"
    before = dict(session.functions)
    saved = session.scope
    session.scope = Scope(session.global_scope, kind="script")
    session.exported = None
    try:
        session.invoke_block(block, enumerate_value(call.get("ArgumentList")), dot=True)
    finally:
        session.scope = saved
    defined = [f for f in session.functions if before.get(f) is not session.functions[f]]
    exported = session.exported
    if exported is not None:
        for f in defined:
            if f not in exported:
                if f in before:
                    session.functions[f] = before[f]
                else:
                    del session.functions[f]
        defined = [f for f in defined if f in exported]
    session.exported = None
    return [DotNet("System.Management.Automation.PSModuleInfo", {
        "Name": name, "ModuleType": "Script", "ExportedFunctions": [session.functions[f].name for f in defined]},
        text=name)]


@builtin("Export-ModuleMember", positional=("Function",), params=("Function", "Variable", "Alias", "Cmdlet"))
def export_module_member(call: BuiltinCall) -> list[Any]:
    names = [to_str(n).lower() for n in enumerate_value(call.get("Function"))]
    call.session.exported = set(names) | (call.session.exported or set()) if getattr(call.session, "exported", None) \
        is not None else set(names)
    return []


@builtin("Import-Module", positional=("Name",), params=("Name", "ModuleInfo", "Scope", "Prefix", "Function",
                                                        "MinimumVersion", "RequiredVersion"),
         switches=("Force", "Global", "PassThru", "DisableNameChecking", "Verbose"))
def import_module(call: BuiltinCall) -> list[Any]:
    out = []
    for item in [*call.items, *enumerate_value(call.get("ModuleInfo")), *enumerate_value(call.get("Name"))]:
        if isinstance(item, DotNet) and item.type_name == "System.Management.Automation.PSModuleInfo":
            if call.flag("PassThru"):
                out.append(item)
            continue
        name = to_str(item)
        call.error(f"The specified module '{name}' was not loaded because no valid module file was found in any module "
                   "directory.", "Modules_ModuleNotFound", "ResourceUnavailable", target=name,
                   exception="System.IO.FileNotFoundException")
    return out
