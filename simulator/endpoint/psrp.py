"""PSRP (MS-PSRP) messages and fragments, the server's side of the wire.

A message is Destination u32 LE, MessageType u32 LE, RPID and PID as .NET little-endian GUIDs
(`uuid.bytes_le`), then a UTF-8 BOM and the CLIXML body. Messages travel split into fragments with
a 21-byte big-endian header (ObjectId u64, FragmentId u64, flags u8: 1 Start 2 End, length u32).
Written here rather than with pypsrp's Fragmenter, whose `fragment` hard-codes Destination.SERVER
and whose `defragment` cannot read client→server HostInfo (psrp-server-notes.md §2).

Incoming message bodies are read with `simulator.clixml.from_clixml`: the same reader the client
side uses, so the server needs no second CLIXML parser.
"""

from __future__ import annotations

import struct
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Iterator

from nestlab.simulator import clixml
from nestlab.simulator.endpoint import keyexchange, wsman
from nestlab.simulator.psdata import Command, ErrorRecord, PSObject

BOM = b"\xef\xbb\xbf"
HEADER = struct.Struct(">QQBI")

DESTINATION_CLIENT = 1
DESTINATION_SERVER = 2

SESSION_CAPABILITY = 0x00010002
INIT_RUNSPACEPOOL = 0x00010004
PUBLIC_KEY = 0x00010005
SET_MAX_RUNSPACES = 0x00021002
SET_MIN_RUNSPACES = 0x00021003
RUNSPACE_AVAILABILITY = 0x00021004
RUNSPACEPOOL_STATE = 0x00021005
CREATE_PIPELINE = 0x00021006
GET_AVAILABLE_RUNSPACES = 0x00021007
APPLICATION_PRIVATE_DATA = 0x00021009
RESET_RUNSPACE_STATE = 0x0002100C
PIPELINE_INPUT = 0x00041002
END_OF_PIPELINE_INPUT = 0x00041003
PIPELINE_OUTPUT = 0x00041004
ERROR_RECORD = 0x00041005
PIPELINE_STATE = 0x00041006
PIPELINE_HOST_CALL = 0x00041100
ENCRYPTED_SESSION_KEY = keyexchange.ENCRYPTED_SESSION_KEY

RUNSPACE_OPENED = 2
RUNSPACE_CLOSED = 3
PIPELINE_COMPLETED = 4
PIPELINE_FAILED = 5
PIPELINE_STOPPED = 3

EMPTY = uuid.UUID(int=0)


@dataclass(frozen=True)
class Message:
    destination: int
    message_type: int
    rpid: uuid.UUID
    pid: uuid.UUID
    body: str

    def pack(self) -> bytes:
        head = struct.pack("<II", self.destination, self.message_type)
        return head + self.rpid.bytes_le + self.pid.bytes_le + BOM + self.body.encode("utf-8")

    @staticmethod
    def unpack(data: bytes) -> "Message":
        if len(data) < 40:
            raise wsman.plugin_error(f"PSRP message of {len(data)} bytes is shorter than its 40-byte header")
        destination, message_type = struct.unpack("<II", data[:8])
        body = data[40:]
        if body.startswith(BOM):
            body = body[3:]
        rpid, pid = uuid.UUID(bytes_le=data[8:24]), uuid.UUID(bytes_le=data[24:40])
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise wsman.plugin_error("the PSRP message body is not UTF-8") from None
        return Message(destination, message_type, rpid, pid, text)


def fragments(object_id: int, data: bytes, max_blob: int) -> list[bytes]:
    """One message as packed fragments, each blob at most `max_blob` bytes."""
    parts = [data[i : i + max_blob] for i in range(0, len(data), max_blob)] or [b""]
    last = len(parts) - 1
    return [
        HEADER.pack(object_id, index, (1 if index == 0 else 0) | (2 if index == last else 0), len(part)) + part
        for index, part in enumerate(parts)
    ]


def split_fragments(data: bytes) -> Iterator[tuple[int, int, int, bytes, int]]:
    """(object id, fragment id, flags, blob, packed size) of each fragment in a stream chunk."""
    offset = 0
    while offset < len(data):
        if len(data) - offset < HEADER.size:
            raise wsman.plugin_error("truncated PSRP fragment header")
        object_id, fragment_id, flags, length = HEADER.unpack_from(data, offset)
        blob = data[offset + HEADER.size : offset + HEADER.size + length]
        if len(blob) != length:
            raise wsman.plugin_error("truncated PSRP fragment")
        yield object_id, fragment_id, flags, blob, HEADER.size + length
        offset += HEADER.size + length


