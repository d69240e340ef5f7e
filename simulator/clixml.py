"""PowerShell objects ⇄ CLIXML, shaped the way Windows remoting serializes pipeline output.

One object path for every target: the served endpoint writes a simulated cmdlet's output with
`to_clixml`, PsrpSession reads what a real or served host sent with `from_clixml`, and SimSession
runs `roundtrip` in process, so the diagnosis receives identical objects whichever way they came.

Shape (remoting serializes at depth 1; see ../shared/reference/psrp-server-notes.md §4 and the
recordings in ../shared/reference/pypsrp-recordings):
* a top-level object keeps its type names (`<TN>`), its `<ToString>` and its properties; adapted
  properties of .NET/CIM objects go in `<Props>`, note properties of a PSCustomObject in `<MS>`;
* primitive properties keep their .NET type (B, I32/I64/U64, Db, S, DT, TS, G, BA);
* enum values are `<Obj>` with the enum's type names, `<ToString>` (the name) and `<I32>` (the
  number) — the shape of every enum in the recordings at the top level (PSThreadOptions,
  ProgressRecordType, CommandOrigin in ErrorRecord) — and come back as `PSEnum`. Caveat: a real
  host at depth 1 writes an enum *property* as its plain name (`<S N="Status">Running</S>` in the
  recorded ServiceController); `from_clixml` then yields a `str`, which compares equal to the
  `PSEnum` by name, so a consumer must compare enum properties by name;
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
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from simulator.psdata import ErrorRecord, PSEnum, PSObject, Result

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
    """Holds the RefId counters of one CLIXML document (TN ids and Obj ids restart per message)."""

    def __init__(self) -> None:
        self.obj_ids = 0
        self.tn_ids: dict[tuple[str, ...], int] = {}

    def obj(self, name: str | None = None) -> ET.Element:
        element = ET.Element("Obj", RefId=str(self.obj_ids))
        self.obj_ids += 1
        if name is not None:
            element.set("N", name)
        return element

    def type_names(self, parent: ET.Element, names: Iterable[str]) -> None:
        names = tuple(names)
        if not names:
            return
        if names in self.tn_ids:
            ET.SubElement(parent, "TNRef", RefId=str(self.tn_ids[names]))
            return
        self.tn_ids[names] = len(self.tn_ids)
        tn = ET.SubElement(parent, "TN", RefId=str(self.tn_ids[names]))
        for name in names:
            ET.SubElement(tn, "T").text = name

    # -- values -------------------------------------------------------------------------------

    def value(self, value: Any, name: str | None = None, *, top: bool = False) -> ET.Element:
        """One value; below the top level a complex object is written as its string form."""
        primitive = _primitive(value)
        if primitive is not None:
            tag, text = primitive
            element = ET.Element(tag)
            if text is not None:
                element.text = text
        elif isinstance(value, PSEnum):
            element = self.enum(value)
        elif isinstance(value, ErrorRecord):
            element = self.error_record(value) if top else _text_element("S", value.message)
        elif isinstance(value, PSObject):
            element = self.ps_object(value) if top else _text_element("S", value.to_string)
        elif isinstance(value, Mapping):
            element = self.hashtable(value)
        elif isinstance(value, (list, tuple, set, frozenset)):
            element = self.array(value)
        else:
            element = _text_element("S", str(value))
        if name is not None:
            element.set("N", name)
        return element

    def enum(self, value: PSEnum) -> ET.Element:
        element = self.obj()
        self.type_names(element, (value.type_name, *ENUM_BASE_TYPES))
        ET.SubElement(element, "ToString").text = _encode(value.name)
        ET.SubElement(element, "I32").text = str(value.value)
        return element

    def array(self, items: Iterable[Any]) -> ET.Element:
        element = self.obj()
        self.type_names(element, ARRAY_TYPES)
        lst = ET.SubElement(element, "LST")
        for item in items:
            lst.append(self.value(item))
        return element

    def hashtable(self, mapping: Mapping[Any, Any]) -> ET.Element:
        element = self.obj()
        self.type_names(element, HASHTABLE_TYPES)
        dct = ET.SubElement(element, "DCT")
        for key, item in mapping.items():
            entry = ET.SubElement(dct, "En")
            entry.append(self.value(key, "Key"))
            entry.append(self.value(item, "Value"))
        return element

    def ps_object(self, obj: PSObject) -> ET.Element:
        element = self.obj()
        self.type_names(element, obj.type_names)
        ET.SubElement(element, "ToString").text = _encode(obj.to_string)
        bag = ET.SubElement(element, "MS" if PS_CUSTOM_OBJECT in obj.type_names else "Props")
        for key in obj:
            bag.append(self.value(obj[key], key))
        return element

    def error_record(self, record: ErrorRecord) -> ET.Element:
        element = self.obj()
        self.type_names(element, ERROR_RECORD_TYPES)
        ET.SubElement(element, "ToString").text = _encode(record.message)
        ms = ET.SubElement(element, "MS")
        if not record.terminating:
            ms.append(_text_element("B", "true", "writeErrorStream"))
        ms.append(self.exception(record))
        target = _text_element("S", record.target_name, "TargetObject") if record.target_name else _nil("TargetObject")
        ms.append(target)
        ms.append(_text_element("S", record.fully_qualified_error_id, "FullyQualifiedErrorId"))
        ms.append(_text_element("I32", str(_category_number(record.category)), "ErrorCategory_Category"))
        ms.append(_text_element("S", record.activity, "ErrorCategory_Activity"))
        ms.append(_text_element("S", _reason(record), "ErrorCategory_Reason"))
        ms.append(_text_element("S", record.target_name, "ErrorCategory_TargetName"))
        ms.append(_text_element("S", record.target_type, "ErrorCategory_TargetType"))
        ms.append(_text_element("S", record.category_info, "ErrorCategory_Message"))
        ms.append(_text_element("B", "false", "SerializeExtendedInfo"))
        ms.append(_text_element("S", "at <ScriptBlock>, <No file>: line 1", "ErrorDetails_ScriptStackTrace"))
        return element

    def exception(self, record: ErrorRecord) -> ET.Element:
        element = self.obj("Exception")
        self.type_names(element, _exception_types(record.exception_type))
        ET.SubElement(element, "ToString").text = _encode(f"{record.exception_type}: {record.message}")
        props = ET.SubElement(element, "Props")
        props.append(_text_element("S", record.message, "Message"))
        data = self.obj("Data")
        self.type_names(data, ("System.Collections.ListDictionaryInternal", "System.Object"))
        ET.SubElement(data, "DCT")
        props.append(data)
        for empty in ("InnerException", "TargetSite", "StackTrace", "HelpLink", "Source"):
            props.append(_nil(empty))
        props.append(_text_element("I32", "-2146233087", "HResult"))  # COR_E_EXCEPTION
        return element


def _exception_types(exception_type: str) -> tuple[str, ...]:
    if exception_type in ("System.Exception", "System.Object"):
        return ("System.Exception", "System.Object")
    return (exception_type, "System.SystemException", "System.Exception", "System.Object")


def _reason(record: ErrorRecord) -> str:
    return record.reason or record.exception_type.rsplit(".", 1)[-1]


def _category_number(name: str) -> int:
    lowered = [c.lower() for c in ERROR_CATEGORIES]
    return lowered.index(name.lower()) if name.lower() in lowered else 0


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


def _text_element(tag: str, text: str, name: str | None = None) -> ET.Element:
    element = ET.Element(tag)
    element.text = _encode(text) if tag == "S" else text
    if name is not None:
        element.set("N", name)
    return element


def _nil(name: str) -> ET.Element:
    return ET.Element("Nil", N=name)


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

    def names_of(self, element: ET.Element) -> tuple[str, ...]:
        tn = element.find("TN")
        if tn is not None:
            names = tuple(t.text or "" for t in tn.findall("T"))
            self.type_names[tn.get("RefId", "")] = names
            return names
        ref = element.find("TNRef")
        return self.type_names.get(ref.get("RefId", ""), ()) if ref is not None else ()

    def obj(self, element: ET.Element) -> Any:
        names = self.names_of(element)
        to_string = element.find("ToString")
        text = _decode(to_string.text) if to_string is not None else None
        if "System.Enum" in names:
            number = next((c for c in element if c.tag in _INTEGER_TAGS), None)
            return PSEnum(names[0], text or "", int(number.text) if number is not None else 0)
        if ERROR_RECORD_TYPES[0] in names or ("Deserialized." + ERROR_RECORD_TYPES[0]) in names:
            return self.error_record(element, text)
        for container in ("LST", "IE", "QUE", "STK"):
            found = element.find(container)
            if found is not None:
                return [self.value(child) for child in found]
        dct = element.find("DCT")
        if dct is not None:
            return {self.value(en.find("*[@N='Key']")): self.value(en.find("*[@N='Value']")) for en in dct}
        properties = self.properties(element)
        if not names and not properties and text is None:
            return None
        return PSObject(names, properties, text)

    def properties(self, element: ET.Element) -> list[tuple[str, Any]]:
        found: list[tuple[str, Any]] = []
        for bag in ("Props", "MS"):
            holder = element.find(bag)
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
    return _Writer().value(value, top=True)


def to_clixml(value: Any) -> str:
    """The CLIXML text of one top-level output object, as a PIPELINE_OUTPUT message carries it."""
    return ET.tostring(to_element(value), encoding="unicode")


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
    return Result(
        output=tuple(roundtrip(item) for item in result.output),
        errors=tuple(roundtrip(error) for error in errors),
        failed=result.failed,
    )
