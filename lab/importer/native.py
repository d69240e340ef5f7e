"""Outputs of native commands, which print their own layouts: systeminfo, bcdedit, netsh
portproxy's banner, and PowerShell's printed errors. Each becomes a TextObject (or ErrorText)
so the readers treat every source alike.
"""

from __future__ import annotations

import re

from nestlab.lab.importer.listformat import Unreadable, dedent
from nestlab.lab.importer.text import Line
from nestlab.lab.importer.textobject import ErrorText, Field

# systeminfo's labels (English); a value continues on lines indented to its column.
SYSTEMINFO_LABELS = (
    "Host Name", "OS Name", "OS Version", "OS Manufacturer", "OS Configuration", "OS Build Type",
    "Registered Owner", "Registered Organization", "Product ID", "Original Install Date",
    "System Boot Time", "System Manufacturer", "System Model", "System Type", "Processor(s)",
    "BIOS Version", "Windows Directory", "System Directory", "Boot Device", "System Locale",
    "Input Locale", "Time Zone", "Total Physical Memory", "Available Physical Memory",
    "Virtual Memory: Max Size", "Virtual Memory: Available", "Virtual Memory: In Use",
    "Page File Location(s)", "Domain", "Logon Server", "Hotfix(s)", "Network Card(s)",
    "Hyper-V Requirements",
)
_SYSTEMINFO = re.compile(
    r"^(?P<label>" + "|".join(re.escape(l) for l in sorted(SYSTEMINFO_LABELS, key=len, reverse=True)) + r"):\s*(?P<value>.*)$"
)
_BCD_HEADER = re.compile(r"^Windows Boot (Loader|Manager)$")
_BCD_LINE = re.compile(r"^(?P<key>[A-Za-z][\w]*)\s{2,}(?P<value>.*)$")
PORTPROXY_BANNER = re.compile(r"^Listen on ipv[46]:\s+Connect to ipv[46]:\s*$")
_ERROR_TAIL = re.compile(r"^\s*[+-] (CategoryInfo|FullyQualifiedErrorId)\s*:")
_ERROR_HEAD = re.compile(r"^(?P<activity>[A-Za-z][\w\\-]*) : (?P<message>.*)$")


def is_systeminfo(paragraph: list[Line]) -> bool:
    return bool(_SYSTEMINFO.match(dedent(paragraph)[0].text))


def parse_systeminfo(paragraph: list[Line], into: dict[str, Field]) -> None:
    """Add a paragraph of systeminfo to `into` (systeminfo excerpts come with blank lines)."""
    last: str | None = None
    for line in dedent(paragraph):
        m = _SYSTEMINFO.match(line.text)
        if m:
            last = m.group("label")
            into[last] = Field(m.group("value").strip(), line.no)
        elif line.text[:1].isspace() and last is not None:
            old = into[last]
            into[last] = Field((old.text + "\n" + line.text.strip()).strip(), old.line)
        else:
            raise Unreadable(line, "not a systeminfo line")


# Event Viewer's "Copy details as text": 'Log Name:', 'Source:', 'Event ID:' … then 'Description:' and its text.
_VIEWER_LABELS = ("Log Name", "Source", "Date", "Event ID", "Task Category", "Level", "Keywords", "User", "Computer",
                  "Description")
_VIEWER = re.compile(r"^(?P<label>" + "|".join(re.escape(l) for l in _VIEWER_LABELS) + r"):\s*(?P<value>.*)$")


def is_event_viewer(paragraph: list[Line]) -> bool:
    return paragraph[0].text.startswith("Log Name:")


def parse_event_viewer(paragraph: list[Line]) -> dict[str, Field]:
    """One event as Event Viewer copies it, under Get-WinEvent's property names."""
    names = {"Log Name": "LogName", "Source": "ProviderName", "Event ID": "Id", "Level": "LevelDisplayName",
             "Date": "TimeCreated", "Computer": "MachineName", "Description": "Message"}
    props: dict[str, Field] = {}
    message: list[str] = []
    in_description = False
    for line in paragraph:
        m = _VIEWER.match(line.text)
        if m and not in_description:
            label = m.group("label")
            in_description = label == "Description"
            if m.group("value") or not in_description:
                props[names.get(label, label.replace(" ", ""))] = Field(m.group("value").strip(), line.no)
            if in_description and m.group("value"):
                message.append(m.group("value").strip())
        elif in_description:
            message.append(line.text.strip())
        else:
            raise Unreadable(line, "not a line of an event copied from Event Viewer")
    if message:
        props["Message"] = Field(" ".join(message), props.get("Message", Field("", paragraph[0].no)).line)
    return props


