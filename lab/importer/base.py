"""What every reader of a bundle shares: the contexts, the value reader, the assumptions it made.

The readers (`read_host`, `read_platform`, `read_owner`, `read_vms`) each turn one part of the lab
format into data; `build.Builder` is all of them over one bundle.
"""

from __future__ import annotations

from typing import Any

from nestlab.lab.importer.answers import Answers
from nestlab.lab.importer.context import Context
from nestlab.lab.importer.values import Reader


class ReaderBase:
    def __init__(self, contexts: dict[tuple[str, ...], Context]) -> None:
        self.contexts = contexts
        self.read = Reader()
        self.answers = Answers(self.read)  # the bundle's records as the collector's typed answers
        self.assumptions: list[str] = []

    def assume(self, node: str, key: str, default: Any) -> None:
        """Record that the bundle does not show `key` of `node`, so the lab takes the format's default."""
        self.assumptions.append(f"{node}: {key} not shown by the bundle; default {default!r}")
