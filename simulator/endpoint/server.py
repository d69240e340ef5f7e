"""The served simulator: one WS-Management/PSRP HTTP(S) endpoint per host of a lab.

Each host gets its own port and answers pypsrp as a Windows WinRM service would: Create opens a
runspace pool, Command starts a pipeline, Receive hands back fragments (waiting at most the
request's OperationTimeout, then a TimedOut fault), Send carries more fragments or pipeline
input, Signal stops or forgets a pipeline, Delete closes the pool. Pipelines run on a worker
thread against the one Lab shared by every host endpoint, serialised by the executor's lock, so
a change made through one endpoint (Set-VMProcessor …) is what every later probe sees.

Protocol pitfalls this follows are listed in ../shared/reference/psrp-server-notes.md §3.
"""

from __future__ import annotations

import base64
import re
import socket
import ssl
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from nestlab.simulator import clixml
from nestlab.simulator.endpoint import hostcalls, keyexchange, ntlm_store, psrp, streams, winrs, wsman
from nestlab.simulator.endpoint.auth import ConnectionLogin, Credentials, Outcome, Verdict, challenges
from nestlab.simulator.endpoint.encryption import CONTENT_TYPE as ENCRYPTED_CONTENT_TYPE
from nestlab.simulator.endpoint.encryption import BadEncryptedMessage, is_encrypted, unwrap, wrap
from nestlab.simulator.endpoint.limits import Limits
from nestlab.simulator.endpoint.quotas import Activity, Quotas
from nestlab.simulator.endpoint.throttle import AuthThrottle
from nestlab.simulator.endpoint.guest_door import GuestDoor
from nestlab.simulator.endpoint.runner import Executor, run_statements
from nestlab.simulator.psdata import Command, ErrorRecord, Result

ENVELOPE_OVERHEAD = 4096  # bytes of SOAP around the streams of a ReceiveResponse
STREAM_OVERHEAD = 128  # bytes of one <rsp:Stream Name="stdout" CommandId="…"> element around its base64
MAX_WAIT = 20.0  # never hold a Receive past the client's 30 s read timeout
INTERNAL_ERROR = 1359  # Win32 ERROR_INTERNAL_ERROR, with the DMTF subcode w:InternalError (DSP0226)


class LabExecutor:
    """Runs pipelines with `simulator.powershell.run` on one shared lab, one at a time."""

    def __init__(self, lab: Any) -> None:
        self.lab = lab
        self.lock = threading.Lock()

    def __call__(self, context: str, pipeline: tuple[Command, ...]) -> Result:
        from nestlab.simulator import powershell

        with self.lock:
            return powershell.run(self.lab, context, pipeline)


def stream_room(max_envelope_size: int) -> int:
    """Bytes of Stream elements one ReceiveResponse may carry under the client's MaxEnvelopeSize."""
    return max_envelope_size - ENVELOPE_OVERHEAD


