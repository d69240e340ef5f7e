"""Plain http before authentication costs a client almost nothing (issue 13, item 5).

The body is never read before the credential is checked, its size is capped, a malformed
length or Authorization header is a clean HTTP error, connections are bounded in number and
idle time, and wrong credentials are answered ever more slowly.
"""

from __future__ import annotations

import socket

import pytest

from nestlab.simulator.endpoint.limits import Limits
from nestlab.simulator.endpoint.testing import serve_fake
from nestlab.simulator.endpoint.throttle import AuthThrottle

from helpers_transport import GUARD, basic, exchange, good_client_works, post, read_answer

pytestmark = pytest.mark.endpoint


@pytest.fixture
def port():
    with serve_fake() as (server, _):
        yield server.servers["HV01"].port


def test_a_large_unauthenticated_body_is_refused_before_it_is_sent(port):
    # 400 kB announced, none sent: a server that read the body first would wait for it (a hang)
    answer = exchange(port, post(authorization=basic(password="wrong"), length="400000"))
    assert answer.status == 401 and answer.headers["connection"] == "close"


def test_no_credential_is_a_challenge_for_negotiate_and_basic_before_the_body(port):
    answer = exchange(port, post(length="400000"))
    assert answer.status == 401
    assert "Negotiate" in answer.headers["www-authenticate"] and 'Basic realm="WSMAN"' in answer.headers["www-authenticate"]


def test_a_small_refused_body_is_dropped_and_the_connection_serves_on(port):
    with socket.create_connection(("127.0.0.1", port), timeout=GUARD) as sock:
        sock.sendall(post(b"<x/>" * 100, authorization=basic(password="wrong")))
        assert read_answer(sock).status == 401
        sock.sendall(post(b"not soap", authorization=basic()))
        assert read_answer(sock).status == 400  # authenticated now: the endpoint read and judged the body


def test_a_body_over_the_cap_is_413_even_with_the_right_password(port):
    limit = Limits().max_body
    answer = exchange(port, post(authorization=basic(), length=str(limit + 1)))
    assert answer.status == 413 and answer.headers["connection"] == "close"


@pytest.mark.parametrize("length, status", [
    ("abc", 400), ("-1", 400), ("1e3", 400), (" ", 400), ("99999999999999999999999999", 400),
    ("999999999999", 413), ("\u0663", 400),  # an Arabic-Indic digit: str.isdigit() would say yes
])
def test_a_malformed_or_huge_content_length_is_a_clean_http_error(port, length, status, capsys):
    assert exchange(port, post(authorization=basic(), length=length)).status == status
    assert good_client_works(port)
    assert "Traceback" not in capsys.readouterr().err


def test_two_different_content_lengths_and_chunked_bodies_are_refused(port):
    assert exchange(port, post(b"abc", authorization=basic(), headers={"Content-Length": "2"})).status == 400
    chunked = post(authorization=basic(), headers={"Transfer-Encoding": "chunked"}).replace(b"Content-Length: 0\r\n", b"")
    assert exchange(port, chunked + b"3\r\nabc\r\n0\r\n\r\n").status == 501


@pytest.mark.parametrize("authorization", [
    "Basic \xe9\xe8\xff", "Basic " + "\u00e9" * 40, "Negotiate \xff\xfe", "NTLM %%%", "Basic", "Basic =",
    "Bearer abc", "Negotiate", "Negotiate " + "A" * 4000,
])
def test_a_malformed_authorization_header_is_401_and_no_traceback(port, authorization, capsys):
    answer = exchange(port, post(b"<x/>", authorization=authorization))
    assert answer.status == 401
    assert good_client_works(port)
    assert "Traceback" not in capsys.readouterr().err


def test_a_utf8_authorization_header_is_401():
    with serve_fake() as (server, _):
        port = server.servers["HV01"].port
        raw = post(b"<x/>").replace(b"\r\n\r\n", "\r\nAuthorization: Basic é€\r\n\r\n".encode("utf-8"), 1)
        assert exchange(port, raw).status == 401


def test_an_idle_connection_is_closed_after_the_idle_timeout():
    with serve_fake(limits=Limits(idle_timeout=0.3)) as (server, _):
        port = server.servers["HV01"].port
        with socket.create_connection(("127.0.0.1", port), timeout=GUARD) as idle:
            assert idle.recv(1) == b""  # closed by the server; a hang would be socket.timeout
        with socket.create_connection(("127.0.0.1", port), timeout=GUARD) as kept:
            kept.sendall(post(b"x", authorization=basic()))
            assert read_answer(kept).status == 400
            assert kept.recv(1) == b""  # a keep-alive connection that goes quiet is closed too


