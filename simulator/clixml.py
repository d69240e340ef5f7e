"""PowerShell objects ⇄ CLIXML, shaped the way Windows remoting serializes pipeline output.

One object path for every target: the served endpoint writes a simulated cmdlet's output with
`to_clixml`, PsrpSession reads what a real or served host sent with `from_clixml`, and SimSession
runs `roundtrip` in process, so the diagnosis receives identical objects whichever way they came.

Shape (remoting serializes at depth 1; see ../shared/reference/psrp-server-notes.md §4 and the
recordings in ../shared/reference/pypsrp-recordings):
* a top-level object keeps its type names (`<TN>`), its `<ToString>` and its properties; adapted
  properties of .NET/CIM objects go in `<Props>`, note properties of a PSCustomObject in `<MS>`;
* primitive properties keep their .NET type (B, I32/I64/U64, Db, S, DT, TS, G, BA);
* an enum is `<Obj>` with the enum's type names, `<ToString>` (the name) and `<I32>` (the number)
  only where it still has depth left: a top-level enum (`Select-Object -ExpandProperty State`),
  read back as `PSEnum`. An enum *property* of an output object is at depth 0 and is written as
  its name, `<S N="Status">Running</S>`, read back as a `str`: the recorded `Get-Service winrm`
  (pypsrp-recordings/test_psrp_multiple_commands.yml: Status, ServiceType, StartType all `<S>`).
  One level deeper there is no enum left to write: a nested object is its string form (the same
  recording's ServicesDependedOn is an LST of `<S>`; in test_psrp_stream_output_invocation.yml the
  ErrorRecord's nested InvocationInfo has `<S N="CommandOrigin">Internal</S>`). The recordings'
  `<Obj>` enums inside records (ProgressRecord.Type, the ErrorRecord's InvocationInfo_CommandOrigin)
  are properties of objects PowerShell serializes one level deeper than pipeline output, which
  the simulator never writes;
* arrays are `<Obj>` with `System.Object[]` type names and an `<LST>`; their complex elements,
  like other complex properties, arrive as their string form;
* ErrorRecords are written like the recorded ones: Exception, FullyQualifiedErrorId, the
  ErrorCategory_* fields, and `writeErrorStream` for a non-terminating error.
"""

from __future__ import annotations

import base64
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import replace
from functools import lru_cache
from operator import is_
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from nestlab.simulator.kept import Kept
from nestlab.simulator.psdata import ErrorRecord, PSEnum, PSObject, Result, SharedIndex

ENUM_BASE_TYPES = ("System.Enum", "System.ValueType", "System.Object")
ARRAY_TYPES = ("System.Object[]", "System.Array", "System.Object")
HASHTABLE_TYPES = ("System.Collections.Hashtable", "System.Object")
ERROR_RECORD_TYPES = ("System.Management.Automation.ErrorRecord", "System.Object")
PS_CUSTOM_OBJECT = "System.Management.Automation.PSCustomObject"

# System.Management.Automation.ErrorCategory, in enum order (the number is the index).
ERROR_CATEGORIES = (
    "NotSpecified", "OpenError", "CloseError", "DeviceError", "DeadlockDetected", "InvalidArgument",
    "InvalidData", "InvalidOperation", "InvalidResult", "InvalidType", "MetadataError",
    "NotImplemented", "NotInstalled", "ObjectNotFound", "OperationStopped", "OperationTimeout",
    "SyntaxError", "ParserError", "PermissionDenied", "ResourceBusy", "ResourceExists",
    "ResourceUnavailable", "ReadError", "WriteError", "FromStdErr", "SecurityError",
    "ProtocolError", "ConnectionError", "AuthenticationError", "LimitsExceeded", "QuotaExceeded",
    "NotEnabled",
)

_I32 = range(-(2**31), 2**31)
_I64 = range(-(2**63), 2**63)


# ----------------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------------


