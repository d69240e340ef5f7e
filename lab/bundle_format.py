"""Answers as Windows PowerShell 5.1 prints them into a file: simulator/psformat.py, plus the
console's line handling that a file of `Get-VM | fl * > out.txt` shows and psformat leaves out.

psformat renders the views (default tables, `fl *`, errors). A console then hard-wraps every line
at its width, continuing a list value under the value column (samples/get-vmprocessor.txt,
Sample A: width 120, `Id` continued at column 47), and a value with line breaks continues under
that column too; long command lines in an error's position line are cut with ' ...'
(samples/error-set-vmprocessor.txt). That layer lives here (psformat prints unwrapped lines).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Iterable, Sequence

from nestlab.simulator import psformat
from nestlab.simulator.psdata import Command, ErrorRecord, PSObject

WIDTH = 120
POSITION_WIDTH = 72  # the '+ command …' line of an error shows this much of the command
_LABEL = re.compile(r"^[A-Za-z_][\w.()%/\- ]*$")


def format_output(objects: Iterable[Any], *, as_list: bool) -> str:
    """`… | Format-List *` (as_list) or the command's default view; bare values print as themselves."""
    items = list(objects)
    if not items:
        return ""
    if not any(isinstance(o, PSObject) for o in items):
        return "".join(f"{psformat.text(o)}\n" for o in items)
    text = psformat.render(items, view="list", properties=("*",)) if as_list else psformat.render(items)
    return "\n".join(_console_lines(text)) + "\n\n"


def format_error(error: ErrorRecord, pipeline: Sequence[Command]) -> str:
    line = command_line(pipeline)
    shown = line if len(line) <= POSITION_WIDTH else line[: POSITION_WIDTH - 4] + " ..."
    return psformat.format_error(error, shown) + "\n\n"


def _console_lines(text: str) -> list[str]:
    """Every Format-List block's values continued under their column, then cut at the width."""
    out: list[str] = []
    for block in text.split("\n\n"):
        lines = block.split("\n")
        column = _value_column(lines)
        for line in lines:
            if column and not _is_property_line(line, column) and line.strip():
                line = " " * column + line  # a value's own line break
            out += _cut(line, column)
        out.append("")
    while out and not out[-1]:
        out.pop()
    return out


def _value_column(lines: list[str]) -> int:
    """Where a list block's values start (label width + ' : '); 0 for tables and other text."""
    first = next((l for l in lines if l.strip()), "")
    at = first.find(" : ")
    if at <= 0 or not _LABEL.match(first[:at].rstrip()):
        return 0
    return at + 3


def _is_property_line(line: str, column: int) -> bool:
    return line[column - 3: column] in (" : ", " :") and bool(_LABEL.match(line[: column - 3].rstrip()))


def _cut(line: str, column: int) -> list[str]:
    if len(line) <= WIDTH or WIDTH - column < 10:
        return [line]
    pieces = [line[:WIDTH]]
    rest = line[WIDTH:]
    step = WIDTH - column
    while rest:
        pieces.append(" " * column + rest[:step])
        rest = rest[step:]
    return [p.rstrip() for p in pieces]


# ----------------------------------------------------------------------------------------------


def command_line(pipeline: Sequence[Command]) -> str:
    """A structured pipeline as a person would type it (hashtables as @{…}, dates as Get-Date)."""
    return " | ".join(
        " ".join([c.name, *(_native(a) for a in c.arguments),
                  *(f"-{k}" if v is True else f"-{k} {_argument(v)}" for k, v in c.parameters)])
        for c in pipeline)


def _native(value: Any) -> str:
    """A native command's argument: as typed, quoted only where PowerShell would not pass it through."""
    text = str(value)
    return _quoted(text) if not text or any(ch in text for ch in " {};$@'") else text


def _argument(value: Any) -> str:
    if value is False:
        return "$false"
    if isinstance(value, dict):
        return "@{" + "; ".join(f"{k}={_quoted(v) if isinstance(v, str) else _argument(v)}" for k, v in value.items()) + "}"
    if isinstance(value, datetime):
        return f"(Get-Date '{value.strftime('%Y-%m-%dT%H:%M:%S')}')"
    if isinstance(value, (list, tuple)):
        return ",".join(_argument(v) for v in value)
    text = str(value)
    if isinstance(value, str) and (not text or any(ch in text for ch in " ;'{}()@$,")):
        return _quoted(text)
    return text


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
