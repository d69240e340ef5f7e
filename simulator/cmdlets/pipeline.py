"""Pipeline utilities: Select-Object, Where-Object (simple comparison form), Format-*, Invoke-Command.

Where-Object supports only `-Property X -EQ Y` and its siblings (no script blocks: nothing is
evaluated). Invoke-Command -VMName runs its -ScriptBlock (PowerShell text, parsed by psparse) in
each named VM's guest through PowerShell Direct — how a real diagnosis reaches nested levels.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, Callable, Iterable

from nestlab.simulator import psparse
from nestlab.simulator.cmdlets.base import Call, Ctx, Terminating, as_list, cmdlet
from nestlab.simulator.cmdlets.shapes import VARIES, Shape
from nestlab.simulator.cmdlets.wildcards import WILDCARDS, like
from nestlab.simulator.psdata import ErrorRecord, PSEnum, PSObject
from nestlab.simulator.psformat import Formatted


def _expand(value: Any) -> list[Any]:
    if type(value) is str:  # a plain string (ParentPath, Name): no nested object to look for
        return [value]
    if value is None:  # an adapter without a bandwidth setting
        return []
    inner = getattr(value, "obj", None)  # cmdlets.network.Nested: a nested object kept expandable
    if inner is not None:
        return [inner]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


@cmdlet("Select-Object", positional=("Property",),
        params=("Property", "ExpandProperty", "First", "Last", "Skip", "Unique", "ExcludeProperty", "InputObject"))
def select_object(ctx: Ctx, call: Call) -> Iterable[Any]:
    items = list(call.input)
    if call.has("Skip"):
        items = items[int(call.get("Skip")):]
    if call.has("First"):
        items = items[: int(call.get("First"))]
    if call.has("Last"):
        items = items[-int(call.get("Last")):]
    expand = call.get("ExpandProperty")
    props = [str(p) for p in as_list(call.get("Property"))]
    out: list[Any] = []
    shapes: dict[tuple[str, ...], tuple[list[str], Shape]] = {}  # per object shape: the names selected, matched once
    for item in items:
        if expand is not None:
            if not isinstance(item, PSObject) or not _has(item, str(expand)):
                ctx.error(ErrorRecord(f'Property "{expand}" cannot be found.',
                                      "ExpandPropertyNotFound,Microsoft.PowerShell.Commands.SelectObjectCommand",
                                      "InvalidArgument", target_name=str(item), activity="Select-Object",
                                      reason="PSArgumentException", terminating=False))
                continue
            out.extend(_expand(item[str(expand)]))
        elif props and isinstance(item, PSObject):
            shape = tuple(item)
            known = shapes.get(shape)
            if known is None:
                names = _matching(item, props)
                type_name = item.type_names[0] if item.type_names else "System.Object"
                # the Selected.* object obj() makes from these names, laid down once for the objects of this shape
                known = shapes[shape] = names, Shape(f"Selected.{type_name}", [(n, VARIES) for n in names])
            names, selected = known
            # a name matched is the object's own spelling; one that did not is None (dict.get's default)
            out.append(selected.adopt(dict(zip(names, map(item._props.get, names)))))
        else:
            out.append(item)
    return out


def _has(item: PSObject, name: str) -> bool:
    """Whether the object has the property, in any case: a lookup in its case-insensitive index
    (`in` goes through PSObject.__getitem__), not a scan of its names (VMNetworkAdapter has 83)."""
    return name in item


def _matching(item: PSObject, patterns: list[str]) -> list[str]:
    names: list[str] = []
    keys = [(k.lower(), k) for k in item]  # once per object shape, not once per pattern and key
    index = {lk: k for lk, k in reversed(keys)}  # the first spelling of a name wins, as the scan found it
    for p in patterns:
        low = p.lower()
        found = [k for lk, k in keys if fnmatch.fnmatchcase(lk, low)] if any(c in p for c in "*?") else \
            [index.get(low, p)]
        names.extend(n for n in found if n not in names)
    return names


OPERATORS = ("EQ", "NE", "GT", "GE", "LT", "LE", "Like", "NotLike", "Match", "NotMatch", "Contains", "NotContains",
             "CEQ", "In", "NotIn")
_OPERATOR_NAMES = tuple((o, o.lower()) for o in OPERATORS)  # each with the name `bind` gives it (Call.has)


def _compare(op: str, left: Any, right: Any) -> bool:
    op = op.lower()
    if op in ("contains", "notcontains"):
        hit = any(_eq(v, right) for v in as_list(left))
        return hit if op == "contains" else not hit
    if op in ("in", "notin"):
        hit = any(_eq(left, v) for v in as_list(right))
        return hit if op == "in" else not hit
    if op in ("eq", "ceq"):
        return _eq(left, right)
    if op == "ne":
        return not _eq(left, right)
    if op in ("like", "notlike"):
        hit = like(str(left).lower(), str(right).lower())
        return hit if op == "like" else not hit
    if op in ("match", "notmatch"):
        hit = re.search(str(right), str(left), re.IGNORECASE) is not None
        return hit if op == "match" else not hit
    try:
        a, b = float(_num(left)), float(_num(right))
    except (TypeError, ValueError):
        a, b = str(left), str(right)  # type: ignore[assignment]
    return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]


def _num(value: Any) -> Any:
    return value.value if isinstance(value, PSEnum) else value


def _eq(left: Any, right: Any) -> bool:
    if isinstance(left, PSEnum):
        return left == right
    if isinstance(left, bool) or isinstance(right, bool):
        return str(left).lower() == str(right).lower().lstrip("$")
    if isinstance(left, (int, float)) and not isinstance(right, (int, float)):
        try:
            return float(left) == float(right)
        except (TypeError, ValueError):
            return False
    return str(left).lower() == str(right).lower()


@cmdlet("Where-Object", positional=("Property", "Value"), params=("Property", "Value", "InputObject", *OPERATORS))
def where_object(ctx: Ctx, call: Call) -> Iterable[Any]:
    op = next((o for o, bound in _OPERATOR_NAMES if bound in call.named), None)
    prop = call.get("Property")
    if prop is None or isinstance(prop, psparse.ScriptBlock):
        raise Terminating(ErrorRecord("Script blocks are not supported by the simulator: use Where-Object -Property X "
                                      "-EQ Y.", "ScriptBlockNotSupported,Microsoft.PowerShell.Commands.WhereObjectCommand",
                                      "NotImplemented", activity="Where-Object"))
    value = call.get(op) if op else call.get("Value", True)
    if op and value is True and call.has("Value"):
        value = call.get("Value")
    out = []
    name = str(prop)
    test = _test(op, value) if op else None
    for item in call.input:
        if not isinstance(item, PSObject):
            continue
        left = item.get(name, _ABSENT)  # the property looked up once: whether it is there, and its value
        if left is _ABSENT:
            continue
        if test is None:
            if left:
                out.append(item)
        elif test(left):
            out.append(item)
    return out


_ABSENT = object()  # Where-Object: an object without the property (PSObject.get's default)


def _test(op: str, right: Any) -> Callable[[Any], bool]:
    """`lambda left: _compare(op, left, right)`, with what depends on the operator and the value alone
    worked out once per call, not once per object: -Like's pattern (the collector's
    `Where-Object ParentPath -Like ?*` over every disk of a place). Every other operator is _compare."""
    low = op.lower()
    if low in ("like", "notlike"):
        pattern = str(right).lower()
        if WILDCARDS.isdisjoint(pattern):
            hit = pattern.__eq__  # wildcards.like: a plain pattern matches only itself
        elif not pattern.strip("?*"):
            # only ? and * (the collector's `ParentPath -Like ?*`: a disk that has a parent): a length
            # test, what fnmatch's `.` per ? and `.*` per * match (any character, newlines too)
            least, stars = pattern.count("?"), "*" in pattern
            hit = (lambda text: len(text) >= least) if stars else (lambda text: len(text) == least)
        else:
            try:
                match = re.compile(fnmatch.translate(pattern)).match  # what fnmatchcase compiles and runs
            except re.error:  # raised for each object, as fnmatch raises it
                return lambda left: _compare(op, left, right)
            hit = lambda text: match(text) is not None  # noqa: E731
        if low == "like":
            return lambda left: hit(str(left).lower())
        return lambda left: not hit(str(left).lower())
    return lambda left: _compare(op, left, right)


def _format(call: Call, view: str) -> list[Any]:
    props = tuple(str(p) for p in as_list(call.get("Property")))
    return [Formatted(view, tuple(call.input), props)]


@cmdlet("Format-List", positional=("Property",), params=("Property", "GroupBy", "View", "Force"))
def format_list(ctx: Ctx, call: Call) -> Iterable[Any]:
    return _format(call, "list")


@cmdlet("Format-Table", positional=("Property",), params=("Property", "AutoSize", "Wrap", "GroupBy", "HideTableHeaders"))
def format_table(ctx: Ctx, call: Call) -> Iterable[Any]:
    return _format(call, "table")


@cmdlet("Invoke-Command", positional=("ScriptBlock",),
        params=("VMName", "VMId", "ScriptBlock", "Credential", "ComputerName", "ArgumentList", "ErrorAction"))
def invoke_command(ctx: Ctx, call: Call) -> Iterable[Any]:
    script = call.get("ScriptBlock")
    if script is None:
        raise Terminating(ErrorRecord("Cannot validate argument on parameter 'ScriptBlock'. The argument is null.",
                                      "ParameterArgumentValidationError,Microsoft.PowerShell.Commands.InvokeCommandCommand",
                                      "InvalidData", activity="Invoke-Command", reason="ParameterBindingValidationException"))
    pipeline = psparse.parse(str(script))
    if not call.has("VMName"):
        return list(ctx.run_nested(ctx.owner, pipeline).output)
    out: list[Any] = []
    for name in as_list(call.get("VMName")):
        matches = [v for v in ctx.vms() if ctx.lab[v].name.lower() == str(name).lower()]
        if not matches:
            # RemotingErrorIdStrings.InvalidVMNameNotSingle (PowerShell/PowerShell resources)
            ctx.error(ErrorRecord(f"The input VMName {name} does not resolve to a single virtual machine.",
                                  "InvalidVMNameNotSingle,Microsoft.PowerShell.Commands.InvokeCommandCommand",
                                  "InvalidArgument", target_name=str(name), target_type="String",
                                  activity="Invoke-Command", reason="ArgumentException", terminating=False))
            continue
        result = ctx.run_nested(matches[0], pipeline)
        out.extend(result.output)
        for error in result.errors:
            ctx.error(error)
    return out
