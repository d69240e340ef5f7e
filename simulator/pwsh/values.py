"""The engine's values and PowerShell's conversions between them.

A script's values are plain Python where PowerShell's are plain .NET: None ($null), bool, int,
float, str, list (object[]), `Hashtable` (case-insensitive, ordered like [ordered]@{}), the wire's
`PSObject`/`PSEnum` (cmdlet output, New-Object PSObject), `ScriptBlock`, `TypeRef` ([type]), and
`DotNet` objects for the few .NET instances scripts touch ($Host, WindowsIdentity …).
Conversions follow PowerShell's language spec (about_Booleans, about_Type_Conversion): the left
operand's type decides, strings compare case-insensitively, arrays enumerate one level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Iterator

from nestlab.simulator.psdata import PSEnum, PSObject, own_index, unmark

CUSTOM = ("System.Management.Automation.PSCustomObject", "System.Object")


class Hashtable(dict):
    """@{…}: keys compare case-insensitively, insertion order kept (as [ordered] and as printed)."""

    def __init__(self, items: Iterable[tuple[Any, Any]] = ()) -> None:
        super().__init__()
        self._keys: dict[Any, Any] = {}
        for k, v in items:
            self[k] = v

    @staticmethod
    def _fold(key: Any) -> Any:
        return key.lower() if isinstance(key, str) else key

    def __setitem__(self, key: Any, value: Any) -> None:
        real = self._keys.setdefault(self._fold(key), key)
        super().__setitem__(real, value)

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(self._keys[self._fold(key)])

    def get(self, key: Any, default: Any = None) -> Any:
        real = self._keys.get(self._fold(key))
        return default if real is None else super().get(real, default)

    def __contains__(self, key: object) -> bool:
        return self._fold(key) in self._keys

    def __delitem__(self, key: Any) -> None:
        real = self._keys.pop(self._fold(key))
        super().__delitem__(real)


class ArrayList(list):
    """System.Collections.ArrayList (and Generic.List): a growable list whose Add returns the index."""

    type_name = "System.Collections.ArrayList"


class GenericList(ArrayList):
    """System.Collections.Generic.List[T]: like ArrayList, but Add returns nothing."""

    type_name = "System.Collections.Generic.List`1"


@dataclass(frozen=True)
class ScriptBlock:
    """{ … }: a piece of the parsed script, run by the evaluator that made it."""

    node: Any  # tree_sitter.Node of the script_block (or the whole program)
    script: Any  # parse.Script it belongs to
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class TypeRef:
    """[System.String]: a .NET type as a value (casts, statics, -is)."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass
class DotNet:
    """A .NET object the engine models: a type name, properties, methods (name → callable)."""

    type_name: str
    properties: dict[str, Any] = field(default_factory=dict)
    methods: dict[str, Callable[..., Any]] = field(default_factory=dict)
    text: str = ""
    settable: frozenset[str] = frozenset()

    def __str__(self) -> str:
        return self.text or self.type_name


def new_custom(props: Iterable[tuple[str, Any]] = ()) -> PSObject:
    return PSObject(CUSTOM, list(props), "")


def set_property(obj: PSObject, name: str, value: Any) -> None:
    """Add or change a property in place (Add-Member, `$o.Name = …`): PSObjects are mutable in scripts."""
    props = obj._props  # noqa: SLF001 - the engine owns the objects it changes
    unmark(obj)  # its values are no longer only those a Shape made it with (psdata.SharedIndex.given)
    real = obj._index.get(name.lower())  # noqa: SLF001
    if real is None:  # a new name: into the object's own index (a shape's is shared: psdata.SharedIndex)
        own_index(obj)[name.lower()] = name
        real = name
    props[real] = value


def has_property(obj: PSObject, name: str) -> bool:
    return name.lower() in obj._index  # noqa: SLF001


# -- enumeration -------------------------------------------------------------------------------------

class Enumerator:
    """$input: an IEnumerator over pipeline input. Reading it consumes it, so what a `foreach` left
    after `break` is what a later `$input | …` sees (as in PowerShell, where $input is one enumerator)."""

    type_name = "System.Collections.ArrayList+ArrayListEnumeratorSimple"

    def __init__(self, items: Iterable[Any] = ()) -> None:
        from collections import deque

        self._items = deque(items)

    def __iter__(self) -> Iterator[Any]:
        while self._items:
            yield self._items.popleft()

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> Any:
        return self._items[index]