def is_event_xml(paragraph: list[Line]) -> bool:
    return paragraph[0].text.lstrip().startswith("<Event ")


def parse_event_xml(paragraph: list[Line]) -> dict[str, Field]:
    """An event's XML (Event Viewer's XML view, `$e.ToXml()`): the System fields Get-WinEvent shows."""
    import xml.etree.ElementTree as ET

    text = "".join(l.text.strip() for l in paragraph)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise Unreadable(paragraph[0], f"not event XML ({exc})") from None
    no = paragraph[0].no
    system = next((c for c in root if c.tag.endswith("System")), None)
    if system is None:
        raise Unreadable(paragraph[0], "event XML without its System element")
    field = {c.tag.rsplit("}", 1)[-1]: c for c in system}
    props = {"Id": Field((field["EventID"].text or "").strip() if "EventID" in field else "", no)}
    if "Provider" in field:
        props["ProviderName"] = Field(field["Provider"].get("Name", ""), no)
    if "Channel" in field:
        props["LogName"] = Field(field["Channel"].text or "", no)
    if "TimeCreated" in field:
        props["TimeCreated"] = Field(field["TimeCreated"].get("SystemTime", ""), no)
    if "Computer" in field:
        props["MachineName"] = Field(field["Computer"].text or "", no)
    data = [d.text or "" for d in root.iter() if d.tag.rsplit("}", 1)[-1] in ("ErrorMessage", "Data")]
    props["Message"] = Field(" ".join(data), no)
    return props


def is_bcdedit(paragraph: list[Line]) -> bool:
    return bool(_BCD_HEADER.match(paragraph[0].text.strip()))


def parse_bcdedit(paragraph: list[Line]) -> dict[str, Field]:
    props: dict[str, Field] = {"Section": Field(paragraph[0].text.strip(), paragraph[0].no)}
    last = None
    for line in paragraph[1:]:
        if set(line.text.strip()) == {"-"}:
            continue
        m = _BCD_LINE.match(line.text)
        if m:
            last = m.group("key")
            props[last] = Field(m.group("value").strip(), line.no)
        elif line.text[:1].isspace() and last is not None:
            old = props[last]
            props[last] = Field(old.text + "\n" + line.text.strip(), old.line)
        else:
            raise Unreadable(line, "not a 'name  value' line of bcdedit")
    return props


def split_errors(paragraph: list[Line]) -> list[list[Line]]:
    """Cut a paragraph where a printed error starts (output and error often touch)."""
    for i, line in enumerate(paragraph[1:], start=1):
        if _ERROR_HEAD.match(line.text) and any(_ERROR_TAIL.match(l.text) for l in paragraph[i:]):
            return [paragraph[:i], *split_errors(paragraph[i:])]
    return [paragraph]


def is_error(paragraph: list[Line]) -> bool:
    return any(_ERROR_TAIL.match(l.text) for l in paragraph) and bool(_ERROR_HEAD.match(paragraph[0].text))


def parse_error(paragraph: list[Line], file: str, command: str | None) -> ErrorText:
    head = _ERROR_HEAD.match(paragraph[0].text)
    assert head is not None
    message = [head.group("message").strip()]
    category = target = fqid = ""
    tail: list[str] = []
    for line in paragraph[1:]:
        t = line.text.strip()
        if tail or _ERROR_TAIL.match(line.text):
            tail.append(t)
        elif not (t.startswith("At ") or t.startswith("+ ") or t.startswith("- ") or t == "+" or set(t) <= {"+", "~", " "}):
            message.append(t)
    joined = _join_wrapped(tail)
    for entry in joined:
        name, _, value = entry.lstrip("+- ").partition(":")
        value = value.strip()
        if name.strip() == "CategoryInfo":
            category = value.split(":", 1)[0]
            m = re.search(r"\((.*)\)", value)
            target = m.group(1).rsplit(":", 1)[0] if m else ""
        elif name.strip() == "FullyQualifiedErrorId":
            fqid = value
    return ErrorText(
        activity=head.group("activity").split("\\")[-1],
        message=" ".join(m for m in message if m),
        fully_qualified_error_id=fqid,
        category=category,
        target=target,
        file=file,
        line=paragraph[0].no,
        command=command,
    )


def _join_wrapped(tail: list[str]) -> list[str]:
    """'+ CategoryInfo : …' entries, with the console's wrapped continuation lines glued back."""
    out: list[str] = []
    for t in tail:
        if t.startswith("+ ") or t.startswith("- ") or not out:
            out.append(t)
        else:
            out[-1] += t
    return out