def test_connections_are_capped_and_busy_ones_are_not_evicted():
    limits = Limits(max_connections=3)
    with serve_fake(limits=limits) as (server, _):
        port = server.servers["HV01"].port
        http = server.servers["HV01"]._http
        busy = []
        for _ in range(limits.max_connections):  # each is mid-body: authenticated, 10 of 100 bytes sent
            sock = socket.create_connection(("127.0.0.1", port), timeout=GUARD)
            sock.sendall(post(b"0123456789", authorization=basic(), length="100"))
            busy.append(sock)
        try:
            # the server parses each one's headers in that connection's thread: wait until all three are mid-request
            assert http.wait_for_slots(lambda slots: len(slots) == 3 and all(s.served and s.waiting_since is None
                                                                            for s in slots), GUARD)
            assert exchange(port, post(authorization=basic())).status == 503
            assert len(http.slots) <= limits.max_connections
        finally:
            for sock in busy:
                sock.close()
        # a closed client is noticed by its connection's thread, which then gives the slot back: until
        # then the three are still mid-request and a newcomer is rightly turned away
        assert http.wait_for_slots(lambda slots: not slots, GUARD)
        assert good_client_works(port)


def test_the_throttle_spaces_checks_after_a_few_failures_doubling_up_to_a_ceiling():
    now = [0.0]
    throttle = AuthThrottle(Limits(free_failures=2, failure_delay=0.5, max_failure_delay=2.0, failure_window=60),
                            clock=lambda: now[0])
    waits = []
    for _ in range(6):  # six wrong attempts, one right after the other
        waits.append(throttle.reserve("10.0.0.1"))
        now[0] += waits[-1]
        throttle.failed("10.0.0.1")
    assert waits == [0, 0, 0.5, 1.0, 2.0, 2.0]
    assert throttle.reserve("10.0.0.2") == 0  # per client
    now[0] += 61.0
    assert throttle.reserve("10.0.0.1") == 0  # the window has passed


def test_parallel_attempts_of_one_client_are_spaced_as_sequential_ones():
    throttle = AuthThrottle(Limits(free_failures=0, failure_delay=1.0, max_failure_delay=1.0), clock=lambda: 0.0)
    throttle.failed("10.0.0.1")
    assert [throttle.reserve("10.0.0.1") for _ in range(4)] == [1.0, 2.0, 3.0, 4.0]  # four connections at once


def test_a_right_credential_clears_the_record():
    throttle = AuthThrottle(Limits(free_failures=0), clock=lambda: 0.0)
    throttle.failed("10.0.0.1")
    throttle.succeeded("10.0.0.1")
    assert throttle.reserve("10.0.0.1") == 0


def test_wrong_users_and_wrong_passwords_are_throttled_alike_before_they_are_checked():
    now, held = [0.0], []

    def wait(cancelled, seconds):  # the test's clock: record the hold and let the time pass at once
        held.append(seconds)
        now[0] += seconds
        return False

    with serve_fake() as (server, _):
        http = server.servers["HV01"]._http
        http.throttle = AuthThrottle(http.limits, clock=lambda: now[0], wait=wait)
        port = server.servers["HV01"].port
        with socket.create_connection(("127.0.0.1", port), timeout=GUARD) as sock:
            for user, password in [("nobody", "S3cret-pa55"), ("labadmin", "wrong")] * 3:
                sock.sendall(post(b"<x/>", authorization=basic(user, password)))
                assert read_answer(sock).status == 401
        assert held == [0.5, 1.0, 2.0]  # before the 4th, 5th and 6th check, whichever part was wrong
        assert good_client_works(port)  # a right password is checked after its turn, then clears the record
        assert held == [0.5, 1.0, 2.0, 4.0]
        assert good_client_works(port) and held == [0.5, 1.0, 2.0, 4.0]


def test_guessers_held_back_by_the_throttle_make_room_for_a_good_client():
    limits = Limits(max_connections=2, free_failures=0, failure_delay=30.0, max_failure_delay=30.0)
    guesser = ("127.0.0.2", 0)  # another loopback address: the throttle is per client address
    with serve_fake(limits=limits) as (server, _):
        port = server.servers["HV01"].port
        http = server.servers["HV01"]._http
        assert exchange_from(guesser, port, post(b"<x/>", authorization=basic(password="guess"))).status == 401
        # that connection's thread gives its slot back once it sees the close; a held one connecting
        # before that would find a full server and, never used yet, be the one evicted
        assert http.wait_for_slots(lambda slots: not slots, GUARD)
        held = [socket.create_connection(("127.0.0.1", port), timeout=GUARD, source_address=guesser) for _ in range(2)]
        try:
            for sock in held:  # the guesser's next attempts wait their turn (30 s, 60 s) before any check
                sock.sendall(post(b"<x/>", authorization=basic(password="guess")))
            assert http.wait_for_slots(lambda slots: len(slots) == 2 and all(s.served and s.waiting_since is not None
                                                                            for s in slots), GUARD)  # both held
            assert good_client_works(port)  # took a held guesser's place: no 503, no wait of its own
            assert http.evicted >= 1
        finally:
            for sock in held:
                sock.close()


def exchange_from(source: tuple[str, int], port: int, data: bytes):
    with socket.create_connection(("127.0.0.1", port), timeout=GUARD, source_address=source) as sock:
        sock.sendall(data)
        return read_answer(sock)
