"""Object cmdlets: New-Object, Add-Member, Where/ForEach/Select/Sort/Measure/Group-Object.

Script blocks run in the caller's scope with $_ set (about_Automatic_Variables); Select-Object's
calculated properties are hashtables with Name/Label/N/L and Expression/E (about_Calculated_
Properties); its output objects are PSCustomObjects whose first type name is "Selected.<type>".
Where-Object's simplified syntax (`where State -eq Running`) takes the comparison operators as
switches, as PowerShell 3+ does.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from nestlab.simulator.psdata import PSObject
from nestlab.simulator.pwsh import members, ops
from nestlab.simulator.pwsh.builtins import BuiltinCall, builtin
from nestlab.simulator.pwsh.errors import ScriptError, record
from nestlab.simulator.pwsh.values import (CUSTOM, Hashtable, ScriptBlock, collect, enumerate_value, has_property,
                                           iter_props, set_property, to_bool, to_number, to_str, type_name)

WHERE_OPERATORS = ("EQ", "NE", "GT", "LT", "GE", "LE", "Like", "NotLike", "Match", "NotMatch", "Contains",
                   "NotContains", "In", "NotIn", "Is", "IsNot", "CEQ", "CNE", "CLike", "CMatch", "CContains", "CIn")


@builtin("New-Object", positional=("TypeName", "ArgumentList"), params=("TypeName", "ArgumentList", "Property", "ComObject"),
         switches=("Strict",))
def new_object(call: BuiltinCall) -> list[Any]:
    if call.has("ComObject"):
        raise call.fail(f"Retrieving the COM class factory for component with CLSID {{{to_str(call.get('ComObject'))}}} "
                        "failed: the simulated host has no COM server.", "NoCOMClassIdentified", "ResourceUnavailable")
    args = call.get("ArgumentList")
    arg_list = enumerate_value(args) if isinstance(args, list) else ([] if args is None else [args])
    properties = call.get("Property")
    try:
        made = call.session.new_object(to_str(call.get("TypeName")), arg_list, properties if isinstance(properties, Hashtable) else None)
    except ScriptError as error:
        if "TypeNotFound" in error.record.fully_qualified_error_id:
            raise ScriptError(record(error.record.message, error.record.fully_qualified_error_id, "InvalidType",
                                     activity="New-Object", reason="PSArgumentException",
                                     exception_type="System.Management.Automation.PSArgumentException")) from None
        raise
    return [made]


@builtin("Add-Member", positional=("MemberType", "Name", "Value", "SecondValue"),
         params=("InputObject", "MemberType", "Name", "Value", "SecondValue", "NotePropertyName", "NotePropertyValue",
                 "NotePropertyMembers", "TypeName"), switches=("PassThru", "Force"), aliases={"Type": "MemberType"})
def add_member(call: BuiltinCall) -> list[Any]:
    targets = enumerate_value(call.get("InputObject")) if call.has("InputObject") else call.items
    pairs: list[tuple[str, Any]] = []
    if call.has("NotePropertyMembers"):
        pairs = [(to_str(k), v) for k, v in call.get("NotePropertyMembers").items()]
    elif call.has("NotePropertyName"):
        pairs = [(to_str(call.get("NotePropertyName")), call.get("NotePropertyValue"))]
    else:
        kind = to_str(call.get("MemberType")).lower()
        if kind not in ("noteproperty", "note", ""):
            raise call.fail(f"The simulated host supports only NoteProperty members, not '{call.get('MemberType')}'.",
                            "NotSupported", "NotImplemented")
        pairs = [(to_str(call.get("Name")), call.get("Value"))]
    out = []
    for target in targets:
        if not isinstance(target, PSObject):
            raise call.fail("Cannot add a member to an object of type " + type_name(target) + " in the simulated host.",
                            "NotSupported", "NotImplemented")
        for name, value in pairs:
            if has_property(target, name) and not call.flag("Force"):
                call.error(f'Cannot add a member with the name "{name}" because a member with that name already exists. '
                           'To overwrite the member anyway, add the Force parameter to your command.',
                           "MemberAlreadyExists", "InvalidOperation")
                continue
            set_property(target, name, value)
        if call.flag("PassThru"):
            out.append(target)
    return out


def _simple_where(call: BuiltinCall, item: Any) -> bool:
    prop = to_str(call.get("Property"))
    value = members.get(item, prop)
    for op in WHERE_OPERATORS:
        if call.has(op):
            return to_bool(ops.compare("-" + op.lower(), value, call.get(op), lambda _t: None))
    return to_bool(value)


@builtin("Where-Object", positional=("FilterScript",), params=("FilterScript", "Property", "Value", "InputObject", *WHERE_OPERATORS),
         switches=())
def where_object(call: BuiltinCall) -> list[Any]:
    items = call.items + (enumerate_value(call.get("InputObject")) if call.has("InputObject") else [])
    script = call.get("FilterScript")
    if isinstance(script, ScriptBlock):
        return [item for item in items if to_bool(collect(call.invoke(script, item)))]
    if script is not None and not call.has("Property"):
        call.named["Property"] = script
    if call.has("Value"):
        for op in WHERE_OPERATORS:
            if call.has(op) and call.get(op) is True:
                call.named[op] = call.get("Value")
    return [item for item in items if _simple_where(call, item)]


@builtin("ForEach-Object", positional=("Process",), params=("Process", "Begin", "End", "MemberName", "ArgumentList",
                                                            "InputObject", "RemainingScripts"))
def foreach_object(call: BuiltinCall) -> list[Any]:
    items = call.items + (enumerate_value(call.get("InputObject")) if call.has("InputObject") else [])
    out: list[Any] = []
    process = call.get("Process")
    if isinstance(call.get("Begin"), ScriptBlock):
        out.extend(call.invoke(call.get("Begin"), None))
    blocks = enumerate_value(process) if isinstance(process, list) else [process]
    if blocks and all(isinstance(b, ScriptBlock) for b in blocks):
        for item in items:
            for block in blocks:
                out.extend(call.invoke(block, item))
    elif process is not None:
        name = to_str(process)
        args = enumerate_value(call.get("ArgumentList"))
        for item in items:
            value = members.get(item, name)
            if value is None and not isinstance(item, (PSObject, Hashtable)) and args is not None and call.has("ArgumentList"):
                value = members.call(item, name, args, lambda b, a, *item: collect(call.session.invoke_block(b, a, **({'dollar_under': item[0]} if item else {}))))
            out.extend(enumerate_value(value))
    if isinstance(call.get("End"), ScriptBlock):
        out.extend(call.invoke(call.get("End"), None))
    return out


def _property_value(call: BuiltinCall, item: Any, spec: Any) -> Any:
    if isinstance(spec, ScriptBlock):
        return collect(call.invoke(spec, item))
    if isinstance(spec, Hashtable):
        expression = next((spec[k] for k in ("Expression", "E") if k in spec), None)
        return _property_value(call, item, expression) if expression is not None else None
    return members.get(item, to_str(spec))


def _label(spec: Any) -> str:
    if isinstance(spec, Hashtable):
        for key in ("Name", "Label", "N", "L"):
            if key in spec:
                return to_str(spec[key])
        expression = next((spec[k] for k in ("Expression", "E") if k in spec), "")
        return to_str(expression).strip()
    if isinstance(spec, ScriptBlock):
        return spec.text.strip()
    return to_str(spec)


def _names(item: Any, spec: Any) -> list[tuple[str, Any]]:
    """A property spec as (label, spec) pairs: wildcards expand against the object's property names."""
    if isinstance(spec, str) and any(c in spec for c in "*?["):
        return [(k, k) for k, _ in iter_props(item) if fnmatch.fnmatchcase(k.lower(), spec.lower())]
    if isinstance(spec, str):
        real = next((k for k, _ in iter_props(item) if k.lower() == spec.lower()), spec)
        return [(real, spec)]
    return [(_label(spec), spec)]