class _Writer:
    """Writes one CLIXML document as text; holds its RefId counters (TN and Obj ids restart per message).

    Text straight from the values, as ET.tostring would print the same elements (a test keeps them
    equal): a SimSession writes every object it returns, so this is the round trip's hot path.
    """

    def __init__(self) -> None:
        self.obj_ids = 0
        self.tn_ids: dict[tuple[str, ...], int] = {}

    def type_names(self, names: Iterable[str]) -> str:
        names = tuple(names)
        if not names:
            return ""
        if names in self.tn_ids:
            return f'<TNRef RefId="{self.tn_ids[names]}" />'
        self.tn_ids[names] = len(self.tn_ids)
        return f'<TN RefId="{self.tn_ids[names]}">{"".join(_leaf("T", name) for name in names)}</TN>'

    # -- values -------------------------------------------------------------------------------

    def value(self, value: Any, name: str | None = None, *, top: bool = False) -> str:
        """One value; below the top level a complex object is written as its string form."""
        primitive = _primitive(value)
        if primitive is not None:
            return _leaf(primitive[0], primitive[1], name)
        if isinstance(value, PSEnum):  # below the top, an enum is its name (module docstring)
            return self.enum(value, name) if top else _text_element("S", value.name, name)
        if isinstance(value, ErrorRecord):
            return self.error_record(value, name) if top else _text_element("S", value.message, name)
        if isinstance(value, PSObject):
            return self.ps_object(value, name) if top else _text_element("S", value.to_string, name)
        if isinstance(value, Mapping):
            return self.hashtable(value, name)
        if isinstance(value, (list, tuple, set, frozenset)):
            return self.array(value, name)
        return _text_element("S", str(value), name)

    def enum(self, value: PSEnum, name: str | None = None) -> str:
        # the Obj's RefId is taken before its type names' (the order ET built them in)
        ref = self._reserve()
        inner = (self.type_names((value.type_name, *ENUM_BASE_TYPES)) + _leaf("ToString", _encode(value.name))
                 + _leaf("I32", str(value.value)))
        return self._obj_at(ref, inner, name)

    def array(self, items: Iterable[Any], name: str | None = None) -> str:
        ref = self._reserve()
        names = self.type_names(ARRAY_TYPES)
        return self._obj_at(ref, names + _node("LST", "".join(self.value(item) for item in items)), name)

    def hashtable(self, mapping: Mapping[Any, Any], name: str | None = None) -> str:
        ref = self._reserve()
        names = self.type_names(HASHTABLE_TYPES)
        entries = "".join(_node("En", self.value(key, "Key") + self.value(item, "Value")) for key, item in mapping.items())
        return self._obj_at(ref, names + _node("DCT", entries), name)

    def ps_object(self, obj: PSObject, name: str | None = None) -> str:
        ref = self._reserve()
        names = self.type_names(obj.type_names)
        bag = "MS" if PS_CUSTOM_OBJECT in obj.type_names else "Props"
        properties = "".join(self.value(obj[key], key) for key in obj)
        return self._obj_at(ref, names + _leaf("ToString", _encode(obj.to_string)) + _node(bag, properties), name)

    def error_record(self, record: ErrorRecord, name: str | None = None) -> str:
        ref = self._reserve()
        names = self.type_names(ERROR_RECORD_TYPES)
        ms = "".join((
            _leaf("B", "true", "writeErrorStream") if not record.terminating else "",
            self.exception(record),
            _text_element("S", record.target_name, "TargetObject") if record.target_name else _nil("TargetObject"),
            _text_element("S", record.fully_qualified_error_id, "FullyQualifiedErrorId"),
            _leaf("I32", str(_category_number(record.category)), "ErrorCategory_Category"),
            _text_element("S", record.activity, "ErrorCategory_Activity"),
            _text_element("S", _reason(record), "ErrorCategory_Reason"),
            _text_element("S", record.target_name, "ErrorCategory_TargetName"),
            _text_element("S", record.target_type, "ErrorCategory_TargetType"),
            _text_element("S", record.category_info, "ErrorCategory_Message"),
            _leaf("B", "false", "SerializeExtendedInfo"),
            _text_element("S", "at <ScriptBlock>, <No file>: line 1", "ErrorDetails_ScriptStackTrace"),
        ))
        return self._obj_at(ref, names + _leaf("ToString", _encode(record.message)) + _node("MS", ms), name)

    def exception(self, record: ErrorRecord) -> str:
        ref = self._reserve()
        names = self.type_names(_exception_types(record.exception_type))
        to_string = _leaf("ToString", _encode(f"{record.exception_type}: {record.message}"))
        data_ref = self._reserve()
        data = self._obj_at(data_ref, self.type_names(("System.Collections.ListDictionaryInternal", "System.Object"))
                            + _node("DCT", ""), "Data")
        props = "".join((
            _text_element("S", record.message, "Message"),
            data,
            *(_nil(empty) for empty in ("InnerException", "TargetSite", "StackTrace", "HelpLink", "Source")),
            _leaf("I32", "-2146233087", "HResult"),  # COR_E_EXCEPTION
        ))
        return self._obj_at(ref, names + to_string + _node("Props", props), "Exception")

    def _reserve(self) -> int:
        ref = self.obj_ids
        self.obj_ids += 1
        return ref

    @staticmethod
    def _obj_at(ref: int, inner: str, name: str | None) -> str:
        named = "" if name is None else f' N="{_escape_attribute(name)}"'
        return f'<Obj RefId="{ref}"{named}>{inner}</Obj>' if inner else f'<Obj RefId="{ref}"{named} />'


