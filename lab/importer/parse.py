"""One file of a bundle → the objects, errors and commands in it, or the lines it cannot read.

Each paragraph is tried as the layouts PowerShell and the native tools print (errors, the
portproxy table, systeminfo, bcdedit, Format-Table, Format-List, bare values); a paragraph that
fits none is free text: its lines are kept (`free`, for the ticket's error messages and notes:
lab/importer/symptoms.py) and its first line is reported with file and line (`unreadable`, what
`nestlab import --strict` stops on).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from nestlab.lab.importer import native
from nestlab.lab.importer.listformat import Unreadable, is_list_line, parse_list
from nestlab.lab.importer.tableformat import is_table_start, parse_spaced, parse_table, split_spaced
from nestlab.lab.importer.text import Block, Line, blocks
from nestlab.lab.importer.textobject import ErrorText, Field, TextObject

# Default table views whose header may come without a dash line (old consoles, pastes).
KNOWN_HEADERS = (
    {"name", "state", "cpuusage(%)", "memoryassigned(m)", "uptime", "status", "version"},
    {"name", "switchtype", "netadapterinterfacedescription"},
    {"vmname", "count", "compatibilityformigrationenabled", "compatibilityforolderoperatingsystemsenabled"},
    {"vmname", "dynamicmemoryenabled", "minimum(m)", "startup(m)", "maximum(m)"},
)
_SCALARS = {"true", "false"}


@dataclass
class Ran:
    """A command seen in the file (from the manifest or a prompt) and what it printed."""

    command: str
    line: int
    objects: list[TextObject] = field(default_factory=list)
    errors: list[ErrorText] = field(default_factory=list)


@dataclass(frozen=True)
class FreeLine:
    """A line that is no command's output: a pasted error message, a note, a sentence."""

    line: int
    text: str
    why: str  # why it is not output (the parser's reason)


@dataclass
class Parsed:
    file: str
    objects: list[TextObject] = field(default_factory=list)
    errors: list[ErrorText] = field(default_factory=list)
    ran: list[Ran] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "file:line: why: text"
    free: list[FreeLine] = field(default_factory=list)


def parse_file(name: str, text: str, command: str | None = None) -> Parsed:
    parsed = Parsed(name)
    for block in blocks(text, command):
        ran = Ran(block.command, block.lines[0].no if block.lines else 0) if block.command else None
        free: list[FreeLine] = []
        objects, errors = _read_block(name, block, free)
        for paragraph_start in (f for i, f in enumerate(free) if i == 0 or free[i - 1].line != f.line - 1):
            parsed.unreadable.append(f"{name}:{paragraph_start.line}: {paragraph_start.why}: "
                                     f"{paragraph_start.text.strip()[:80]!r}")
        parsed.free += free
        parsed.objects += objects
        parsed.errors += errors
        if ran is not None:
            ran.objects, ran.errors = objects, errors
            parsed.ran.append(ran)
    return parsed


def _read_block(name: str, block: Block, free: list[FreeLine]) -> tuple[list[TextObject], list[ErrorText]]:
    """The block's objects and errors; each paragraph no layout reads goes to `free`, line by line
    from the line that did not fit (a note under a table is free text, the table is still read)."""
    out = _BlockOutput()
    paragraphs = [part for p in block.paragraphs() for part in native.split_errors(p)]
    for paragraph in paragraphs:
        try:
            _read_paragraph(name, block.command, paragraph, out)
        except Unreadable as exc:
            out.portproxy_next, out.spaced_header = False, None
            free += [FreeLine(l.no, l.text, exc.why) for l in paragraph if l.no >= exc.line.no]
    if out.systeminfo:
        first = min(f.line for f in out.systeminfo.values())
        out.objects.insert(0, TextObject(out.systeminfo, name, first, "systeminfo", block.command))
    return out.objects, out.errors


@dataclass
class _BlockOutput:
    """What a block's paragraphs gave so far, and the layout the next paragraph may continue."""

    objects: list[TextObject] = field(default_factory=list)
    errors: list[ErrorText] = field(default_factory=list)
    systeminfo: dict[str, Field] = field(default_factory=dict)
    portproxy_next: bool = False
    spaced_header: Line | None = None


