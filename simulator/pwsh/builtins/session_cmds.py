"""Session cmdlets: Get-Command, Start-Sleep, Get-Date, Invoke-Command, Invoke-Expression,
Get-WmiObject, Get/Set-Variable, Set-StrictMode, Join-Path, Get-Host.

Start-Sleep advances the session's simulated clock instead of waiting, so a loop that polls a
heartbeat finishes at once. Get-WmiObject is Get-CimInstance's answer under the WMI name (the
same class data; the object carries the WMI type name `System.Management.ManagementObject#…`).
Invoke-Command -VMName runs its script block in the guest (PowerShell Direct) through the same
engine; without -VMName/-ComputerName it runs the block here.
"""

from __future__ import annotations

from typing import Any

from nestlab.simulator.cmdlets import TABLE
from nestlab.simulator.psdata import Command, PSObject
from nestlab.simulator.pwsh.builtins import BuiltinCall, builtin, names
from nestlab.simulator.pwsh.values import ScriptBlock, enumerate_value, to_number, to_str

COMMAND_INFO = ("System.Management.Automation.CmdletInfo", "System.Management.Automation.CommandInfo", "System.Object")


def _module(name: str) -> str:
    noun = name.partition("-")[2]
    if noun.upper().startswith("VHD") or noun.startswith("VM"):
        return "Hyper-V"
    if noun.startswith("Net"):
        return "NetTCPIP" if noun.startswith(("NetIP", "NetRoute", "NetTCP", "NetUDP")) else "NetAdapter"
    if noun.startswith("Cim"):
        return "CimCmdlets"
    if noun.startswith("Windows"):
        return "Dism" if "Optional" in noun else "ServerManager"
    return "Microsoft.PowerShell.Management" if noun in ("Service", "ItemProperty", "ChildItem", "Computer", "Item", "Path") \
        else "Microsoft.PowerShell.Utility"


@builtin("Get-Command", positional=("Name",), params=("Name", "Module", "CommandType", "Noun", "Verb"), switches=("ListImported",))
def get_command(call: BuiltinCall) -> list[Any]:
    from nestlab.simulator.pwsh.invoke import ALIASES

    known = {n.lower(): n for n in names()}
    known.update({entry.name.lower(): entry.name for entry in TABLE.values()})
    functions = call.session.functions
    out: list[Any] = []
    wanted = [to_str(n) for n in enumerate_value(call.get("Name"))] if call.has("Name") else ["*"]
    import fnmatch
    for name in wanted:
        low = name.lower()
        hits = [k for k in {**known, **{f: f for f in functions}} if fnmatch.fnmatchcase(k, low)]
        if low in ALIASES and not hits:
            hits = [ALIASES[low].lower()]
        if not hits:
            if not any(c in name for c in "*?["):
                from nestlab.simulator import powershell
                rec = powershell.command_not_found(name)
                call.error(rec.message, "CommandNotFoundException", "ObjectNotFound", target=name,
                           exception="System.Management.Automation.CommandNotFoundException")
            continue
        for hit in sorted(hits):
            real = known.get(hit) or functions[hit].name
            kind = "Function" if hit in functions else ("Application" if "-" not in real else "Cmdlet")
            out.append(PSObject(COMMAND_INFO, [("CommandType", kind), ("Name", real), ("Version", "2.0.0.0" if kind == "Cmdlet" else ""),
                                               ("Source", _module(real) if kind == "Cmdlet" else "")], real))
    return out


@builtin("Start-Sleep", positional=("Seconds",), params=("Seconds", "Milliseconds"), aliases={"s": "Seconds", "m": "Milliseconds"})
def start_sleep(call: BuiltinCall) -> list[Any]:
    seconds = to_number(call.get("Seconds", 0)) + to_number(call.get("Milliseconds", 0)) / 1000
    call.session.clock += float(seconds)
    return []


@builtin("Get-Date", positional=("Date",), params=("Date", "Format", "UFormat", "Year", "Month", "Day", "Hour", "Minute", "Second"))
def get_date(call: BuiltinCall) -> list[Any]:
    now = call.session.now()
    if call.has("Format"):
        fmt = to_str(call.get("Format"))
        mapping = [("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S")]
        for a, b in mapping:
            fmt = fmt.replace(a, b)
        return [now.strftime(fmt)]
    return [now]


@builtin("Invoke-Command", positional=("ScriptBlock",),
         params=("ScriptBlock", "VMName", "ComputerName", "ArgumentList", "Credential", "Session", "InputObject", "VMId"),
         switches=("NoNewScope", "AsJob", "HideComputerName"))
def invoke_command(call: BuiltinCall) -> list[Any]:
    block = call.get("ScriptBlock")
    if not isinstance(block, ScriptBlock):
        raise call.fail("Cannot validate argument on parameter 'ScriptBlock'. The argument is null.",
                        "ParameterArgumentValidationError", "InvalidData")
    args = enumerate_value(call.get("ArgumentList"))
    if call.has("ComputerName") or call.has("Session"):
        raise call.fail("The simulated host reaches other computers only through PowerShell Direct (-VMName).",
                        "NotSupported", "NotImplemented")
    if not call.has("VMName"):
        return call.session.invoke_block(block, args, pipeline_input=call.input)
    out: list[Any] = []
    for name in enumerate_value(call.get("VMName")):
        out.extend(_in_guest(call, to_str(name), block, args))
    return out


