"""Output objects of a fixed shape, built from a template laid down once.

Get-VM, Get-VMNetworkAdapter, Get-VHD and their kin write objects of twenty to eighty properties,
most of which are the same for every VM (AutomaticStopAction, MemoryMaximum, VrssMaxQueuePairs …).
`base.obj()` takes the whole property list on every call and makes the property dict from it; a
collection makes thousands of these objects per lab. A `Shape` holds the type names, the property
order, the constant values and the case-insensitive index once; an object is a copy of the
template with the values that vary written over it. The object is the one `obj()` makes from the
same list: same type names, same properties in the same order, the same index (shared by the
shape's objects until a script adds a name to one: psdata.SharedIndex).
"""

from __future__ import annotations

from typing import Any

from nestlab.simulator.psdata import PSObject, SharedIndex


class _Varies:
    """The template's placeholder for a property each object sets (never left in an object)."""

    def __repr__(self) -> str:
        return "VARIES"


VARIES: Any = _Varies()

# Values a template may share between objects: a script may change a list or a nested object it
# was given ($o.IPAddresses += …), so those are made per object, never kept in a template.
_SHAREABLE = (str, int, float, bool, type(None), _Varies)


class Shape:
    """One object shape: `make(values)` is `obj(type_name, props)` for props in template order."""

    __slots__ = ("type_names", "template", "index", "marked", "varying", "all_vary", "size", "name")

    def __init__(self, type_name: str | tuple[str, ...], props: list[tuple[str, Any]]) -> None:
        """`type_name`: the object's .NET type, or its types most derived first (a CIM instance's
        class and CimInstance), as `obj()` takes them; System.Object is added last, as there."""
        template = dict(props)
        if len(template) != len(props):
            raise ValueError(f"{type_name}: a property named twice")
        for name, value in props:
            if not isinstance(value, _SHAREABLE) and not _frozen(value):
                raise TypeError(f"{type_name}.{name}: {type(value).__name__} cannot be shared by every object")
        self.type_names = (type_name, "System.Object") if isinstance(type_name, str) else (*type_name, "System.Object")
        self.template = template
        self.varying = frozenset(name for name, value in props if value is VARIES)
        # every object's index, until one adds a name; marked for the objects given exactly the varying
        # values (psdata.SharedIndex.given: the wire copy looks only at those), unmarked for the others
        self.marked = SharedIndex({name.lower(): name for name in template},
                                 tuple(name for name in template if name in self.varying),
                                 {name: value for name, value in props if value is not VARIES})
        self.index = self.marked.unmarked
        self.all_vary = len(self.varying) == len(template)  # no constant at all (`adopt`)
        self.size, self.name = len(template), self.type_names[0]  # read by every `make`

    def make(self, values: dict[str, Any], to_string: str | None = None) -> PSObject:
        """An object of this shape; `values` sets (at least) every VARIES property, and no other name."""
        props = self.template.copy()
        props.update(values)
        if len(props) != self.size:
            raise KeyError(f"{self.name}: not in the shape: {sorted(set(values) - set(self.template))}")
        made = _new_object(PSObject)
        made.type_names = self.type_names
        made._props = props
        # shared by the shape's objects (psdata.SharedIndex), marked when every other value is a constant
        made._index = self.marked if values.keys() == self.varying else self.index
        made.to_string = self.name if to_string is None else to_string
        return made

    def fixing(self, constants: dict[str, Any]) -> "Shape":
        """This shape with some of its varying properties made constants: the template of the objects
        of one kind of state (a VM that is off reads 0, "" or None wherever a running one reads its
        guest), so that each object sets only what still varies. Same types, names and order."""
        unknown = set(constants) - self.varying
        if unknown:
            raise KeyError(f"{self.type_names[0]}: not a varying property: {sorted(unknown)}")
        return Shape(self.type_names[:-1], [(name, constants.get(name, value)) for name, value in self.template.items()])

    def adopt(self, props: dict[str, Any]) -> PSObject:
        """An object of a shape whose every property varies (Select-Object's), from `props`: exactly
        the shape's names, in its order. The dict becomes the object's own, not a copy of the template
        updated from it (for such a shape the two are the same dict): Select-Object makes one object
        per input object, and `Get-VM | Select-Object` is asked of every place."""
        if not self.all_vary or len(props) != len(self.template):
            raise KeyError(f"{self.type_names[0]}: a constant in the shape, or not as many values as names")
        made = PSObject.__new__(PSObject)
        # shared (psdata.SharedIndex), and marked: every value of such an object is one it was given
        made.type_names, made._props, made._index = self.type_names, props, self.marked
        made.to_string = self.type_names[0]
        return made


_new_object = PSObject.__new__  # an object without PSObject.__init__'s walk: `make` sets every slot


def _frozen(value: Any) -> bool:
    """A frozen dataclass value (PSEnum): immutable, so one instance may sit in every object."""
    params = getattr(type(value), "__dataclass_params__", None)
    return params is not None and params.frozen
