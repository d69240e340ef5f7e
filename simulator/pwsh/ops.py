"""PowerShell's operators on engine values (about_Operators, about_Comparison_Operators).

Comparisons are case-insensitive unless the operator says `-c…`; the right operand is converted
to the left one's type; an array on the left filters (`@(1,2,3) -gt 1` is `2,3`). -match sets
$Matches through the `matches` callback. Casts cover the types diagnostics use.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import datetime, timedelta
from typing import Any, Callable

from nestlab.simulator.psdata import PSEnum, PSObject
from nestlab.simulator.pwsh.errors import ScriptError, runtime, type_not_found
from nestlab.simulator.pwsh.values import (Hashtable, TypeRef, enumerate_value, is_enumerable, new_custom,
                                           parse_number, to_bool, to_number, to_str, type_name)

Matches = Callable[[Hashtable | None], None]


def _fold(text: str, case: bool) -> str:
    return text if case else text.lower()


def equal(left: Any, right: Any, case: bool = False) -> bool:
    """`-eq` on two scalars: the right converted to the left's type."""
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, PSEnum):
        if isinstance(right, PSEnum):
            return left.value == right.value
        if isinstance(right, str):
            return _fold(left.name, case) == _fold(right, case) or right.strip() == str(left.value)
        return left.value == _try_number(right)
    if isinstance(left, bool):
        return left == to_bool(right)
    if isinstance(left, (int, float)):
        try:
            return left == to_number(right)
        except ValueError:
            return False
    if isinstance(left, str):
        return _fold(left, case) == _fold(to_str(right), case)
    if isinstance(left, datetime) and isinstance(right, datetime):
        return left == right
    return left is right or left == right


def _try_number(value: Any) -> Any:
    try:
        return to_number(value)
    except ValueError:
        return None


def order(left: Any, right: Any, case: bool = False) -> int:
    """-1, 0 or 1 (for -lt/-gt and Sort-Object): numbers as numbers, the rest as strings."""
    if left is None and right is None:
        return 0
    if left is None:
        return -1
    if right is None:
        return 1
    if isinstance(left, datetime) and isinstance(right, datetime):
        return (left > right) - (left < right)
    if isinstance(left, (int, float, PSEnum)) and not isinstance(left, bool) or isinstance(left, bool):
        try:
            a, b = to_number(left), to_number(right)
            return (a > b) - (a < b)
        except ValueError:
            pass
    a, b = _fold(to_str(left), case), _fold(to_str(right), case)
    return (a > b) - (a < b)


def like(value: Any, pattern: Any, case: bool = False) -> bool:
    text, pat = to_str(value), to_str(pattern)
    translated = fnmatch.translate(pat)
    return re.match(translated, text, 0 if case else re.IGNORECASE) is not None


def match(value: Any, pattern: Any, case: bool = False) -> re.Match | None:
    return re.search(dotnet_regex(to_str(pattern)), to_str(value), 0 if case else re.IGNORECASE)


def dotnet_regex(pattern: str) -> str:
    """.NET's named groups `(?<n>…)` are Python's `(?P<n>…)`."""
    return re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", pattern)


def match_table(m: re.Match) -> Hashtable:
    table = Hashtable()
    table[0] = m.group(0)
    for i, g in enumerate(m.groups(), 1):
        if g is not None:
            table[i] = g
    for name, g in m.groupdict().items():
        if g is not None:
            table[name] = g
    return table


def compare(op: str, left: Any, right: Any, matches: Matches) -> Any:
    """Every comparison operator; `op` as written (-eq, -ceq, -ilike, -notcontains, -is …)."""
    name = op.lower().lstrip("-")
    case = False
    if name[:1] in ("c", "i") and name[1:] in _SCALAR | _COLLECTION | {"replace", "split"}:
        case, name = name[0] == "c", name[1:]
    if name in ("is", "isnot"):
        result = is_type(left, right)
        return result if name == "is" else not result
    if name == "as":
        try:
            return cast(right, left)
        except (ScriptError, ValueError):
            return None
    if name == "replace":
        return replace(left, right, case)
    if name == "split":
        return split(left, right, case)
    if name == "join":
        return join(left, right)
    if name in _COLLECTION:
        items, needle = (enumerate_value(left), right) if name in ("contains", "notcontains") else (enumerate_value(right), left)
        found = any(equal(item, needle, case) for item in items)
        return found if name in ("contains", "in") else not found
    if name not in _SCALAR:
        raise runtime(f"The operator '{op}' is not supported by the simulated host.", "OperatorNotSupported")
    if is_enumerable(left):
        if name in ("match", "notmatch"):
            return [item for item in left if _scalar(name, item, right, case, lambda _: None)]
        return [item for item in left if _scalar(name, item, right, case, matches)]
    return _scalar(name, left, right, case, matches)


