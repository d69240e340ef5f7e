"""The other streams of a script run as PSRP messages: warning, verbose, debug, information.

[MS-PSRP] 2.2.2.20-2.2.2.22 (DEBUG_RECORD 0x00041007, VERBOSE_RECORD 0x00041008, WARNING_RECORD
0x00041009) carry an InformationalRecord (InformationalRecord_Message, no invocation info);
2.2.2.26 INFORMATION_RECORD (0x00041011, protocol 2.3) carries an InformationRecord whose
MessageData is, for Write-Host, a HostInformationMessage tagged PSHOST — how Windows PowerShell
5.1 sends Write-Host over remoting. pypsrp reads them into `PowerShell.streams`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator
from xml.sax.saxutils import escape

from nestlab.simulator.psdata import Result

DEBUG_RECORD = 0x00041007
VERBOSE_RECORD = 0x00041008
WARNING_RECORD = 0x00041009
INFORMATION_RECORD = 0x00041011


@dataclass(frozen=True)
class StreamedResult(Result):
    """A Result with the streams a script also wrote (what `pwsh.ScriptResult` holds)."""

    warnings: tuple[str, ...] = ()
    verbose: tuple[str, ...] = ()
    debug: tuple[str, ...] = ()
    information: tuple[str, ...] = ()


def _informational(message: str, type_name: str) -> str:
    return (f'<Obj RefId="0"><TN RefId="0"><T>{type_name}</T><T>System.Management.Automation.InformationalRecord</T>'
            f'<T>System.Object</T></TN><ToString>{escape(message)}</ToString><MS>'
            f'<S N="InformationalRecord_Message">{escape(message)}</S>'
            f'<B N="InformationalRecord_SerializeInvocationInfo">false</B></MS></Obj>')


def _information(text: str, computer: str) -> str:
    return (f'<Obj RefId="0"><TN RefId="0"><T>System.Management.Automation.InformationRecord</T><T>System.Object</T></TN>'
            f'<ToString>{escape(text)}</ToString><MS>'
            f'<Obj N="MessageData" RefId="1"><TN RefId="1"><T>System.Management.Automation.HostInformationMessage</T>'
            f'<T>System.Object</T></TN><ToString>{escape(text)}</ToString><MS><S N="Message">{escape(text)}</S>'
            f'<B N="NoNewLine">false</B><Nil N="ForegroundColor" /><Nil N="BackgroundColor" /></MS></Obj>'
            f'<S N="Source">Write-Host</S><DT N="TimeGenerated">2026-11-20T09:00:00</DT>'
            f'<Obj N="Tags" RefId="2"><TN RefId="2"><T>System.Collections.Generic.List`1[[System.String]]</T>'
            f'<T>System.Object</T></TN><LST><S>PSHOST</S></LST></Obj>'
            f'<S N="User">{escape(computer)}\\Administrator</S><S N="Computer">{escape(computer)}</S>'
            f'<U32 N="ProcessId">4242</U32><U32 N="NativeThreadId">1</U32><U32 N="ManagedThreadId">1</U32>'
            f'</MS></Obj>')


def messages(result: Any, computer: str) -> Iterator[tuple[int, str]]:
    """(message type, body) for every non-output, non-error record of `result`, in stream order."""
    for text in getattr(result, "information", ()):
        yield INFORMATION_RECORD, _information(text, computer)
    for text in getattr(result, "warnings", ()):
        yield WARNING_RECORD, _informational(text, "System.Management.Automation.WarningRecord")
    for text in getattr(result, "verbose", ()):
        yield VERBOSE_RECORD, _informational(text, "System.Management.Automation.VerboseRecord")
    for text in getattr(result, "debug", ()):
        yield DEBUG_RECORD, _informational(text, "System.Management.Automation.DebugRecord")