def _exception_types(exception_type: str) -> tuple[str, ...]:
    if exception_type in ("System.Exception", "System.Object"):
        return ("System.Exception", "System.Object")
    return (exception_type, "System.SystemException", "System.Exception", "System.Object")


def _reason(record: ErrorRecord) -> str:
    return record.reason or record.exception_type.rsplit(".", 1)[-1]


def _category_number(name: str) -> int:
    return _CATEGORY_NUMBERS.get(name.lower(), 0)


_CATEGORY_NUMBERS = {c.lower(): i for i, c in reversed(list(enumerate(ERROR_CATEGORIES)))}  # the first wins
_CATEGORY_NAMES = frozenset(ERROR_CATEGORIES)  # the names the reader gives back as they are


def _primitive(value: Any) -> tuple[str, str | None] | None:
    """(tag, text) of a value that CLIXML carries as a primitive, else None."""
    if value is None:
        return ("Nil", None)
    if isinstance(value, bool):
        return ("B", "true" if value else "false")
    if isinstance(value, PSEnum):
        return None
    if isinstance(value, int):
        tag = "I32" if value in _I32 else "I64" if value in _I64 else "U64"
        return (tag, str(value))
    if isinstance(value, float):
        return ("Db", repr(value))
    if isinstance(value, str):
        return ("S", _encode(value))
    if isinstance(value, datetime):
        return ("DT", _datetime_text(value))
    if isinstance(value, date):
        return ("DT", _datetime_text(datetime(value.year, value.month, value.day)))
    if isinstance(value, timedelta):
        return ("TS", _duration_text(value))
    if isinstance(value, uuid.UUID):
        return ("G", str(value))
    if isinstance(value, (bytes, bytearray)):
        return ("BA", base64.b64encode(bytes(value)).decode())
    return None


def _leaf(tag: str, text: str | None, name: str | None = None) -> str:
    """An element holding text (escaped here), or an empty one: `<S N="Name">L1</S>`, `<Nil N="X" />`."""
    named = "" if name is None else f' N="{_escape_attribute(name)}"'
    return f"<{tag}{named}>{_escape_text(text)}</{tag}>" if text else f"<{tag}{named} />"


def _node(tag: str, inner: str, name: str | None = None) -> str:
    """An element holding other elements (`inner` is markup already)."""
    named = "" if name is None else f' N="{_escape_attribute(name)}"'
    return f"<{tag}{named}>{inner}</{tag}>" if inner else f"<{tag}{named} />"


def _text_element(tag: str, text: str, name: str | None = None) -> str:
    return _leaf(tag, _encode(text) if tag == "S" else text, name)


def _nil(name: str) -> str:
    return _leaf("Nil", None, name)


def _datetime_text(value: datetime) -> str:
    """.NET round-trip format ("o"): 7 fractional digits, offset when the value has one."""
    text = value.strftime("%Y-%m-%dT%H:%M:%S") + f".{value.microsecond:06d}0"
    offset = value.utcoffset()
    if offset is None:
        return text
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _duration_text(value: timedelta) -> str:
    total = value.total_seconds()
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}P{int(days)}DT{int(hours)}H{int(minutes)}M{seconds:.7f}S".replace(".0000000S", "S")


# MS-PSRP 2.2.5.1.1: characters XML cannot carry are written _xHHHH_; a literal "_x" escapes its "_".
_NEEDS_ESCAPE = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)|[\r\n\t]")


def _encode(text: str) -> str:
    return _NEEDS_ESCAPE.sub(lambda m: "_x005F_" if m.group() == "_" else f"_x{ord(m.group()):04X}_", text)


_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _decode(text: str | None) -> str:
    if not text:
        return ""
    if "_x" not in text:
        return text  # nothing escaped (the common case): no need to look for surrogate pairs
    units = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)
    # surrogate pairs arrive as two escapes (_xD801__xDC37_): join them into one character
    return units.encode("utf-16", "surrogatepass").decode("utf-16")


# ----------------------------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------------------------