_SCALAR = {"eq", "ne", "gt", "lt", "ge", "le", "like", "notlike", "match", "notmatch"}
_COLLECTION = {"contains", "notcontains", "in", "notin"}


def _scalar(name: str, left: Any, right: Any, case: bool, matches: Matches) -> bool:
    if name == "eq":
        return equal(left, right, case)
    if name == "ne":
        return not equal(left, right, case)
    if name in ("gt", "lt", "ge", "le"):
        if left is None or right is None:
            if name in ("ge", "le"):
                return equal(left, right) or (order(left, right, case) >= 0 if name == "ge" else order(left, right, case) <= 0)
        o = order(left, right, case)
        return {"gt": o > 0, "lt": o < 0, "ge": o >= 0, "le": o <= 0}[name]
    if name == "like":
        return like(left, right, case)
    if name == "notlike":
        return not like(left, right, case)
    m = match(left, right, case)
    if name == "match":
        if m is not None:
            matches(match_table(m))
        return m is not None
    return m is None


def replace(left: Any, right: Any, case: bool) -> Any:
    parts = enumerate_value(right) if is_enumerable(right) else [right]
    pattern = to_str(parts[0]) if parts else ""
    replacement = to_str(parts[1]) if len(parts) > 1 else ""
    repl = re.sub(r"\$(\d+)", r"\\\1", replacement.replace("\\", "\\\\"))
    repl = re.sub(r"\$\{(\w+)\}", r"\\g<\1>", repl)

    def one(value: Any) -> str:
        return re.sub(dotnet_regex(pattern), repl, to_str(value), flags=0 if case else re.IGNORECASE)

    if is_enumerable(left):
        return [one(v) for v in left]
    return one(left)


def split(left: Any, right: Any, case: bool) -> list[str]:
    pattern = to_str(right[0] if is_enumerable(right) and right else right)
    out: list[str] = []
    for value in enumerate_value(left) if is_enumerable(left) else [left]:
        out.extend(re.split(dotnet_regex(pattern), to_str(value), flags=0 if case else re.IGNORECASE))
    return out


def join(left: Any, right: Any) -> str:
    return to_str(right).join(to_str(v) for v in enumerate_value(left))


# -- arithmetic --------------------------------------------------------------------------------------

def add(left: Any, right: Any) -> Any:
    if is_enumerable(left):
        return [*left, *(right if is_enumerable(right) else [right])]
    if isinstance(left, Hashtable):
        if not isinstance(right, Hashtable):
            raise runtime("A hash table can only be added to another hash table.", "AddHashTableToNonHashTable")
        merged = Hashtable(left.items())
        for k, v in right.items():
            if k in merged:
                raise runtime(f"Item has already been added. Key in dictionary: '{k}'  Key being added: '{k}'",
                              "ArgumentException")
            merged[k] = v
        return merged
    if isinstance(left, str):
        return left + to_str(right)
    if left is None:
        if right is None:
            return None
        return right if not is_enumerable(right) else list(right)
    if isinstance(left, datetime):
        return left + right
    return _numeric("+", left, right)


def arithmetic(op: str, left: Any, right: Any) -> Any:
    if op == "+":
        return add(left, right)
    if op == "*" and isinstance(left, str):
        return left * int(to_number(right))
    if op == "*" and is_enumerable(left):
        return list(left) * int(to_number(right))
    return _numeric(op, left, right)


def _numeric(op: str, left: Any, right: Any) -> Any:
    if isinstance(left, datetime) and op == "-":
        return left - right if isinstance(right, (datetime, timedelta)) else left - timedelta(seconds=to_number(right) / 10**7)
    if isinstance(left, timedelta) and isinstance(right, timedelta) and op in "+-":
        return left + right if op == "+" else left - right
    try:
        a, b = to_number(left), to_number(right)
    except ValueError as exc:
        raise runtime(str(exc), "InvalidCastFromStringToInteger", "InvalidArgument") from None
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op in ("/", "%"):
        if b == 0:
            raise runtime("Attempted to divide by zero.", "RuntimeException", "NotSpecified")
        if op == "%":
            return a % b
        q = a / b
        return int(q) if isinstance(a, int) and isinstance(b, int) and q == int(q) else q
    raise runtime(f"The operator '{op}' is not supported by the simulated host.", "OperatorNotSupported")


def bitwise(op: str, left: Any, right: Any) -> Any:
    a, b = int(to_number(left)), int(to_number(right))
    return {"-band": a & b, "-bor": a | b, "-bxor": a ^ b, "-shl": a << b, "-shr": a >> b}[op.lower()]


