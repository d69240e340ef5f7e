"""One file of a bundle → the objects, errors and commands in it, or the lines it cannot read.

Each paragraph is tried as the layouts PowerShell and the native tools print (errors, the
portproxy table, systeminfo, bcdedit, Format-Table, Format-List, bare values); a line that
fits none is reported with its file and line, never skipped.
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


@dataclass
class Parsed:
    file: str
    objects: list[TextObject] = field(default_factory=list)
    errors: list[ErrorText] = field(default_factory=list)
    ran: list[Ran] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "file:line: why: text"


def parse_file(name: str, text: str, command: str | None = None) -> Parsed:
    parsed = Parsed(name)
    for block in blocks(text, command):
        ran = Ran(block.command, block.lines[0].no if block.lines else 0) if block.command else None
        try:
            objects, errors = _read_block(name, block)
        except Unreadable as exc:
            parsed.unreadable.append(f"{name}:{exc.line.no}: {exc.why}: {exc.line.text.strip()[:80]!r}")
            continue
        parsed.objects += objects
        parsed.errors += errors
        if ran is not None:
            ran.objects, ran.errors = objects, errors
            parsed.ran.append(ran)
    return parsed


def _read_block(name: str, block: Block) -> tuple[list[TextObject], list[ErrorText]]:
    objects: list[TextObject] = []
    errors: list[ErrorText] = []
    systeminfo: dict[str, Field] = {}
    portproxy_next = False
    spaced_header: Line | None = None
    paragraphs = [part for p in block.paragraphs() for part in native.split_errors(p)]
    for paragraph in paragraphs:
        if native.is_error(paragraph):
            errors.append(native.parse_error(paragraph, name, block.command))
            continue
        if native.PORTPROXY_BANNER.match(paragraph[0].text):
            portproxy_next = True
            paragraph = paragraph[1:]
            if not paragraph:
                continue
        if portproxy_next:
            objects += _portproxy(name, paragraph, block.command)
            portproxy_next = False
            continue
        if native.is_systeminfo(paragraph):
            native.parse_systeminfo(paragraph, systeminfo)
            continue
        if native.is_event_viewer(paragraph):
            objects.append(TextObject(native.parse_event_viewer(paragraph), name, paragraph[0].no, "list", block.command))
            continue
        if native.is_event_xml(paragraph):
            objects.append(TextObject(native.parse_event_xml(paragraph), name, paragraph[0].no, "list", block.command))
            continue
        if native.is_bcdedit(paragraph):
            props = native.parse_bcdedit(paragraph)
            objects.append(TextObject(props, name, paragraph[0].no, "bcdedit", block.command))
            continue
        if is_table_start(paragraph):
            _, rows = parse_table(paragraph[0], paragraph[1], paragraph[2:])
            objects += [TextObject(p, name, no, "table", block.command) for no, p in rows]
            continue
        if spaced_header is not None:
            try:
                rows = parse_spaced(spaced_header, paragraph)
            except Unreadable:
                spaced_header = None
            else:
                objects += [TextObject(p, name, no, "table", block.command) for no, p in rows]
                continue
        if _is_spaced_header(paragraph[0]):
            spaced_header = paragraph[0]
            rows = parse_spaced(spaced_header, paragraph[1:])
            objects += [TextObject(p, name, no, "table", block.command) for no, p in rows]
            continue
        if paragraph[0].text.lstrip()[:1] in "{[":
            objects += _json(name, paragraph, block.command)
            continue
        if "\t" in paragraph[0].text:
            objects.append(_msinfo(name, paragraph, block.command))
            continue
        if all(l.text.strip().lower() in _SCALARS for l in paragraph):
            for l in paragraph:
                objects.append(TextObject({"Value": Field(l.text.strip(), l.no)}, name, l.no, "scalar", block.command))
            continue
        if is_list_line(paragraph[0].text.strip()):
            objects += [TextObject(p, name, no, "list", block.command) for no, p in parse_list(paragraph)]
            continue
        raise Unreadable(paragraph[0], "not output of a command a data collection holds")
    if systeminfo:
        first = min(f.line for f in systeminfo.values())
        objects.insert(0, TextObject(systeminfo, name, first, "systeminfo", block.command))
    return objects, errors


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
