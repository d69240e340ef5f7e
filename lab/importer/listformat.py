"""Format-List text → records.

PowerShell pads every label of a list to the longest one and prints ` : `; a value longer than
the console is cut at the width and continued on lines indented to the value column (hard
breaks, mid-word: see samples/get-vmprocessor.txt, Sample A's `Id`). People's pastes add an
indent to the whole block or drop the padding; both are read.
"""

from __future__ import annotations

import re

from nestlab.lab.importer.text import Line
from nestlab.lab.importer.textobject import Field

LABEL = re.compile(r"^(?P<label>[A-Za-z_][\w.()%/\- ]*?)(?P<pad> *):(?: (?P<value>.*))?$")


class Unreadable(Exception):
    def __init__(self, line: Line, why: str) -> None:
        self.line = line
        self.why = why
        super().__init__(why)


def is_list_line(text: str) -> bool:
    m = LABEL.match(text)
    return bool(m) and (bool(m.group("pad")) or " " not in m.group("label"))


def dedent(paragraph: list[Line]) -> list[Line]:
    indent = min(len(l.text) - len(l.text.lstrip()) for l in paragraph)
    return [Line(l.no, l.text[indent:]) for l in paragraph] if indent else paragraph


def parse_list(paragraph: list[Line]) -> list[tuple[int, dict[str, Field]]]:
    """One paragraph of Format-List output → [(first line, {label: Field})]."""
    paragraph = dedent(paragraph)
    glue = _glue(paragraph)
    records: list[tuple[int, dict[str, Field]]] = []
    props: dict[str, Field] = {}
    last: str | None = None
    value_col = 0
    for line in paragraph:
        text = line.text
        if text[:1].isspace():
            if last is None:
                raise Unreadable(line, "a continued value with no property before it")
            part = text[value_col:] if text[:value_col].strip() == "" else text.lstrip()
            old = props[last]
            props[last] = Field(old.text + glue + part.rstrip(), old.line)
            continue
        m = LABEL.match(text)
        if not m or not is_list_line(text):
            raise Unreadable(line, "not a 'Name : value' line of Format-List")
        label = m.group("label").strip()
        if label in props:  # PowerShell separates records by a blank line; a paste may not
            records.append((props[next(iter(props))].line, props))
            props = {}
        value_col = m.start("value") if m.group("value") is not None else len(text) + 1
        props[label] = Field((m.group("value") or "").strip(), line.no)
        last = label
    if props:
        records.append((props[next(iter(props))].line, props))
    return [(first, _mark_truncated(p)) for first, p in records]


def _glue(paragraph: list[Line]) -> str:
    """How continued lines join: PowerShell cuts every long value at the same width, mid-word (join
    as is); lines of different lengths were word-wrapped by whatever the text passed through (a
    ticket, a mail), which drops the space at each break (join with a space)."""
    cut = {len(a.text) for a, b in zip(paragraph, paragraph[1:]) if b.text[:1].isspace()}
    return "" if len(cut) <= 1 else " "


def _mark_truncated(props: dict[str, Field]) -> dict[str, Field]:
    return {k: Field(v.text, v.line, truncated=is_truncated(v.text)) for k, v in props.items()}


def is_truncated(text: str) -> bool:
    """PowerShell's '...' (5.1) / '…' (7) for a cut value; a collection shows it before '}'."""
    t = text.rstrip()
    return t.endswith("...") or t.endswith("\u2026") or t.endswith("...}") or t.endswith("\u2026}")


def collection(text: str) -> tuple[list[str], bool]:
    """'{a, b, c, d...}' → (['a', 'b', 'c', 'd'], True): items, and whether some are left out.

    With '...}' PowerShell's enumeration limit left items out but printed whole ones; a cell cut
    by a table column ('{a, b...' without the brace) has its last item cut, so it is dropped.
    """
    t = text.strip()
    closed = t.endswith("}")
    if t.startswith("{"):
        t = t[1:]
    if closed:
        t = t[:-1]
    truncated = t.endswith("...") or t.endswith("\u2026")
    if truncated:
        t = t.rstrip(".\u2026")
    items = [i.strip() for i in t.split(",") if i.strip()]
    if truncated and not closed and items:
        items = items[:-1]
    return items, truncated
