"""PowerShell data as it crosses a Session: commands out, objects and error records back.

These are the shared, behaviour-free shapes of the wire. The simulator's cmdlets produce them,
the PSRP endpoint serializes them to CLIXML, PsrpSession and SimSession hand them to the diagnosis,
which may import this module (and ``model``) but nothing else of the simulator.

Fidelity rule (Windows remoting serializes at depth 1): a top-level object keeps its type names;
primitive properties keep their .NET types (bool, int, str, datetime …); enum properties are
`PSEnum` (name and number, as the CLIXML carries both); other complex properties arrive as their
string form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

from nestlab.simulator.shared_dict import SharedDict


@dataclass(frozen=True)
class PSEnum:
    """An enum value: `str()` is its name (what PowerShell prints), `value` its number."""

    type_name: str
    name: str
    value: int

    def __str__(self) -> str:
        return self.name

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PSEnum):
            return (self.name, self.value) == (other.name, other.value)
        if isinstance(other, str):
            return self.name.lower() == other.lower()
        if isinstance(other, int) and not isinstance(other, bool):
            return self.value == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name.lower())


class SharedIndex(SharedDict):
    """The lower-case → real name index of one object shape, shared by every object of that shape.

    Cmdlets make tens of thousands of objects of a few dozen shapes, and the evidence keeps the
    ones it cites: one index dict per object (up to 83 names: a VMNetworkAdapter) was half the
    memory of the answers a 10,000-VM evidence keeps, and a dict copy per object made. An object
    that gains a property (Add-Member, `$o.Name = …` in a script: `pwsh.values.set_property`)
    first takes a plain copy of its own; the shared one refuses every change, so no write can
    reach the other objects of its shape.

    Marked (`given` not None): the index of the objects a `cmdlets.shapes.Shape` made from exactly
    its varying values, so every other value of such an object is still the shape's constant. The
    wire copy (`clixml`) then looks only at the values each object was given (`given`, in the
    shape's order) and knows once per shape what its constants (`constants`) become on the wire
    (`wire`, its plan, None until the first copy). An object whose values change in place holds the
    shape's unmarked index instead (`unmarked`, equal and shared: `unmark`, which
    `pwsh.values.set_property`, the one writer of values in place, calls first). Pickled or copied
    an index is unmarked (`__reduce__`): the mark does not outlive the process's objects."""

    __slots__ = ("given", "constants", "unmarked", "wire")
    REFUSAL = "a shared property index: give the object its own copy (psdata.own_index) before adding a name"

    def __init__(self, index: Any = (), given: tuple[str, ...] | None = None,
                 constants: dict[str, Any] | None = None) -> None:
        super().__init__(index)
        self.given = given  # None: unmarked; else the names each object sets, in the shape's order
        self.constants = constants  # name -> the value every object of the shape holds (the wire's plan reads it)
        self.unmarked = None if given is None else SharedIndex(self)
        self.wire: Any = None

    def __reduce__(self) -> Any:  # pickle and copy build it whole, never item by item
        return SharedIndex, (dict(self),)


def unmark(obj: "PSObject") -> None:
    """Drop a Shape's mark from an object whose values are about to change in place (the index stays
    shared): the wire copy then looks at every value again (`SharedIndex.given`)."""
    index = obj._index
    if type(index) is SharedIndex and index.given is not None:
        obj._index = index.unmarked


def own_index(obj: "PSObject") -> dict[str, str]:
    """The object's index, made its own first if it is a shared one: for the one writer of
    property names (`pwsh.values.set_property`)."""
    index = obj._index
    if type(index) is not dict:
        index = obj._index = dict(index)
    return index


class PSObject(Mapping[str, Any]):
    """A deserialized PowerShell object: ordered, case-insensitive properties plus type names."""

    __slots__ = ("type_names", "_props", "_index", "to_string")

    def __init__(
        self,
        type_names: Iterable[str],
        properties: Mapping[str, Any] | Iterable[tuple[str, Any]],
        to_string: str | None = None,
    ) -> None:
        self.type_names: tuple[str, ...] = tuple(type_names)
        items = properties.items() if isinstance(properties, Mapping) else properties
        self._props: dict[str, Any] = dict(items)
        self._index = {k.lower(): k for k in self._props}
        self.to_string = to_string if to_string is not None else (self.type_names[0] if self.type_names else "")

    def __getitem__(self, name: str) -> Any:
        return self._props[self._index[name.lower()]]

    def get(self, name: str, default: Any = None) -> Any:
        """`self[name]`, or `default` for a name the object lacks: one lookup, no KeyError raised
        and caught (Mapping.get's way), as the parsers read tens of thousands of optional names."""
        key = self._index.get(name.lower())
        return default if key is None else self._props[key]

    def __contains__(self, name: object) -> bool:
        return name.lower() in self._index  # type: ignore[attr-defined]

    def __iter__(self) -> Iterator[str]:
        return iter(self._props)

    def __len__(self) -> int:
        return len(self._props)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PSObject):
            return NotImplemented
        return self.type_names == other.type_names and self._props == other._props

    def __hash__(self) -> int:  # pragma: no cover - objects are not dict keys
        return id(self)

    def __repr__(self) -> str:
        return f"PSObject({self.type_names[0] if self.type_names else '?'}, {self._props!r})"

    def __str__(self) -> str:
        return self.to_string


