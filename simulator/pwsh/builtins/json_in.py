"""ConvertFrom-Json as Windows PowerShell 5.1 has it (JavaScriptSerializer underneath).

Objects become PSCustomObjects with the properties in the text's order; arrays object[], and an
array at the top is written as one object (5.1 does not enumerate it); numbers Int32, Int64 or
Decimal/Double; `null` $null. Piped strings are buffered: one string is one document; several are
read one by one if the first is a whole document, else joined with newlines and read as one
(ConvertFromJsonCommand.EndProcessing). A text that is not JSON fails as 5.1 does:
"Invalid JSON primitive: …" (System.ArgumentException).
"""

from __future__ import annotations

import json
from typing import Any

from nestlab.simulator.pwsh.builtins import BuiltinCall, builtin
from nestlab.simulator.pwsh.errors import ScriptError, record
from nestlab.simulator.pwsh.values import enumerate_value, new_custom, to_str

FQID = "System.ArgumentException,Microsoft.PowerShell.Commands.ConvertFromJsonCommand"


@builtin("ConvertFrom-Json", positional=("InputObject",), params=("InputObject",))
def convert_from_json(call: BuiltinCall) -> list[Any]:
    texts = [to_str(t) for t in call.items] if call.input is not None and not call.has("InputObject") else []
    if call.has("InputObject"):
        value = call.get("InputObject")
        texts.append(" ".join(to_str(v) for v in value) if isinstance(value, list) else to_str(value))
    if not texts:
        return []
    if len(texts) == 1:
        return [read(texts[0])]
    try:
        first = read(texts[0])
    except ScriptError:
        return [read("\r\n".join(texts))]
    return [first, *(read(t) for t in texts[1:])]


def read(text: str) -> Any:
    try:
        value = json.loads(text, object_pairs_hook=lambda pairs: _Object(pairs), parse_float=_number,
                           parse_constant=_refuse)
    except (json.JSONDecodeError, ValueError) as error:
        raise ScriptError(record(f"Invalid JSON primitive: {_primitive(text, error)}.", FQID, "NotSpecified",
                                 reason="ArgumentException", exception_type="System.ArgumentException",
                                 activity="ConvertFrom-Json")) from None
    return _psvalue(value)


class _Object(list):
    """A JSON object's (name, value) pairs, in order, before they become a PSCustomObject."""


def _psvalue(value: Any) -> Any:
    if isinstance(value, _Object):
        return new_custom((k, _psvalue(v)) for k, v in value)
    if isinstance(value, list):
        return [_psvalue(v) for v in value]
    return value


def _number(text: str) -> float:
    return float(text)


def _refuse(text: str) -> Any:
    raise ValueError(text)


def _primitive(text: str, error: Exception) -> str:
    at = getattr(error, "pos", 0) or 0
    word = text[at:].split()[0] if text[at:].split() else ""
    return word.rstrip(",:]}")[:40] or "."


__all__ = ["convert_from_json", "read", "enumerate_value"]
