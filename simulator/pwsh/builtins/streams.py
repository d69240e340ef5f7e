"""Write-Host/Output/Warning/Verbose/Debug/Error/Information, Out-Null/Host/Default, Read-Host, Clear-Host.

Each writes to its own stream, as PowerShell 5.1 does: Write-Host to the information stream (shown
as text by a console, carried as an InformationRecord by PSRP), Write-Verbose/Debug only when
their preference or -Verbose/-Debug asks. Read-Host asks the session's host; without one it is
PowerShell's NonInteractive error.
"""

from __future__ import annotations

from typing import Any

from nestlab.simulator.pwsh.builtins import BuiltinCall, builtin
from nestlab.simulator.pwsh.errors import ScriptError, record
from nestlab.simulator.pwsh.values import enumerate_value, is_enumerable, to_str


def _joined(value: Any, separator: str = " ") -> str:
    if is_enumerable(value):
        return separator.join(_joined(v, separator) for v in value)
    return to_str(value)


@builtin("Write-Host", positional=("Object",), params=("Object", "Separator", "ForegroundColor", "BackgroundColor"),
         switches=("NoNewline",), remaining=True)
def write_host(call: BuiltinCall) -> list[Any]:
    parts = [call.get("Object")] if call.has("Object") else []
    parts += call.positional
    separator = to_str(call.get("Separator", " "))
    host_text(call.session, separator.join(_joined(p, separator) for p in parts), call.flag("NoNewline"))
    return []


def host_text(session: Any, text: str, no_newline: bool = False) -> None:
    """Text on the host: continues the line a -NoNewline write left open."""
    info = session.information
    if info and info[-1].endswith("\x00"):
        info[-1] = info[-1][:-1] + text
    else:
        info.append(text)
    if no_newline:
        info[-1] += "\x00"


@builtin("Write-Output", positional=("InputObject",), params=("InputObject",), switches=("NoEnumerate",))
def write_output(call: BuiltinCall) -> list[Any]:
    out = call.items
    value = call.get("InputObject")
    if call.has("InputObject"):
        out.extend([value] if call.flag("NoEnumerate") else enumerate_value(value) if value is not None else [None])
    out.extend(call.positional)
    return out


@builtin("Write-Warning", positional=("Message",), params=("Message",))
def write_warning(call: BuiltinCall) -> list[Any]:
    if to_str(call.session.variable("WarningPreference")).lower() not in ("silentlycontinue", "ignore"):
        call.session.warnings.append(to_str(call.get("Message")))
    return []


def _wanted(call: BuiltinCall, preference: str, switch: str) -> bool:
    if any(a.name and a.name.lower() in (switch.lower(), switch[:2].lower() if switch == "Verbose" else "db")
           for a in call.stage.args):
        return True
    return to_str(call.session.variable(preference)).lower() in ("continue", "stop", "inquire")


@builtin("Write-Verbose", positional=("Message",), params=("Message",))
def write_verbose(call: BuiltinCall) -> list[Any]:
    if _wanted(call, "VerbosePreference", "Verbose"):
        call.session.verbose.append(to_str(call.get("Message")))
    return []


@builtin("Write-Debug", positional=("Message",), params=("Message",))
def write_debug(call: BuiltinCall) -> list[Any]:
    if _wanted(call, "DebugPreference", "Debug"):
        call.session.debug.append(to_str(call.get("Message")))
    return []


@builtin("Write-Information", positional=("MessageData", "Tags"), params=("MessageData", "Tags"))
def write_information(call: BuiltinCall) -> list[Any]:
    call.session.information.append(to_str(call.get("MessageData")))
    return []


@builtin("Write-Progress", positional=("Activity", "Status"),
         params=("Activity", "Status", "Id", "PercentComplete", "SecondsRemaining", "CurrentOperation", "ParentId"),
         switches=("Completed",))
def write_progress(call: BuiltinCall) -> list[Any]:
    return []  # progress records are not kept: no client of a simulated host shows them


@builtin("Write-Error", positional=("Message",),
         params=("Message", "Exception", "ErrorRecord", "Category", "ErrorId", "TargetObject", "RecommendedAction",
                 "CategoryActivity", "CategoryReason", "CategoryTargetName", "CategoryTargetType"))
def write_error(call: BuiltinCall) -> list[Any]:
    message = to_str(call.get("Message") if call.has("Message") else call.get("Exception"))
    error_id = to_str(call.get("ErrorId")) or "Microsoft.PowerShell.Commands.WriteErrorException"
    category = to_str(call.get("Category")) or "NotSpecified"
    rec = record(message, error_id, category, reason="WriteErrorException",
                 exception_type="Microsoft.PowerShell.Commands.WriteErrorException", activity="Write-Error",
                 target=to_str(call.get("TargetObject")))
    call.session.write_error(rec, call.action, call.evaluator.script.position(call.stage.node))
    return []


@builtin("Out-Null", params=("InputObject",))
def out_null(call: BuiltinCall) -> list[Any]:
    return []


@builtin("Out-Host", params=("InputObject",), switches=("Paging",))
def out_host(call: BuiltinCall) -> list[Any]:
    from nestlab.simulator import psformat
    items = call.items + enumerate_value(call.get("InputObject"))
    text = psformat.render(items)
    if text:
        call.session.information.append(text)
    return []


@builtin("Out-Default", params=("InputObject",))
def out_default(call: BuiltinCall) -> list[Any]:
    return call.items + enumerate_value(call.get("InputObject"))


@builtin("Read-Host", positional=("Prompt",), params=("Prompt",), switches=("AsSecureString",))
def read_host(call: BuiltinCall) -> list[Any]:
    host = call.session.host
    if host is None:
        raise ScriptError(record("Windows PowerShell is in NonInteractive mode. Read and Prompt functionality is not "
                                 "available.", "InvalidOperation,Microsoft.PowerShell.Commands.ReadHostCommand",
                                 "InvalidOperation", activity="Read-Host", reason="PSInvalidOperationException",
                                 exception_type="System.Management.Automation.PSInvalidOperationException"))
    prompt = to_str(call.get("Prompt"))
    answer = host.read_line(prompt + ": " if prompt else "")
    if answer is None:  # the host has no more answers: as a host that cannot prompt
        raise ScriptError(record("Windows PowerShell is in NonInteractive mode. Read and Prompt functionality is not "
                                 "available.", "InvalidOperation,Microsoft.PowerShell.Commands.ReadHostCommand",
                                 "InvalidOperation", activity="Read-Host", reason="PSInvalidOperationException",
                                 exception_type="System.Management.Automation.PSInvalidOperationException"))
    if getattr(host, "echo", False):  # a console shows the prompt and what was typed
        host_text(call.session, (prompt + ": " if prompt else "") + answer)
    elif call.session.information and call.session.information[-1].endswith("\x00"):
        call.session.information[-1] = call.session.information[-1][:-1]  # Enter ends the prompt's line
    return [answer]


@builtin("Clear-Host")
def clear_host(call: BuiltinCall) -> list[Any]:
    return []
