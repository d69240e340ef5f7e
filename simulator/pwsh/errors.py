"""PowerShell's errors and flow control, as the engine raises them while a script runs.

Message texts are PowerShell's own resource strings (PowerShell/PowerShell,
src/System.Management.Automation/resources/ParserStrings.resx and ExtendedTypeSystem.resx:
UnexpectedToken, MissingEndCurlyBrace, MissingEndParenthesisInExpression,
TerminatorExpectedAtEndOfString, MethodNotFound, InvokeMethodOnNull, NullArray, CannotIndex,
PropertyNotFound); CommandNotFoundException is the Windows PowerShell 5.1 wording already used by
`simulator.powershell.command_not_found`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nestlab.simulator.psdata import ErrorRecord

RUNTIME = "System.Management.Automation.RuntimeException"


@dataclass(frozen=True)
class Position:
    """Where in the script a thing is: 1-based line and column (PowerShell's 'char'), and the line's text."""

    line: int
    column: int
    text: str
    width: int = 1

    def render(self, file: str = "") -> str:
        """PowerShell's position block: 'At line:3 char:5', the line, a '~' marker under it."""
        where = f"At {file}:{self.line} char:{self.column}" if file else f"At line:{self.line} char:{self.column}"
        marker = " " * (self.column - 1) + "~" * max(1, self.width)
        return f"{where}\n+ {self.text}\n+ {marker}"


class ScriptError(Exception):
    """A PowerShell error raised while running: its ErrorRecord, where, and how far it reaches.

    `script_terminating`: `throw` and `-ErrorAction Stop` stop the whole script unless caught;
    a cmdlet's own terminating error (and runtime errors such as MethodNotFound) stop only the
    statement, as in PowerShell.
    """

    def __init__(self, record: ErrorRecord, position: Position | None = None, *,
                 script_terminating: bool = False, thrown: Any = None) -> None:
        super().__init__(record.message)
        self.record = record
        self.position = position
        self.script_terminating = script_terminating
        self.thrown = thrown  # the object of `throw <object>`


class ParseError(ScriptError):
    """The script does not parse: nothing of it runs (ParseException)."""


class Break(Exception):
    def __init__(self, label: str | None = None) -> None:
        super().__init__(label or "")
        self.label = label


class Continue(Break):
    pass


class Return(Exception):
    pass


class Exit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(str(code))
        self.code = code


def record(message: str, fqid: str, category: str = "InvalidOperation", *, reason: str = "RuntimeException",
           exception_type: str = RUNTIME, target: str = "", target_type: str = "", activity: str = "") -> ErrorRecord:
    return ErrorRecord(message, fqid, category, target_name=target, target_type=target_type, activity=activity,
                       reason=reason, exception_type=exception_type)


def parse_exception(message: str, fqid: str, position: Position) -> ParseError:
    """A ParseException: its message carries the position, as PowerShell's does."""
    rec = record(f"{position.render()}\n{message}", fqid, "ParserError", reason="ParentContainsErrorRecordException",
                 exception_type="System.Management.Automation.ParseException")
    return ParseError(rec, position, script_terminating=True)


def runtime(message: str, fqid: str, category: str = "InvalidOperation", position: Position | None = None, *,
            target: str = "", target_type: str = "") -> ScriptError:
    return ScriptError(record(message, fqid, category, target=target, target_type=target_type), position)


def method_not_found(type_name: str, method: str) -> ScriptError:
    return runtime(f"Method invocation failed because [{type_name}] does not contain a method named '{method}'.",
                   "MethodNotFound", target=method, target_type="String")


def null_method() -> ScriptError:
    return runtime("You cannot call a method on a null-valued expression.", "InvokeMethodOnNull", "InvalidOperation")


def null_array() -> ScriptError:
    return runtime("Cannot index into a null array.", "NullArray", "InvalidOperation")


def property_not_settable(name: str) -> ScriptError:
    return runtime(f"The property '{name}' cannot be found on this object. Verify that the property exists and "
                   "can be set.", "PropertyNotFound", "InvalidOperation")


def type_not_found(name: str) -> ScriptError:
    # ParserStrings.TypeNotFound: "Unable to find type [{0}]."
    return runtime(f"Unable to find type [{name}].", "TypeNotFound", "InvalidOperation", target=name,
                   target_type="TypeName")


def not_supported(what: str, position: Position | None = None) -> ScriptError:
    """A construct this engine does not evaluate: a real error, never a silent misreading."""
    return runtime(f"The simulated host does not support {what}.", "NotSupported", "NotImplemented", position)


def thrown(value: Any, text: str) -> ScriptError:
    """`throw "text"`: a RuntimeException whose message is the text, FullyQualifiedErrorId the text too."""
    rec = record(text, text or "ScriptHalted", "OperationStopped", target=text, target_type="String")
    return ScriptError(rec, script_terminating=True, thrown=value)
