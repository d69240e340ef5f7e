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
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import requests
from pypsrp.complex_objects import ComplexObject, PSCredential
from pypsrp.exceptions import AuthenticationError, WinRMError
from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool
from pypsrp.serializer import TaggedValue
from pypsrp.wsman import WSMan

from nestlab.lab import guest_credentials
from nestlab.lab.deadline import Deadline, DeadlineExceeded, guard
from nestlab.lab.guest_credentials import GuestCredential, GuestLogin
from nestlab.simulator import clixml
from nestlab.simulator.endpoint import direct
from nestlab.simulator.errors import BadInput
from nestlab.simulator.psdata import Command, ErrorRecord, PSEnum, Result

AUTHS = ("negotiate", "ntlm", "kerberos", "credssp", "basic")
TRANSPORTS = ("https", "http")
PASSWORD_ENV = "NESTLAB_PASSWORD"
KEYRING_SERVICE = "nestlab"


class HostUnreachable(BadInput):
    """One host refused, timed out, rejected the credentials or answered garbage.

    A BadInput, so the CLI prints it as one line and exits 2; a caller collecting several hosts
    catches it per host and goes on with the others.
    """

    def __init__(self, host: str, message: str) -> None:
        self.host = host
        super().__init__(message)


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
    raise BadInput(f"{address.name}: no password for {address.user}: set {PASSWORD_ENV} or run interactively")


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