def is_enumerable(value: Any) -> bool:
    """What the pipeline unrolls: arrays and lists (and $input), never strings, hashtables or objects."""
    return isinstance(value, (list, tuple, Enumerator))


def enumerate_value(value: Any) -> list[Any]:
    if value is None:
        return []
    if is_enumerable(value):
        return list(value)
    return [value]


def collect(items: list[Any]) -> Any:
    """A pipeline's output as a value: nothing is $null, one object is itself, more an array."""
    if not items:
        return None
    if len(items) == 1:
        return items[0]
    return list(items)


# -- conversions ------------------------------------------------------------------------------------

def to_bool(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, PSEnum):
        return value.value != 0
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value != ""
    if is_enumerable(value):
        if len(value) == 0:
            return False
        if len(value) == 1:
            return to_bool(value[0])
        return True
    return True


def to_str(value: Any) -> str:
    """PowerShell's string conversion (what "$x" and Write-Host print)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.strftime("%m/%d/%Y %H:%M:%S")
    if isinstance(value, timedelta):
        total = int(value.total_seconds())
        days, rest = divmod(total, 86400)
        h, rest = divmod(rest, 3600)
        m, s = divmod(rest, 60)
        return (f"{days}." if days else "") + f"{h:02}:{m:02}:{s:02}"
    if is_enumerable(value):
        return " ".join(to_str(v) for v in value)
    if isinstance(value, Hashtable):
        return "System.Collections.Hashtable"
    if isinstance(value, PSObject):
        if value.type_names[:1] == CUSTOM[:1]:
            return "@{" + "; ".join(f"{k}={to_str(value[k])}" for k in value) + "}"
        return str(value)
    return str(value)


def to_number(value: Any) -> int | float:
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, PSEnum):
        return value.value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return parse_number(text) if text else 0
        except ValueError:
            raise ValueError(f'Cannot convert value "{value}" to type "System.Int32". Error: "Input string was not in '
                             'a correct format."') from None
    if is_enumerable(value) and len(value) == 1:
        return to_number(value[0])
    raise ValueError(f'Cannot convert the "{to_str(value)}" value of type "{type_name(value)}" to type "System.Int32".')


SIZES = {"kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40, "pb": 1 << 50}


def parse_number(text: str) -> int | float:
    """A PowerShell numeric literal: 42, 0x1F, 1.5, 4GB, 10l, 1e3."""
    low = text.lower().replace("_", "")
    scale = 1
    if low[-2:] in SIZES:
        scale, low = SIZES[low[-2:]], low[:-2]
    if low.endswith(("l", "d")) and not low.startswith("0x"):
        low = low[:-1]
    if low.startswith(("0x", "-0x")):
        number: int | float = int(low, 16)
    elif any(c in low for c in ".e"):
        number = float(low)
    else:
        number = int(low)
    number = number * scale
    if isinstance(number, float) and number == int(number) and scale != 1:
        return int(number)
    return number


def type_name(value: Any) -> str:
    """The .NET type name PowerShell reports for a value (MethodNotFound, -is, GetType())."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "System.Boolean"
    if isinstance(value, int):
        return "System.Int32" if -2**31 <= value < 2**31 else "System.Int64"
    if isinstance(value, float):
        return "System.Double"
    if isinstance(value, str):
        return "System.String"
    if isinstance(value, (ArrayList, Enumerator)) or getattr(value, "type_name", None) == "System.Byte[]":
        return value.type_name
    if is_enumerable(value):
        return "System.Object[]"
    if isinstance(value, Hashtable):
        return "System.Collections.Hashtable"
    if isinstance(value, PSObject):
        if CUSTOM[0] in value.type_names:
            return CUSTOM[0]
        return value.type_names[0] if value.type_names else "System.Management.Automation.PSObject"
    if isinstance(value, PSEnum):
        return value.type_name
    if isinstance(value, ScriptBlock):
        return "System.Management.Automation.ScriptBlock"
    if isinstance(value, TypeRef):
        return "System.RuntimeType"
    if isinstance(value, DotNet):
        return value.type_name
    if isinstance(value, datetime):
        return "System.DateTime"
    if isinstance(value, timedelta):
        return "System.TimeSpan"
    return "System.Object"


def iter_props(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, PSObject):
        yield from ((k, value[k]) for k in value)
    elif isinstance(value, Hashtable):
        yield from value.items()
    elif isinstance(value, DotNet):
        yield from value.properties.items()