class _Reader:
    """Resolves `<Ref>`/`<TNRef>` within one document and maps elements to psdata values."""

    def __init__(self) -> None:
        self.objects: dict[str, Any] = {}
        self.type_names: dict[str, tuple[str, ...]] = {}

    def value(self, element: ET.Element) -> Any:
        tag = element.tag
        reader = _PRIMITIVE_READERS.get(tag)
        if reader is not None:
            return reader(element.text)
        if tag == "Ref":
            return self.objects.get(element.get("RefId", ""))
        if tag == "Obj":
            value = self.obj(element)
            self.objects[element.get("RefId", "")] = value
            return value
        return _decode(element.text)  # an unknown primitive: its text is the best we have

    def names_of(self, parts: dict[str, ET.Element]) -> tuple[str, ...]:
        tn = parts.get("TN")
        if tn is not None:
            names = tuple(t.text or "" for t in tn.findall("T"))
            self.type_names[tn.get("RefId", "")] = names
            return names
        ref = parts.get("TNRef")
        return self.type_names.get(ref.get("RefId", ""), ()) if ref is not None else ()

    def obj(self, element: ET.Element) -> Any:
        parts = _parts(element)
        names = self.names_of(parts)
        to_string = parts.get("ToString")
        text = _decode(to_string.text) if to_string is not None else None
        if "System.Enum" in names:
            number = next((c for c in element if c.tag in _INTEGER_TAGS), None)
            return PSEnum(names[0], text or "", int(number.text) if number is not None else 0)
        if ERROR_RECORD_TYPES[0] in names or ("Deserialized." + ERROR_RECORD_TYPES[0]) in names:
            return self.error_record(element, text)
        for container in ("LST", "IE", "QUE", "STK"):
            found = parts.get(container)
            if found is not None:
                return [self.value(child) for child in found]
        dct = parts.get("DCT")
        if dct is not None:
            return {self.value(en.find("*[@N='Key']")): self.value(en.find("*[@N='Value']")) for en in dct}
        properties = self.properties(element, parts)
        if not names and not properties and text is None:
            return None
        return PSObject(names, properties, text)

    def properties(self, element: ET.Element, parts: dict[str, ET.Element] | None = None) -> list[tuple[str, Any]]:
        parts = _parts(element) if parts is None else parts
        found: list[tuple[str, Any]] = []
        for bag in ("Props", "MS"):
            holder = parts.get(bag)
            if holder is not None:
                found.extend((child.get("N", ""), self.value(child)) for child in holder)
        return found

    def error_record(self, element: ET.Element, text: str | None) -> ErrorRecord:
        props = dict(self.properties(element))
        exception = props.get("Exception")
        exception_type = exception.type_names[0] if isinstance(exception, PSObject) and exception.type_names else "System.Exception"
        message = text or (exception.get("Message", "") if isinstance(exception, PSObject) else "")
        category = props.get("ErrorCategory_Category", 0)
        return ErrorRecord(
            message=message,
            fully_qualified_error_id=props.get("FullyQualifiedErrorId") or "",
            category=ERROR_CATEGORIES[category] if isinstance(category, int) and 0 <= category < len(ERROR_CATEGORIES) else "NotSpecified",
            target_name=props.get("ErrorCategory_TargetName") or "",
            target_type=props.get("ErrorCategory_TargetType") or "",
            activity=props.get("ErrorCategory_Activity") or "",
            reason=props.get("ErrorCategory_Reason") or "",
            exception_type=exception_type,
            terminating=not props.get("writeErrorStream", False),
        )


def _parts(element: ET.Element) -> dict[str, ET.Element]:
    """An object's children by tag, the first of each (what `find(tag)` returns), in one pass."""
    parts: dict[str, ET.Element] = {}
    for child in element:
        parts.setdefault(child.tag, child)
    return parts


def _parse_datetime(text: str | None) -> datetime | str:
    """`2018-06-13T23:45:29.4583203+00:00` → datetime (Python keeps 6 of the 7 digits)."""
    raw = (text or "").strip()
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$", raw)
    if not match:
        return raw
    base, fraction, zone = match.groups()
    value = datetime.fromisoformat(base).replace(microsecond=int((fraction or "0")[:6].ljust(6, "0")))
    if zone == "Z":
        return value.replace(tzinfo=timezone.utc)
    if zone:
        return datetime.fromisoformat(f"{value.isoformat()}{zone}")
    return value


def _parse_duration(text: str | None) -> timedelta | str:
    match = re.match(r"^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?$", (text or "").strip())
    if not match:
        return text or ""
    sign, days, hours, minutes, seconds = match.groups()
    value = timedelta(days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0), seconds=float(seconds or 0))
    return -value if sign else value


