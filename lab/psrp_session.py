"""PsrpSession: the Session protocol over PowerShell remoting (pypsrp), for real or served hosts.

One RunspacePool per host, opened on first use and kept until `close`, so a whole collection
costs one Create and one Delete per host plus a Command and a Receive per pipeline. Pipelines
are sent structured (`add_cmdlet` / `add_parameter` / `add_argument`); the only text ever built
is a guest's script block (simulator/endpoint/direct.py), with every value quoted there.

Results are read the way a Windows client reads them: output objects are mapped from their
CLIXML by `simulator.clixml.from_clixml` (the same reader SimSession's round trip uses), errors
come from `streams.error` (pypsrp's `had_errors` is only set for a Failed pipeline), and
`failed` is the pipeline's Failed state.

Secrets: the password comes from `password_for` (NESTLAB_PASSWORD, the OS keyring, or a prompt),
is handed to pypsrp and nowhere else; error text is scrubbed of it before it leaves this module.
"""

from __future__ import annotations

import getpass
import os
import sys
import threading
import uuid
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import requests
from pypsrp.complex_objects import ComplexObject, PSCredential
from pypsrp.exceptions import AuthenticationError, WinRMError
from pypsrp.messages import Message as PsrpMessage
from pypsrp.messages import PipelineOutput
from pypsrp.powershell import Fragmenter, PowerShell, PSInvocationState, RunspacePool
from pypsrp.serializer import Serializer, TaggedValue
from pypsrp.wsman import WSMan

from nestlab.lab import guest_credentials
from nestlab.lab.deadline import Deadline, DeadlineExceeded, guard
from nestlab.lab.guest_credentials import GuestCredential, GuestLogin
from nestlab.simulator import clixml
from nestlab.simulator.endpoint import direct
from nestlab.simulator.endpoint import psrp as psrp_wire
from nestlab.simulator.errors import AuthFailed, BadInput, HostUnreachable
from nestlab.simulator.psdata import Command, ErrorRecord, PSEnum, Result
from nestlab.simulator.session_protocol import Request, Runs, answered

AUTHS = ("negotiate", "ntlm", "kerberos", "credssp", "basic")
TRANSPORTS = ("https", "http")
PASSWORD_ENV = "NESTLAB_PASSWORD"
KEYRING_SERVICE = "nestlab"
PSRP_OUTPUT = psrp_wire.PIPELINE_OUTPUT
MAX_ENVELOPE_SIZE = 500 * 1024  # WinRM's default MaxEnvelopeSizekb (winrm get winrm/config)


@dataclass(frozen=True)
class HostAddress:
    """How to reach one host: what a psrp:// target or an inventory entry says."""

    name: str  # the host's name as probes and findings call it (HV01)
    server: str  # DNS name or address to connect to
    port: int | None = None  # None: 5986 for https, 5985 for http
    user: str | None = None
    transport: str = "https"
    auth: str = "negotiate"
    cert_validation: bool | str = True  # True, False, or a CA bundle path
    connect_timeout: float = 10.0
    operation_timeout: int = 20  # WS-Man OperationTimeout of each Receive, seconds
    guest_user: str | None = None  # PowerShell Direct's -Credential for this host's guests (lab/guest_credentials.py)
    guests: tuple[tuple[str, GuestLogin], ...] = ()  # per VM name: its own guest login

    def __post_init__(self) -> None:
        if self.transport not in TRANSPORTS:
            raise BadInput(f"{self.name}: transport must be one of {', '.join(TRANSPORTS)}, not {self.transport!r}")
        if self.auth not in AUTHS:
            raise BadInput(f"{self.name}: auth must be one of {', '.join(AUTHS)}, not {self.auth!r}")

    @property
    def effective_port(self) -> int:
        return self.port or (5986 if self.transport == "https" else 5985)

    @property
    def where(self) -> str:
        return f"{self.transport}://{self.server}:{self.effective_port}"

    def guest_login(self, vm_name: str) -> GuestLogin | None:
        """The login for PowerShell Direct into `vm_name`: its own, the host's, the run's, or none."""
        for name, login in self.guests:
            if name.lower() == vm_name.lower():
                return login
        return GuestLogin(self.guest_user) if self.guest_user else guest_credentials.default_login()