@builtin("Select-Object", positional=("Property",),
         params=("Property", "ExpandProperty", "First", "Last", "Skip", "SkipLast", "Index", "ExcludeProperty", "InputObject"),
         switches=("Unique", "Wait"))
def select_object(call: BuiltinCall) -> list[Any]:
    items = call.items + (enumerate_value(call.get("InputObject")) if call.has("InputObject") else [])
    if call.has("Skip"):
        items = items[int(to_number(call.get("Skip"))):]
    if call.has("SkipLast"):
        items = items[:len(items) - int(to_number(call.get("SkipLast")))]
    if call.has("First"):
        items = items[:int(to_number(call.get("First")))]
    if call.has("Last"):
        n = int(to_number(call.get("Last")))
        items = items[-n:] if n else []
    if call.has("Index"):
        idx = [int(to_number(i)) for i in enumerate_value(call.get("Index"))]
        items = [items[i] for i in idx if -len(items) <= i < len(items)]
    specs = enumerate_value(call.get("Property")) if call.has("Property") else []
    expand = call.get("ExpandProperty")
    out: list[Any] = []
    for item in items:
        if specs:
            pairs: list[tuple[str, Any]] = []
            for spec in specs:
                for label, s in _names(item, spec):
                    pairs.append((label, _property_value(call, item, s)))
            first = type_name(item)
            selected = PSObject((f"Selected.{first}", *CUSTOM), pairs, "")
            if expand is not None:
                out.extend(enumerate_value(members.get(item, to_str(expand))))
            else:
                out.append(selected)
        elif expand is not None:
            value = members.get(item, to_str(expand))
            if value is None and not _has(item, to_str(expand)):
                call.error(f'Property "{to_str(expand)}" cannot be found.', "ExpandPropertyNotFound", "InvalidArgument",
                           target=to_str(item), exception="System.Management.Automation.PSArgumentException")
                continue
            out.extend(enumerate_value(value))
        else:
            out.append(item)
    return _unique(out) if call.flag("Unique") else out


