"""Everything the bundle printed about one host or guest, sorted by what kind of object it is."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from nestlab.lab.importer.kinds import kind_of
from nestlab.lab.importer.parse import Parsed, Ran
from nestlab.lab.importer.textobject import ErrorText, Field, TextObject


PER_VM_KINDS = ("processor", "memory", "adapter", "harddrive")


def command_param(command: str | None, name: str) -> str | None:
    """The value of `-Name value` in a command line as typed ('quoted', "quoted" or bare)."""
    if not command:
        return None
    m = re.search(rf"-{name}[\s:]+(?:'([^']*)'|\"([^\"]*)\"|([^\s|]+))", command, re.IGNORECASE)
    return next((g for g in m.groups() if g is not None), None) if m else None


def _name_from_command(obj: TextObject) -> None:
    """`Get-VMProcessor -VMName L1 | fl` prints no VMName when the paste cut it: the command names the VM."""
    name = command_param(obj.command, "VMName")
    if name:
        obj.props["VMName"] = Field(name, obj.line)
        obj.__post_init__()


@dataclass
class Context:
    path: tuple[str, ...]  # (host, vm, vm …) as the bundle names it
    objects: dict[str, list[TextObject]] = field(default_factory=dict)
    errors: list[ErrorText] = field(default_factory=list)
    ran: list[Ran] = field(default_factory=list)

    def add(self, parsed: Parsed) -> None:
        for obj in parsed.objects:
            kind = kind_of(obj)
            if kind is None:
                continue
            if kind in PER_VM_KINDS and not obj.has("VMName"):
                _name_from_command(obj)
            self.objects.setdefault(kind, []).append(obj)
        self.errors += parsed.errors
        self.ran += parsed.ran

    def merge(self, other: "Context") -> None:
        for kind, objects in other.objects.items():
            self.objects.setdefault(kind, []).extend(objects)
        self.errors += other.errors
        self.ran += other.ran

    def vm_names(self, text: Callable[[TextObject, str], str | None] = TextObject.text) -> list[str]:
        """The VMs this host or guest shows, by name, in the order first seen (`text` reads a value)."""
        names: list[str] = []
        for kind in ("vm", *PER_VM_KINDS):
            for obj in self.of(kind):
                name = text(obj, "VMName") if obj.has("VMName") else (text(obj, "Name") if kind == "vm" else None)
                if name and name not in names:
                    names.append(name)
        return names

    def of(self, kind: str) -> list[TextObject]:
        return self.objects.get(kind, [])

    def first(self, kind: str) -> TextObject | None:
        found = self.of(kind)
        return found[0] if found else None

    def ran_command(self, cmdlet: str) -> Ran | None:
        """A command of this name that ran here (so an empty output means 'none')."""
        for ran in self.ran:
            words = ran.command.split()
            if words and words[0].lower().removesuffix(".exe") == cmdlet.lower():
                return ran
        return None

    def errors_of(self, activity: str) -> list[ErrorText]:
        return [e for e in self.errors if e.activity.lower() == activity.lower()]
