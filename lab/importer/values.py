"""Reading one printed value as the lab-format value it stands for.

Each reader takes the TextObject and the property, and on text it cannot read records one
'file:line: …' problem (the import then fails with all of them) instead of guessing.
Enum properties come as names in Format-List/Table and as numbers in ConvertTo-Json (notes.md §4.6).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from nestlab.lab.importer.numbers import parse_int
from nestlab.lab.importer.textobject import TextObject

VM_STATES = {"running": "Running", "off": "Off", "saved": "Saved", "paused": "Paused",
             "2": "Running", "3": "Off", "6": "Saved", "9": "Paused"}
SWITCH_TYPES = {"external": "External", "internal": "Internal", "private": "Private",
                "2": "External", "1": "Internal", "0": "Private"}
VHD_TYPES = {"fixed": "fixed", "dynamic": "dynamic", "differencing": "differencing",
             "2": "fixed", "3": "dynamic", "4": "differencing"}
ON_OFF = {"on": True, "off": False, "0": True, "1": False}
BOOLS = {"true": True, "false": False}
DATE_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
                "%d.%m.%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%d.%m.%Y")


class Reader:
    """Collects the problems of one import, so all of them are reported at once."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, obj: TextObject, prop: str, why: str) -> None:
        self.problems.append(f"{obj.where(prop)}: {prop}: {why}")

    def text(self, obj: TextObject, prop: str, *, complete: bool = True) -> str | None:
        f = obj.field(prop)
        if f is None:
            return None
        if complete and f.truncated:
            self.problem(obj, prop, f"value cut short by PowerShell ({f.text!r}); send it with Format-List or a wider window")
            return None
        return f.text

    def choice(self, obj: TextObject, prop: str, table: dict[str, Any]) -> Any:
        t = self.text(obj, prop)
        if t is None or t == "":
            return None
        if t.lower() not in table:
            self.problem(obj, prop, f"unknown value {t!r} (expected one of {sorted(set(map(str, table.values())))})")
            return None
        return table[t.lower()]

    def boolean(self, obj: TextObject, prop: str) -> bool | None:
        return self.choice(obj, prop, BOOLS)

    def integer(self, obj: TextObject, prop: str) -> int | None:
        t = self.text(obj, prop)
        if t is None or t == "":
            return None
        try:
            return parse_int(t)
        except ValueError:
            self.problem(obj, prop, f"{t!r} is not a whole number")
            return None

    def date(self, obj: TextObject, prop: str) -> datetime | None:
        """A DateTime as PowerShell prints it in en-US ('3/14/2025 9:02:11 AM'), ISO, or day-first locales."""
        t = self.text(obj, prop)
        if not t:
            return None
        for fmt in DATE_FORMATS:
            try:
                return datetime.strptime(t, fmt)
            except ValueError:
                continue
        self.problem(obj, prop, f"{t!r} is not a date and time")
        return None


def mac_of(text: str | None) -> str | None:
    """A MAC as Hyper-V prints it (12 hex digits), from any spelling (00-15-5D-…, 00:15:5d:…)."""
    return re.sub(r"[-:]", "", text).upper() if text else None