class PsrpSession:
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

    def run(self, host: str, pipeline: Sequence[Command], *, vm: Sequence[str] = ()) -> Result:
        if not pipeline:
            raise ValueError("an empty pipeline")
        if len(vm) > 1 and any(self._levels(host, vm)):
            return self._hops(host, tuple(vm), [tuple(pipeline)])[0]
        connection = self._connection(host)
        credential = self._guest_credential(host, vm[0]) if vm else None
        with connection.lock:
            ps = PowerShell(connection.pool)
            _add_pipeline(ps, tuple(pipeline), tuple(vm), self._pscredential(connection, credential))
            try:
                ps.invoke()
            except _HOST_ERRORS as exc:
                raise self._unreachable(host, "lost during a pipeline", exc) from None
            self.round_trips += 1
            return _result(ps)

    def run_batch(
        self, host: str, pipelines: Sequence[Sequence[Command]], *, vm: Sequence[str] = (),
        vms: Sequence[Sequence[str]] | None = None,
    ) -> list[Result]:
        """One Result per pipeline; all of them travel as one PSRP pipeline.

        The batch is the constant `direct.BATCH` script with each pipeline rendered as quoted
        text (the same rendering as a guest's script block); for a guest, the constant
        `direct.GUEST_BATCH` runs the same loop inside it through one PowerShell Direct hop.
        With `vms` (one guest path per pipeline, () for the host) the pipelines may go to
        different guests: each is rendered as the host would run it, wrapped in Invoke-Command.
        """
        if vms is not None:
            if len(vms) != len(pipelines):
                raise ValueError("vms needs one guest path per pipeline")
            if not any(vms):
                return self.run_batch(host, pipelines)
            if any(any(self._levels(host, v)) for v in vms if v):
                return self._per_guest(host, pipelines, vms)
            return self._batch(host, direct.BATCH, None,
                               [direct.host_script(tuple(v), tuple(p)) for v, p in zip(vms, pipelines)])
        if len(pipelines) < 2:
            return [self.run(host, pipeline, vm=vm) for pipeline in pipelines]
        if len(vm) > 1 and any(self._levels(host, vm)):
            return self._hops(host, tuple(vm), [tuple(p) for p in pipelines])
        if vm:
            credential = self._guest_credential(host, vm[0])
            return self._batch(host, direct.GUEST_BATCH_CREDENTIAL if credential else direct.GUEST_BATCH, vm[0],
                               [direct.guest_script(tuple(vm), tuple(p)) for p in pipelines], credential)
        return self._batch(host, direct.BATCH, None, [direct.render(tuple(p)) for p in pipelines])

    def _per_guest(self, host: str, pipelines: Sequence[Sequence[Command]],
                   vms: Sequence[Sequence[str]]) -> list[Result]:
        """`run_batch(vms=…)` when a guest needs a credential: one batch per guest path (a credential
        travels as a parameter of the wrapper, never inside a rendered host-level text)."""
        groups: dict[tuple[str, ...], list[int]] = {}
        for index, path in enumerate(vms):
            groups.setdefault(tuple(path), []).append(index)
        results: list[Result | None] = [None] * len(pipelines)
        for path, indexes in groups.items():
            for index, result in zip(indexes, self.run_batch(host, [pipelines[i] for i in indexes], vm=path)):
                results[index] = result
        return [r for r in results if r is not None]

    def _hops(self, host: str, vm: tuple[str, ...], pipelines: list[tuple[Command, ...]]) -> list[Result]:
        """Pipelines for a guest below a guest, each level entered with its own credential
        (direct.HOPS): a rendered inner `Invoke-Command -VMName` could carry none."""
        return self._batch(host, direct.HOPS, None, [direct.render(p) for p in pipelines],
                           hops=(vm, self._levels(host, vm)))

    def _levels(self, host: str, vm: Sequence[str]) -> list[GuestCredential | None]:
        return [self._guest_credential(host, name) for name in vm]

    def _batch(self, host: str, script: str, vm_name: str | None, texts: list[str],
               credential: GuestCredential | None = None,
               hops: tuple[tuple[str, ...], list[GuestCredential | None]] | None = None) -> list[Result]:
        """Send one batch script (direct.BATCH, GUEST_BATCH[_CREDENTIAL]) and split its output per text."""
        marker = f"nestlab-batch-{uuid.uuid4()}"
        connection = self._connection(host)
        with connection.lock:
            ps = PowerShell(connection.pool)
            ps.add_script(script)
            if vm_name is not None:
                ps.add_parameter("VMName", vm_name)
            ps.add_parameter("Pipeline", texts)
            ps.add_parameter("Marker", marker)
            if credential is not None:
                ps.add_parameter("Credential", self._pscredential(connection, credential))
            if hops is not None:
                ps.add_parameter("Path", list(hops[0]))
                ps.add_parameter("Credentials", [self._pscredential(connection, c) for c in hops[1]])
            try:
                ps.invoke()
            except _HOST_ERRORS as exc:
                raise self._unreachable(host, "lost during a pipeline", exc) from None
            self.round_trips += 1
            if ps.state == PSInvocationState.FAILED:  # the batch itself failed: every pipeline did
                failure = _result(ps)
                return [failure for _ in texts]
            try:
                return _split_batch([from_pypsrp(o) for o in ps.output], marker, len(texts))
            except ValueError as exc:
                raise HostUnreachable(host, f"{host}: {exc}") from None

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, {}
        for connection in connections.values():
            try:
                connection.pool.close()
            except Exception:  # closing is best effort: the host may already be gone
                pass
            connection.wsman.close()

    def __enter__(self) -> "PsrpSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- guest credentials (PowerShell Direct's -Credential) ----------------------------------------

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
            no_proxy=address.server in ("127.0.0.1", "localhost", "::1"),
        )
        options.update(self._wsman_options)
        try:
            wsman = WSMan(address.server, **options)
            if self.deadline is not None:
                guard(wsman.transport, self.deadline, connect_timeout=address.connect_timeout,
                      read_timeout=address.operation_timeout + 10)
            pool = RunspacePool(wsman)
            pool.open()
        except (*_HOST_ERRORS, ValueError) as exc:
            raise self._unreachable(address.name, "cannot open a PowerShell session", exc) from None
        return _Connection(wsman, pool)

    def _unreachable(self, host: str, what: str, exc: BaseException) -> HostUnreachable:
        address = self.addresses.get(host)
        where = address.where if address else host
        reason = _reason(exc)
        for secret in self._secrets:
            reason = reason.replace(secret, "***")
        return HostUnreachable(host, f"{host} ({where}): {what}: {reason}")


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