@dataclass(frozen=True)
class ErrorRecord:
    """A PowerShell ErrorRecord as a caller sees it: message, FullyQualifiedErrorId, category."""

    message: str
    fully_qualified_error_id: str
    category: str = "NotSpecified"  # ErrorCategory name: InvalidOperation, ObjectNotFound …
    target_name: str = ""
    target_type: str = ""
    activity: str = ""  # the command that failed ("Set-VMProcessor")
    reason: str = ""  # the exception type's short name ("VirtualizationException")
    exception_type: str = "System.Exception"
    terminating: bool = True

    def __init__(self, message: str, fully_qualified_error_id: str, category: str = "NotSpecified",
                 target_name: str = "", target_type: str = "", activity: str = "", reason: str = "",
                 exception_type: str = "System.Exception", terminating: bool = True) -> None:
        # The fields above with their defaults, set at once: the generated frozen __init__ sets each
        # of the nine through object.__setattr__ (~18 k instructions a record, twice Result's), and
        # cmdlets write ~1,600 records per diagnosis of 200 VMs. @dataclass keeps an __init__ the
        # class defines; tests/test_speed_plumbing.py keeps the two signatures alike.
        self.__dict__.update(message=message, fully_qualified_error_id=fully_qualified_error_id, category=category,
                             target_name=target_name, target_type=target_type, activity=activity, reason=reason,
                             exception_type=exception_type, terminating=terminating)

    @property
    def category_info(self) -> str:
        """PowerShell's CategoryInfo line: 'InvalidOperation: (L1:VirtualMachine) [Set-VMProcessor], …'."""
        target = f"({self.target_name}:{self.target_type})" if self.target_name or self.target_type else "(:)"
        return f"{self.category}: {target} [{self.activity}], {self.reason or self.exception_type.rsplit('.', 1)[-1]}"

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Command:
    """One cmdlet of a pipeline with its named parameters, in order.

    Switch parameters have the value True. Structured, never PowerShell text, so that pypsrp's
    add_cmdlet/add_parameter sends them exactly and nothing is ever interpolated into a script.
    Slotted: every answer the evidence keeps holds its request's pipeline (the probes make a
    Command per file path), and a Command with a __dict__ took 240 bytes, slotted 56.
    """

    name: str
    parameters: tuple[tuple[str, Any], ...] = ()
    arguments: tuple[Any, ...] = ()  # positional arguments (native commands: netsh, bcdedit, reg)

    def __init__(self, name: str, parameters: tuple[tuple[str, Any], ...] = (), arguments: tuple[Any, ...] = ()) -> None:
        # frozen: each slot set as the generated __init__ would (no __dict__ to fill at once)
        _set_field(self, "name", name)
        _set_field(self, "parameters", parameters)
        _set_field(self, "arguments", arguments)

    @classmethod
    def of(cls, name: str, *arguments: Any, **parameters: Any) -> "Command":
        return cls(name, tuple(parameters.items()), tuple(arguments))

    def param(self, name: str, default: Any = None) -> Any:
        for key, value in self.parameters:
            if key.lower() == name.lower():
                return value
        return default

    def has(self, name: str) -> bool:
        return any(key.lower() == name.lower() for key, _ in self.parameters)

    def __str__(self) -> str:
        return " ".join([self.name, *map(str, self.arguments), *(_render_param(k, v) for k, v in self.parameters)])


_set_field = object.__setattr__  # a frozen dataclass's own way past its __setattr__


def _render_param(name: str, value: Any) -> str:
    if value is True:
        return f"-{name}"
    if value is False:
        return f"-{name} $false"
    if isinstance(value, str):
        return f"-{name} '{value}'" if (" " in value or not value) else f"-{name} {value}"
    if isinstance(value, (list, tuple)):
        return f"-{name} " + ",".join(str(v) for v in value)
    return f"-{name} {value}"


Pipeline = tuple[Command, ...]


@dataclass(frozen=True)
class Result:
    """What a pipeline gave back: output objects, error records, and whether it failed outright."""

    output: tuple[Any, ...] = ()
    errors: tuple[ErrorRecord, ...] = ()
    failed: bool = False  # a terminating error stopped the pipeline (PSRP state Failed)
    # keyword-only, so subclasses' positional fields (endpoint.streams.StreamedResult) keep their places:
    # the session_protocol.Request this answers (set by Session.send); not part of the answer's value
    request: Any = field(default=None, compare=False, repr=False, kw_only=True)
    # for a request sent to every Running guest below a place (Request.guest_levels): each guest's
    # answer, keyed by its PowerShell Direct path below that place, parents before their guests
    guests: tuple[tuple[tuple[str, ...], "Result"], ...] = field(default=(), kw_only=True)

    def __init__(self, output: tuple[Any, ...] = (), errors: tuple[ErrorRecord, ...] = (), failed: bool = False, *,
                 request: Any = None, guests: tuple[tuple[tuple[str, ...], "Result"], ...] = ()) -> None:
        # the fields set at once, as ErrorRecord's __init__: the simulator makes a Result for every
        # pipeline it runs (~6,000 per diagnosis of 200 VMs). A subclass that is a dataclass of its
        # own (endpoint.streams.StreamedResult) gets its own generated __init__.
        self.__dict__.update(output=output, errors=errors, failed=failed, request=request, guests=guests)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.failed

    def first_error(self) -> ErrorRecord | None:
        return self.errors[0] if self.errors else None


# perf7-parse7: the parsers' reading of a property by the name Windows gives it


_ABSENT = object()


def property_of(obj: PSObject, name: str) -> Any:
    """`obj.get(name)`, the name looked up as written first: the parsers (diagnosis.parse) ask by
    the names Windows gives the properties, so one dict look-up answers, where `get` lowers the
    name (a new string, hashed) and looks it up twice; ~10,000 reads per 200 VMs. The same value:
    a name in another case falls back to `get`, and no object has two names that differ only in
    case (PowerShell refuses the second: Add-Member "already exists"; the CLIXML of a host's
    object cannot carry both)."""
    value = obj._props.get(name, _ABSENT)
    return obj.get(name) if value is _ABSENT else value
