"""WS-Management SOAP envelopes: read a request, write the response a Windows WinRM service would.

Response shapes copy the recorded Windows answers (../shared/reference/pypsrp-recordings): the
same prefixes (s, a, x, w, rsp, p), header order (Action, MessageID, ActivityId, To, RelatesTo)
and body elements. Every response echoes the request's MessageID in RelatesTo; pypsrp rejects
one that does not (psrp-server-notes.md §1).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "pwsh": "http://schemas.microsoft.com/powershell",
}
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
RESOURCE_URI = "http://schemas.microsoft.com/powershell/Microsoft.PowerShell"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
COMMAND_DONE = SHELL + "CommandState/Done"
COMMAND_RUNNING = SHELL + "CommandState/Running"
SIGNAL_TERMINATE = SHELL + "signal/Terminate"
SIGNAL_CTRL_C = "powershell/signal/ctrl_c"

TIMED_OUT = 2150858793  # ERROR_WSMAN_OPERATION_TIMEDOUT (0x80338029)
INVALID_SELECTORS = 2150858843  # ERROR_WSMAN_INVALID_SELECTORS: the shell or command is unknown
ACTION_NOT_SUPPORTED = 2150858771  # 0x80338013 ERROR_WSMAN_ACTION_NOT_SUPPORTED
# Codes and texts of wsmerror.h (Windows SDK): the f:WSManFault Code a Windows host sends.
SCHEMA_VALIDATION_ERROR = 2150858817  # 0x80338041: a header or body value is not of its XML schema type
INVALID_XML = 2150858819  # 0x80338043
MIN_ENVELOPE_SIZE = 2150858878  # 0x8033807E
INVALID_TIMEOUT_HEADER = 2150858881  # 0x80338081
INVALID_PARAMETER = 87  # ERROR_INVALID_PARAMETER, as a shell plugin reports it (test_winrs_fail_poll_process)
HEADER_REQUIRED = 2150858769  # 0x80338011 ERROR_WSMAN_MESSAGE_INFORMATION_HEADER_REQUIRED
INVALID_SOAP_BODY = 2150858791  # 0x80338027
MINIMUM_ENVELOPE = 8192  # DSP0226 R6.2-4: a service rejects a MaxEnvelopeSize below 8192 octets

_NSDECL = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NS.items() if prefix in ("s", "a", "x", "w", "rsp", "p"))


@dataclass(frozen=True)
class Request:
    """The parts of a WS-Man request a PSRP server routes on."""

    action: str  # the last path segment: Create, Receive, Command, Send, Signal, Delete, Get …
    message_id: str
    to: str
    max_envelope_size: int
    operation_timeout: float
    shell_id: str | None
    options: dict[str, str] = field(default_factory=dict)
    body: ET.Element | None = None
    resource_uri: str = RESOURCE_URI


class WSManFault(ValueError):
    """A request a Windows host refuses with a SOAP fault: its code, subcode and texts as WinRM sends them.

    `request` is what could be read of the request (so the fault still echoes its MessageID).
    """

    def __init__(self, code: int, reason: str, subcode: str, *, sender: bool = True, detail: str | None = None,
                 message: str | None = None, message_xml: str | None = None, status: int = 500,
                 request: "Request | None" = None) -> None:
        super().__init__(message or reason)
        self.message_xml = message_xml
        self.code, self.reason, self.subcode, self.sender = code, reason, subcode, sender
        self.detail, self.message, self.status, self.request = detail, message, status, request

    def response(self, request: "Request | None" = None) -> bytes:
        return fault(request or self.request, self.code, self.reason, self.subcode, sender=self.sender,
                     detail=self.detail, message=self.message, message_xml=self.message_xml)


class BadRequest(WSManFault):
    """A request without a body element its action needs (ERROR_WSMAN_INVALID_SOAP_BODY, wsman:InvalidBody)."""

    def __init__(self, what: str) -> None:
        reason = ("The WS-Management service cannot process the request because the request packet does not have a "
                  "valid SOAP body. ")
        super().__init__(INVALID_SOAP_BODY, reason, "w:InvalidBody", message=reason + f"({what})")


def header_required(what: str) -> WSManFault:
    """A request without a SOAP header it must have (wsa:MessageInformationHeaderRequired)."""
    reason = "The WS-Management service cannot process the request. The request does not have all the expected SOAP headers. "
    return WSManFault(HEADER_REQUIRED, reason, "a:MessageInformationHeaderRequired", message=reason + f"({what})")


def action_not_supported(request: "Request") -> bytes:
    reason = "The WS-Management service does not support the action specified in the request. "
    return fault(request, ACTION_NOT_SUPPORTED, reason, "a:ActionNotSupported", sender=True,
                 message=reason + f"({request.action})")


def schema_error(what: str) -> WSManFault:
    """A header or body value that is not of its schema type (xs:unsignedInt, xs:base64Binary …)."""
    reason = "The SOAP XML in the message does not match the corresponding XML schema definition. Change the XML and retry. "
    return WSManFault(SCHEMA_VALIDATION_ERROR, reason, "w:SchemaValidationError", message=reason + f"({what})")


def plugin_error(detail: str) -> WSManFault:
    """What the PowerShell plugin answers when it cannot read the PSRP data of a request.

    Shaped as the recorded provider fault of a Windows shell plugin (pypsrp's
    test_winrs_fail_poll_process: w:InvalidParameter, Code 87, an f:ProviderFault); the
    provider here is the PowerShell plugin, pwrshplugin.dll.
    """
    reason = "The parameter is incorrect. "
    markup = (f'<f:ProviderFault provider="microsoft.powershell" path="%windir%\\system32\\pwrshplugin.dll">'
               f"{_xml(reason + detail)}</f:ProviderFault>")
    return WSManFault(INVALID_PARAMETER, reason, "w:InvalidParameter",
                      detail="http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/InvalidValue",
                      message=reason + detail, message_xml=markup)


def parse_request(data: bytes) -> Request:
    """The routed parts of a request; a header value of the wrong form is the fault WinRM gives for it."""
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, LookupError, ValueError) as exc:  # LookupError: an XML declaration's unknown encoding
        reason = "The WS-Management service cannot process the request because the XML is invalid. "
        raise WSManFault(INVALID_XML, reason, "w:SchemaValidationError", status=400, message=reason + f"({exc})") from None
    header = root.find("s:Header", NS)
    if header is None:
        raise header_required("request has no SOAP header")
    action = (header.findtext("a:Action", "", NS) or "").strip()
    if not action:
        raise header_required("request has no wsa:Action")
    selectors = {s.get("Name", ""): (s.text or "").strip() for s in header.iterfind("w:SelectorSet/w:Selector", NS)}
    options = {o.get("Name", ""): (o.text or "").strip() for o in header.iterfind("w:OptionSet/w:Option", NS)}
    request = Request(
        action=action.rsplit("/", 1)[-1],
        message_id=(header.findtext("a:MessageID", "", NS) or "").strip(),
        to=(header.findtext("a:To", "", NS) or "").strip(),
        max_envelope_size=153600,
        operation_timeout=20.0,
        shell_id=selectors.get("ShellId"),
        options=options,
        body=root.find("s:Body", NS),
        resource_uri=(header.findtext("w:ResourceURI", RESOURCE_URI, NS) or RESOURCE_URI).strip(),
    )
    size_text = (header.findtext("w:MaxEnvelopeSize", "153600", NS) or "153600").strip()
    timeout_text = (header.findtext("w:OperationTimeout", "PT20S", NS) or "PT20S").strip()
    try:
        size = _envelope_size(size_text)
        timeout = parse_duration(timeout_text)
    except WSManFault as exc:
        exc.request = request
        raise
    return replace(request, max_envelope_size=size, operation_timeout=timeout)


def _envelope_size(text: str) -> int:
    """w:MaxEnvelopeSize is an xs:positiveInteger of at least 8192 (DSP0226 R6.2-4)."""
    if not re.fullmatch(r"\+?\d{1,10}", text):
        raise schema_error(f"MaxEnvelopeSize {text[:40]!r} is not an integer")
    size = int(text)
    if size < MINIMUM_ENVELOPE:
        reason = "The WS-Management service cannot process the request because the envelope size in the request is too small. "
        raise WSManFault(MIN_ENVELOPE_SIZE, reason, "w:EncodingLimit",
                         detail="http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/MinimumEnvelopeLimit")
    return size


_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


def parse_duration(text: str) -> float:
    """An xs:duration (`PT20S`, `PT20.000S`, `PT1M`, `P0DT0H0M5S`) in seconds.

    Anything else (`PT1.2.3S`, `abc`, `P`, `PT`) is the fault Windows answers for a bad
    OperationTimeout: ERROR_WSMAN_INVALID_TIMEOUT_HEADER.
    """
    text = text.strip()
    match = _DURATION.fullmatch(text)
    if not match or text in ("P", "") or text.endswith("T") or not any(match.groups()):
        reason = "The WS-Management service cannot process the request because the timeout header in the request is invalid. "
        raise WSManFault(INVALID_TIMEOUT_HEADER, reason, "a:InvalidMessageInformationHeader",
                         detail="http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/InvalidValue")
    years, months, days, hours, minutes, seconds = (float(g or 0) for g in match.groups())
    return (years * 365 + months * 30 + days) * 86400 + hours * 3600 + minutes * 60 + seconds


def b64decode(text: str | None, what: str) -> bytes:
    """Strict base64 of an xs:base64Binary element: invalid text is a schema fault, never b''."""
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise schema_error(f"{what} is not base64") from None


def _envelope(request: Request, action: str, body: str, *, activity: bool = True) -> bytes:
    """The recorded header order; Windows leaves ActivityId out of a SignalResponse."""
    activity_id = f"<p:ActivityId>{str(uuid.uuid4()).upper()}</p:ActivityId>" if activity else ""
    header = (
        f"<s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>"
        f"{activity_id}<a:To>{ANONYMOUS}</a:To>"
        f"<a:RelatesTo>{_xml(request.message_id)}</a:RelatesTo></s:Header>"
    )
    return f'<s:Envelope xml:lang="en-US" {_NSDECL}>{header}<s:Body>{body}</s:Body></s:Envelope>'.encode("utf-8")


def envelope(request: Request, action: str, body: str, *, activity: bool = True) -> bytes:
    """A response envelope for `request` (the WinRS cmd shell's answers carry no ActivityId)."""
    return _envelope(request, action, body, activity=activity)


def xml_text(text: str) -> str:
    """Text escaped for an element or attribute value."""
    return _xml(text)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def create_response(request: Request, shell_id: str, owner: str, client_ip: str) -> bytes:
    body = (
        f"<x:ResourceCreated><a:Address>{_xml(request.to)}</a:Address><a:ReferenceParameters>"
        f"<w:ResourceURI>{RESOURCE_URI}</w:ResourceURI><w:SelectorSet>"
        f'<w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet></a:ReferenceParameters>'
        f"</x:ResourceCreated><rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId>"
        f"<rsp:ResourceUri>{RESOURCE_URI}</rsp:ResourceUri><rsp:Owner>{_xml(owner)}</rsp:Owner>"
        f"<rsp:ClientIP>{_xml(client_ip)}</rsp:ClientIP><rsp:ProcessId>4242</rsp:ProcessId>"
        "<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin pr</rsp:InputStreams>"
        "<rsp:OutputStreams>stdout</rsp:OutputStreams><rsp:MaxIdleTimeOut>PT2147483.647S</rsp:MaxIdleTimeOut>"
        "<rsp:Locale>en-US</rsp:Locale><rsp:DataLocale>en-US</rsp:DataLocale>"
        "<rsp:CompressionMode>NoCompression</rsp:CompressionMode><rsp:ProfileLoaded>Yes</rsp:ProfileLoaded>"
        "<rsp:Encoding>UTF8</rsp:Encoding><rsp:BufferMode>Block</rsp:BufferMode><rsp:State>Connected</rsp:State>"
        "<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity>"
        "</rsp:Shell>"
    )
    return _envelope(request, TRANSFER + "CreateResponse", body)


def receive_response(request: Request, chunks: list[bytes], command_id: str | None, done: bool) -> bytes:
    attr = f' CommandId="{command_id}"' if command_id else ""
    streams = "".join(f'<rsp:Stream Name="stdout"{attr}>{base64.b64encode(c).decode()}</rsp:Stream>' for c in chunks)
    state = ""
    if command_id:
        state = f'<rsp:CommandState{attr} State="{COMMAND_DONE if done else COMMAND_RUNNING}">'
        state += "<rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState>" if done else "</rsp:CommandState>"
    return _envelope(request, SHELL + "ReceiveResponse", f"<rsp:ReceiveResponse>{streams}{state}</rsp:ReceiveResponse>")


def command_response(request: Request, command_id: str) -> bytes:
    body = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
    return _envelope(request, SHELL + "CommandResponse", body)


def empty_response(request: Request, action: str) -> bytes:
    """SendResponse, SignalResponse, DeleteResponse: nothing but the header."""
    namespace = TRANSFER if action == "Delete" else SHELL
    body = "" if action == "Delete" else f"<rsp:{action}Response/>"
    return _envelope(request, f"{namespace}{action}Response", body, activity=action != "Signal")


def fault(
    request: Request | None,
    code: int,
    reason: str,
    subcode: str = "w:InternalError",
    *,
    sender: bool = False,
    detail: str | None = None,
    message: str | None = None,
    message_xml: str | None = None,
) -> bytes:
    """An s:Fault (always sent with HTTP 500: pypsrp only parses faults on a non-2xx status)."""
    stub = request or Request("", "", "", 153600, 20.0, None)
    fault_detail = f"<w:FaultDetail>{detail}</w:FaultDetail>" if detail else ""
    body = (
        f"<s:Fault><s:Code><s:Value>{'s:Sender' if sender else 's:Receiver'}</s:Value><s:Subcode>"
        f"<s:Value>{subcode}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en-US">{_xml(reason)}</s:Text></s:Reason><s:Detail>{fault_detail}'
        f'<f:WSManFault xmlns:f="{NS["f"]}" Code="{code}" Machine="127.0.0.1"><f:Message>{message_xml or _xml(message or reason)}'
        "</f:Message></f:WSManFault></s:Detail></s:Fault>"
    )
    return _envelope(stub, "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", body)


def invalid_selectors(request: Request, message: str) -> bytes:
    """An unknown ShellId or CommandId, worded and shaped as the recorded Windows fault."""
    reason = "The WS-Management service cannot process the request because the request contained invalid selectors for the resource. "
    detail = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors"
    return fault(request, INVALID_SELECTORS, reason, "w:InvalidSelectors", sender=True, detail=detail, message=message)


def timed_out(request: Request) -> bytes:
    reason = "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  "
    return fault(request, TIMED_OUT, reason, "w:TimedOut")


# -- request bodies ---------------------------------------------------------------------------


def creation_xml(request: Request) -> bytes:
    node = request.body.find("rsp:Shell/pwsh:creationXml", NS) if request.body is not None else None
    if node is None or not node.text:
        raise BadRequest("Create without creationXml")
    return b64decode(node.text, "creationXml")


def shell_id_of_create(request: Request) -> str:
    shell = request.body.find("rsp:Shell", NS) if request.body is not None else None
    return (shell.get("ShellId") if shell is not None else None) or str(uuid.uuid4()).upper()


def command_line(request: Request) -> tuple[str, bytes]:
    """(CommandId, first CREATE_PIPELINE fragment) of a Command request."""
    node = request.body.find("rsp:CommandLine", NS) if request.body is not None else None
    if node is None:
        raise BadRequest("Command without rsp:CommandLine")
    command_id = (node.get("CommandId") or str(uuid.uuid4())).upper()
    arguments = node.findtext("rsp:Arguments", "", NS) or ""
    return command_id, b64decode(arguments, "rsp:Arguments")


def receive_target(request: Request) -> str | None:
    node = request.body.find("rsp:Receive/rsp:DesiredStream", NS) if request.body is not None else None
    command_id = node.get("CommandId") if node is not None else None
    return command_id.upper() if command_id else None


def sent_data(request: Request) -> tuple[str | None, bytes]:
    node = request.body.find("rsp:Send/rsp:Stream", NS) if request.body is not None else None
    if node is None:
        raise BadRequest("Send without rsp:Stream")
    command_id = node.get("CommandId")
    return (command_id.upper() if command_id else None), b64decode(node.text, "rsp:Stream")


def signal(request: Request) -> tuple[str | None, str]:
    node = request.body.find("rsp:Signal", NS) if request.body is not None else None
    if node is None:
        raise BadRequest("Signal without rsp:Signal")
    command_id = node.get("CommandId")
    return (command_id.upper() if command_id else None), (node.findtext("rsp:Code", "", NS) or "").strip()