def format_operator(fmt: Any, args: Any) -> str:
    """`"{0} {1:N2}" -f a, b`: .NET composite formatting for the specifiers scripts use."""
    values = enumerate_value(args) if is_enumerable(args) else [args]

    def one(m: re.Match) -> str:
        index, align, spec = int(m.group(1)), m.group(2), m.group(3)
        value = values[index] if index < len(values) else None
        text = _format_spec(value, spec)
        if align:
            width = int(align)
            text = text.rjust(width) if width > 0 else text.ljust(-width)
        return text

    text = to_str(fmt).replace("{{", "\x00").replace("}}", "\x01")
    return re.sub(r"\{(\d+)(?:,(-?\d+))?(?::([^}]*))?\}", one, text).replace("\x00", "{").replace("\x01", "}")


def _format_spec(value: Any, spec: str | None) -> str:
    if not spec:
        return to_str(value)
    kind, digits = spec[0].upper(), spec[1:]
    try:
        number = to_number(value)
    except ValueError:
        return to_str(value)
    places = int(digits) if digits.isdigit() else 2
    if kind in ("N", "F"):
        from decimal import ROUND_HALF_UP, Decimal  # .NET rounds half away from zero
        rounded = Decimal(str(number)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return f"{rounded:,.{places}f}" if kind == "N" else f"{rounded:.{places}f}"
    if kind == "D":
        return f"{int(number):0{places if digits else 1}d}"
    if kind == "X":
        return f"{int(number):X}".rjust(int(digits) if digits.isdigit() else 0, "0")
    if kind == "P":
        return f"{number * 100:.{places}f} %"
    if set(spec) <= {"0", "#", ".", ","}:
        decimals = len(spec.split(".")[1]) if "." in spec else 0
        return f"{number:.{decimals}f}"
    return to_str(value)


# -- types -------------------------------------------------------------------------------------------

TYPES = {
    "string": "System.String", "int": "System.Int32", "int32": "System.Int32", "long": "System.Int64",
    "int64": "System.Int64", "double": "System.Double", "bool": "System.Boolean", "boolean": "System.Boolean",
    "switch": "System.Management.Automation.SwitchParameter", "object": "System.Object", "array": "System.Array",
    "hashtable": "System.Collections.Hashtable", "ordered": "System.Collections.Specialized.OrderedDictionary",
    "pscustomobject": "System.Management.Automation.PSObject", "psobject": "System.Management.Automation.PSObject",
    "system.management.automation.pscustomobject": "System.Management.Automation.PSCustomObject",
    "datetime": "System.DateTime", "timespan": "System.TimeSpan", "char": "System.Char", "byte": "System.Byte",
    "decimal": "System.Decimal", "single": "System.Single", "float": "System.Single", "uint32": "System.UInt32",
    "uint64": "System.UInt64", "scriptblock": "System.Management.Automation.ScriptBlock", "regex": "System.Text.RegularExpressions.Regex",
    "math": "System.Math", "environment": "System.Environment", "convert": "System.Convert", "version": "System.Version",
    "guid": "System.Guid", "void": "System.Void", "type": "System.Type", "enum": "System.Enum", "char[]": "System.Char[]",
    "string[]": "System.String[]", "object[]": "System.Object[]", "int[]": "System.Int32[]",
    "system.security.principal.windowsidentity": "System.Security.Principal.WindowsIdentity",
    "system.security.principal.windowsprincipal": "System.Security.Principal.WindowsPrincipal",
    "system.security.principal.windowsbuiltinrole": "System.Security.Principal.WindowsBuiltInRole",
    "security.principal.windowsidentity": "System.Security.Principal.WindowsIdentity",
    "security.principal.windowsprincipal": "System.Security.Principal.WindowsPrincipal",
    "security.principal.windowsbuiltinrole": "System.Security.Principal.WindowsBuiltInRole",
    "wmi": "System.Management.ManagementObject", "system.collections.arraylist": "System.Collections.ArrayList",
    "collections.arraylist": "System.Collections.ArrayList",
    "system.collections.generic.list[string]": "System.Collections.Generic.List[string]",
    "system.collections.generic.list[object]": "System.Collections.Generic.List[object]",
    "system.collections.generic.list[psobject]": "System.Collections.Generic.List[psobject]", "io.path": "System.IO.Path", "system.io.path": "System.IO.Path",
}


def resolve_type(name: str) -> str:
    if "`" in name:  # List`1[string] is List[string]: the arity is implied by the arguments
        name = re.sub(r"`\d+(?=\[|$)", "", name)
    low = name.lower().strip()
    if low in TYPES:
        return TYPES[low]
    if low.startswith("system.") and low[7:] in TYPES:
        return TYPES[low[7:]]
    if low.endswith("[]") and resolve_type(low[:-2]):
        return resolve_type(low[:-2]) + "[]"
    known = {v.lower(): v for v in TYPES.values()}
    if low in known:
        return known[low]
    generic = re.match(r"^([\w.`]+)\[(.+)\]$", name.strip())
    if generic and "," not in generic.group(1):  # HashSet[string]: the generic type, its arguments as written
        try:
            return resolve_type(generic.group(1)) + "[" + generic.group(2) + "]"
        except ScriptError:
            pass
    raise type_not_found(name)


CASTS: dict[str, Any] = {}  # full type name -> conversion, for the .NET types of pwsh.dotnet


def cast(type_ref: Any, value: Any) -> Any:
    """[type]value."""
    written = type_ref.name if isinstance(type_ref, TypeRef) else to_str(type_ref)
    if isinstance(value, PSObject) and any(t.lower() == written.lower() for t in value.type_names):
        return value  # [Microsoft.HyperV.PowerShell.VirtualMachine]$VM: the object already is one
    name = resolve_type(written)
    if getattr(value, "type_name", None) == name:
        return value  # a .NET object of the engine's ([ErrorRecord]$_): it already is one
    conversion = CASTS.get(name) or (None if name.endswith("[]") else CASTS.get(name.split("[", 1)[0]))
    if conversion is not None:
        return conversion(value)
    if name.endswith("[]") or name == "System.Array":
        element = name[:-2]
        items = enumerate_value(value)
        return [cast(TypeRef(element), v) for v in items] if element not in ("System.Object", "System.Arr") else items
    if name == "System.String":
        return to_str(value)
    if name in ("System.Int32", "System.Int64", "System.Byte", "System.UInt32", "System.UInt64"):
        number = _checked_number(value, name)
        return int(round(number)) if isinstance(number, float) else int(number)
    if name in ("System.Double", "System.Single", "System.Decimal"):
        return float(_checked_number(value, name))
    if name in ("System.Boolean", "System.Management.Automation.SwitchParameter"):
        return to_bool(value)
    if name == "System.Collections.Specialized.OrderedDictionary" or name == "System.Collections.Hashtable":
        if isinstance(value, Hashtable):
            return value
        raise _cast_error(value, name)
    if name == "System.Management.Automation.PSObject":
        if isinstance(value, Hashtable):
            return new_custom((to_str(k), v) for k, v in value.items())
        return value
    if name == "System.Version":
        return to_str(value)
    if name == "System.DateTime":
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(to_str(value))
        except ValueError:
            raise _cast_error(value, name) from None
    if name == "System.Management.Automation.ScriptBlock":
        from nestlab.simulator.pwsh.values import ScriptBlock
        if value is None or isinstance(value, ScriptBlock):
            return value
        raise _cast_error(value, name)
    if name in ("System.Object", "System.Void"):
        return None if name == "System.Void" else value
    if name == "System.Char":
        text = to_str(value)
        if isinstance(value, int):
            return chr(value)
        if len(text) != 1:
            raise _cast_error(value, name)
        return text
    raise runtime(f"The simulated host cannot convert to [{name}].", "NotSupported", "NotImplemented")


def _checked_number(value: Any, name: str) -> int | float:
    try:
        return to_number(value)
    except ValueError:
        raise _cast_error(value, name) from None


def _cast_error(value: Any, name: str) -> ScriptError:
    return runtime(f'Cannot convert value "{to_str(value)}" to type "{name}". Error: "Input string was not in a '
                   'correct format."', "InvalidCastFromStringToInteger" if isinstance(value, str) else "ConvertToFinalInvalidCastException",
                   "InvalidArgument")


def is_type(value: Any, type_ref: Any) -> bool:
    name = resolve_type(type_ref.name if isinstance(type_ref, TypeRef) else to_str(type_ref))
    actual = type_name(value)
    if name == "System.Object":
        return value is not None
    if name in ("System.Array", "System.Object[]"):
        return is_enumerable(value)
    if name == "System.Int32" and isinstance(value, int) and not isinstance(value, bool):
        return actual == "System.Int32"
    if name == "System.Management.Automation.PSObject" and isinstance(value, PSObject):
        return True
    if isinstance(value, PSObject):
        return name in value.type_names
    return actual == name


def unary_number(value: Any, sign: int) -> Any:
    try:
        return sign * to_number(value)
    except ValueError as exc:
        raise runtime(str(exc), "InvalidCastFromStringToInteger", "InvalidArgument") from None


__all__ = ["compare", "arithmetic", "bitwise", "format_operator", "cast", "is_type", "resolve_type", "equal", "order",
           "like", "parse_number", "unary_number"]