def password_for(address: HostAddress, *, prompt: bool | None = None) -> str | None:
    """NESTLAB_PASSWORD, else the OS keyring (service 'nestlab', user@server), else a prompt.

    None when there is no user (Kerberos with the current ticket). Never read from argv or files.
    """
    if address.user is None:
        return None
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    stored = _keyring_password(f"{address.user}@{address.server}")
    if stored:
        return stored
    if prompt if prompt is not None else sys.stdin.isatty():
        return getpass.getpass(f"Password for {address.user}@{address.server}: ")
    raise AuthFailed(address.name, f"{address.name}: no password for {address.user}: set {PASSWORD_ENV} or run interactively")


def _keyring_password(account: str) -> str | None:
    try:
        import keyring  # optional: only when installed
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, account)
    except Exception:  # a locked or absent backend is the same as no stored password
        return None


@dataclass
class _Connection:
    wsman: WSMan
    pool: RunspacePool
    lock: threading.Lock = field(default_factory=threading.Lock)
    keys_exchanged: bool = False  # a SecureString (a guest's password) needs the session key first


class PsrpSession(Runs):
    """A Session over PSRP to the hosts of a target (one psrp:// host or an inventory)."""

    concurrent_hosts = True  # separate machines: diagnosis.collect walks them at once, a thread each

    def __init__(
        self,
        addresses: Sequence[HostAddress],
        *,
        passwords: Callable[[HostAddress], str | None] = password_for,
        wsman_options: dict[str, Any] | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        self.addresses = {a.name: a for a in addresses}
        self.deadline = deadline.start() if deadline is not None else None  # one for every host of the session
        self._passwords = passwords
        self._wsman_options = dict(wsman_options or {})
        self._connections: dict[str, _Connection] = {}
        self._lock = threading.Lock()
        self._opening: dict[str, threading.Lock] = {}
        self._secrets: set[str] = set()
        self.round_trips = 0
        self._guest_credentials: dict[tuple[str, str], GuestCredential | None] = {}

    def hosts(self) -> list[str]:
        return list(self.addresses)

    def send(self, requests: Sequence[Request]) -> list[Result]:
        """One Result per request; each host's requests travel as one PSRP pipeline.

        A lone pipeline for the host goes structured (`add_cmdlet` / `add_parameter`). Several go
        as the constant `direct.BATCH` script with each pipeline rendered as quoted text (the
        same rendering as a guest's script block); all for one guest, as the constant
        `direct.GUEST_BATCH` running the same loop inside it through one PowerShell Direct hop;
        for different guests, each rendered as the host would run it, wrapped in Invoke-Command.
        With fan-out requests (`Request.guest_levels`) the constant `direct.FANOUT` carries the
        host's pipelines and fans the guests' out below it, still one pipeline.
        """
        results: dict[int, Result] = {}
        by_host: dict[str, list[int]] = {}
        for index, request in enumerate(requests):
            if not request.pipeline:
                raise ValueError("an empty pipeline")
            by_host.setdefault(request.host, []).append(index)
        for host, indexes in by_host.items():
            answers = self._send_host(host, [requests[i] for i in indexes])
            results.update(zip(indexes, answers))
        return answered(requests, [results[i] for i in range(len(requests))])

    def _send_host(self, host: str, requests: list[Request]) -> list[Result]:
        if self._has_guest_logins(host):
            return self._send_credentialed(host, requests)
        plain = [r for r in requests if not r.guest_levels]
        fanned = [r for r in requests if r.guest_levels]
        if len(plain) == 1 and not fanned:
            return [self._run_one(host, plain[0].pipeline, plain[0].vm)]
        if fanned:
            if len({(r.vm, r.guest_levels) for r in fanned}) != 1 or fanned[0].vm:
                raise ValueError("over PSRP a batch fans out once, from the host itself")
            statement = (direct.FANOUT, {"Pipeline": [direct.host_script(r.vm, r.pipeline) for r in plain],
                                         "Guest": [direct.render(r.pipeline) for r in fanned],
                                         "Levels": fanned[0].guest_levels})
        elif len({r.vm for r in plain}) == 1 and plain[0].vm:
            vm = plain[0].vm
            statement = (direct.GUEST_BATCH, {"VMName": vm[0], "Pipeline": [direct.guest_script(vm, r.pipeline) for r in plain]})
        else:
            statement = (direct.BATCH, {"Pipeline": [direct.host_script(r.vm, r.pipeline) for r in plain]})
        marker = f"nestlab-batch-{uuid.uuid4()}"
        ps = self._invoke(host, *statement, marker)
        if ps.state == PSInvocationState.FAILED:  # the batch itself failed: every pipeline did
            failure = _result(ps)
            return [Result() if r.guest_levels else failure for r in requests]
        items = [from_pypsrp(o) for o in ps.output]
        cut = _first_guest(items, marker)
        try:
            plain_answers = iter(_split_batch(items[:cut], marker, len(plain)) if plain else [])
            fan_answers = iter(_split_fanout(items[cut:], marker, len(fanned)))
        except ValueError as exc:
            raise HostUnreachable(host, f"{host}: {exc}") from None
        return [next(fan_answers) if r.guest_levels else next(plain_answers) for r in requests]

    def _run_one(self, host: str, pipeline: tuple[Command, ...], vm: tuple[str, ...]) -> Result:
        """A lone pipeline: structured cmdlets for the host, the WRAPPER script for a guest."""
        return _result(self._invoked(host, lambda ps: _add_pipeline(ps, pipeline, vm)))

    def _invoke(self, host: str, script: str, parameters: dict[str, Any], marker: str) -> PowerShell:
        """One constant script of `direct` with its parameters, as one PSRP pipeline."""

        def build(ps: PowerShell) -> None:
            ps.add_script(script)
            for name, value in {**parameters, "Marker": marker}.items():
                ps.add_parameter(name, value)

        return self._invoked(host, build)

    def _invoked(self, host: str, build: Callable[[PowerShell], None]) -> PowerShell:
        """A PowerShell pipeline on the host's pool, built by `build`, invoked and complete."""
        connection = self._connection(host)
        with connection.lock:
            ps = PowerShell(connection.pool)
            build(ps)
            try:
                ps.invoke()
            except _HOST_ERRORS as exc:
                raise self._unreachable(host, "lost during a pipeline", exc) from None
            self.round_trips += 1
            return ps

    def close(self) -> None:
        """Every host's pool closed side by side: a Delete is a round trip, and twenty hosts
        closed one after another paid twenty of them (1.1 s at 50 ms, more than the walk itself)."""
        with self._lock:
            connections, self._connections = self._connections, {}
        if len(connections) < 2:
            for connection in connections.values():
                _close(connection)
            return
        with ThreadPoolExecutor(min(len(connections), CLOSE_THREADS), thread_name_prefix="nestlab-close") as pool:
            list(pool.map(_close, connections.values()))

    # -- guest credentials (PowerShell Direct's -Credential) ----------------------------------------

    def _has_guest_logins(self, host: str) -> bool:
        """Whether this host's guests are entered with a credential (`--guest-user`, an inventory's
        `guest_user`/`guests`): then no fan-out, because a credential travels only as a parameter of
        a constant wrapper, never inside the fan-out's rendered texts."""
        address = self.addresses.get(host)
        if address is None:
            return guest_credentials.default_login() is not None
        return bool(address.guests) or address.guest_login("") is not None

    def _send_credentialed(self, host: str, requests: list[Request]) -> list[Result]:
        """The host's requests, one PSRP pipeline per guest path, each hop with its own credential.

        A fan-out request gets an answer with no guests, so the collector walks them a level per
        round (as it does when a host refuses the fan-out)."""
        results: dict[int, Result] = {}
        groups: dict[tuple[str, ...], list[int]] = {}
        for index, request in enumerate(requests):
            if request.guest_levels:
                results[index] = Result()
            else:
                groups.setdefault(request.vm, []).append(index)
        for vm, indexes in groups.items():
            answers = self._credentialed(host, vm, [requests[i].pipeline for i in indexes])
            results.update(zip(indexes, answers))
        return [results[i] for i in range(len(requests))]

    def _credentialed(self, host: str, vm: tuple[str, ...], pipelines: list[tuple[Command, ...]]) -> list[Result]:
        levels = self._levels(host, vm)
        if len(vm) > 1 and any(levels):  # a guest below a guest: one PowerShell Direct hop per level (direct.HOPS)
            connection = self._connection(host)
            return self._batch(host, direct.HOPS, {"Path": list(vm),
                                                   "Credentials": [self._pscredential(connection, c) for c in levels]},
                               [direct.render(p) for p in pipelines])
        credential = self._pscredential(self._connection(host), levels[0]) if vm else None
        if len(pipelines) == 1:
            return [_result(self._invoked(host, lambda ps: _add_pipeline(ps, pipelines[0], vm, credential)))]
        if not vm:
            return self._batch(host, direct.BATCH, {}, [direct.render(p) for p in pipelines])
        if credential is None:
            return self._batch(host, direct.GUEST_BATCH, {"VMName": vm[0]}, [direct.guest_script(vm, p) for p in pipelines])
        return self._batch(host, direct.GUEST_BATCH_CREDENTIAL, {"VMName": vm[0], "Credential": credential},
                           [direct.guest_script(vm, p) for p in pipelines])

    def _batch(self, host: str, script: str, parameters: dict[str, Any], texts: list[str]) -> list[Result]:
        """One constant batch script of `direct` over `texts`, its output split per text."""
        marker = f"nestlab-batch-{uuid.uuid4()}"
        ps = self._invoke(host, script, {**parameters, "Pipeline": texts}, marker)
        if ps.state == PSInvocationState.FAILED:  # the batch itself failed: every pipeline did
            failure = _result(ps)
            return [failure for _ in texts]
        try:
            return _split_batch([from_pypsrp(o) for o in ps.output], marker, len(texts))
        except ValueError as exc:
            raise HostUnreachable(host, f"{host}: {exc}") from None

    def _levels(self, host: str, vm: Sequence[str]) -> list[GuestCredential | None]:
        return [self._guest_credential(host, name) for name in vm]

    def _guest_credential(self, host: str, vm_name: str) -> GuestCredential | None:
        """The credential for `vm_name` on `host`, resolved once (lab/guest_credentials.py)."""
        key = (host, vm_name.lower())
        with self._lock:
            if key in self._guest_credentials:
                return self._guest_credentials[key]
        address = self.addresses.get(host)
        login = address.guest_login(vm_name) if address is not None else guest_credentials.default_login()
        credential = guest_credentials.resolve(login, where=f"{host}/{vm_name}") if login else None
        with self._lock:
            if credential is not None:
                self._secrets.add(credential.password)
            self._guest_credentials[key] = credential
        return credential

    def _pscredential(self, connection: _Connection, credential: GuestCredential | None) -> PSCredential | None:
        """The PSCredential parameter; its password is a SecureString, so the keys are exchanged first."""
        if credential is None:
            return None
        if not connection.keys_exchanged:
            try:
                connection.pool.exchange_keys()
            except _HOST_ERRORS as exc:
                raise HostUnreachable("", f"the session key exchange failed: {self._scrub(_reason(exc))}") from None
            connection.keys_exchanged = True
        return PSCredential(username=credential.user, password=credential.password)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    # -- connections ------------------------------------------------------------------------------

    def _connection(self, host: str) -> _Connection:
        with self._lock:  # only to find the host's own lock: hosts open side by side, each once
            opening = self._opening.setdefault(host, threading.Lock())
        with opening:
            found = self._connections.get(host)
            if found is not None:
                return found
            address = self.addresses.get(host)
            if address is None:
                raise BadInput(f"{host}: not a host of this target (hosts: {', '.join(self.addresses)})")
            connection = self._open(address)
            with self._lock:
                self._connections[host] = connection
            return connection

    def _open(self, address: HostAddress) -> _Connection:
        password = self._passwords(address)
        if password:
            self._secrets.add(password)
        options = dict(
            port=address.effective_port,
            username=address.user,
            password=password,
            ssl=address.transport == "https",
            auth=address.auth,
            cert_validation=address.cert_validation,
            connection_timeout=address.connect_timeout,
            operation_timeout=address.operation_timeout,
            read_timeout=address.operation_timeout + 10,
            encryption="never" if address.auth == "basic" else "auto",  # basic cannot encrypt messages
            # Windows' default MaxEnvelopeSizekb (500): a whole host's fan-out answer in one Receive
            # (pypsrp's own default is 150 KiB)
            max_envelope_size=MAX_ENVELOPE_SIZE,
            no_proxy=address.server in ("127.0.0.1", "localhost", "::1"),
        )
        options.update(self._wsman_options)
        try:
            wsman = WSMan(address.server, **options)
            if self.deadline is not None:
                guard(wsman.transport, self.deadline, connect_timeout=address.connect_timeout,
                      read_timeout=address.operation_timeout + 10)
            pool = RunspacePool(wsman)
            _parse_output_once(pool)
            pool.open()
        except (*_HOST_ERRORS, ValueError) as exc:
            raise self._unreachable(address.name, "cannot open a PowerShell session", exc) from None
        return _Connection(wsman, pool)

    def _unreachable(self, host: str, what: str, exc: BaseException) -> HostUnreachable | AuthFailed:
        """The one-line error for a host that failed: AuthFailed when it refused the credentials."""
        address = self.addresses.get(host)
        where = address.where if address else host
        reason = _reason(exc)
        for secret in self._secrets:
            reason = reason.replace(secret, "***")
        kind = AuthFailed if isinstance(exc, AuthenticationError) else HostUnreachable
        return kind(host, f"{host} ({where}): {what}: {reason}")


CLOSE_THREADS = 32  # pools closed at once (as diagnosis.collect walks at most 32 hosts at once)


def _close(connection: _Connection) -> None:
    try:
        connection.pool.close()
    except Exception:  # closing is best effort: the host may already be gone
        pass
    connection.wsman.close()


class _OutputOnce(Serializer):
    """pypsrp's serializer, except that output objects are read once, by our own CLIXML reader.

    pypsrp deserializes every PIPELINE_OUTPUT object into its own objects and writes each
    element back to text (`_xml`), which `from_pypsrp` then parsed again: most of a collection's
    client CPU (cProfile: 5.7 of 8.9 s for 20 hosts). A PIPELINE_OUTPUT message is the one call
    that comes with no metadata and as text; it becomes `clixml.from_clixml(text)` directly, the
    reader SimSession's round trip is checked against. Everything else is pypsrp's as before."""

    def deserialize(self, element: Any, metadata: Any = None, clear: bool = True) -> Any:
        if metadata is None and isinstance(element, str):
            try:
                return clixml.from_clixml(element)
            except (ET.ParseError, ValueError):
                pass  # what our reader does not know, pypsrp's may
        return super().deserialize(element, metadata, clear)


class _Output:
    """A PIPELINE_OUTPUT message as pypsrp's receive loop reads it: `message_type`, `data.data`."""

    __slots__ = ("message_type", "data")

    def __init__(self, value: Any) -> None:
        self.message_type = PSRP_OUTPUT
        self.data = PipelineOutput(value)


class _OutputOnceFragmenter(Fragmenter):
    """pypsrp's fragmenter, except that received messages are reassembled by our own
    `simulator.endpoint.psrp.Defragmenter` (MS-PSRP 2.2.4) and output objects skip pypsrp's
    Message.unpack (two UUIDs to text, a table of thirty classes, per message: with a marker
    before each pipeline's answer a host sends hundreds). Other messages go to pypsrp as before."""

    def __init__(self, max_size: int, serializer: Serializer) -> None:
        super().__init__(max_size, serializer)
        self._reassembly = psrp_wire.Defragmenter()

    def defragment(self, data: bytes) -> list[Any]:
        try:
            messages = self._reassembly.feed(data)
        except ValueError as exc:  # simulator.endpoint.wsman.WSManFault: what it could not read
            raise ET.ParseError(f"unreadable PSRP fragments: {exc}") from None  # a host error, one line
        return [_Output(self.serializer.deserialize(m.body)) if m.message_type == PSRP_OUTPUT
                else PsrpMessage.unpack(m.pack(), self.serializer) for m in messages]


def _parse_output_once(pool: RunspacePool) -> None:
    """Put `_OutputOnce` and `_OutputOnceFragmenter` where this pool reads messages (pypsrp 0.9's
    private attributes, pinned in pyproject.toml; a pool without them keeps pypsrp's own and is
    only slower)."""
    fragmenter = getattr(pool, "_fragmenter", None)
    if fragmenter is None or not hasattr(fragmenter, "max_size") or not hasattr(pool, "_serializer"):
        return
    serializer = _OutputOnce()
    pool._serializer = serializer
    pool._fragmenter = _OutputOnceFragmenter(fragmenter.max_size + 21, serializer)  # 21: its header, taken off again


_HOST_ERRORS = (WinRMError, requests.RequestException, ET.ParseError, OSError, DeadlineExceeded)


def _reason(exc: BaseException) -> str:
    """One line on why a host failed, without a traceback or a response dump."""
    if isinstance(exc, DeadlineExceeded):
        return str(exc)
    if isinstance(exc, AuthenticationError):
        return "the credentials were rejected (HTTP 401)"
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS certificate could not be verified (use a CA bundle or a trusted certificate)"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "the host did not answer in time"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection refused or dropped"
    if isinstance(exc, ET.ParseError):
        return "the answer is not WS-Management XML"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


# ----------------------------------------------------------------------------------------------
# pipeline out, result back
# ----------------------------------------------------------------------------------------------


def _add_pipeline(ps: PowerShell, pipeline: tuple[Command, ...], vm: tuple[str, ...],
                  credential: PSCredential | None = None) -> None:
    if vm:
        _add_guest_wrapper(ps, vm, direct.guest_script(vm, pipeline), credential)
        return
    for command in pipeline:
        ps.add_cmdlet(command.name)
        for name, value in command.parameters:
            ps.add_parameter(name, _wire(value))
        for argument in command.arguments:
            ps.add_argument(_wire(argument))


def _add_guest_wrapper(ps: PowerShell, vm: tuple[str, ...], script: str, credential: PSCredential | None) -> None:
    """PowerShell Direct into vm[0]: the constant wrapper, with `-Credential` when there is one."""
    ps.add_script(direct.WRAPPER_CREDENTIAL if credential is not None else direct.WRAPPER)
    ps.add_parameter("VMName", vm[0])
    ps.add_parameter("Script", script)
    if credential is not None:
        ps.add_parameter("Credential", credential)


def _wire(value: Any) -> Any:
    """A parameter value as pypsrp should serialize it (its ints are always I32)."""
    if isinstance(value, PSEnum):
        return value.name
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and not -(2**31) <= value < 2**31:
        return TaggedValue("I64", value)
    if isinstance(value, (list, tuple)):
        return [_wire(v) for v in value]
    return value


def from_pypsrp(value: Any) -> Any:
    """An output object as psdata: complex objects are read again from their own CLIXML."""
    xml = getattr(value, "_xml", None) if isinstance(value, ComplexObject) else None
    if xml:
        return clixml.from_clixml(xml)
    if isinstance(value, list):
        return [from_pypsrp(v) for v in value]
    return value


def _error(value: Any) -> ErrorRecord:
    converted = from_pypsrp(value)
    if isinstance(converted, ErrorRecord):
        return converted
    return ErrorRecord(message=str(value), fully_qualified_error_id="", terminating=False)


def _first_guest(items: list[Any], marker: str) -> int:
    """Where a fan-out's output begins (its first "<marker> guest …"); the end when there is none."""
    prefix = f"{marker} guest "
    for index, item in enumerate(items):
        if isinstance(item, str) and item.startswith(prefix):
            return index
    return len(items)


def _split_fanout(items: list[Any], marker: str, count: int) -> list[Result]:
    """Undo direct.FANOUT's framing: per guest, BATCH's groups of its `count` pipelines. The host
    walks depth first; each answer lists its guests parents first (stable by depth), as SimSession does."""
    prefix = f"{marker} guest "
    guests: list[tuple[tuple[str, ...], list[Any]]] = []
    for item in items:
        if isinstance(item, str) and item.startswith(prefix):
            guests.append((tuple(item[len(prefix):].split("/")), []))
        elif guests:
            guests[-1][1].append(item)
        else:
            raise ValueError("a fan-out answered before naming its guest")
    answers: list[list[tuple[tuple[str, ...], Result]]] = [[] for _ in range(count)]
    for path, body in sorted(guests, key=lambda guest: len(guest[0])):
        for index, result in enumerate(_split_batch(body, marker, count)):
            answers[index].append((path, result))
    return [Result(guests=tuple(found)) for found in answers]


def _split_batch(items: list[Any], marker: str, count: int) -> list[Result]:
    """Undo direct.BATCH's framing: marker, objects and error records, maybe "<marker> failed"."""
    groups: list[list[Any]] = []
    for item in items:
        if item == marker:
            groups.append([])
        elif groups:
            groups[-1].append(item)
    if len(groups) != count:
        raise ValueError(f"a batch of {count} pipelines came back as {len(groups)}")
    results = []
    for group in groups:
        failed = bool(group) and group[-1] == f"{marker} failed"
        body = group[:-1] if failed else group
        results.append(Result(
            output=tuple(i for i in body if not isinstance(i, ErrorRecord)),
            errors=tuple(i for i in body if isinstance(i, ErrorRecord)),
            failed=failed,
        ))
    return results


def _result(ps: PowerShell) -> Result:
    return Result(
        output=tuple(from_pypsrp(o) for o in ps.output),
        errors=tuple(_error(e) for e in ps.streams.error),
        failed=ps.state == PSInvocationState.FAILED,
    )
