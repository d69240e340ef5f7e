"""A hostile-request corpus against the served endpoint: 0 crashes, 0 hangs (issue 13, "a suite that stays").

Each case is sent to an in-process `nestlab serve` of builtin:reference (the LabServer that
`serve` runs) on loopback. A request case must get an HTTP error (4xx/5xx: a SOAP fault is a
500) and never a dropped connection or a traceback; a socket case (idle, slowloris) must be
closed by the server within bounded time; after every case a good pypsrp client still works.
A hang is a socket read that outlasts GUARD. Loops are bounded in count and time.

This corpus covers the HTTP and authentication layers. Malformed SOAP after authentication
belongs with the WS-Management layer: add those cases to SOAP_CASES (each body is POSTed with a
good Basic header and must get a 4xx/5xx answer, normally a 500 SOAP fault).
"""

from __future__ import annotations

import base64
import socket
import time
from dataclasses import dataclass, field
from typing import Callable

import pytest

from nestlab.simulator import labfile
from nestlab.simulator.endpoint.auth import Credentials
from nestlab.simulator.endpoint.limits import Limits
from nestlab.simulator.endpoint.server import LabServer
from nestlab.simulator.endpoint.testing import PASSWORD, USER

from helpers_transport import GUARD, basic, exchange, good_client_works, post, read_answer

pytestmark = pytest.mark.endpoint

LIMITS = Limits(  # Windows' limits shrunk so the corpus runs in seconds; the logic is the same
    max_body=200_000, drain_limit=16_384, idle_timeout=1.0, handshake_timeout=1.0, max_connections=8,
    free_failures=3, failure_delay=0.01, max_failure_delay=0.02, linger_time=0.5,
)


@dataclass(frozen=True)
class Case:
    name: str
    request: bytes | Callable[[int], int | None]  # raw bytes, or a function of the port returning a status
    statuses: range | tuple[int, ...] = range(400, 600)


def _ntlm_type1_then_bogus_type3(port: int) -> int | None:
    import spnego

    first = spnego.client(USER, PASSWORD, protocol="ntlm").step()
    with socket.create_connection(("127.0.0.1", port), timeout=GUARD) as sock:
        sock.sendall(post(authorization="Negotiate " + base64.b64encode(first).decode()))
        challenge = read_answer(sock)
        assert challenge.status == 401 and challenge.headers["www-authenticate"].startswith("Negotiate ")
        bogus = b"NTLMSSP\x00\x03\x00\x00\x00" + b"\x00" * 80
        sock.sendall(post(authorization="Negotiate " + base64.b64encode(bogus).decode()))
        return read_answer(sock).status


def _type3_without_type1(port: int) -> int | None:
    bogus = b"NTLMSSP\x00\x03\x00\x00\x00" + b"\xff" * 64
    return exchange(port, post(b"<x/>", authorization="NTLM " + base64.b64encode(bogus).decode())).status


def _body_sent_in_full(size: int, authorization: str | None) -> Callable[[int], int | None]:
    def send(port: int) -> int | None:
        return exchange(port, post(b"A" * size, authorization=authorization)).status
    return send


def _encrypted_without_a_session(port: int) -> int | None:
    return exchange(port, post(b"--Encrypted Boundary\r\n", authorization=basic(), headers={
        "Content-Type": 'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"',
    })).status


