"""Shared by the transport and hostile-request tests: raw HTTP on loopback, a good client, a fault proxy.

Everything here talks to 127.0.0.1 only, with bounded loops and socket timeouts, so a server
that hangs fails a test instead of hanging it.
"""

from __future__ import annotations

import base64
import http.client
import re
import socket
import socketserver
import threading
from dataclasses import dataclass

from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from nestlab.simulator.endpoint.testing import PASSWORD, USER

GUARD = 15.0  # seconds any one socket read may take before the test calls it a hang


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: the server closed the connection without an HTTP answer
    headers: dict[str, str]
    body: bytes


def exchange(port: int, data: bytes, *, timeout: float = GUARD) -> Answer:
    """Send `data` as is on a fresh connection and read one HTTP answer (or the close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except OSError:  # the server may answer and close before it has read everything
            pass
        return read_answer(sock)


def read_answer(sock: socket.socket) -> Answer:
    response = http.client.HTTPResponse(sock)
    try:
        response.begin()
    except (http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine):
        return Answer(None, {}, b"")
    body = response.read()
    headers: dict[str, str] = {}
    for key, value in response.getheaders():  # repeated headers (WWW-Authenticate) joined as one
        headers[key.lower()] = f"{headers[key.lower()]}, {value}" if key.lower() in headers else value
    return Answer(response.status, headers, body)


def basic(user: str = USER, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def post(body: bytes = b"", *, authorization: str | None = None, headers: dict[str, str] | None = None,
         length: str | None = None, path: str = "/wsman") -> bytes:
    """A POST as bytes, with any header however wrong (Content-Length given as text)."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/soap+xml;charset=UTF-8"]
    if authorization is not None:
        lines.append(f"Authorization: {authorization}")
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}")
    lines.append(f"Content-Length: {len(body) if length is None else length}")
    text = "\r\n".join(lines)
    try:
        head = text.encode("latin-1")  # what http.server decodes headers with
    except UnicodeEncodeError:
        head = text.encode("utf-8")
    return head + b"\r\n\r\n" + body


def good_client_works(port: int, *, ssl: bool = False, simulated: bool = False, **options) -> bool:
    """A pypsrp client opens a pool and runs a pipeline: the endpoint still serves.

    Against FakeHost (testing.serve_fake) it runs Get-Thing; with `simulated`, against a served
    lab, Get-VM must list the lab's VMs."""
    settings = dict(port=port, username=USER, password=PASSWORD, ssl=ssl, auth="basic",
                    encryption="never", no_proxy=True, cert_validation=False, connection_timeout=GUARD,
                    read_timeout=GUARD + 15, operation_timeout=GUARD)
    settings.update(options)
    with RunspacePool(WSMan("127.0.0.1", **settings)) as pool:
        ps = PowerShell(pool)
        if simulated:
            ps.add_cmdlet("Get-VM")
        else:
            ps.add_cmdlet("Get-Thing").add_parameter("Name", "L1")
        output = ps.invoke()
    if simulated:
        return bool(output) and not ps.had_errors
    return output[-1] == "done"


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ----------------------------------------------------------------------------------------------
# a fault proxy: forwards to the endpoint, or misbehaves as a broken host would
# ----------------------------------------------------------------------------------------------

ACTION = re.compile(rb"<\w+:Action[^>]*>[^<]*/([A-Za-z]+)</\w+:Action>")
MESSAGE_ID = re.compile(rb"<\w+:MessageID>([^<]+)</\w+:MessageID>")

TIMED_OUT = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action>'
    '<a:RelatesTo>{relates}</a:RelatesTo></s:Header><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode>'
    '<s:Value>w:TimedOut</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">The WS-Management service cannot '
    'complete the operation within the time specified in OperationTimeout.</s:Text></s:Reason><s:Detail>'
    '<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858793" Machine="127.0.0.1">'
    '<f:Message>The WS-Management service cannot complete the operation within the time specified in OperationTimeout.'
    '</f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>'
)


class FaultProxy:
    """A loopback HTTP proxy in front of one endpoint port (plain http, Basic auth only).

    Modes: "forward"; "reset" (RST every connection); "http500" (answer 500 with no XML);
    "stall" (forward Create, then never answer a Receive); "timedout" (forward until a pipeline
    is started, then answer every Receive with the WS-Man TimedOut fault at once, as a host
    whose pipeline never ends would, only faster).
    `requests` counts the requests it saw; `wire` keeps the client's bytes when `record`.
    """

    def __init__(self, upstream: int, mode: str = "forward", *, record: bool = False) -> None:
        self.upstream = upstream
        self.mode = mode
        self.record = record
        self.wire = bytearray()
        self.requests = 0
        self.opened = threading.Event()  # a Create has been answered
        self.commanded = threading.Event()  # a Command has been answered
        self.release = threading.Event()  # set on stop: stalled requests end
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
            block_on_close = False

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "FaultProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(GUARD * 4)
        if self.mode == "reset":
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            return
        upstream = None
        try:
            while True:
                request = _read_request(client)
                if request is None:
                    return
                self.requests += 1
                if self.record:
                    self.wire += request
                action = ACTION.search(request)
                name = action.group(1).decode() if action else ""
                if self.mode == "http500":
                    client.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops!")
                    continue
                if self.opened.is_set() and name == "Receive" and self.mode == "stall":
                    self.release.wait(GUARD * 4)
                    return
                if self.commanded.is_set() and name == "Receive" and self.mode == "timedout":
                    relates = MESSAGE_ID.search(request).group(1).decode()
                    body = TIMED_OUT.format(relates=relates).encode()
                    client.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n"
                                   + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                    continue
                if upstream is None:
                    upstream = socket.create_connection(("127.0.0.1", self.upstream), timeout=GUARD * 4)
                upstream.sendall(request)
                answer = _read_response(upstream)
                if answer is None:
                    return
                client.sendall(answer)
                if name == "Create":
                    self.opened.set()  # from now on the host "stalls after Create"
                if name == "Command":
                    self.commanded.set()  # from now on a pipeline's Receive may time out forever
        except OSError:
            return
        finally:
            if upstream is not None:
                upstream.close()


def _read_head(sock: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    return data


def _with_body(sock: socket.socket, data: bytes) -> bytes:
    head, _, body = data.partition(b"\r\n\r\n")
    match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    length = int(match.group(1)) if match else 0
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _read_request(sock: socket.socket) -> bytes | None:
    data = _read_head(sock)
    return None if data is None else _with_body(sock, data)


def _read_response(sock: socket.socket) -> bytes | None:
    data = _read_head(sock)
    return None if data is None else _with_body(sock, data)