def _unique(items: list[Any]) -> list[Any]:
    """-Unique of Select-Object and Sort-Object: the first of each run of equal objects, in order.

    What `_same` says, without comparing every pair: two PSObjects are the same when their
    properties read the same as text, so each one's key is built once and looked up in a set
    (`Sort-Object -Unique` of a host's VMs was most of a check script's time); anything else is
    compared as PowerShell compares it."""
    unique: list[Any] = []
    keys: set[tuple[tuple[str, str], ...]] = set()
    others: list[Any] = []  # the kept items that are not PSObjects
    for item in items:
        if isinstance(item, PSObject):
            key = _object_key(item)
            if key in keys or any(ops.equal(item, other) for other in others):
                continue
            keys.add(key)
        elif any(_same(item, seen) for seen in unique):
            continue
        else:
            others.append(item)
        unique.append(item)
    return unique


def _object_key(item: PSObject) -> tuple[tuple[str, str], ...]:
    return tuple((k.lower(), to_str(v)) for k, v in iter_props(item))


def _has(item: Any, name: str) -> bool:
    return any(k.lower() == name.lower() for k, _ in iter_props(item))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, PSObject) and isinstance(b, PSObject):
        return _object_key(a) == _object_key(b)
    return ops.equal(a, b)


@builtin("Sort-Object", positional=("Property",), params=("Property", "InputObject", "Top", "Bottom"),
         switches=("Descending", "Unique", "CaseSensitive"))