_INTEGER_TAGS = ("I32", "I64", "U32", "U64", "I16", "U16", "By", "SB")
_PRIMITIVE_READERS: dict[str, Any] = {
    **{tag: (lambda t: int(t)) for tag in _INTEGER_TAGS},
    "S": _decode,
    "C": lambda t: chr(int(t)),
    "B": lambda t: (t or "").strip().lower() == "true",
    "Db": lambda t: float(t),
    "Sg": lambda t: float(t),
    "D": lambda t: float(t),
    "DT": _parse_datetime,
    "TS": _parse_duration,
    "G": lambda t: uuid.UUID(t),
    "BA": lambda t: base64.b64decode(t or ""),
    "URI": _decode,
    "Version": lambda t: t or "",
    "XD": _decode,
    "SBK": _decode,
    "SS": lambda t: t or "",
    "Nil": lambda t: None,
}


# ----------------------------------------------------------------------------------------------
# public
# ----------------------------------------------------------------------------------------------


def to_element(value: Any) -> ET.Element:
    """The CLIXML element of one top-level output object (or error record)."""
    return ET.fromstring(to_clixml(value))


def to_clixml(value: Any) -> str:
    """The CLIXML text of one top-level output object, as a PIPELINE_OUTPUT message carries it."""
    return _Writer().value(value, top=True)


def _escape_text(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


_ATTRIBUTE_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                                    "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"})
_ATTRIBUTE_SPECIALS = frozenset('&<>"\r\n\t')


@lru_cache(maxsize=4096)  # attributes are property names (N="…") and RefIds: the same few, again and again
def _escape_attribute(text: str) -> str:
    return text.translate(_ATTRIBUTE_ESCAPES) if _ATTRIBUTE_SPECIALS.intersection(text) else text


def from_clixml(xml: str | bytes | ET.Element) -> Any:
    """The psdata value (PSObject, PSEnum, ErrorRecord, list, primitive) of one CLIXML object."""
    if isinstance(xml, ET.Element):
        element = xml
    else:
        text = xml.decode("utf-8-sig") if isinstance(xml, bytes) else xml.lstrip("\ufeff")
        element = ET.fromstring(text)
    return _Reader().value(element)


def roundtrip(value: Any) -> Any:
    """What a value looks like after crossing the wire: SimSession runs every output through it."""
    return from_clixml(to_clixml(value))


def wire_errors(result: Result) -> tuple[list[ErrorRecord], ErrorRecord | None]:
    """(records a host streams as ERROR_RECORD, the record of a Failed PIPELINE_STATE).

    On the wire a streamed record is non-terminating (`writeErrorStream`) and the one inside a
    Failed state is terminating; pypsrp lists the streamed ones first, the Failed one last.
    """
    errors = list(result.errors)
    terminating: ErrorRecord | None = None
    if result.failed and errors:
        flagged = [i for i, e in enumerate(errors) if e.terminating]
        terminating = replace(errors.pop(flagged[-1] if flagged else len(errors) - 1), terminating=True)
    return [replace(e, terminating=False) for e in errors], terminating


def roundtrip_result(result: Result) -> Result:
    """The Result a client reads after the wire: SimSession returns this, PsrpSession builds the same."""
    streamed, terminating = wire_errors(result)
    errors = streamed + ([terminating] if terminating is not None else [])
    return Result(output=_roundtrip_each(result.output), errors=_roundtrip_each(errors), failed=result.failed)


def _roundtrip_each(values: Iterable[Any]) -> tuple[Any, ...]:
    """`roundtrip` of each value — its own message, so RefIds restart — with one parse for all."""
    texts = [to_clixml(value) for value in values]
    if not texts:
        return ()
    return tuple(_Reader().value(message) for message in ET.fromstring(f"<Messages>{''.join(texts)}</Messages>"))


# ----------------------------------------------------------------------------------------------
# the round trip without the text (SimSession's hot path)
# ----------------------------------------------------------------------------------------------


class _Unusual(Exception):
    """A value `wire_copy` does not mirror: the caller makes the real round trip instead."""


_SURROGATES = re.compile(r"[\ud800-\udfff]")
_SPECIAL_TYPE_NAMES = frozenset(("System.Enum", ERROR_RECORD_TYPES[0], "Deserialized." + ERROR_RECORD_TYPES[0]))


