"""Property and method access on engine values: `$x.Name`, `$s.Split('.')`, `[string]::IsNullOrEmpty`.

PowerShell's rules: a property an object lacks reads as $null; `.Count`/`.Length` exist on every
value (1 for a scalar, 0 for $null); a property of an array is member enumeration (each item's
value); a method an object lacks is MethodNotFound; a method on $null is InvokeMethodOnNull.
The .NET methods modelled are the ones diagnostics call; any other is MethodNotFound, never a guess.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any, Callable

from nestlab.simulator.psdata import PSEnum, PSObject
from nestlab.simulator.pwsh.errors import ScriptError, method_not_found, null_method, property_not_settable, runtime
from nestlab.simulator.pwsh.ops import dotnet_regex, format_operator, resolve_type
from nestlab.simulator.pwsh.values import (ArrayList, DotNet, GenericList, Hashtable, ScriptBlock, TypeRef, enumerate_value, has_property,
                                           is_enumerable, set_property, to_bool, to_number, to_str, type_name)


def get(value: Any, name: str) -> Any:
    low = name.lower()
    if value is None:
        return 0 if low in ("count", "length") else None
    if isinstance(value, PSObject):
        if has_property(value, name):
            return value[name]
        if low == "psobject":
            members = DotNet("System.Management.Automation.PSMemberInfoIntegratingCollection`1", {}, {
                "Add": lambda member, *rest: set_property(value, to_str(get(member, "Name")),
                                                          member if get(member, "Script") is not None else get(member, "Value"))})
            return DotNet("System.Management.Automation.PSMemberSet", {"Properties": [
                DotNet("System.Management.Automation.PSNoteProperty", {"Name": k, "Value": value[k]}) for k in value
                if not _is_script_method(value[k])],
                "TypeNames": list(value.type_names), "Members": members})
        if low == "pstypenames":
            return list(value.type_names)
        return 1 if low in ("count", "length") else None
    if isinstance(value, Hashtable):
        if name in value:
            return value[name]
        if low == "count":
            return len(value)
        if low == "keys":
            return list(value.keys())
        if low == "values":
            return list(value.values())
        return None
    if isinstance(value, DotNet):
        for key, v in value.properties.items():
            if key.lower() == low:
                return v
        return 1 if low in ("count", "length") else None
    if is_enumerable(value):
        if low in ("count", "length", "longlength"):
            return len(value)
        if low == "rank":
            return 1
        out: list[Any] = []
        for item in value:
            got = get(item, name)
            if got is not None:
                out.extend(enumerate_value(got) if is_enumerable(got) else [got])
        return out if len(out) != 1 else out[0]
    if isinstance(value, str):
        if low == "length":
            return len(value)
        return 1 if low == "count" else None
    if isinstance(value, PSEnum):
        if low == "value__":
            return value.value
        return 1 if low == "count" else None
    if isinstance(value, datetime):
        props = {"year": value.year, "month": value.month, "day": value.day, "hour": value.hour, "minute": value.minute,
                 "second": value.second, "dayofweek": value.strftime("%A"), "date": value.replace(hour=0, minute=0, second=0),
                 "ticks": int((value - datetime(1, 1, 1)).total_seconds() * 10**7)}
        return props.get(low, 1 if low == "count" else None)
    if isinstance(value, timedelta):
        secs = value.total_seconds()
        props = {"totalseconds": secs, "totalminutes": secs / 60, "totalhours": secs / 3600, "totaldays": secs / 86400,
                 "totalmilliseconds": secs * 1000, "days": value.days, "hours": int(secs // 3600) % 24,
                 "minutes": int(secs // 60) % 60, "seconds": int(secs) % 60}
        return props.get(low, 1 if low == "count" else None)
    if isinstance(value, ScriptBlock):
        return None
    if isinstance(value, TypeRef):
        return static(value, name)
    return 1 if low in ("count", "length") else None


def put(target: Any, name: str, value: Any) -> None:
    """`$obj.Name = value`."""
    if isinstance(target, PSObject):
        if not has_property(target, name):
            raise property_not_settable(name)
        set_property(target, name, value)
        return
    if isinstance(target, Hashtable):
        target[name] = value
        return
    if isinstance(target, DotNet):
        match = next((k for k in target.properties if k.lower() == name.lower()), None)
        if match is None or (target.settable and match not in target.settable):
            raise property_not_settable(name)
        target.properties[match] = value
        return
    if target is None:
        raise runtime(f"The property '{name}' cannot be found on this object. Verify that the property exists and "
                      "can be set.", "PropertyAssignmentException")
    raise property_not_settable(name)


def call(value: Any, name: str, args: list[Any], invoke: Callable[..., Any]) -> Any:
    """`$value.Name(args)`; `invoke(block, args[, item])` runs a script block (.ForEach/.Where with $_ = item, .Invoke)."""
    low = name.lower()
    if value is None:
        raise null_method()
    if isinstance(value, TypeRef):
        return static_call(value, name, args)
    if low == "gettype" and not (isinstance(value, DotNet) and "GetType" in value.methods):
        from nestlab.simulator.pwsh.dotnet import runtime_type
        return runtime_type(None, type_name(value))
    if low == "tostring" and not isinstance(value, DotNet):
        if args and isinstance(value, (int, float)):
            return format_operator("{0:" + to_str(args[0]) + "}", [value])
        return to_str(value)
    if low == "equals" and args:
        from nestlab.simulator.pwsh.ops import equal
        return equal(value, args[0], case=True)
    if low == "gethashcode":
        return hash(to_str(value)) & 0x7FFFFFFF
    if isinstance(value, str):
        return _string_method(value, name, args)
    if isinstance(value, DotNet):
        for key, method in value.methods.items():
            if key.lower() == low:
                return method(*args)
        raise method_not_found(value.type_name, name)
    if isinstance(value, ScriptBlock) and low in ("invoke", "invokereturnasis"):
        return invoke(value, args)
    if isinstance(value, PSObject) and has_property(value, name) and _is_script_method(value[name]):
        return invoke(value[name].properties["Script"], args)  # a PSScriptMethod added to the object
    if isinstance(value, Hashtable):
        return _hashtable_method(value, name, args)
    if is_enumerable(value):
        if low == "contains":
            from nestlab.simulator.pwsh.ops import equal
            return any(equal(v, args[0], True) for v in value)
        if low == "indexof":
            from nestlab.simulator.pwsh.ops import equal
            return next((i for i, v in enumerate(value) if equal(v, args[0], True)), -1)
        if low == "foreach" and args and isinstance(args[0], ScriptBlock):
            return [r for item in value for r in enumerate_value(invoke(args[0], [], item))]
        if low == "where" and args and isinstance(args[0], ScriptBlock):
            return [item for item in value if to_bool(invoke(args[0], [], item))]
        if isinstance(value, ArrayList):
            growable = _array_list_method(value, name, args)
            if growable is not _NO:
                return growable
        if low == "add":
            raise runtime('Exception calling "Add" with "1" argument(s): "Collection was of a fixed size."',
                          "NotSupportedException", "NotSpecified")
        if low == "clone":
            return list(value)
        if value:  # member enumeration (PowerShell 3+): the method of each element
            try:
                return [call(item, name, args, invoke) for item in value]
            except ScriptError:
                pass
        raise method_not_found("System.Object[]", name)
    if isinstance(value, datetime):
        adders = {"adddays": "days", "addhours": "hours", "addminutes": "minutes", "addseconds": "seconds"}
        if low in adders:
            return value + timedelta(**{adders[low]: to_number(args[0])})
        if low == "tostring":
            return to_str(value)
    raise method_not_found(type_name(value), name)


_NO = object()


def _is_script_method(value: Any) -> bool:
    return isinstance(value, DotNet) and value.type_name == "System.Management.Automation.PSScriptMethod"


def _array_list_method(items: "ArrayList", name: str, args: list[Any]) -> Any:
    low = name.lower()
    if low == "add":
        items.append(args[0])
        return None if isinstance(items, GenericList) else len(items) - 1
    if low == "addrange":
        items.extend(enumerate_value(args[0]))
        return None
    if low == "remove":
        from nestlab.simulator.pwsh.ops import equal
        for i, v in enumerate(items):
            if equal(v, args[0], True):
                del items[i]
                break
        return None
    if low == "removeat":
        del items[int(to_number(args[0]))]
        return None
    if low == "clear":
        items.clear()
        return None
    if low == "insert":
        items.insert(int(to_number(args[0])), args[1])
        return None
    if low == "toarray":
        return list(items)
    return _NO


def _string_method(s: str, name: str, args: list[Any]) -> Any:
    low = name.lower()
    a = [to_str(x) if not isinstance(x, (int, float)) or isinstance(x, bool) else x for x in args]
    if low == "split":
        if not args:
            return s.split()
        seps = "".join(to_str(x) for x in enumerate_value(args[0])) if not isinstance(args[0], str) else args[0]
        if isinstance(args[0], str) and len(args) == 1:
            return re.split("[" + re.escape(seps) + "]", s) if seps else [s]
        return re.split("[" + re.escape(seps) + "]", s) if seps else [s]
    simple: dict[str, Callable[[], Any]] = {
        "tolower": s.lower, "toupper": s.upper, "tolowerinvariant": s.lower, "toupperinvariant": s.upper,
        "trim": lambda: s.strip(a[0]) if a else s.strip(), "trimstart": lambda: s.lstrip(a[0]) if a else s.lstrip(),
        "trimend": lambda: s.rstrip(a[0]) if a else s.rstrip(),
        "startswith": lambda: s.lower().startswith(str(a[0]).lower()) if len(a) > 1 else s.startswith(str(a[0])),
        "endswith": lambda: s.endswith(str(a[0])), "contains": lambda: str(a[0]) in s,
        "replace": lambda: s.replace(str(a[0]), str(a[1])), "indexof": lambda: s.find(str(a[0])),
        "lastindexof": lambda: s.rfind(str(a[0])),
        "substring": lambda: s[int(a[0]):] if len(a) == 1 else s[int(a[0]):int(a[0]) + int(a[1])],
        "padleft": lambda: s.rjust(int(a[0]), str(a[1]) if len(a) > 1 else " "),
        "padright": lambda: s.ljust(int(a[0]), str(a[1]) if len(a) > 1 else " "),
        "tochararray": lambda: list(s), "insert": lambda: s[:int(a[0])] + str(a[1]) + s[int(a[0]):],
        "remove": lambda: s[:int(a[0])] + (s[int(a[0]) + int(a[1]):] if len(a) > 1 else ""),
        "compareto": lambda: (s > str(a[0])) - (s < str(a[0])), "normalize": lambda: s,
    }
    if low in simple:
        try:
            return simple[low]()
        except (IndexError, ValueError):
            raise runtime(f'Cannot find an overload for "{name}" and the argument count: "{len(args)}".',
                          "MethodCountCouldNotFindBest", "NotSpecified") from None
    raise method_not_found("System.String", name)


def _hashtable_method(h: Hashtable, name: str, args: list[Any]) -> Any:
    low = name.lower()
    if low in ("containskey", "contains"):
        return args[0] in h
    if low == "containsvalue":
        return any(v == args[0] for v in h.values())
    if low == "add":
        if args[0] in h:
            raise runtime(f'Exception calling "Add" with "2" argument(s): "Item has already been added. Key in '
                          f"dictionary: '{args[0]}'  Key being added: '{args[0]}'\"", "ArgumentException", "NotSpecified")
        h[args[0]] = args[1]
        return None
    if low == "remove":
        if args[0] in h:
            del h[args[0]]
        return None
    if low == "clear":
        h.clear()
        return None
    if low == "clone":
        return Hashtable(h.items())
    if low == "getenumerator":
        return [DotNet("System.Collections.DictionaryEntry", {"Key": k, "Value": v, "Name": k}, text=to_str(k))
                for k, v in h.items()]
    raise method_not_found("System.Collections.Hashtable", name)


# -- static members ----------------------------------------------------------------------------------

ROLES = {"administrator": 544, "user": 545, "guest": 546, "poweruser": 547}


def static(type_ref: TypeRef, name: str) -> Any:
    full = resolve_type(type_ref.name)
    low = name.lower()
    if full == "System.Security.Principal.WindowsBuiltInRole":
        if low in ROLES:
            return PSEnum(full, name[0].upper() + name[1:].lower() if low != "poweruser" else "PowerUser", ROLES[low])
    if full == "System.Int32":
        return {"maxvalue": 2**31 - 1, "minvalue": -2**31}.get(low, _no_static(type_ref, name))
    if full == "System.Int64":
        return {"maxvalue": 2**63 - 1, "minvalue": -2**63}.get(low, _no_static(type_ref, name))
    if full == "System.String" and low == "empty":
        return ""
    if full == "System.Math" and low == "pi":
        return math.pi
    if full == "System.Environment" and low == "newline":
        return "\r\n"
    if full == "System.DateTime" and low == "now":
        return None  # the evaluator answers [datetime]::Now from the simulated clock
    return _no_static(type_ref, name)


def _no_static(type_ref: TypeRef, name: str) -> Any:
    return None


def static_call(type_ref: TypeRef, name: str, args: list[Any]) -> Any:
    full = resolve_type(type_ref.name)
    low = name.lower()
    if full == "System.String":
        if low == "isnullorempty":
            return args[0] is None or to_str(args[0]) == ""
        if low == "isnullorwhitespace":
            return args[0] is None or to_str(args[0]).strip() == ""
        if low == "join":
            items = args[1] if len(args) == 2 and is_enumerable(args[1]) else args[1:]
            return to_str(args[0]).join(to_str(v) for v in items)
        if low == "format":
            return format_operator(args[0], list(args[1:]))
        if low == "concat":
            return "".join(to_str(v) for v in args)
    if full == "System.Math":
        fns: dict[str, Callable[..., Any]] = {"round": lambda x, d=0: round(to_number(x), int(to_number(d))),
                                              "floor": lambda x: math.floor(to_number(x)), "ceiling": lambda x: math.ceil(to_number(x)),
                                              "max": lambda x, y: max(to_number(x), to_number(y)),
                                              "min": lambda x, y: min(to_number(x), to_number(y)),
                                              "abs": lambda x: abs(to_number(x)), "sqrt": lambda x: math.sqrt(to_number(x)),
                                              "pow": lambda x, y: to_number(x) ** to_number(y), "truncate": lambda x: int(to_number(x))}
        if low in fns:
            return fns[low](*args)
    if full == "System.Text.RegularExpressions.Regex":
        if low == "escape":
            return re.escape(to_str(args[0]))
        if low == "ismatch":
            return re.search(dotnet_regex(to_str(args[1])), to_str(args[0])) is not None
        if low == "replace":
            return re.sub(dotnet_regex(to_str(args[1])), to_str(args[2]), to_str(args[0]))
    if full == "System.Convert":
        if low == "toint32":
            return int(to_number(args[0])) if len(args) == 1 else int(to_str(args[0]), int(to_number(args[1])))
        if low == "tostring":
            return to_str(args[0])
        if low == "toboolean":
            return to_bool(args[0])
    if full == "System.IO.Path":
        if low == "combine":
            return "\\".join(to_str(a).rstrip("\\") for a in args)
        if low == "getfilename":
            return to_str(args[0]).replace("/", "\\").rsplit("\\", 1)[-1]
    if full == "System.Environment" and low == "getenvironmentvariable":
        return None
    raise method_not_found(full, name) if full else ScriptError  # pragma: no cover