def _read_paragraph(name: str, command: str | None, paragraph: list[Line], out: _BlockOutput) -> None:
    """One paragraph in the first layout that reads it; Unreadable when none does."""
    if native.is_error(paragraph):
        out.errors.append(native.parse_error(paragraph, name, command))
        return
    if native.PORTPROXY_BANNER.match(paragraph[0].text):
        out.portproxy_next = True
        paragraph = paragraph[1:]
        if not paragraph:
            return
    if out.portproxy_next:
        out.portproxy_next = False
        out.objects += _portproxy(name, paragraph, command)
        return
    if native.is_systeminfo(paragraph):
        native.parse_systeminfo(paragraph, out.systeminfo)
        return
    if native.is_event_viewer(paragraph):
        out.objects.append(TextObject(native.parse_event_viewer(paragraph), name, paragraph[0].no, "list", command))
        return
    if native.is_event_xml(paragraph):
        out.objects.append(TextObject(native.parse_event_xml(paragraph), name, paragraph[0].no, "list", command))
        return
    if native.is_bcdedit(paragraph):
        out.objects.append(TextObject(native.parse_bcdedit(paragraph), name, paragraph[0].no, "bcdedit", command))
        return
    if is_table_start(paragraph):
        _, rows = parse_table(paragraph[0], paragraph[1], paragraph[2:])
        out.objects += [TextObject(p, name, no, "table", command) for no, p in rows]
        return
    if out.spaced_header is not None:
        try:
            rows = parse_spaced(out.spaced_header, paragraph)
        except Unreadable:
            out.spaced_header = None
        else:
            out.objects += [TextObject(p, name, no, "table", command) for no, p in rows]
            return
    if _is_spaced_header(paragraph[0]):
        out.spaced_header = paragraph[0]
        rows = parse_spaced(out.spaced_header, paragraph[1:])
        out.objects += [TextObject(p, name, no, "table", command) for no, p in rows]
        return
    if paragraph[0].text.lstrip()[:1] in "{[":
        out.objects += _json(name, paragraph, command)
        return
    if "\t" in paragraph[0].text:
        out.objects.append(_msinfo(name, paragraph, command))
        return
    if all(l.text.strip().lower() in _SCALARS for l in paragraph):
        out.objects += [TextObject({"Value": Field(l.text.strip(), l.no)}, name, l.no, "scalar", command) for l in paragraph]
        return
    if is_list_line(paragraph[0].text.strip()):
        out.objects += [TextObject(p, name, no, "list", command) for no, p in parse_list(paragraph)]
        return
    raise Unreadable(paragraph[0], "not output of a command a data collection holds")


def _json(name: str, paragraph: list[Line], command: str | None) -> list[TextObject]:
    """ConvertTo-Json output (PS 5.1 or 7): one object or an array of them, values as text."""
    try:
        data = json.loads("\n".join(l.text for l in paragraph))
    except json.JSONDecodeError as exc:
        bad = paragraph[min(exc.lineno - 1, len(paragraph) - 1)]
        raise Unreadable(bad, f"not JSON ({exc.msg})") from None
    items = data if isinstance(data, list) else [data]
    line = paragraph[0].no
    return [
        TextObject({k: Field(_json_text(v), line) for k, v in item.items()}, name, line, "json", command)
        for item in items
        if isinstance(item, dict)
    ]


def _json_text(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return ""
    if isinstance(value, list):
        return "{" + ", ".join(_json_text(v) for v in value) + "}"
    return str(value)


def _msinfo(name: str, paragraph: list[Line], command: str | None) -> TextObject:
    """msinfo32's System Summary copied as text: 'Item<TAB>Value' lines."""
    props = {}
    for l in paragraph:
        item, _, value = l.text.partition("\t")
        props[item.strip()] = Field(value.strip(), l.no)
    return TextObject(props, name, paragraph[0].no, "msinfo32", command)


def _is_spaced_header(line: Line) -> bool:
    cells = {c.lower() for c in split_spaced(line.text)}
    return any(cells == h for h in KNOWN_HEADERS)


def _portproxy(name: str, paragraph: list[Line], command: str | None) -> list[TextObject]:
    """netsh's v4tov4 table: two 'Address  Port' pairs under the listen/connect banner."""
    if not is_table_start(paragraph):
        raise Unreadable(paragraph[0], "expected the 'Address  Port  Address  Port' table of netsh portproxy")
    _, rows = parse_table(_renamed_header(paragraph[0], paragraph[1]), paragraph[1], paragraph[2:])
    return [TextObject(p, name, no, "portproxy", command) for no, p in rows]


def _renamed_header(header: Line, dashes: Line) -> Line:
    spans = [m for m in re.finditer(r"-+", dashes.text)]
    if len(spans) != 4:
        raise Unreadable(header, "a portproxy table has four columns")
    names = ["ListenAddress", "ListenPort", "ConnectAddress", "ConnectPort"]
    text = ""
    for span, n in zip(spans, names):
        text = text.ljust(span.start()) + n
    return Line(header.no, text)
