"""Variable scopes: global → script → function/script-block children, as about_Scopes describes.

Reading walks outwards; plain assignment writes the current scope; `$script:`/`$global:` name one;
`$env:` is the session's environment (case-insensitive, like Windows).
"""

from __future__ import annotations

from typing import Any

from nestlab.simulator.pwsh.values import Hashtable

_MISSING = object()


class Scope:
    __slots__ = ("vars", "parent", "kind")

    def __init__(self, parent: "Scope | None" = None, kind: str = "local") -> None:
        self.vars: Hashtable = Hashtable()
        self.parent = parent
        self.kind = kind  # "global", "script", "function"

    def lookup(self, name: str) -> Any:
        scope: Scope | None = self
        while scope is not None:
            value = scope.vars.get(name, _MISSING)
            if value is not _MISSING:
                return value
            scope = scope.parent
        return _MISSING

    def defined(self, name: str) -> bool:
        return self.lookup(name) is not _MISSING

    def get(self, name: str) -> Any:
        value = self.lookup(name)
        return None if value is _MISSING else value

    def set(self, name: str, value: Any) -> None:
        self.vars[name] = value

    def find(self, kind: str) -> "Scope":
        scope: Scope = self
        while scope.kind != kind and scope.parent is not None:
            scope = scope.parent
        return scope


MISSING = _MISSING
