""".NET types a script reaches beyond the language: text encodings, base64, BitConverter, hashes,
enum casts, `[ref]`, the PowerShell parser, and the file types of `dotnet_io`.

Clients' own scripts use these to move bytes: pypsrp's copy/fetch scripts and Ansible's wrappers
hash each chunk with SHA1, decode base64 and compare hex digests. Each type is a `DotNetType`
registered by its full name; `Session.static_call`, `static_member`, `new_object` and `ops.cast`
ask the registry before their own tables, so a type this module does not know is still
"Unable to find type", and a method a type lacks is still MethodNotFound, never a guess.
Behaviour follows the .NET Framework 4.x reference (docs.microsoft.com, System.Text.Encoding,
System.BitConverter.ToString "AA-BB-…", HashAlgorithm.TransformBlock/TransformFinalBlock).
A method that throws surfaces as PowerShell shows a .NET exception from a method call:
`Exception calling "M" with "N" argument(s): "message"` (MethodInvocationException).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from nestlab.simulator.psdata import PSEnum
from nestlab.simulator.pwsh import ops
from nestlab.simulator.pwsh.errors import ScriptError, method_not_found, record
from nestlab.simulator.pwsh.values import DotNet, ScriptBlock, TypeRef, enumerate_value, is_enumerable, to_number, to_str

NOT_HERE = object()  # "this registry does not answer": the caller's own table goes on


class Bytes(list):
    """byte[]: a list of ints 0-255 (FileStream.Read fills one in place, as .NET does)."""

    type_name = "System.Byte[]"


def as_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, Bytes):
        try:
            return bytes(value)  # ints 0-255 already: the fast path
        except (TypeError, ValueError):
            pass
    return bytes(int(to_number(v)) & 0xFF for v in enumerate_value(value))


def method_error(method: str, args: list[Any], message: str, kind: str = "Exception") -> ScriptError:
    """A .NET exception thrown by a method call, as PowerShell reports it (category NotSpecified)."""
    count = len(args)
    error = ScriptError(record(f'Exception calling "{method}" with "{count}" argument(s): "{message}"', kind,
                               "NotSpecified", reason="MethodInvocationException",
                               exception_type="System.Management.Automation.MethodInvocationException"))
    error.inner = (kind, message)
    return error


@dataclass
class DotNetType:
    """One .NET type: its static methods and properties, its constructor, and a cast from a value."""

    name: str
    aliases: tuple[str, ...] = ()
    statics: dict[str, Callable[..., Any]] = field(default_factory=dict)  # lower name -> f(session, *args)
    properties: dict[str, Callable[[Any], Any]] = field(default_factory=dict)  # lower name -> f(session)
    new: Callable[..., Any] | None = None  # f(session, *args)
    cast: Callable[[Any], Any] | None = None


REGISTRY: dict[str, DotNetType] = {}


def register(kind: DotNetType) -> DotNetType:
    REGISTRY[kind.name] = kind
    for alias in (kind.name, *kind.aliases):
        ops.TYPES[alias.lower()] = kind.name
        if alias.lower().startswith("system."):
            ops.TYPES[alias.lower()[7:]] = kind.name
    if kind.cast is not None:
        ops.CASTS[kind.name] = kind.cast
    return kind


def _kind(full: str) -> DotNetType | None:
    return REGISTRY.get(full) or REGISTRY.get(full.split("[", 1)[0])


def static_call(session: Any, full: str, name: str, args: list[Any]) -> Any:
    kind = _kind(full)
    if kind is None:
        return NOT_HERE
    method = kind.statics.get(name.lower())
    if method is None:
        return NOT_HERE
    return method(session, *args)


def static_member(session: Any, full: str, name: str) -> Any:
    kind = _kind(full)
    if kind is None or name.lower() not in kind.properties:
        return NOT_HERE
    return kind.properties[name.lower()](session)


def new_object(session: Any, full: str, args: list[Any]) -> Any:
    if full.endswith("[]") and full[:-2] == "System.Byte":
        return Bytes([0] * int(to_number(args[0] if args else 0)))
    kind = _kind(full)
    if kind is None or kind.new is None:
        return NOT_HERE
    return kind.new(session, *args)


def instance(type_name: str, props: dict[str, Any], methods: dict[str, Callable[..., Any]], text: str = "",
             settable: tuple[str, ...] = ()) -> DotNet:
    """A .NET object: every method takes PowerShell's arguments and throws as a method call does."""
    wrapped = {name: _guarded(name, f) for name, f in methods.items()}
    return DotNet(type_name, props, wrapped, text or type_name, frozenset(settable))


