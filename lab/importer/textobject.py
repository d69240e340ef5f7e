"""An object read back from printed text: property names and their text, each with its line.

Text is all a printed bundle keeps (types and enum numbers are gone), so values stay strings here
and are read by the code that knows what the property means (`reading`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    text: str
    line: int
    truncated: bool = False  # PowerShell cut the value short ("..." / "…")


@dataclass
class TextObject:
    """One record of Format-List, one row of Format-Table, or one native command's output."""

    props: dict[str, Field]
    file: str
    line: int
    view: str  # "list" | "table" | "systeminfo" | "bcdedit" | "portproxy" | "scalar"
    command: str | None = None
    _index: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {_norm(k): k for k in self.props}

    def field(self, name: str) -> Field | None:
        key = self._index.get(_norm(name))
        return self.props[key] if key is not None else None

    def text(self, name: str) -> str | None:
        f = self.field(name)
        return f.text if f is not None else None

    def has(self, *names: str) -> bool:
        return all(_norm(n) in self._index for n in names)

    def where(self, name: str) -> str:
        """file:line of a property (or of the object), for messages."""
        f = self.field(name)
        return f"{self.file}:{f.line if f else self.line}"

    def names(self) -> set[str]:
        return set(self._index)


@dataclass(frozen=True)
class ErrorText:
    """A PowerShell error as printed: 'Get-VHD : message' … '+ FullyQualifiedErrorId : id,cmdlet'."""

    activity: str
    message: str
    fully_qualified_error_id: str
    category: str
    target: str
    file: str
    line: int
    command: str | None = None

    @property
    def error_id(self) -> str:
        return self.fully_qualified_error_id.split(",", 1)[0]


def _norm(name: str) -> str:
    """Header and label spellings compare equal: 'CPUUsage(%)' ~ 'CpuUsage', 'Minimum(M)' ~ 'Minimum(M)'."""
    return name.strip().lower()