def wire_copy(value: Any) -> Any:
    """`roundtrip(value)` without writing or parsing text: the objects a client reads after the wire.

    Each branch is what `_Writer` writes read back by `_Reader` (a primitive is its CLIXML text
    read by the same primitive reader, so its type and precision are the wire's). Anything this
    does not mirror exactly — a type the writer turns into text, a lone surrogate, a type name the
    reader treats specially — takes the real round trip. tests/test_speed_wire.py keeps the two
    identical, type for type, on every answer of full collections and on generated values.
    """
    try:
        return _copy(value, True)
    except _Unusual:
        return roundtrip(value)


def _copy(value: Any, top: bool) -> Any:
    kind = type(value)
    if kind is str:
        if value.isascii() or not _SURROGATES.search(value):
            return value  # _decode(_encode(s)) is s for every string without lone surrogates
        raise _Unusual
    if kind is PSObject:
        if top:
            return _copy_object(value)
        return _copy(value.to_string, False)
    if kind is PSEnum:
        if type(value.value) is not int or type(value.name) is not str or type(value.type_name) is not str:
            raise _Unusual
        name = _copy(value.name, False)
        return PSEnum(value.type_name, value.name, value.value) if top else name
    if kind in _PLAIN_KINDS:
        return value  # its CLIXML text reads back as an equal value of the same type (see _PLAIN_KINDS)
    if kind is datetime and value.tzinfo is None and value.fold == 0 and value.year >= 1000:
        return value  # a naive datetime reads back as itself (7 digits written, Python's 6 read back)
    if kind in _PRIMITIVE_KINDS:
        tag, text = _primitive(value)  # type: ignore[misc]
        return _PRIMITIVE_READERS[tag](text or None)
    if kind is ErrorRecord:
        return _copy_error(value) if top else _copy(value.message, False)
    if kind is dict:
        return {_copy(k, False): _copy(v, False) for k, v in value.items()}
    if kind is list or kind is tuple:  # ASCII text and numbers, most items, are themselves without the call
        return [item if (type(item) is str and item.isascii()) or type(item) in _PLAIN_KINDS else _copy(item, False)
                for item in value]
    if isinstance(value, str):
        return _copy(str.__str__(value), False)  # a str subclass is written and read as a plain str
    if isinstance(value, _WRITTEN_AS_THEMSELVES):
        raise _Unusual  # subclasses, sets, other mappings: the real path
    return _copy(str(value), False)  # any other object the writer writes as <S>str(value)</S>


_WRITTEN_AS_THEMSELVES = (bool, int, float, str, datetime, date, timedelta, uuid.UUID, bytes, bytearray, PSEnum,
                          ErrorRecord, PSObject, Mapping, list, tuple, set, frozenset)
_PRIMITIVE_KINDS = frozenset((datetime, date, timedelta, uuid.UUID, bytes, bytearray))


def _copy_object(obj: PSObject) -> PSObject:
    """The object a client reads back. When the wire would change nothing (every name and value
    reads back as itself: ASCII text, int, bool, float, None — most objects a cmdlet makes), the
    object itself: a cmdlet builds fresh objects for every pipeline and nothing keeps or changes
    them once answered (repeated_reads drops an output that reaches a caller), so a copy would
    only cost time (issue 17). Otherwise a new object with the values as they read back.

    Planned per shape: whether the type names and property names cross as themselves is decided
    once per (type names, property names) (`_shape_crosses`). One pass over the values finds those
    the wire changes (enums, lists, datetimes …); a changed object is the dict copied at once with
    only those values copied one by one."""
    names, props, index = obj.type_names, obj._props, obj._index
    if type(index) is SharedIndex and index.given is not None:  # made by a Shape from exactly its varying values
        plan = index.wire
        if plan is None:
            plan = index.wire = _shape_plan(names, index)
        if plan:
            return _copy_made(obj, props, plan)
    shape = (names, tuple(props))
    crosses = _SHAPES.get(shape)
    if crosses is None:
        crosses = _SHAPES.keep(shape, _shape_crosses(*shape))
    if not crosses:
        raise _Unusual
    return _copied(obj, props, _wire_changes(props, props), None, obj._index)


def _copy_made(obj: PSObject, props: dict[str, Any], plan: tuple[Any, ...]) -> PSObject:
    """`_copy_object` of an object a Shape made from exactly its varying values (psdata.SharedIndex, marked):
    the shape's names and constants were judged once (`_shape_plan`), so only the values the object
    was given are looked at; a changed object is its dict copied with the constants' wire images
    (enum names) written over it at once, then the given values the wire changes, one by one. A copy
    holds the shape's unmarked index: it is no longer the shape's made object."""
    given, images, unmarked = plan
    return _copied(obj, props, _wire_changes(props, given), images, unmarked)