def encoded_size(fragment: bytes) -> int:
    """What one packed fragment costs inside a response: its base64 plus its Stream element."""
    return 4 * ((len(fragment) + 2) // 3) + STREAM_OVERHEAD


def fragment_budget(max_envelope_size: int) -> int:
    """The largest packed fragment (header included) whose Stream fits one response alone."""
    return max(1024, (stream_room(max_envelope_size) - STREAM_OVERHEAD) * 3 // 4)


@dataclass
class _Outbox:
    """Packed fragments waiting for a Receive."""

    fragments: list[bytes] = field(default_factory=list)

    def take(self, room: int) -> list[bytes]:
        """Whole fragments, oldest first, while their encoded size fits `room` (at least one)."""
        taken: list[bytes] = []
        used = 0
        while self.fragments and (not taken or used + encoded_size(self.fragments[0]) <= room):
            used += encoded_size(self.fragments[0])
            taken.append(self.fragments.pop(0))
        return taken


@dataclass
class _Pipeline:
    command_id: str
    pid: uuid.UUID
    outbox: _Outbox = field(default_factory=_Outbox)
    incoming: psrp.Defragmenter = field(default_factory=psrp.Defragmenter)
    started: bool = False
    finished: bool = False  # the PIPELINE_STATE message is queued
    statements: list = field(default_factory=list)
    input: list = field(default_factory=list)  # PIPELINE_INPUT objects, until END_OF_PIPELINE_INPUT
    host: Any = None  # hostcalls.PipelineHost when the client has a PSHost (Read-Host asks it)


@dataclass
class _Pool:
    shell_id: str
    rpid: uuid.UUID
    max_envelope_size: int
    outbox: _Outbox = field(default_factory=_Outbox)
    incoming: psrp.Defragmenter = field(default_factory=psrp.Defragmenter)
    pipelines: dict[str, _Pipeline] = field(default_factory=dict)
    next_object_id: int = 1
    session_key: bytes | None = None  # after a key exchange (keyexchange.py): SecureStrings decrypt

    def queue(self, outbox: _Outbox, message_type: int, body: str, pid: uuid.UUID = psrp.EMPTY, rpid: uuid.UUID | None = None) -> None:
        data = psrp.Message(psrp.DESTINATION_CLIENT, message_type, self.rpid if rpid is None else rpid, pid, body).pack()
        blob = fragment_budget(self.max_envelope_size) - psrp.HEADER.size
        outbox.fragments.extend(psrp.fragments(self.next_object_id, data, blob))
        self.next_object_id += 1


class HostEndpoint:
    """The WS-Man/PSRP state machine of one served host; `handle` maps a request to a response."""

    def __init__(self, host: str, execute: Executor, credentials: Credentials) -> None:
        self.host = host
        self.execute = execute
        self.credentials = credentials
        self.pools: dict[str, _Pool] = {}
        self.changed = threading.Condition()
        self.requests: Counter[str] = Counter()  # per WS-Man action, plus "TimedOut" Receives
        self.largest_response = 0
        self.trace: list[tuple[bytes, int, bytes]] | None = None  # set to [] to record every exchange
        self.activity = Activity(Quotas())  # WinRM's quotas and IdleTimeout (quotas.py); replace .quotas to change
        self.winrs = winrs.CmdShells(host, execute, activity=self.activity)  # the …/windows/shell/cmd resource
        self.guests = GuestDoor(credentials)  # PowerShell Direct into the guests (guest_door.py)

    # -- dispatch ---------------------------------------------------------------------------------

    def handle(self, data: bytes, client_ip: str) -> tuple[int, bytes]:
        status, body = self._dispatch(data, client_ip)
        self.largest_response = max(self.largest_response, len(body))
        if self.trace is not None:
            self.trace.append((data, status, body))
        return status, body

    def _dispatch(self, data: bytes, client_ip: str) -> tuple[int, bytes]:
        try:
            request = wsman.parse_request(data)
        except wsman.WSManFault as exc:
            return exc.status, exc.response()
        except wsman.BadRequest as exc:
            return 400, wsman.fault(None, wsman.ACTION_NOT_SUPPORTED, str(exc), "w:InvalidMessage")
        self.requests[request.action] += 1
        self._expire()
        if self.winrs.owns(request):
            return self.winrs.handle(request, client_ip, self.credentials.user, open_shells=len(self.pools),
                                     open_operations=self._operations())
        handler = {
            "Create": self._create,
            "Receive": self._receive,
            "Command": self._command,
            "Send": self._send,
            "Signal": self._signal,
            "Delete": self._delete,
        }.get(request.action)
        if handler is None:
            return 500, wsman.action_not_supported(request)
        try:
            return handler(request, client_ip)
        except _UnknownSelector as exc:
            return 500, wsman.invalid_selectors(request, str(exc))
        except wsman.WSManFault as exc:
            return exc.status, exc.response(request)
        except (wsman.BadRequest, ValueError) as exc:
            return 500, wsman.fault(request, wsman.ACTION_NOT_SUPPORTED, f"Bad request: {exc}", "w:InvalidMessage")

    def _pool(self, request: wsman.Request) -> _Pool:
        pool = self.pools.get((request.shell_id or "").upper())
        if pool is None:
            raise _UnknownSelector(
                f"The request for the Windows Remote Shell with ShellId {request.shell_id} failed because the shell was "
                "not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer "
                "exists on the server. Provide the correct ShellId or create a new shell and retry the operation. "
            )
        pool.max_envelope_size = request.max_envelope_size
        self.activity.touch(pool.shell_id)
        return pool

    def _operations(self) -> int:
        return sum(len(pool.pipelines) for pool in self.pools.values())

    def _expire(self) -> None:
        """Shells idle past IdleTimeout go with their pipelines; so do pipelines nobody received."""
        for shell_id, command_id in self.activity.expired():
            with self.changed:
                pool = self.pools.get(shell_id)
                if pool is not None and command_id is None:
                    for pipeline in pool.pipelines.values():
                        pipeline.finished = True
                    del self.pools[shell_id]
                elif pool is not None and command_id in pool.pipelines:
                    pool.pipelines.pop(command_id).finished = True
                self.changed.notify_all()
            self.winrs.expire(shell_id, command_id)

    # -- operations -------------------------------------------------------------------------------

    def _create(self, request: wsman.Request, client_ip: str) -> tuple[int, bytes]:
        self.activity.quotas.admit_shell(len(self.pools) + len(self.winrs.shells))
        shell_id = wsman.shell_id_of_create(request).upper()
        incoming = psrp.Defragmenter()
        messages = incoming.feed(wsman.creation_xml(request))
        for message in messages:
            psrp.read_body(message)  # data PowerShell could not deserialize is refused here, with the plugin's fault
        types = {m.message_type for m in messages}
        if psrp.SESSION_CAPABILITY not in types or psrp.INIT_RUNSPACEPOOL not in types:
            raise wsman.BadRequest("creationXml lacks SESSION_CAPABILITY and INIT_RUNSPACEPOOL")
        pool = _Pool(shell_id, messages[0].rpid, request.max_envelope_size, incoming=incoming)
        with self.changed:
            # Windows sends SESSION_CAPABILITY with an all-zero RPID (recordings); the rest carry the pool's.
            pool.queue(pool.outbox, psrp.SESSION_CAPABILITY, psrp.SESSION_CAPABILITY_BODY, rpid=psrp.EMPTY)
            pool.queue(pool.outbox, psrp.APPLICATION_PRIVATE_DATA, psrp.application_private_data_body())
            pool.queue(pool.outbox, psrp.RUNSPACEPOOL_STATE, psrp.runspace_pool_state_body(psrp.RUNSPACE_OPENED))
            self.pools[shell_id] = pool
            self.changed.notify_all()
        self.activity.touch(shell_id)
        return 200, wsman.create_response(request, shell_id, f"{self.host}\\{self.credentials.user}", client_ip)

    def _command(self, request: wsman.Request, client_ip: str) -> tuple[int, bytes]:
        pool = self._pool(request)
        self.activity.quotas.admit_operation(self._operations() + self.winrs.operations())
        command_id, first_fragment = wsman.command_line(request)
        self.activity.touch(pool.shell_id, command_id)
        with self.changed:
            pipeline = _Pipeline(command_id, uuid.UUID(command_id))
            pool.pipelines[command_id] = pipeline
            self._accept(pool, pipeline, pipeline.incoming.feed(first_fragment))
        return 200, wsman.command_response(request, command_id)

    def _send(self, request: wsman.Request, client_ip: str) -> tuple[int, bytes]:
        pool = self._pool(request)
        command_id, data = wsman.sent_data(request)
        with self.changed:
            if command_id is None:
                self._pool_messages(pool, pool.incoming.feed(data))
            else:
                pipeline = self._pipeline(pool, command_id)
                self._accept(pool, pipeline, pipeline.incoming.feed(data))
        return 200, wsman.empty_response(request, "Send")

    def _receive(self, request: wsman.Request, client_ip: str) -> tuple[int, bytes]:
        pool = self._pool(request)
        command_id = wsman.receive_target(request)
        deadline = time.monotonic() + min(request.operation_timeout, MAX_WAIT)
        with self.changed:
            pipeline = self._pipeline(pool, command_id) if command_id else None
            outbox = pipeline.outbox if pipeline else pool.outbox
            while not outbox.fragments:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.requests["TimedOut"] += 1
                    return 500, wsman.timed_out(request)
                self.changed.wait(remaining)
            chunks = outbox.take(stream_room(request.max_envelope_size))
            done = pipeline is not None and pipeline.finished and not pipeline.outbox.fragments
            if done:
                pool.pipelines.pop(pipeline.command_id, None)
                self.activity.forget(pool.shell_id, pipeline.command_id)
            elif pipeline is not None:
                self.activity.touch(pool.shell_id, pipeline.command_id)
        return 200, wsman.receive_response(request, chunks, command_id, done)

    def _signal(self, request: wsman.Request, client_ip: str) -> tuple[int, bytes]:
        pool = self._pool(request)
        command_id, code = wsman.signal(request)
        with self.changed:
            pipeline = pool.pipelines.get(command_id or "")
            if pipeline is not None and code == wsman.SIGNAL_CTRL_C and not pipeline.finished:
                pipeline.outbox.fragments.clear()
                pipeline.finished = True
                pool.queue(pipeline.outbox, psrp.PIPELINE_STATE, psrp.pipeline_state_body(psrp.PIPELINE_STOPPED), pipeline.pid)
            elif pipeline is not None:
                pipeline.finished = True
                pool.pipelines.pop(pipeline.command_id, None)
            self.changed.notify_all()
        return 200, wsman.empty_response(request, "Signal")

    def _delete(self, request: wsman.Request, client_ip: str) -> tuple[int, bytes]:
        pool = self._pool(request)
        with self.changed:
            for pipeline in pool.pipelines.values():
                pipeline.finished = True
            self.pools.pop(pool.shell_id, None)
            self.changed.notify_all()
        self.activity.forget(pool.shell_id)
        return 200, wsman.empty_response(request, "Delete")

    # -- PSRP messages from the client ------------------------------------------------------------

    def _pipeline(self, pool: _Pool, command_id: str) -> _Pipeline:
        pipeline = pool.pipelines.get(command_id)
        if pipeline is None:
            raise _UnknownSelector(
                "The Windows Remote Shell received a request to perform an operation on a command identifier that does "
                "not exist. Either the command has completed execution or the client specified an invalid command identifier. "
            )
        return pipeline

    def _accept(self, pool: _Pool, pipeline: _Pipeline, messages: list[psrp.Message]) -> None:
        """CREATE_PIPELINE, then (when NoInput is false) input until END_OF_PIPELINE_INPUT."""
        for message in messages:
            if message.message_type == psrp.CREATE_PIPELINE:
                no_input, pipeline.statements = psrp.create_pipeline_statements(message, pool.session_key)
                if hostcalls.has_host(psrp.read_body(message)):
                    pipeline.host = hostcalls.PipelineHost(self.changed, lambda ci, body, p=pipeline: pool.queue(
                        p.outbox, hostcalls.PIPELINE_HOST_CALL, body, p.pid))
                if no_input:
                    self._start(pool, pipeline)
            elif message.message_type == psrp.PIPELINE_INPUT:
                pipeline.input.append(psrp.pipeline_input(message, pool.session_key))
            elif message.message_type == psrp.END_OF_PIPELINE_INPUT:
                self._start(pool, pipeline)

    def _pool_messages(self, pool: _Pool, messages: list[psrp.Message]) -> None:
        """SET_MAX/MIN_RUNSPACES and GET_AVAILABLE_RUNSPACES get a RUNSPACE_AVAILABILITY answer."""
        for message in messages:
            body = psrp.read_body(message, pool.session_key)
            call_id = body.get("ci", 0) if hasattr(body, "get") else 0
            if message.message_type == psrp.PUBLIC_KEY:
                key = keyexchange.public_key(wsman.b64decode(str(body.get("PublicKey", "")), "PublicKey"))  # or a fault
                pool.session_key, answer = keyexchange.encrypted_session_key(key)
                pool.queue(pool.outbox, psrp.ENCRYPTED_SESSION_KEY, answer)
            if message.message_type in (psrp.SET_MAX_RUNSPACES, psrp.SET_MIN_RUNSPACES):
                pool.queue(pool.outbox, psrp.RUNSPACE_AVAILABILITY, psrp.runspace_availability_body(True, call_id))
            elif message.message_type == psrp.GET_AVAILABLE_RUNSPACES:
                pool.queue(pool.outbox, psrp.RUNSPACE_AVAILABILITY, psrp.runspace_availability_body(1, call_id))
            elif message.message_type == hostcalls.PIPELINE_HOST_RESPONSE:  # Read-Host's answer
                pipeline = pool.pipelines.get(str(message.pid).upper()) or pool.pipelines.get(str(message.pid))
                if pipeline is not None and pipeline.host is not None:
                    pipeline.host.answer(body)
        self.changed.notify_all()

    def _start(self, pool: _Pool, pipeline: _Pipeline) -> None:
        if pipeline.started:
            return
        pipeline.started = True
        threading.Thread(target=self._run, args=(pool, pipeline), name=f"pipeline-{pipeline.command_id}", daemon=True).start()

    def _run(self, pool: _Pool, pipeline: _Pipeline) -> None:
        try:
            result = run_statements(self.execute, self.host, pipeline.statements, pipeline.input, host=pipeline.host,
                                    guests=self.guests)
        except Exception as exc:  # a simulator bug must still end the pipeline, as a Failed state
            result = Result((), (internal_error(exc),), True)
        with self.changed:
            if not pipeline.finished:
                self._queue_result(pool, pipeline, result)
            self.changed.notify_all()

    def _queue_result(self, pool: _Pool, pipeline: _Pipeline, result: Result) -> None:
        for item in result.output:
            pool.queue(pipeline.outbox, psrp.PIPELINE_OUTPUT, clixml.to_clixml(item), pipeline.pid)
        streamed, terminating = clixml.wire_errors(result)
        for error in streamed:
            pool.queue(pipeline.outbox, psrp.ERROR_RECORD, clixml.to_clixml(error), pipeline.pid)
        for message_type, body in streams.messages(result, self.host):  # a script's other streams
            pool.queue(pipeline.outbox, message_type, body, pipeline.pid)
        if getattr(result, "should_exit", getattr(result, "exit_code", 0)):  # `exit N`: the client's host learns N
            body = psrp.host_call_body(psrp.SET_SHOULD_EXIT, "SetShouldExit", [result.exit_code])
            pool.queue(pipeline.outbox, psrp.PIPELINE_HOST_CALL, body, pipeline.pid)
        state = psrp.PIPELINE_FAILED if result.failed else psrp.PIPELINE_COMPLETED
        pool.queue(pipeline.outbox, psrp.PIPELINE_STATE, psrp.pipeline_state_body(state, terminating), pipeline.pid)
        pipeline.finished = True


class _UnknownSelector(LookupError):
    pass


def internal_error(exc: Exception) -> ErrorRecord:
    return ErrorRecord(
        message=f"The served simulator failed: {type(exc).__name__}: {exc}",
        fully_qualified_error_id="SimulatorInternalError",
        category="NotSpecified",
        exception_type="System.InvalidOperationException",
    )


# ----------------------------------------------------------------------------------------------
# HTTP
# ----------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    """One connection's requests, in order: framing, then who is asking, then (only then) the body.

    Everything a client can cost before it has authenticated is bounded: the headers by
    http.server (64 KiB a line, 100 lines), the body by `Limits.max_body` and never read at
    all unless the credential is right (a refused body is dropped, read only up to
    `Limits.drain_limit`), the time by `Limits.idle_timeout` per read.
    """

    protocol_version = "HTTP/1.1"  # keep-alive: pypsrp reuses one connection
    disable_nagle_algorithm = True  # headers and body are separate writes: ~90 ms per request without
    default_request_version = "HTTP/1.1"  # so an unparsable request line still gets a status line back
    error_content_type = "text/plain;charset=utf-8"
    error_message_format = "%(code)d %(explain)s\n"  # http.server's own errors: never an echo of the request
    server: "_HTTPServer"

    def setup(self) -> None:
        self.timeout = self.server.limits.idle_timeout  # StreamRequestHandler applies it to the socket
        super().setup()
        self.login = ConnectionLogin(self.server.endpoint.credentials, self.server.endpoint.host)

    def handle_one_request(self) -> None:
        self.server.waiting(self.connection)
        super().handle_one_request()

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        if parsed:
            self.server.busy(self.connection)  # whole headers are in: no longer an idle socket
        return parsed

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = self._content_length()
        if length is None:
            return
        if self.path.rstrip("/").lower() != "/wsman":
            self._refuse(404, length)
            return
        verdict = self._login()
        if verdict.outcome is not Outcome.ACCEPTED:
            self._deny(verdict, length)
            return
        self._serve(verdict, self.rfile.read(length))

    def _login(self) -> Verdict:
        """Check the credential, after the client's turn has come if it has failed recently."""
        authorization = self.headers.get("Authorization")
        if authorization is None:
            return self.login.check(None)
        client = self.client_address[0]
        wait = self.server.throttle.reserve(client)
        if wait > 0 and self.server.hold(self.connection, wait):
            self.close_connection = True  # closed to make room while it waited: never checked
            return Verdict(Outcome.DENIED)
        verdict = self.login.check(authorization)
        if verdict.outcome is Outcome.DENIED:
            self.server.throttle.failed(client)
        elif verdict.outcome is Outcome.ACCEPTED:
            self.server.throttle.succeeded(client)
        return verdict

    def _serve(self, verdict: Verdict, data: bytes) -> None:
        """An authenticated request: unseal it if it is sealed, answer it, seal the answer alike."""
        headers = _token_header(verdict)
        sealed = is_encrypted(self.headers.get("Content-Type"))
        if sealed:
            data = self._unseal(data)
            if data is None:
                self._reply(400, b"", headers)
                return
        if not data and verdict.scheme:
            self._reply(200, b"", headers)  # the empty request that finished a Negotiate handshake
            return
        status, body = self._answer(data)
        if sealed:
            headers["Content-Type"] = ENCRYPTED_CONTENT_TYPE
            body = wrap(body, self.login.session)
        else:
            headers["Content-Type"] = "application/soap+xml;charset=UTF-8"
        self._reply(status, body, headers)

    def _unseal(self, data: bytes) -> bytes | None:
        """The SOAP inside a multipart/encrypted body, or None (no session, or it does not verify)."""
        if self.login.session is None:
            return None
        try:
            return unwrap(data, self.login.session)
        except BadEncryptedMessage:
            return None

    def _answer(self, data: bytes) -> tuple[int, bytes]:
        """The endpoint's answer; a simulator bug is a 500 fault, never a dropped connection."""
        try:
            return self.server.endpoint.handle(data, self.client_address[0])
        except Exception as exc:
            self.server.report(self.client_address, exc)
            return 500, wsman.fault(None, INTERNAL_ERROR, "The WS-Management service cannot process the request.", "w:InternalError")

    # -- refusals ---------------------------------------------------------------------------------

    def _content_length(self) -> int | None:
        """The body's length, or None once a 400/411/413/501 has been sent (the connection closes)."""
        if self.headers.get("Transfer-Encoding") is not None:
            self._refuse(501, None)  # WinRM clients always send Content-Length
            return None
        values = self.headers.get_all("Content-Length") or []
        if not values:
            return 0
        if len(set(v.strip() for v in values)) != 1 or not _DIGITS.fullmatch(values[0].strip()):
            self._refuse(400, None)
            return None
        length = int(values[0].strip())
        if length > self.server.limits.max_body:
            self._refuse(413, None)
            return None
        return length

    def _deny(self, verdict: Verdict, length: int) -> None:
        if verdict.outcome is Outcome.CONTINUE:
            headers = _token_header(verdict)
        else:
            headers = {"WWW-Authenticate": challenges()}
        self._refuse(401, length, headers)

    def _refuse(self, status: int, length: int | None, headers: dict[str, Any] | None = None) -> None:
        """Answer without using the body: a small one is dropped (keep-alive: a Negotiate handshake
        needs its connection, and pypsrp's first request over https carries its Create), a larger
        one is never read and the connection closes. While it drops, the connection counts as
        idle, so one that trickles its refused body is the first to make room for others."""
        if length is not None and length <= self.server.limits.drain_limit:
            self.server.waiting(self.connection)
            self.rfile.read(length)
        else:
            self.close_connection = True
            self.linger = True
            headers = {**(headers or {}), "Connection": "close"}
        self._reply(status, b"", headers)

    def finish(self) -> None:
        """After a refusal that closes, read on a little so the client sees the answer, not a reset.

        Closing a socket with unread data sends an RST, which can destroy the answer before the
        client reads it; so the server stops writing, then drops what still arrives, bounded in
        bytes and in total time (Limits.linger_bytes, Limits.linger_time), and only then closes.
        """
        super().finish()
        if not getattr(self, "linger", False):
            return
        try:
            self.connection.shutdown(socket.SHUT_WR)
            until = time.monotonic() + self.server.limits.linger_time
            dropped = 0
            while dropped < self.server.limits.linger_bytes and time.monotonic() < until:
                self.connection.settimeout(max(0.01, until - time.monotonic()))
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                dropped += len(chunk)
        except OSError:
            pass

    def _reply(self, status: int, body: bytes, headers: dict[str, Any] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            for one in value if isinstance(value, list) else [value]:
                self.send_header(key, one)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silent: a request log could show headers, and a Basic header is a password."""


_DIGITS = re.compile(r"[0-9]{1,18}")


def _token_header(verdict: Verdict) -> dict[str, Any]:
    if verdict.token is None:
        return {}
    return {"WWW-Authenticate": f"{verdict.scheme} {base64.b64encode(verdict.token).decode()}"}


@dataclass
class _Slot:
    """One open connection: its socket, and since when it has been waiting for a request."""

    socket: socket.socket
    waiting_since: float | None = None  # None while a request is being served
    served: int = 0
    evicted: threading.Event = field(default_factory=threading.Event)


class _HTTPServer(ThreadingHTTPServer):
    """A thread per connection, at most `Limits.max_connections` of them, TLS in that thread.

    The TLS handshake runs in the connection's own thread with `Limits.handshake_timeout`, so
    a client that connects and says nothing holds one thread, not the accept loop. When every
    slot is taken, the connection that has waited longest for a request (one that never sent
    one first) is closed to make room, so idle and slowloris sockets cannot lock out a real
    client; only when every connection is mid-request is a newcomer turned away (503).
    """

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], endpoint: HostEndpoint, tls: ssl.SSLContext | None, limits: Limits) -> None:
        self.endpoint = endpoint
        self.tls = tls
        self.limits = limits
        self.throttle = AuthThrottle(limits)
        self.slots: dict[int, _Slot] = {}  # id(connection socket) → slot
        self.slots_lock = threading.Lock()
        self.slots_changed = threading.Condition(self.slots_lock)  # notified whenever a slot comes, goes or changes state
        self.evicted = 0
        self.turned_away = 0
        super().__init__(address, _Handler)

    # -- admission --------------------------------------------------------------------------------

    def process_request(self, request: Any, client_address: Any) -> None:
        slot = _Slot(request, waiting_since=time.monotonic())
        with self.slots_lock:
            if len(self.slots) >= self.limits.max_connections and not self._evict_one():
                self.turned_away += 1
                slot = None
            else:
                self.slots[id(request)] = slot
                self.slots_changed.notify_all()
        if slot is None:
            self._turn_away(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._release(request)
            raise

    def _evict_one(self) -> bool:
        """Close the connection waiting longest for a request (never-used first); lock held."""
        idle = [s for s in self.slots.values() if s.waiting_since is not None]
        if not idle:
            return False
        victim = min(idle, key=lambda s: (s.served > 0, s.waiting_since))
        victim.waiting_since = None
        victim.evicted.set()
        try:
            victim.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.evicted += 1
        return True

    def _turn_away(self, request: socket.socket) -> None:
        try:
            if self.tls is None:
                request.settimeout(0.5)
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 1\r\n\r\n")
        except OSError:
            pass
        self.shutdown_request(request)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release(request)

    def _release(self, request: Any) -> None:
        with self.slots_lock:
            self.slots.pop(id(request), None)
            self.slots_changed.notify_all()

    def wait_for_slots(self, predicate: Callable[[list[_Slot]], bool], timeout: float) -> bool:
        """Wait (at most `timeout` s) until `predicate(slots)` holds; whether it did. The state of the
        connections changes in their own threads: this lets a caller (a test) wait for one, not guess."""
        with self.slots_changed:
            return self.slots_changed.wait_for(lambda: predicate(list(self.slots.values())), timeout)

    # -- one connection, in its own thread --------------------------------------------------------

    def finish_request(self, request: Any, client_address: Any) -> None:
        connection = request
        if self.tls is not None:
            connection = self._handshake(request)
            if connection is None:
                return
        try:
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            if connection is not request:
                self._release(connection)
                _close_quietly(connection)

    def _handshake(self, request: socket.socket) -> ssl.SSLSocket | None:
        with self.slots_lock:  # wrapping takes over the descriptor: an eviction must see one socket or the other
            try:
                request.settimeout(self.limits.handshake_timeout)
                wrapped = self.tls.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
            except (OSError, ValueError):
                return None
            slot = self.slots.pop(id(request), None)
            if slot is not None:
                slot.socket = wrapped
                self.slots[id(wrapped)] = slot
        try:
            wrapped.do_handshake()
        except (OSError, ValueError):  # ssl.SSLError is an OSError; a timeout too
            self._release(wrapped)
            _close_quietly(wrapped)
            return None
        return wrapped

    def waiting(self, connection: socket.socket) -> None:
        with self.slots_lock:
            slot = self.slots.get(id(connection))
            if slot is not None and slot.waiting_since is None:
                slot.waiting_since = time.monotonic()
                self.slots_changed.notify_all()

    def hold(self, connection: socket.socket, seconds: float) -> bool:
        """Hold a connection back (the throttle's wait), evictable meanwhile; True if it was evicted."""
        with self.slots_lock:
            slot = self.slots.get(id(connection))
            if slot is None:
                return False
            slot.waiting_since = time.monotonic()
            self.slots_changed.notify_all()
        evicted = self.throttle.sleep_on(slot.evicted, seconds)
        with self.slots_lock:
            if not evicted:
                slot.waiting_since = None
                self.slots_changed.notify_all()
        return evicted

    def busy(self, connection: socket.socket) -> None:
        with self.slots_lock:
            slot = self.slots.get(id(connection))
            if slot is not None:
                slot.waiting_since = None
                slot.served += 1
                self.slots_changed.notify_all()

    def shutdown_request(self, request: Any) -> None:
        self._release(request)
        super().shutdown_request(request)

    # -- errors -----------------------------------------------------------------------------------

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that resets, times out or fails its TLS handshake is ordinary: say nothing."""
        self.report(client_address, sys.exc_info()[1])

    def report(self, client_address: Any, exc: BaseException | None) -> None:
        if exc is None or isinstance(exc, OSError):
            return
        # one line, the exception's type only: its text could quote a request
        sys.stderr.write(f"nestlab serve: a request from {client_address[0]} failed: {type(exc).__name__}\n")

    def close_connections(self) -> None:
        with self.slots_lock:
            for slot in self.slots.values():
                try:
                    slot.socket.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.slots.clear()


def _close_quietly(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    try:
        connection.close()
    except OSError:
        pass


class HostServer:
    """One host's endpoint listening on its own port, served by a background thread."""

    def __init__(
        self, endpoint: HostEndpoint, bind: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.scheme = "https" if tls is not None else "http"
        self._http = _HTTPServer((bind, port), endpoint, tls, limits or Limits())
        self.bind = bind
        self.port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.bind}:{self.port}/wsman"

    def start(self) -> "HostServer":
        if ntlm_store.available():
            ntlm_store.register(self.endpoint.credentials.user, self.endpoint.credentials.password, self.endpoint.host)
            self._registered = True
        self._thread.start()
        return self

    def stop(self) -> None:
        if getattr(self, "_registered", False):
            ntlm_store.unregister(self.endpoint.credentials.user, self.endpoint.host)
            self._registered = False
        if self._thread.is_alive():
            self._http.shutdown()
        self._http.close_connections()
        self._http.server_close()
        with self.endpoint.changed:
            self.endpoint.changed.notify_all()
        self._thread.join(timeout=5)


class LabServer:
    """Every host of a lab served at once: host i on `port + i` (or a free port each when 0)."""

    def __init__(
        self,
        lab: Any,
        credentials: Credentials,
        *,
        bind: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        execute: Executor | None = None,
        hosts: list[str] | None = None,
        limits: Limits | None = None,
        quotas: Quotas | None = None,
        guest_credential_required: bool = False,
    ) -> None:
        self.lab = lab
        self.execute = execute or LabExecutor(lab)
        names = hosts if hosts is not None else list(lab.hosts())
        self.servers: dict[str, HostServer] = {}
        try:
            for index, host in enumerate(names):
                endpoint = HostEndpoint(host, self.execute, credentials)
                endpoint.guests = GuestDoor(credentials, required=guest_credential_required)
                if quotas is not None:  # as `winrm set winrm/config/winrs @{MaxShellsPerUser=…}` would
                    endpoint.activity.quotas = quotas
                self.servers[host] = HostServer(endpoint, bind, port + index if port else 0, tls, limits)
        except OSError:
            self.stop()
            raise

    def start(self) -> "LabServer":
        for server in self.servers.values():
            server.start()
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def urls(self) -> dict[str, str]:
        return {host: server.url for host, server in self.servers.items()}

    def __enter__(self) -> "LabServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