LINE = b"\r\n"
HTTP_CASES = [
    Case("binary garbage", b"\x00\x01\x02\x03\xff\xfe" + LINE * 2),
    Case("GET", b"GET /wsman HTTP/1.1\r\nHost: x\r\n\r\n"),
    Case("OPTIONS", b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"),
    Case("HTTP/9.9", b"POST /wsman HTTP/9.9\r\nContent-Length: 0\r\n\r\n"),
    Case("HTTP/0.9 POST", b"POST /wsman\r\n\r\n"),
    Case("request line of 70 kB", b"POST /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n"),
    Case("header line of 70 kB", b"POST /wsman HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n"),
    Case("150 headers", b"POST /wsman HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(150)) + LINE),
    Case("header without a colon", b"POST /wsman HTTP/1.1\r\nNoColonHere\r\nContent-Length: 0\r\n\r\n"),
    Case("bare LF line ends", b"POST /wsman HTTP/1.1\nContent-Length: 0\n\n"),
    Case("NUL in a header", b"POST /wsman HTTP/1.1\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n"),
    Case("Content-Length abc", post(authorization=basic(), length="abc"), (400,)),
    Case("Content-Length -5", post(authorization=basic(), length="-5"), (400,)),
    Case("Content-Length 10^30", post(authorization=basic(), length="1" + "0" * 30), (400,)),
    Case("Content-Length 10^12", post(authorization=basic(), length="1" + "0" * 12), (413,)),
    Case("Content-Length 0x10", post(authorization=basic(), length="0x10"), (400,)),
    Case("two Content-Lengths", post(b"abc", authorization=basic(), headers={"Content-Length": "1"}), (400,)),
    Case("chunked", post(authorization=basic(), headers={"Transfer-Encoding": "chunked"}) + b"0\r\n\r\n", (501,)),
    Case("chunked and a length (smuggling)", post(b"0\r\n\r\nGET / HTTP/1.1\r\n\r\n", authorization=basic(),
                                                 headers={"Transfer-Encoding": "chunked"}), (501,)),
    Case("another path", post(authorization=basic(), path="/other"), (404,)),
    Case("path traversal", post(authorization=basic(), path="/wsman/../../etc/passwd"), (404,)),
    Case("asterisk path", post(authorization=basic(), path="*"), (404,)),
    Case("Expect 100-continue, no credential", post(b"x" * 10, headers={"Expect": "100-continue"}), (401,)),
    Case("encrypted body without a session", _encrypted_without_a_session, (400,)),
]

AUTH_CASES = [
    Case("no Authorization", post(b"<x/>"), (401,)),
    Case("Basic wrong password", post(b"<x/>", authorization=basic(password="wrong")), (401,)),
    Case("Basic wrong user", post(b"<x/>", authorization=basic(user="administrator")), (401,)),
    Case("Basic empty user and password", post(b"<x/>", authorization=basic("", "")), (401,)),
    Case("Basic with no value", post(b"<x/>", authorization="Basic"), (401,)),
    Case("Basic not base64", post(b"<x/>", authorization="Basic ***not base64***"), (401,)),
    Case("Basic without a colon", post(b"<x/>", authorization="Basic " + base64.b64encode(USER.encode()).decode()), (401,)),
    Case("Basic latin-1 bytes", post(b"<x/>", authorization="Basic \xe9\xff\xfe"), (401,)),
    Case("Basic UTF-8 text", post(b"<x/>").replace(b"\r\n\r\n", "\r\nAuthorization: Basic ∂é€\r\n\r\n".encode(), 1), (401,)),
    Case("Basic invalid UTF-8 inside", post(b"<x/>", authorization="Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()), (401,)),
    Case("Basic NUL bytes", post(b"<x/>", authorization="Basic " + base64.b64encode(f"{USER}\x00:{PASSWORD}".encode()).decode()), (401,)),
    Case("Basic password with a suffix", post(b"<x/>", authorization=basic(password=PASSWORD + "x")), (401,)),
    Case("Basic password prefix", post(b"<x/>", authorization=basic(password=PASSWORD[:-1])), (401,)),
    Case("Negotiate garbage", post(b"<x/>", authorization="Negotiate bm90IGEgdG9rZW4="), (401,)),
    Case("Negotiate empty", post(b"<x/>", authorization="Negotiate "), (401,)),
    Case("Negotiate not base64", post(b"<x/>", authorization="Negotiate %%%"), (401,)),
    Case("Negotiate 48 kB token", post(authorization="Negotiate " + base64.b64encode(b"\x60" + b"\x00" * 36_000).decode()), (401,)),
    Case("NTLM AUTHENTICATE with no NEGOTIATE", _type3_without_type1, (401,)),
    Case("NTLM NEGOTIATE then a bogus AUTHENTICATE", _ntlm_type1_then_bogus_type3, (401,)),
    Case("Kerberos", post(b"<x/>", authorization="Kerberos YIIB"), (401,)),
    Case("Digest", post(b"<x/>", authorization='Digest username="labadmin", response="0"'), (401,)),
    Case("Bearer", post(b"<x/>", authorization="Bearer eyJhbGciOi"), (401,)),
]

OVERSIZE_CASES = [
    Case("announced 150 kB, unauthenticated, nothing sent", post(authorization=basic(password="wrong"), length="150000"), (401,)),
    Case("1 MB body sent, unauthenticated", _body_sent_in_full(1_000_000, None), (413,)),
    Case("1 MB body sent, authenticated", _body_sent_in_full(1_000_000, basic()), (413,)),
    Case("100 kB body sent, wrong password", _body_sent_in_full(100_000, basic(password="wrong")), (401,)),
]

SOAP_CASES: list[Case] = [  # bodies POSTed with a good Basic header (the WS-Management layer's cases)
    Case("empty body", b"", range(400, 600)),
    Case("not XML", b"<<<", range(400, 600)),
]


def _soap(case: Case) -> Case:
    return Case(f"SOAP: {case.name}", post(case.request, authorization=basic()), case.statuses)


REQUEST_CASES = HTTP_CASES + AUTH_CASES + OVERSIZE_CASES + [_soap(c) for c in SOAP_CASES]


@pytest.fixture(scope="module")
def endpoint():
    server = LabServer(labfile.load("builtin:reference"), Credentials(USER, PASSWORD), hosts=["HV01"], limits=LIMITS)
    with server:
        yield server.servers["HV01"]


@dataclass
class Tally:
    """What the cases of this module saw, for the closing count."""

    cases: int = 0
    crashes: list[str] = field(default_factory=list)  # no HTTP answer, or a traceback on the server
    hangs: list[str] = field(default_factory=list)  # a read that outlasted GUARD


TALLY = Tally()


def _status(case: Case, port: int) -> int | None:
    if callable(case.request):
        return case.request(port)
    return exchange(port, case.request).status


@pytest.mark.parametrize("case", REQUEST_CASES, ids=[c.name for c in REQUEST_CASES])
def test_every_hostile_request_gets_an_http_error_and_the_endpoint_serves_on(endpoint, case, capfd):
    TALLY.cases += 1
    try:
        status = _status(case, endpoint.port)
    except (TimeoutError, socket.timeout):
        TALLY.hangs.append(case.name)
        raise
    if status is None:
        TALLY.crashes.append(case.name)
    assert status in case.statuses, f"{case.name}: {status}"
    assert good_client_works(endpoint.port, simulated=True)
    err = capfd.readouterr().err
    if "Traceback" in err:
        TALLY.crashes.append(case.name)
    assert "Traceback" not in err


def _held(port: int, count: int) -> list[socket.socket]:
    return [socket.create_connection(("127.0.0.1", port), timeout=GUARD) for _ in range(count)]


def test_idle_sockets_beyond_the_cap_neither_stop_the_endpoint_nor_stay_open(endpoint):
    TALLY.cases += 1
    idle = _held(endpoint.port, LIMITS.max_connections * 3)
    try:
        assert good_client_works(endpoint.port, simulated=True)
        for sock in idle:  # each is closed by the server: evicted, or its idle timeout passed
            try:
                assert sock.recv(1) == b""
            except ConnectionResetError:
                pass  # an evicted socket may see the shutdown as a reset
            except (TimeoutError, socket.timeout):
                TALLY.hangs.append("idle socket")
                raise
        assert len(endpoint._http.slots) <= LIMITS.max_connections
    finally:
        for sock in idle:
            sock.close()


def test_slowloris_headers_cannot_lock_out_a_good_client(endpoint):
    TALLY.cases += 1
    slow = _held(endpoint.port, LIMITS.max_connections)
    try:
        request = post(b"<x/>", authorization=basic())
        for step in range(6):  # a byte of headers each 0.2 s: under the idle timeout, so never idle
            for sock in slow:
                try:
                    sock.sendall(request[step:step + 1])
                except OSError:
                    pass  # already evicted
            time.sleep(0.2)
        assert good_client_works(endpoint.port, simulated=True)
    finally:
        for sock in slow:
            sock.close()


def test_an_idle_tls_socket_does_not_stop_a_tls_endpoint(tmp_path):
    from nestlab.simulator.endpoint import tls

    TALLY.cases += 1
    context = tls.server_context(tls.self_signed(tmp_path))
    server = LabServer(labfile.load("builtin:reference"), Credentials(USER, PASSWORD), hosts=["HV01"], tls=context, limits=LIMITS)
    with server:
        port = server.servers["HV01"].port
        idle = _held(port, 3)
        try:
            assert good_client_works(port, ssl=True, simulated=True)
        finally:
            for sock in idle:
                sock.close()


def test_zz_the_corpus_reports_no_crash_and_no_hang():
    """Runs last (by name): the tally of the cases above, as the issue asks for it."""
    if TALLY.cases < len(REQUEST_CASES):
        pytest.skip("the corpus's cases were not all run in this session (a -k selection): nothing to count")
    print(f"hostile corpus: {TALLY.cases} cases, {len(TALLY.crashes)} crashes, {len(TALLY.hangs)} hangs")
    assert TALLY.crashes == [] and TALLY.hangs == []