def _guarded(name: str, f: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        try:
            return f(*args)
        except TypeError:
            raise ScriptError(record(f'Cannot find an overload for "{name}" and the argument count: "{len(args)}".',
                                     "MethodCountCouldNotFindBest", "NotSpecified")) from None
        except (ValueError, IndexError) as error:
            raise method_error(name, list(args), str(error), "ArgumentException") from None
    return call


# -- System.Text.Encoding -----------------------------------------------------------------------------

ENCODINGS = {"utf8": ("utf-8", "Unicode (UTF-8)", "utf-8", 65001, b"\xef\xbb\xbf"),
             "ascii": ("ascii", "US-ASCII", "us-ascii", 20127, b""),
             "unicode": ("utf-16-le", "Unicode", "utf-16", 1200, b"\xff\xfe"),
             "bigendianunicode": ("utf-16-be", "Unicode (Big-Endian)", "utf-16BE", 1201, b"\xfe\xff"),
             "utf32": ("utf-32-le", "Unicode (UTF-32)", "utf-32", 12000, b"\xff\xfe\x00\x00"),
             "default": ("cp1252", "Western European (Windows)", "Windows-1252", 1252, b"")}


def encoding(key: str, *, bom: bool = True) -> DotNet:
    codec, label, web, page, preamble = ENCODINGS[key]
    preamble = preamble if bom else b""

    def get_bytes(value: Any, *rest: Any) -> Bytes:
        text = "".join(enumerate_value(value)) if is_enumerable(value) else to_str(value)
        if rest:
            text = text[int(rest[0]):int(rest[0]) + int(rest[1])]
        return Bytes(text.encode(codec, "replace"))

    def get_string(value: Any, *rest: Any) -> str:
        data = as_bytes(value)
        if rest:
            data = data[int(to_number(rest[0])):int(to_number(rest[0])) + int(to_number(rest[1]))]
        return data.decode(codec, "replace")

    kind = "System.Text.UTF8Encoding" if key == "utf8" else f"System.Text.{ {'ascii': 'ASCII', 'unicode': 'Unicode'}.get(key, 'SBCS')}Encoding"
    return instance(kind, {"EncodingName": label, "WebName": web, "CodePage": page, "BodyName": web,
                           "IsSingleByte": page in (20127, 1252)},
                    {"GetBytes": get_bytes, "GetString": get_string, "GetPreamble": lambda: Bytes(preamble),
                     "GetByteCount": lambda s: len(to_str(s).encode(codec)), "ToString": lambda: kind})


def _get_encoding(session: Any, name: Any) -> DotNet:
    low = to_str(name).lower().replace("-", "")
    pages = {"65001": "utf8", "1200": "unicode", "20127": "ascii", "1252": "default", "usascii": "ascii",
             "utf16": "unicode", "windows1252": "default"}
    key = pages.get(low, low)
    if key not in ENCODINGS:
        raise method_error("GetEncoding", [name], f"'{to_str(name)}' is not a supported encoding name. For information "
                           "on defining a custom encoding, see the documentation for the Encoding.RegisterProvider method."
                           "\r\nParameter name: name", "ArgumentException")
    return encoding(key)


register(DotNetType("System.Text.Encoding", statics={"getencoding": _get_encoding},
                    properties={k: (lambda s, k=k: encoding(k)) for k in ENCODINGS}))
register(DotNetType("System.Text.UTF8Encoding",
                    new=lambda s, bom=False, *rest: encoding("utf8", bom=bool(bom)),
                    properties={k: (lambda s, k=k: encoding(k)) for k in ENCODINGS}))
register(DotNetType("System.Text.UnicodeEncoding", new=lambda s, *rest: encoding("unicode")))
register(DotNetType("System.Text.ASCIIEncoding", new=lambda s: encoding("ascii")))


# -- System.Convert (base64), System.BitConverter -----------------------------------------------------------

def _from_base64(session: Any, value: Any) -> Bytes:
    text = re.sub(r"\s", "", to_str(value))
    try:
        if len(text) % 4:
            raise binascii.Error
        return Bytes(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        raise method_error("FromBase64String", [value], "The input is not a valid Base-64 string as it contains a "
                           "non-base 64 character, more than two padding characters, or an illegal character among the "
                           "padding characters. ", "FormatException") from None


def _to_base64(session: Any, value: Any, *rest: Any) -> str:
    data = as_bytes(value)
    if rest:
        data = data[int(to_number(rest[0])):int(to_number(rest[0])) + int(to_number(rest[1]))]
    return base64.b64encode(data).decode()


CONVERT = ops.resolve_type("convert")
register(DotNetType(CONVERT, statics={"frombase64string": _from_base64, "tobase64string": _to_base64}))


def _bit_string(session: Any, value: Any, *rest: Any) -> str:
    data = as_bytes(value)
    if rest:
        start = int(to_number(rest[0]))
        data = data[start:start + int(to_number(rest[1]))] if len(rest) > 1 else data[start:]
    return "-".join(f"{b:02X}" for b in data)


register(DotNetType("System.BitConverter", statics={
    "tostring": _bit_string,
    "getbytes": lambda s, n: Bytes(int(to_number(n)).to_bytes(4 if -2**31 <= int(to_number(n)) < 2**31 else 8, "little",
                                                              signed=True)),
    "toint32": lambda s, b, i=0: int.from_bytes(as_bytes(b)[int(i):int(i) + 4], "little", signed=True)},
    properties={"islittleendian": lambda s: True}))


# -- hash algorithms ---------------------------------------------------------------------------------------

HASHES = {"SHA1": "sha1", "SHA256": "sha256", "SHA384": "sha384", "SHA512": "sha512", "MD5": "md5"}


def hash_algorithm(type_name: str, algorithm: str) -> DotNet:
    """HashAlgorithm: TransformBlock/TransformFinalBlock feed it; Hash is the digest once final."""
    state = {"h": hashlib.new(algorithm)}
    obj: DotNet

    def transform_block(data: Any, offset: Any, count: Any, out: Any = None, out_offset: Any = 0) -> int:
        start, n = int(to_number(offset)), int(to_number(count))
        chunk = as_bytes(data)[start:start + n]
        state["h"].update(chunk)
        if isinstance(out, list) and out is not data:
            out[int(to_number(out_offset)):int(to_number(out_offset)) + n] = list(chunk)
        return n

    def transform_final(data: Any, offset: Any, count: Any) -> Bytes:
        start, n = int(to_number(offset)), int(to_number(count))
        chunk = as_bytes(data)[start:start + n]
        state["h"].update(chunk)
        obj.properties["Hash"] = Bytes(state["h"].digest())
        state["h"] = hashlib.new(algorithm)
        return Bytes(chunk)

    def compute(data: Any, *rest: Any) -> Bytes:
        reader = getattr(data, "properties", {}).get("__read_all__")
        payload = reader() if reader is not None else as_bytes(data)
        if rest:
            payload = payload[int(to_number(rest[0])):int(to_number(rest[0])) + int(to_number(rest[1]))]
        digest = hashlib.new(algorithm, payload).digest()
        obj.properties["Hash"] = Bytes(digest)
        return Bytes(digest)

    obj = instance(type_name, {"Hash": None, "HashSize": hashlib.new(algorithm).digest_size * 8, "CanReuseTransform": True},
                   {"TransformBlock": transform_block, "TransformFinalBlock": transform_final, "ComputeHash": compute,
                    "Initialize": lambda: state.update(h=hashlib.new(algorithm)), "Dispose": lambda: None,
                    "Clear": lambda: None})
    return obj


def _hash_type(base: str, full: str) -> DotNetType:
    algorithm = HASHES[base]
    concrete = full if full.endswith(("CryptoServiceProvider", "Managed", "Cng")) else \
        f"System.Security.Cryptography.{base}CryptoServiceProvider"
    return DotNetType(full, statics={"create": lambda s, *a: hash_algorithm(concrete, algorithm)},
                      new=lambda s: hash_algorithm(full, algorithm))


for _base in HASHES:
    for _suffix in ("", "CryptoServiceProvider", "Managed"):
        if _base == "MD5" and _suffix == "Managed":
            continue
        register(_hash_type(_base, f"System.Security.Cryptography.{_base}{_suffix}"))


# -- enums cast from names ("NonPublic, Instance"), [ref] ---------------------------------------------------

def flags_enum(full: str, members: dict[str, int]) -> DotNetType:
    """A [Flags] enum: `[E]'A, B'` and `[E]::A`; an unknown name is PowerShell's conversion error."""
    by_low = {k.lower(): (k, v) for k, v in members.items()}

    def cast(value: Any) -> PSEnum:
        if isinstance(value, PSEnum):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = int(value)
            names = [k for k, v in members.items() if v and number & v == v]
            return PSEnum(full, ", ".join(names) or str(number), number)
        names = [n.strip() for n in to_str(value).split(",") if n.strip()]
        unknown = [n for n in names if n.lower() not in by_low]
        if unknown or not names:
            raise ScriptError(record(
                f'Cannot convert value "{to_str(value)}" to type "{full}". Error: "Unable to match the identifier name '
                f"{to_str(value)} to a valid enumerator name. Specify one of the following enumerator names and try "
                f'again:\r\n{", ".join(members)}"', "RuntimeException",
                "InvalidArgument"))
        number = 0
        for n in names:
            number |= by_low[n.lower()][1]
        return PSEnum(full, ", ".join(by_low[n.lower()][0] for n in names), number)

    return DotNetType(full, properties={k.lower(): (lambda s, k=k: cast(k)) for k in members}, cast=cast)


register(flags_enum("System.Reflection.BindingFlags", {
    "Default": 0, "IgnoreCase": 1, "DeclaredOnly": 2, "Instance": 4, "Static": 8, "Public": 16, "NonPublic": 32,
    "FlattenHierarchy": 64, "InvokeMethod": 256, "CreateInstance": 512, "GetField": 1024, "SetField": 2048,
    "GetProperty": 4096, "SetProperty": 8192}))
register(flags_enum("System.IO.FileMode", {"CreateNew": 1, "Create": 2, "Open": 3, "OpenOrCreate": 4, "Truncate": 5,
                                           "Append": 6}))
register(flags_enum("System.IO.FileAccess", {"Read": 1, "Write": 2, "ReadWrite": 3}))
register(flags_enum("System.IO.FileShare", {"None": 0, "Read": 1, "Write": 2, "ReadWrite": 3, "Delete": 4,
                                            "Inheritable": 16}))
register(flags_enum("System.IO.SeekOrigin", {"Begin": 0, "Current": 1, "End": 2}))
register(flags_enum("System.Management.Automation.Security.SystemEnforcementMode", {"None": 0, "Audit": 1,
                                                                                     "Enforce": 2}))
# No WDAC/AppLocker policy on a simulated host: FullLanguage, nothing to enforce.
register(DotNetType("System.Management.Automation.Security.SystemPolicy", statics={
    "getsystemlockdownpolicy": lambda s: PSEnum("System.Management.Automation.Security.SystemEnforcementMode",
                                                "None", 0)}))


def reference(value: Any) -> DotNet:
    """[ref]$x: a PSReference whose .Value a method can set (out parameters)."""
    return DotNet("System.Management.Automation.PSReference", {"Value": value}, text="System.Management.Automation.PSReference",
                  settable=frozenset({"Value"}))


register(DotNetType("System.Management.Automation.PSReference", aliases=("ref",), cast=reference))


# -- the PowerShell parser: [Parser]::ParseInput(text, name, [ref]tokens, [ref]errors) ----------------------

def _parse_input(session: Any, text: Any, *rest: Any) -> DotNet:
    """A ScriptBlockAst whose GetScriptBlock() is the parsed script; errors are reported through the
    [ref] errors argument, and GetScriptBlock() of a script that did not parse throws its ParseException."""
    from nestlab.simulator.pwsh.errors import ParseError
    from nestlab.simulator.pwsh.parse import parse

    source = to_str(text)
    try:
        script = parse(source)
        failure = None
    except ParseError as error:
        script, failure = None, error
    errors_ref = rest[2] if len(rest) > 2 else None
    if isinstance(errors_ref, DotNet) and "Value" in errors_ref.properties:
        errors_ref.properties["Value"] = [failure.record.message] if failure else []

    def get_script_block() -> ScriptBlock:
        if failure is not None:
            raise failure
        return ScriptBlock(script.root, script, source)

    return DotNet("System.Management.Automation.Language.ScriptBlockAst",
                  {"Extent": source, "EndBlock": None, "ParamBlock": None},
                  {"GetScriptBlock": get_script_block}, text=source)


register(DotNetType("System.Management.Automation.Language.Parser", statics={"parseinput": _parse_input}))
register(DotNetType("System.Management.Automation.ScriptBlock", statics={
    "create": lambda s, text: _parse_input(s, text).methods["GetScriptBlock"]()}))


def _string_equals(session: Any, a: Any, b: Any, *comparison: Any) -> bool:
    """String.Equals(a, b[, StringComparison]): ordinal and case-sensitive unless told otherwise."""
    if a is None or b is None:
        return a is None and b is None
    a, b = to_str(a), to_str(b)
    if comparison and "ignorecase" in to_str(comparison[0]).lower():
        return a.lower() == b.lower()
    return a == b


register(DotNetType("System.String", statics={"equals": _string_equals}))


# -- ErrorRecord, Exception, ErrorCategory: what scripts build their own errors from ---------------------

def _exception(session: Any, message: Any = None, *inner: Any) -> DotNet:
    text = to_str(message) if message is not None else "Exception of type 'System.Exception' was thrown."
    return DotNet("System.Exception", {"Message": text, "InnerException": inner[0] if inner else None,
                                       "StackTrace": None}, text=text)


def _error_record(session: Any, exception: Any, error_id: Any, category: Any, target: Any) -> DotNet:
    """[ErrorRecord]::new(exception, id, category, target): the same shape as the engine's own errors."""
    from nestlab.simulator.psdata import ErrorRecord

    message = to_str(getattr(exception, "properties", {}).get("Message")) if isinstance(exception, DotNet) else to_str(exception)
    kind = exception.type_name if isinstance(exception, DotNet) else "System.Exception"
    category_name = to_str(category) or "NotSpecified"
    rec = ErrorRecord(message, to_str(error_id), category_name, target_name=to_str(target) if target is not None else "",
                      reason=kind.rsplit(".", 1)[-1], exception_type=kind)
    return session.error_object(ScriptError(rec))


CATEGORIES = ("NotSpecified", "OpenError", "CloseError", "DeviceError", "DeadlockDetected", "InvalidArgument",
              "InvalidData", "InvalidOperation", "InvalidResult", "InvalidType", "MetadataError", "NotImplemented",
              "NotInstalled", "ObjectNotFound", "OperationStopped", "OperationTimeout", "SyntaxError", "ParserError",
              "PermissionDenied", "ResourceBusy", "ResourceExists", "ResourceUnavailable", "ReadError", "WriteError",
              "FromStdErr", "SecurityError", "ProtocolError", "ConnectionError", "AuthenticationError",
              "LimitsExceeded", "QuotaExceeded", "NotEnabled")
register(flags_enum("System.Management.Automation.ErrorCategory", {c: i for i, c in enumerate(CATEGORIES)}))
register(DotNetType("System.Exception", new=_exception))
register(DotNetType("System.Management.Automation.ErrorRecord", new=_error_record))
register(DotNetType("System.Management.Automation.ErrorDetails",
                    new=lambda s, message: DotNet("System.Management.Automation.ErrorDetails",
                                                  {"Message": to_str(message), "RecommendedAction": None},
                                                  text=to_str(message))))


register(DotNetType("System.Management.Automation.PSScriptMethod", new=lambda s, name, script: DotNet(
    "System.Management.Automation.PSScriptMethod", {"Name": to_str(name), "Script": script,
                                                     "MemberType": "ScriptMethod"}, text=to_str(name))))
register(DotNetType("System.Management.Automation.PSNoteProperty", new=lambda s, name, value=None: DotNet(
    "System.Management.Automation.PSNoteProperty", {"Name": to_str(name), "Value": value, "MemberType": "NoteProperty"},
    text=to_str(name))))


# -- collections: HashSet[T] with its comparer, StringComparer -------------------------------------------

def comparer(name: str) -> DotNet:
    return DotNet("System.StringComparer", {"Name": name}, text=f"System.{name}Comparer")


def hash_set(session: Any, *args: Any) -> DotNet:
    """HashSet[string]: Add says whether the item was new; a case-insensitive comparer folds case."""
    fold = any(isinstance(a, DotNet) and "ignorecase" in to_str(a.properties.get("Name")).lower() for a in args)
    items: dict[Any, Any] = {}
    key = (lambda v: to_str(v).lower()) if fold else (lambda v: v if not isinstance(v, list) else id(v))
    for a in args:
        if is_enumerable(a):
            for v in a:
                items.setdefault(key(v), v)
    obj: DotNet

    def add(value: Any) -> bool:
        k = key(value)
        if k in items:
            return False
        items[k] = value
        obj.properties["Count"] = len(items)
        return True

    def remove(value: Any) -> bool:
        found = items.pop(key(value), None) is not None
        obj.properties["Count"] = len(items)
        return found

    obj = instance("System.Collections.Generic.HashSet`1", {"Count": len(items)},
                   {"Add": add, "Contains": lambda v: key(v) in items, "Remove": remove,
                    "Clear": lambda: (items.clear(), obj.properties.update(Count=0)) and None,
                    "ToArray": lambda: list(items.values())})
    return obj


def _collection(kind: str) -> Callable[[Any], Any]:
    """[System.Collections.ArrayList]@(…), [List`1[string]]@(…), [HashSet`1[String]]@(…): a new collection of the items."""
    from nestlab.simulator.pwsh.values import ArrayList, GenericList

    def convert(value: Any) -> Any:
        items = enumerate_value(value)
        if kind == "hashset":
            return hash_set(None, items)
        return (ArrayList if kind == "arraylist" else GenericList)(items)
    return convert


register(DotNetType("System.Collections.Generic.HashSet", aliases=("System.Collections.Generic.HashSet`1",),
                    new=hash_set, cast=_collection("hashset")))
register(DotNetType("System.Collections.Generic.List"))  # the generic type's name; its instances are GenericList
ops.CASTS["System.Collections.ArrayList"] = _collection("arraylist")
ops.CASTS["System.Collections.Generic.List"] = _collection("list")
register(DotNetType("System.StringComparer", properties={
    k.lower(): (lambda s, k=k: comparer(k)) for k in ("Ordinal", "OrdinalIgnoreCase", "CurrentCulture",
                                                       "CurrentCultureIgnoreCase", "InvariantCulture",
                                                       "InvariantCultureIgnoreCase")}))


def _dictionary(value: Any) -> Any:
    from nestlab.simulator.pwsh.values import Hashtable

    if value is None or isinstance(value, (Hashtable, dict)):
        return value
    raise ScriptError(record(f'Cannot convert the "{to_str(value)}" value of type "{type(value).__name__}" to type '
                             '"System.Collections.IDictionary".', "ConvertToFinalInvalidCastException", "InvalidArgument"))


register(DotNetType("System.Collections.IDictionary", cast=_dictionary))
register(DotNetType("System.Management.Automation.LineBreakpoint", cast=lambda v: v))


# -- text writers: [Console]::Out / SetOut, StringBuilder, StringWriter ------------------------------------
# Nothing in the engine writes to a process console (native programs' output is pipeline output),
# so a redirected [Console]::Out receives nothing, as a runspace's console does when only the
# pipeline is written to.

def string_builder(session: Any, *initial: Any) -> DotNet:
    parts: list[str] = [to_str(initial[0])] if initial and not isinstance(initial[0], (int, float)) else []
    builder: DotNet

    def append(value: Any = "") -> DotNet:
        parts.append(to_str(value))
        builder.properties["Length"] = len("".join(parts))
        return builder

    builder = instance("System.Text.StringBuilder", {"Length": len("".join(parts))},
                       {"Append": append, "AppendLine": lambda value="": append(to_str(value) + "\r\n"),
                        "ToString": lambda: "".join(parts), "Clear": lambda: (parts.clear(), builder)[1]})
    return builder


def string_writer(session: Any, builder: Any = None) -> DotNet:
    target = builder if isinstance(builder, DotNet) else string_builder(session)
    return instance("System.IO.StringWriter", {}, {
        "Write": lambda v: target.methods["Append"](v) and None, "WriteLine": lambda v="": target.methods["AppendLine"](v) and None,
        "ToString": lambda: target.methods["ToString"](), "Dispose": lambda: None, "Flush": lambda: None})


CONSOLE_OUT = DotNet("System.IO.TextWriter+SyncTextWriter", {}, text="System.IO.TextWriter+SyncTextWriter")
register(DotNetType("System.Text.StringBuilder", new=string_builder))
register(DotNetType("System.IO.StringWriter", new=string_writer))
register(DotNetType("System.Console", statics={"setout": lambda s, writer: None, "seterror": lambda s, writer: None},
                    properties={"out": lambda s: CONSOLE_OUT, "error": lambda s: CONSOLE_OUT}))


# -- reflection: the members a simulated type has are the ones modelled, so any other is not found ------

FIELDS: dict[tuple[str, str], Callable[[Any], DotNet]] = {}  # (type, field) -> FieldInfo factory(session)


def runtime_type(session: Any, full: str) -> DotNet:
    """A System.RuntimeType: GetProperty/GetField/GetMethod of a member it does not model answer
    $null, as .NET's do for a member a type lacks."""
    short = full.rsplit(".", 1)[-1]

    def field(name: Any, *flags: Any) -> DotNet | None:
        factory = FIELDS.get((full, to_str(name)))
        return factory(session) if factory is not None else None

    return DotNet("System.RuntimeType", {"Name": short, "FullName": full, "Namespace": full.rsplit(".", 1)[0]},
                  {"GetField": field, "GetProperty": lambda *a: None, "GetMethod": lambda *a: None,
                   "ToString": lambda: full}, text=full)


def _default_encoding(session: Any) -> DotNet:
    """ClrFacade._defaultEncoding: the encoding Windows PowerShell 5.1 reads BOM-less script files with.
    The engine reads them as UTF-8 already; setting it is recorded on the session."""
    return DotNet("System.Reflection.RtFieldInfo", {"Name": "_defaultEncoding"},
                  {"SetValue": lambda target, value, *rest: setattr(session, "default_encoding", value),
                   "GetValue": lambda target, *rest: getattr(session, "default_encoding", encoding("default"))})


FIELDS[("System.Management.Automation.ClrFacade", "_defaultEncoding")] = _default_encoding


def assembly(session: Any) -> DotNet:
    """System.Management.Automation's assembly: GetType(name) of its types."""
    return DotNet("System.Reflection.RuntimeAssembly", {"FullName": "System.Management.Automation, Version=3.0.0.0, "
                                                        "Culture=neutral, PublicKeyToken=31bf3856ad364e35"},
                  {"GetType": lambda name, *rest: runtime_type(session, to_str(name))})


register(DotNetType("System.Management.Automation.PSObject", properties={"assembly": assembly}))


def _expand(session: Any, text: Any) -> str:
    """%NAME% from the session's environment; unknown names stay as written (ExpandEnvironmentVariables)."""
    env = session.env
    return re.sub(r"%([^%]+)%", lambda m: to_str(env.get(m.group(1))) if env.get(m.group(1)) is not None else m.group(0),
                  to_str(text))


def _set_environment(session: Any, name: Any, value: Any, *target: Any) -> None:
    session.env[to_str(name)] = None if value is None or to_str(value) == "" else to_str(value)


register(DotNetType("System.Environment", statics={"expandenvironmentvariables": _expand,
                                                   "setenvironmentvariable": _set_environment}))

__all__ = ["Bytes", "NOT_HERE", "REGISTRY", "register", "static_call", "static_member", "new_object", "instance",
           "method_error", "as_bytes", "TypeRef"]