def _wire_changes(props: dict[str, Any], keys: Iterable[str]) -> list[str]:
    """The keys among `keys` whose values the wire changes (enums, lists, aware datetimes …); raises
    _Unusual for a text the fast copy cannot judge. One pass, inline: it runs for every object."""
    changed = []
    for key in keys:
        item = props[key]
        kind = type(item)
        if kind is str:
            if not item.isascii() and _SURROGATES.search(item):
                raise _Unusual  # _decode(_encode(s)) is s for every string without lone surrogates
        elif kind not in _PLAIN_KINDS and not (kind is datetime and item.tzinfo is None and item.fold == 0
                                               and item.year >= 1000):  # a naive datetime reads back as itself
            changed.append(key)
    return changed


def _copied(obj: PSObject, props: dict[str, Any], changed: list[str], images: dict[str, Any] | None,
            index: dict[str, str]) -> PSObject:
    """The object as it reads back: itself when nothing changes; else its dict copied at once, the
    shape's constant images (`images`) written over it, then each changed value copied."""
    to_string = obj.to_string
    if not (type(to_string) is str and to_string.isascii()):
        to_string = _copy(to_string, False)
    if not changed and images is None and to_string is obj.to_string:
        return obj
    properties = dict(props)
    if images is not None:
        properties.update(images)
    for key in changed:
        item = properties[key]
        if type(item) is PSEnum and type(item.name) is str and item.name.isascii() and type(item.value) is int \
                and type(item.type_name) is str:
            properties[key] = item.name  # an enum property is its name on the wire (most changed values)
        elif type(item) is list and not item:
            properties[key] = []  # `_copy` of an empty list (most lists: an adapter's ACLs, feature ids)
        else:
            properties[key] = _copy(item, False)
    return _new_object(obj.type_names, properties, index, to_string)


def _shape_plan(names: tuple[str, ...], index: SharedIndex) -> tuple[Any, ...] | bool:
    """How the wire copies the objects of one Shape (`_copy_made`): (the names each object was given,
    the constants the wire changes → their images or None, the index a copy holds), or False when
    its names or a constant do not cross as themselves (then the general way, `_copy_object`'s).
    Judged once per shape from its type names and constants: every object of the index has them."""
    if not _shape_crosses(names, tuple(index.values())):
        return False
    images = {}
    for key, value in index.constants.items():
        try:
            image = _copy(value, False)
        except _Unusual:
            return False
        if image is not value:
            if type(image) not in _IMMUTABLE_IMAGES:
                return False  # an image shared by every copy must be immutable
            images[key] = image
    return (index.given, images or None, index.unmarked)


_IMMUTABLE_IMAGES = frozenset((str, int, bool, float, type(None)))


def _shape_crosses(names: tuple[str, ...], keys: tuple[str, ...]) -> bool:
    """Whether an object of this shape keeps its type and property names on the wire (else the
    real round trip): names the reader treats specially, or that are not plain text, do not."""
    if _SPECIAL_TYPE_NAMES.intersection(names) or any(type(n) is not str for n in names):
        return False
    return all(type(key) is str and (key.isascii() or not _SURROGATES.search(key)) for key in keys)


_SHAPES: Kept[bool] = Kept(4096)  # (type names, property names): shapes are few, but names made of data must not grow it
# besides str, the exact types whose CLIXML text reads back as an equal value of the same type:
# int(str(i)) is i's value, float(repr(x)) is x (repr round-trips), a bool is B true/false, Nil None
_PLAIN_KINDS = frozenset((int, bool, float, type(None)))


def _new_object(names: tuple[str, ...], properties: dict[str, Any], index: dict[str, str], to_string: str) -> PSObject:
    """PSObject(names, properties, to_string) with the lower-case index it would build (the keys
    are the same strings), set directly: the copy makes one for every object a cmdlet returns."""
    if type(index) is SharedIndex:  # a shape's index stays shared; a copy's is never marked (`_copy_made`)
        if index.given is not None:
            index = index.unmarked
    else:
        index = dict(index)
    copy = PSObject.__new__(PSObject)
    copy.type_names, copy._props, copy._index, copy.to_string = names, properties, index, to_string
    return copy