class Defragmenter:
    """Reassembles messages from fragments that may arrive across several requests."""

    def __init__(self) -> None:
        self._partial: dict[int, tuple[int, bytes]] = {}

    def feed(self, data: bytes) -> list[Message]:
        done: list[Message] = []
        for object_id, fragment_id, flags, blob, _ in split_fragments(data):
            expected, sofar = self._partial.get(object_id, (0, b""))
            if fragment_id != expected:
                raise wsman.plugin_error(f"PSRP fragment {fragment_id} of object {object_id}, expected {expected}")
            sofar = blob if flags & 1 else sofar + blob
            if flags & 2:
                self._partial.pop(object_id, None)
                done.append(Message.unpack(sofar))
            else:
                self._partial[object_id] = (expected + 1, sofar)
        return done


# ----------------------------------------------------------------------------------------------
# server → client bodies (shapes as in the recordings: test_psrp_open_runspace.yml …)
# ----------------------------------------------------------------------------------------------

SESSION_CAPABILITY_BODY = (
    '<Obj RefId="0"><MS><Version N="protocolversion">2.3</Version><Version N="PSVersion">2.0</Version>'
    '<Version N="SerializationVersion">1.1.0.1</Version></MS></Obj>'
)

_VERSION_TABLE = (
    ("PSVersion", "5.1.20348.2849"), ("PSEdition", None), ("PSCompatibleVersions", None),
    ("CLRVersion", "4.0.30319.42000"), ("BuildVersion", "10.0.20348.2849"), ("WSManStackVersion", "3.0"),
    ("PSRemotingProtocolVersion", "2.3"), ("SerializationVersion", "1.1.0.1"),
)


def application_private_data_body() -> str:
    """PSVersionTable inside ApplicationPrivateData, as Windows Server 2022's PowerShell 5.1 sends it."""
    entries = []
    for key, version in _VERSION_TABLE:
        if key == "PSEdition":
            value = '<S N="Value">Desktop</S>'
        elif key == "PSCompatibleVersions":
            versions = "".join(f"<Version>{v}</Version>" for v in ("1.0", "2.0", "3.0", "4.0", "5.0", "5.1.20348.2849"))
            value = (
                '<Obj N="Value" RefId="3"><TN RefId="1"><T>System.Version[]</T><T>System.Array</T>'
                f"<T>System.Object</T></TN><LST>{versions}</LST></Obj>"
            )
        else:
            value = f'<Version N="Value">{version}</Version>'
        entries.append(f'<En><S N="Key">{key}</S>{value}</En>')
    return (
        '<Obj RefId="0"><MS><Obj N="ApplicationPrivateData" RefId="1"><TN RefId="0">'
        "<T>System.Management.Automation.PSPrimitiveDictionary</T><T>System.Collections.Hashtable</T>"
        '<T>System.Object</T></TN><DCT><En><S N="Key">PSVersionTable</S><Obj N="Value" RefId="2">'
        f'<TNRef RefId="0" /><DCT>{"".join(entries)}</DCT></Obj></En></DCT></Obj></MS></Obj>'
    )


def runspace_pool_state_body(state: int) -> str:
    return f'<Obj RefId="0"><MS><I32 N="RunspaceState">{state}</I32></MS></Obj>'


def runspace_availability_body(value: int | bool, call_id: int) -> str:
    tag = "B" if isinstance(value, bool) else "I64"
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return f'<Obj RefId="0"><MS><{tag} N="SetMinMaxRunspacesResponse">{text}</{tag}><I64 N="ci">{call_id}</I64></MS></Obj>'


def pipeline_state_body(state: int, error: ErrorRecord | None = None) -> str:
    if error is None:
        return f'<Obj RefId="0"><MS><I32 N="PipelineState">{state}</I32></MS></Obj>'
    record = clixml.to_element(error)
    record.set("N", "ExceptionAsErrorRecord")
    _renumber(record, start=1)
    inner = ET.tostring(record, encoding="unicode")
    return f'<Obj RefId="0"><MS><I32 N="PipelineState">{state}</I32>{inner}</MS></Obj>'


SET_SHOULD_EXIT = 6  # MS-PSRP 2.2.3.17 Host Method Identifier
VOID_CALL = -100  # MS-PSRP 2.2.2.15: the call id of a host method that returns nothing


