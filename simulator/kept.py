"""Bounded caches of what the simulator works out once and uses again: cleared whole when full.

The simulator keeps derived syntax, never answers: a command's binding, a pipeline's read-prefix
tokens, an object shape's case-insensitive index. Most keys repeat (the collector sends the same
probe objects again and again), but some are made per call (a Command per file path), so every
such table is bounded; clearing it whole when full costs one recomputation per key, and no
bookkeeping per lookup as an LRU would.
"""

from __future__ import annotations

from typing import Any, Generic, Hashable, TypeVar

V = TypeVar("V")


class Kept(dict, Generic[V]):  # type: ignore[type-arg]
    """A dict of at most `bound` entries: `keep` clears it when it is full."""

    def __init__(self, bound: int) -> None:
        super().__init__()
        self.bound = bound

    def keep(self, key: Hashable, value: V) -> V:
        if len(self) >= self.bound:
            self.clear()
        self[key] = value
        return value


class KeptByIdentity(Generic[V]):
    """Values kept per object, looked up by the object's identity: for objects that are cheap to
    tell apart by `is` and costly (or impossible: lists inside) to hash. The object is kept with
    its value, so its id cannot be reused by another object while the entry lives."""

    __slots__ = ("_kept",)

    def __init__(self, bound: int) -> None:
        self._kept: Kept[tuple[Any, V]] = Kept(bound)

    @property
    def by_id(self) -> "Kept[tuple[Any, V]]":
        """The table itself, id(obj) -> (obj, value), for a caller on a hot path that reads it
        without `get`'s call: it must check that the object kept is its own (`is`)."""
        return self._kept

    @property
    def bound(self) -> int:
        return self._kept.bound

    @bound.setter
    def bound(self, bound: int) -> None:
        self._kept.bound = bound

    def get(self, obj: Any) -> V | None:
        kept = self._kept.get(id(obj))
        return kept[1] if kept is not None and kept[0] is obj else None

    def keep(self, obj: Any, value: V) -> V:
        self._kept.keep(id(obj), (obj, value))
        return value

    def __len__(self) -> int:
        return len(self._kept)