def _copy_error(record: ErrorRecord, terminating: bool | None = None) -> ErrorRecord:
    """The record a client reads back, with `terminating` as the wire marks it (None: as it is).

    The record itself when the wire would change nothing — its texts read back as themselves and
    category, reason, exception type and flag are already what the reader rebuilds: a record is
    frozen, so sharing it is safe, and most records a cmdlet writes are such. Otherwise one new
    record (not a `replace` for the flag and then a copy)."""
    texts = message, fqid, target_name, target_type, activity, reason, exception_type = (
        record.message, record.fully_qualified_error_id, record.target_name, record.target_type,
        record.activity, record.reason, record.exception_type)
    # every text a plain str (one chained test: a loop over the seven costs twice as much)
    if not (type(message) is type(fqid) is type(target_name) is type(target_type) is type(activity)
            is type(reason) is type(exception_type) is str):
        raise _Unusual
    joined = "".join(texts)  # each text as _copy checks it, all at once: no lone surrogate in any
    if not joined.isascii() and _SURROGATES.search(joined):
        raise _Unusual
    if terminating is None:
        terminating = record.terminating
    # what the reader rebuilds already there: a category by its own name, a reason, an exception type
    if (record.terminating is terminating and type(record.category) is str and record.category in _CATEGORY_NAMES
            and record.reason and record.exception_type != "System.Object"):
        return record
    category = ERROR_CATEGORIES[_category_number(record.category)]
    reason = _reason(record)
    exception_type = _exception_types(record.exception_type)[0]
    return ErrorRecord(
        message=record.message,
        fully_qualified_error_id=record.fully_qualified_error_id,
        category=category,
        target_name=record.target_name,
        target_type=record.target_type,
        activity=record.activity,
        reason=reason,
        exception_type=exception_type,
        terminating=terminating,
    )


def wire_copy_result(result: Result) -> Result:
    """`roundtrip_result` by `wire_copy`: what SimSession returns for every pipeline.

    The answer itself when the wire changes none of its objects and records (most answers: a
    Result is frozen and `_copy_object`/`_copy_error` already return what they need not copy),
    else one new Result; either way it keeps the request it answers (`Result.request`)."""
    output, errors = result.output, result.errors
    if not output and not errors:  # about half the answers: nothing to look at
        if type(result) is Result and not result.guests:
            return result
        return _new_result(output, errors, result.failed, result.request)
    copied = tuple(map(_wire_copy_output, output)) if output else output
    records = _wire_records(errors, result.failed) if errors else errors
    if (type(result) is Result and not result.guests and (copied is output or all(map(is_, copied, output)))
            and (records is errors or all(map(is_, records, errors)))):
        return result
    return _new_result(copied, records, result.failed, result.request)


def _new_result(output: tuple[Any, ...], errors: tuple[ErrorRecord, ...], failed: bool, request: Any) -> Result:
    """Result(output, errors, failed, request=request), its fields set directly (as `_new_object`
    does for a PSObject): the copy makes one for every answer whose objects the wire changes
    (about a third), and Result's own __init__ adds a Python call with a keyword to each."""
    made = object.__new__(Result)
    made.__dict__.update(output=output, errors=errors, failed=failed, request=request, guests=())
    return made


def _wire_records(errors: tuple[ErrorRecord, ...], failed: bool) -> tuple[ErrorRecord, ...]:
    """`wire_errors` then `wire_copy` of each record, each record made at most once: the
    streamed records non-terminating, in order, then (failed) the terminating one."""
    if not failed:
        try:  # most records: `_copy_error` straight, without `_wire_record`'s call around it
            return tuple([_copy_error(record, False) if type(record) is ErrorRecord else _wire_record(record, False)
                          for record in errors])
        except _Unusual:
            return tuple([_wire_record(record, False) for record in errors])
    last = next((i for i in range(len(errors) - 1, -1, -1) if errors[i].terminating), len(errors) - 1)
    streamed = [_wire_record(record, False) for i, record in enumerate(errors) if i != last]
    return (*streamed, _wire_record(errors[last], True))


def _wire_record(record: ErrorRecord, terminating: bool) -> ErrorRecord:
    """`wire_copy(replace(record, terminating=terminating))`, without the intermediate record."""
    if type(record) is ErrorRecord:
        try:
            return _copy_error(record, terminating)
        except _Unusual:
            pass
    return wire_copy(replace(record, terminating=terminating))


def _wire_copy_output(value: Any) -> Any:
    """`wire_copy` of one output value, straight to the object copy for a PSObject (most outputs),
    and ASCII text, numbers, bools and None (the rest, mostly) returned without the calls."""
    kind = type(value)
    if kind is PSObject:
        try:
            return _copy_object(value)
        except _Unusual:
            return roundtrip(value)
    if (kind is str and value.isascii()) or kind in _PLAIN_KINDS:
        return value  # a name or a flag (Select-Object -ExpandProperty, Test-Path): itself, as in `_copy`
    return wire_copy(value)
