"""Format-Table text → rows.

A table is a header line, a line of dash runs (one per column) and rows. The dash runs give the
columns: PowerShell sizes each column to fit its header and values (left-aligned text,
right-aligned numbers), so a cell is the text between one column's start and the next's.
Cells cut to the column end in '...' (5.1) or '…' (7); rows wrapped by -Wrap continue with a
blank first column. Old consoles printed no dash line (samples/get-vm-table.txt, Sample A): a
header of known column names is then split like its rows, on runs of two or more spaces.
"""

from __future__ import annotations

import re

from nestlab.lab.importer.listformat import Unreadable, is_truncated
from nestlab.lab.importer.text import Line
from nestlab.lab.importer.textobject import Field

DASHES = re.compile(r"^\s*-+(?: +-+)*\s*$")


def is_table_start(paragraph: list[Line], at: int = 0) -> bool:
    return len(paragraph) > at + 1 and bool(DASHES.match(paragraph[at + 1].text)) and bool(paragraph[at].text.strip())


def columns(dash_line: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"-+", dash_line)]


def parse_table(header: Line, dashes: Line, rows: list[Line]) -> tuple[list[str], list[tuple[int, dict[str, Field]]]]:
    """→ (column names, [(line, {column: Field})])."""
    spans = columns(dashes.text)
    names = [_cell(header.text, spans, i) for i in range(len(spans))]
    if not all(names):
        raise Unreadable(header, "a table header with an empty column name")
    out: list[tuple[int, dict[str, Field]]] = []
    for row in rows:
        cells = [_cell(row.text, spans, i) for i in range(len(spans))]
        if out and not cells[0] and row.text[: spans[0][1]].strip() == "":
            # a -Wrap continuation: more text for the previous row's cells
            prev = out[-1][1]
            for name, cell in zip(names, cells):
                if cell:
                    prev[name] = Field((prev[name].text + " " + cell).strip(), prev[name].line)
            continue
        if len(row.text.rstrip()) > spans[-1][0] or any(cells):
            out.append((row.no, {n: Field(c, row.no, truncated=is_truncated(c)) for n, c in zip(names, cells)}))
    return names, out


def parse_spaced(header: Line, rows: list[Line]) -> list[tuple[int, dict[str, Field]]]:
    """A dash-less table: header and rows split on runs of 2+ spaces, same count or unreadable."""
    names = split_spaced(header.text)
    out = []
    for row in rows:
        cells = split_spaced(row.text)
        if len(cells) != len(names):
            raise Unreadable(row, f"a table row with {len(cells)} cells under {len(names)} columns")
        out.append((row.no, {n: Field(c, row.no, truncated=is_truncated(c)) for n, c in zip(names, cells)}))
    return out


def split_spaced(text: str) -> list[str]:
    return [c for c in re.split(r"\s{2,}", text.strip()) if c]


def _cell(text: str, spans: list[tuple[int, int]], i: int) -> str:
    start = spans[i][0]
    end = spans[i + 1][0] if i + 1 < len(spans) else len(text)
    return text[start:end].strip() if start < len(text) else ""