def sort_object(call: BuiltinCall) -> list[Any]:
    import functools

    items = call.items + (enumerate_value(call.get("InputObject")) if call.has("InputObject") else [])
    specs = enumerate_value(call.get("Property")) if call.has("Property") else []
    descending = call.flag("Descending")

    def keys(item: Any) -> list[tuple[Any, bool]]:
        if not specs:
            return [(item, descending)]
        out = []
        for spec in specs:
            desc = descending
            if isinstance(spec, Hashtable) and any(k in spec for k in ("Descending", "Ascending")):
                desc = to_bool(spec.get("Descending")) if "Descending" in spec else not to_bool(spec.get("Ascending"))
            out.append((_property_value(call, item, spec), desc))
        return out

    decorated = [(keys(item), item) for item in items]

    def cmp(a: tuple, b: tuple) -> int:
        for (x, desc), (y, _) in zip(a[0], b[0]):
            o = ops.order(x, y, call.flag("CaseSensitive"))
            if o:
                return -o if desc else o
        return 0

    decorated.sort(key=functools.cmp_to_key(cmp))
    out = [item for _, item in decorated]
    return _unique(out) if call.flag("Unique") else out


@builtin("Measure-Object", positional=("Property",), params=("Property", "InputObject"),
         switches=("Sum", "Average", "Maximum", "Minimum", "Line", "Word", "Character", "IgnoreWhiteSpace", "AllStats",
                   "StandardDeviation"))
def measure_object(call: BuiltinCall) -> list[Any]:
    items = call.items + (enumerate_value(call.get("InputObject")) if call.has("InputObject") else [])
    prop = call.get("Property")
    values = [members.get(i, to_str(prop)) for i in items] if prop is not None else items
    values = [v for v in values if v is not None] if prop is not None else values
    numbers = [to_number(v) for v in values] if any(call.flag(s) for s in ("Sum", "Average", "Maximum", "Minimum")) else []
    stats = call.flag("AllStats")
    result = [("Count", len(values)),
              ("Average", (sum(numbers) / len(numbers) if numbers else None) if call.flag("Average") or stats else None),
              ("Sum", sum(numbers) if call.flag("Sum") or stats else None),
              ("Maximum", (max(numbers) if numbers else None) if call.flag("Maximum") or stats else None),
              ("Minimum", (min(numbers) if numbers else None) if call.flag("Minimum") or stats else None),
              ("Property", to_str(prop) if prop is not None else None)]
    return [PSObject(("Microsoft.PowerShell.Commands.GenericMeasureInfo", "System.Object"), result,
                     "Microsoft.PowerShell.Commands.GenericMeasureInfo")]


@builtin("Group-Object", positional=("Property",), params=("Property", "InputObject"),
         switches=("NoElement", "AsHashTable", "AsString", "CaseSensitive"))
def group_object(call: BuiltinCall) -> list[Any]:
    items = call.items + (enumerate_value(call.get("InputObject")) if call.has("InputObject") else [])
    specs = enumerate_value(call.get("Property")) if call.has("Property") else []
    groups: list[tuple[str, list[Any]]] = []
    for item in items:
        key = ", ".join(to_str(_property_value(call, item, s)) for s in specs) if specs else to_str(item)
        for name, members_ in groups:
            if name.lower() == key.lower():
                members_.append(item)
                break
        else:
            groups.append((key, [item]))
    if call.flag("AsHashTable"):
        return [Hashtable((k, v) for k, v in groups)]
    return [PSObject(("Microsoft.PowerShell.Commands.GroupInfo", "System.Object"),
                     [("Count", len(v)), ("Name", k), ("Group", v)], "Microsoft.PowerShell.Commands.GroupInfo")
            for k, v in groups]


@builtin("Get-Member", positional=("Name",), params=("Name", "InputObject", "MemberType"), switches=("Static", "Force"))
def get_member(call: BuiltinCall) -> list[Any]:
    items = call.items + (enumerate_value(call.get("InputObject")) if call.has("InputObject") else [])
    out: list[Any] = []
    seen: set[str] = set()
    for item in items:
        tn = type_name(item)
        if tn in seen:
            continue
        seen.add(tn)
        for name, value in iter_props(item):
            out.append(PSObject(("Microsoft.PowerShell.Commands.MemberDefinition", "System.Object"), [
                ("TypeName", tn), ("Name", name), ("MemberType", "NoteProperty" if tn.startswith("System.Management") else "Property"),
                ("Definition", f"{type_name(value)} {name}")], name))
    return out

