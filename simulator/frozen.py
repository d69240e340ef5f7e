"""Frozen keyword-only records made at the cost of a plain object: `frozen_record`.

A frozen dataclass's generated `__init__` sets each field through `object.__setattr__`, about
2,300 instructions a field on this interpreter (tests/test_speed_plumbing.py's notes, issue 17),
and the evidence rebuild makes several records per VM (a Guest of 11 fields per plain guest, a
VM, its adapters and disks) — the largest single cost of the rebuild. `frozen_record` keeps
everything `dataclass(frozen=True, kw_only=True)` gives (fields, eq, hash, repr, replace,
FrozenInstanceError on assignment) and gives the class an `__init__` that sets every field at
once through the instance dict, with the same keyword-only parameters and defaults; a
`default_factory` is called once per record that does not pass the field, as the generated one does.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T", bound=type)

class _Factory:
    """The default of a field with a default_factory that the caller did not pass (shown as the
    generated __init__'s signature shows it)."""

    def __repr__(self) -> str:
        return "<factory>"


_NOT_GIVEN = _Factory()


def frozen_record(cls: T) -> T:
    """`dataclass(frozen=True, kw_only=True)`, with an `__init__` that sets the fields at once."""
    cls = dataclasses.dataclass(frozen=True, kw_only=True)(cls)
    cls.__init__ = _init_setting_all_at_once(cls)  # type: ignore[misc]
    return cls


def _init_setting_all_at_once(cls: type) -> Any:
    fields = dataclasses.fields(cls)
    if any(not f.init for f in fields) or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: frozen_record takes only fields set by __init__, with no __post_init__")
    namespace: dict[str, Any] = {"_NOT_GIVEN": _NOT_GIVEN}
    parameters, values = [], []
    for f in fields:
        if f.default is not dataclasses.MISSING:
            namespace[f"_default_{f.name}"] = f.default
            parameters.append(f"{f.name}=_default_{f.name}")
            values.append(f"{f.name}={f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{f.name}"] = f.default_factory
            parameters.append(f"{f.name}=_NOT_GIVEN")
            values.append(f"{f.name}=_factory_{f.name}() if {f.name} is _NOT_GIVEN else {f.name}")
        else:
            parameters.append(f.name)
            values.append(f"{f.name}={f.name}")
    source = (f"def __init__(self, *, {', '.join(parameters)}):\n"
              f"    self.__dict__.update({', '.join(values)})\n") if fields else "def __init__(self):\n    pass\n"
    exec(source, namespace)  # noqa: S102 - the source is made above from the class's own field names
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = "The fields set at once (simulator.frozen.frozen_record)."
    return init
