"""A dict many holders share, so it refuses every change in place.

Sharing one dict where thousands of objects would each hold an equal copy saves memory and a copy
per object (every edge of one kind in a lab: `model._EdgeData`; the property-name index of every
object of one shape: `psdata.SharedIndex`). It is safe only if no holder can change it for the
others, so every mutating method raises: a holder that needs a change takes a copy of its own.
"""

from __future__ import annotations

from typing import Any


class SharedDict(dict):
    """A dict that raises TypeError (`REFUSAL`, said by each kind) on any change in place."""

    __slots__ = ()
    REFUSAL = "a shared dict: take a copy of your own (dict(d)) before changing it"

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(self.REFUSAL)

    __setitem__ = __delitem__ = update = setdefault = pop = popitem = clear = __ior__ = _refuse  # type: ignore[assignment]