def _in_guest(call: BuiltinCall, vm_name: str, block: ScriptBlock, args: list[Any]) -> list[Any]:
    session = call.session
    probe = session.execute(session.context, (Command("Get-VM", (("Name", vm_name),)),))
    if not probe.output:
        # RemotingErrorIdStrings.InvalidVMNameNotSingle (PowerShell/PowerShell resources)
        call.error(f"The input VMName {vm_name} does not resolve to a single virtual machine.", "InvalidVMNameNotSingle",
                   "InvalidArgument", target=vm_name, exception="System.ArgumentException")
        return []
    guest = f"{session.context}/{probe.output[0]['Name']}"
    reach = session.execute(guest, (Command("Write-Output", (("InputObject", []),)),))
    if reach.failed:
        for rec in reach.errors:
            session.write_error(rec, call.action, call.evaluator.script.position(call.stage.node))
        return []
    from nestlab.simulator.pwsh.engine import run_in

    result = run_in(session.execute, guest, block.text, args=args, parent=session)
    for rec in result.errors:
        session.write_error(rec, call.action, call.evaluator.script.position(call.stage.node))
    session.warnings.extend(result.warnings)
    session.information.extend(result.information)
    session.verbose.extend(result.verbose)
    return list(result.output)


@builtin("Invoke-Expression", positional=("Command",), params=("Command",))
def invoke_expression(call: BuiltinCall) -> list[Any]:
    from nestlab.simulator.pwsh.evaluator import Evaluator
    from nestlab.simulator.pwsh.parse import parse

    script = parse(to_str(call.get("Command")))
    return Evaluator(call.session, script).run_block(script.root)


@builtin("Get-WmiObject", positional=("Class", "Property"), params=("Class", "Property", "Namespace", "Filter", "ComputerName",
                                                                    "Query", "Credential"), switches=("List", "Recurse"))
def get_wmi_object(call: BuiltinCall) -> list[Any]:
    if call.has("Query"):
        raise call.fail("The simulated host answers WMI by class name, not WQL queries.", "NotSupported", "NotImplemented")
    params: list[tuple[str, Any]] = [("ClassName", to_str(call.get("Class")))]
    if call.has("Namespace"):
        params.append(("Namespace", to_str(call.get("Namespace"))))
    if call.has("Filter"):
        params.append(("Filter", to_str(call.get("Filter"))))
    result = call.session.execute(call.session.context, (Command("Get-CimInstance", tuple(params)),))
    for rec in result.errors:
        call.session.write_error(rec, call.action, call.evaluator.script.position(call.stage.node))
    out = []
    for item in result.output:
        if isinstance(item, PSObject) and item.type_names and "#" in item.type_names[0]:
            path = item.type_names[0].split("#", 1)[1].replace("/", "\\")
            out.append(PSObject((f"System.Management.ManagementObject#{path}", "System.Management.ManagementObject",
                                 "System.Object"), [(k, item[k]) for k in item], str(item)))
        else:
            out.append(item)
    return out


@builtin("Get-Variable", positional=("Name",), params=("Name", "Scope"), switches=("ValueOnly",))
def get_variable(call: BuiltinCall) -> list[Any]:
    name = to_str(call.get("Name"))
    if not call.session.scope.defined(name):
        call.error(f"Cannot find a variable with the name '{name}'.", "VariableNotFound", "ObjectNotFound", target=name,
                   exception="System.Management.Automation.ItemNotFoundException")
        return []
    value = call.session.variable(name)
    if call.flag("ValueOnly"):
        return [value]
    return [PSObject(("System.Management.Automation.PSVariable", "System.Object"), [("Name", name), ("Value", value)], name)]


@builtin("Set-Variable", positional=("Name", "Value"), params=("Name", "Value", "Scope", "Option"), switches=("PassThru", "Force"))
def set_variable(call: BuiltinCall) -> list[Any]:
    scope = to_str(call.get("Scope")).lower()
    name = to_str(call.get("Name"))
    call.session.set_variable(f"{scope}:{name}" if scope in ("global", "script") else name, call.get("Value"))
    return []


@builtin("Set-StrictMode", params=("Version",), switches=("Off",))
def set_strict_mode(call: BuiltinCall) -> list[Any]:
    # Accepted and not enforced: strict mode only adds errors to scripts that already read unset
    # variables or missing properties; the simulated host answers them as non-strict PowerShell.
    return []


@builtin("Join-Path", positional=("Path", "ChildPath"), params=("Path", "ChildPath", "AdditionalChildPath"), switches=("Resolve",))
def join_path(call: BuiltinCall) -> list[Any]:
    parts = [to_str(call.get("Path")), to_str(call.get("ChildPath"))]
    return ["\\".join(p.strip("\\") if i else p.rstrip("\\") for i, p in enumerate(parts) if p)]


@builtin("Get-Host")
def get_host(call: BuiltinCall) -> list[Any]:
    return [call.session.variable("Host")]