def host_call_body(method_id: int, method: str, arguments: list[Any], call_id: int = VOID_CALL) -> str:
    """A PIPELINE_HOST_CALL (MS-PSRP 2.2.2.27): `ci`, `mi` as a RemoteHostMethodId enum, `mp` as an ArrayList.

    `exit N` in a remote script reaches the client this way, as SetShouldExit(N): what pypsrp's
    PSHost turns into `host.rc` and Ansible's psrp connection reads as the return code.
    """
    parameters = "".join(clixml.to_clixml(argument) for argument in arguments)
    return (
        f'<Obj RefId="0"><MS><I64 N="ci">{call_id}</I64><Obj N="mi" RefId="1"><TN RefId="0">'
        "<T>System.Management.Automation.Remoting.RemoteHostMethodId</T><T>System.Enum</T><T>System.ValueType</T>"
        f'<T>System.Object</T></TN><ToString>{method}</ToString><I32>{method_id}</I32></Obj><Obj N="mp" RefId="2">'
        f'<TN RefId="1"><T>System.Collections.ArrayList</T><T>System.Object</T></TN><LST>{parameters}</LST></Obj>'
        "</MS></Obj>"
    )


def _renumber(element: Any, start: int) -> None:
    """Shift Obj RefIds so an embedded record does not reuse the envelope's RefId 0."""
    for node in element.iter():
        if node.tag in ("Obj", "Ref") and "RefId" in node.attrib:
            node.set("RefId", str(int(node.get("RefId")) + start))


# ----------------------------------------------------------------------------------------------
# client → server bodies
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    """One command of a CREATE_PIPELINE as the client structured it."""

    name: str
    is_script: bool
    command: Command


DTD_PROHIBITED = (
    "For security reasons DTD is prohibited in this XML document. To enable DTD processing set the DtdProcessing "
    "property on XmlReaderSettings to Parse and pass the settings into XmlReader.Create method."
)  # .NET's XmlException text: PowerShell's deserializer reads PSRP data with DtdProcessing.Prohibit


def read_body(message: Message, session_key: bytes | None = None) -> Any:
    """The CLIXML body of a client message; data PowerShell could not read is the plugin's fault.

    A DTD, XML that does not parse, nesting deeper than the reader goes, or a SecureString
    that does not decrypt: the request is answered with `wsman.plugin_error`, never dropped.
    """
    text = message.body
    if not text.strip():
        return None
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise wsman.plugin_error(DTD_PROHIBITED)
    try:
        return clixml.from_clixml(keyexchange.reveal(text, session_key))
    except RecursionError:
        raise wsman.plugin_error("The deserialized data is nested too deeply.") from None
    except (ET.ParseError, ValueError, KeyError, TypeError) as exc:
        raise wsman.plugin_error(f"The PSRP message could not be read: {type(exc).__name__}.") from None


def pipeline_input(message: Message, session_key: bytes | None = None) -> Any:
    """The one object a PIPELINE_INPUT message carries (MS-PSRP 2.2.2.17)."""
    return read_body(message, session_key)


def create_pipeline_statements(message: Message, session_key: bytes | None = None) -> tuple[bool, list[list[Invocation]]]:
    """(no_input, statements) of a CREATE_PIPELINE: a statement is a pipeline of Invocations.

    With `add_statement()` pypsrp sends every statement in ExtraCmds (Cmds repeats the first);
    without, Cmds is the only statement. A switch parameter arrives with a Nil value: it becomes True.
    """
    body = read_body(message, session_key)
    if not isinstance(body, PSObject) or not isinstance(body.get("PowerShell"), PSObject):
        raise wsman.plugin_error("CREATE_PIPELINE without a PowerShell object")
    shell = body["PowerShell"]
    extra = [s.get("Cmds") or [] for s in shell.get("ExtraCmds") or [] if isinstance(s, PSObject)]
    statements = extra or [shell.get("Cmds") or []]
    return bool(body.get("NoInput", True)), [[_invocation(c) for c in s] for s in statements if s]


def _invocation(raw: PSObject) -> Invocation:
    name = str(raw.get("Cmd", ""))
    parameters: list[tuple[str, Any]] = []
    arguments: list[Any] = []
    for arg in raw.get("Args") or []:
        key, value = arg.get("N"), arg.get("V")
        if key is None:
            arguments.append(value)
        else:
            parameters.append((str(key).lstrip("-"), True if value is None else value))
    return Invocation(name, bool(raw.get("IsScript", False)), Command(name, tuple(parameters), tuple(arguments)))
