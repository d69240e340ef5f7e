"""Text cmdlets: Select-String, ConvertTo-Json, Format-Table/List (via psformat), Out-String.

Select-String yields MatchInfo objects (Line, LineNumber, Pattern, Matches …; ToString is the
line, as `$hit.Line` and `"$hit"` read in scripts). ConvertTo-Json is Windows PowerShell 5.1's
layout: four-space indents and two spaces after the colon, default -Depth 2, enums as numbers.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from nestlab.simulator import psformat
from nestlab.simulator.psdata import PSEnum, PSObject
from nestlab.simulator.pwsh import ops
from nestlab.simulator.pwsh.builtins import BuiltinCall, builtin
from nestlab.simulator.pwsh.values import DotNet, Hashtable, enumerate_value, is_enumerable, to_number, to_str

MATCH_INFO = ("Microsoft.PowerShell.Commands.MatchInfo", "System.Object")


@builtin("Select-String", positional=("Pattern", "Path"),
         params=("Pattern", "Path", "InputObject", "Context", "Encoding", "Include", "Exclude", "LiteralPath"),
         switches=("SimpleMatch", "CaseSensitive", "NotMatch", "AllMatches", "Quiet", "List"))
def select_string(call: BuiltinCall) -> list[Any]:
    if call.has("Path") or call.has("LiteralPath"):
        raise call.fail("The simulated host has no file system to search.", "NotSupported", "NotImplemented")
    patterns = [to_str(p) for p in enumerate_value(call.get("Pattern"))]
    flags = 0 if call.flag("CaseSensitive") else re.IGNORECASE
    compiled = [re.compile(re.escape(p) if call.flag("SimpleMatch") else ops.dotnet_regex(p), flags) for p in patterns]
    lines: list[str] = []
    for item in call.items + enumerate_value(call.get("InputObject")):
        lines.extend(to_str(item).splitlines() or [""]) if isinstance(item, str) else lines.append(to_str(item))
    out: list[Any] = []
    for number, line in enumerate(lines, 1):
        hits = [(p, m) for p, c in zip(patterns, compiled) for m in [c.search(line)] if m]
        if call.flag("NotMatch"):
            hits = [] if hits else [(patterns[0], None)]
        if not hits:
            continue
        pattern, m = hits[0]
        matches = [DotNet("System.Text.RegularExpressions.Match", {"Value": m.group(0), "Index": m.start(),
                                                                   "Length": len(m.group(0)), "Success": True},
                          text=m.group(0))] if m else []
        out.append(PSObject(MATCH_INFO, [
            ("IgnoreCase", not call.flag("CaseSensitive")), ("LineNumber", number), ("Line", line),
            ("Filename", "InputStream"), ("Path", "InputStream"), ("Pattern", pattern), ("Context", None),
            ("Matches", matches)], line))
        if call.flag("List"):
            break
    if call.flag("Quiet"):
        return [bool(out)]
    return out


def _json_value(value: Any, depth: int, max_depth: int) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, PSEnum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if is_enumerable(value):
        if depth > max_depth:
            return " ".join(to_str(v) for v in value)
        return [_json_value(v, depth + 1, max_depth) for v in value]
    if isinstance(value, (PSObject, Hashtable, DotNet)):
        if depth > max_depth:
            return to_str(value)
        pairs = value.items() if isinstance(value, Hashtable) else (
            ((k, value[k]) for k in value) if isinstance(value, PSObject) else value.properties.items())
        return {to_str(k): _json_value(v, depth + 1, max_depth) for k, v in pairs if not str(k).startswith("__")}
    return to_str(value)


def windows_json(value: Any, compress: bool) -> str:
    """json.dumps laid out as Windows PowerShell 5.1's ConvertTo-Json lays it out."""
    if compress:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = json.dumps(value, indent=4, ensure_ascii=False)
    return re.sub(r'^(\s*"(?:[^"\\]|\\.)*"): ', r"\1:  ", text, flags=re.MULTILINE)


@builtin("ConvertTo-Json", positional=("InputObject",), params=("InputObject", "Depth"), switches=("Compress", "EnumsAsStrings"))
def convert_to_json(call: BuiltinCall) -> list[Any]:
    depth = int(to_number(call.get("Depth", 2)))
    items = call.items if call.input is not None else []
    if call.has("InputObject"):
        value = call.get("InputObject")
    else:
        value = items[0] if len(items) == 1 else items
    return [windows_json(_json_value(value, 0, depth), call.flag("Compress"))]


def _format(call: BuiltinCall, view: str) -> list[Any]:
    props = tuple(to_str(p) for p in enumerate_value(call.get("Property")) if not isinstance(p, (Hashtable,)))
    items = call.items + enumerate_value(call.get("InputObject"))
    return [psformat.Formatted(view, tuple(items), props)] if items else []


@builtin("Format-Table", positional=("Property",), params=("Property", "InputObject", "GroupBy", "View"),
         switches=("AutoSize", "Wrap", "HideTableHeaders", "Force"))
def format_table(call: BuiltinCall) -> list[Any]:
    return _format(call, "table")


@builtin("Format-List", positional=("Property",), params=("Property", "InputObject", "GroupBy", "View"), switches=("Force",))
def format_list(call: BuiltinCall) -> list[Any]:
    return _format(call, "list")


def _entries(item: Any) -> list[Any]:
    """A hashtable is formatted as its entries (DictionaryEntry: Name, Value), as PowerShell's table of it."""
    if isinstance(item, Hashtable):
        return [PSObject(("System.Collections.DictionaryEntry", "System.Object"),
                         [("Name", to_str(k)), ("Value", to_str(v))]) for k, v in item.items()]
    return [item]


@builtin("Out-String", params=("InputObject", "Width"), switches=("Stream",))
def out_string(call: BuiltinCall) -> list[Any]:
    items = [entry for item in call.items + enumerate_value(call.get("InputObject")) for entry in _entries(item)]
    text = psformat.render(items)
    if call.flag("Stream"):
        return text.splitlines()
    return [text + "\n" if text else ""]
