"""PsrpSession against the served endpoint: the same objects as in process, guests, failures, secrets."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nestlab.lab.psrp_session import HostAddress, HostUnreachable, PsrpSession, password_for
from nestlab.lab.session import Session
from nestlab.simulator import clixml
from nestlab.simulator.endpoint import direct, tls
from nestlab.simulator.endpoint.testing import PASSWORD, USER, FakeHost, serve_fake
from nestlab.simulator.errors import BadInput
from nestlab.simulator.psdata import Command


def session_for(server, *hosts: str, password: str = PASSWORD, **address) -> PsrpSession:
    names = hosts or tuple(server.servers)
    addresses = [
        HostAddress(h, "127.0.0.1", server.servers[h].port, USER, address.pop("transport", "http"), "basic", **address)
        for h in names
    ]
    return PsrpSession(addresses, passwords=lambda a: password)


@pytest.fixture
def served():
    with serve_fake(("HV01", "HV02")) as (server, fake):
        yield server, fake


def test_is_a_session(served):
    server, _ = served
    with session_for(server) as session:
        assert isinstance(session, Session) and session.hosts() == ["HV01", "HV02"]


def test_objects_are_identical_to_the_in_process_round_trip(served):
    server, _ = served
    pipeline = (Command.of("Get-Thing", Name="L1"),)
    with session_for(server) as session:
        remote = session.run("HV01", pipeline)
    local = clixml.roundtrip_result(FakeHost()("HV01", pipeline))
    assert remote == local
    # an enum property arrives as its name, as Windows writes it at depth 1 (clixml.py)
    assert type(remote.output[0]["State"]) is str and remote.output[0]["MemoryStartup"] == 4 * 2**30


def test_errors_come_from_the_error_stream(served):
    server, _ = served
    with session_for(server) as session:
        partly = session.run("HV01", (Command.of("Get-Partly"),))
        missing = session.run("HV01", (Command.of("Get-Nope"),))
    assert not partly.failed and partly.errors[0].category == "InvalidArgument" and not partly.errors[0].terminating
    assert missing.failed and missing.errors[0].fully_qualified_error_id == "CommandNotFoundException"
    assert missing == clixml.roundtrip_result(FakeHost()("HV01", (Command.of("Get-Nope"),)))


def test_one_pool_per_host_for_the_whole_collection(served):
    server, _ = served
    with session_for(server) as session:
        for _ in range(5):
            session.run("HV01", (Command.of("Get-Thing"),))
            session.run("HV02", (Command.of("Get-Thing"),))
    for host in ("HV01", "HV02"):
        requests = server.servers[host].endpoint.requests
        assert requests["Create"] == 1 and requests["Delete"] == 1 and requests["Command"] == 5


def test_hosts_are_closed_side_by_side(served):
    """A Delete is a round trip per host: HV02's pool is closed while HV01's Delete is still being
    answered, not after it (one after another, twenty hosts paid twenty round trips to close)."""
    server, _ = served
    deleting = {host: threading.Event() for host in ("HV01", "HV02")}
    overlapped = {}

    def holding(host, other, handle):
        def handle_delete(data, client_ip):
            if b"transfer/Delete" in data:
                deleting[host].set()
                overlapped[host] = deleting[other].wait(10)  # the other host's Delete arrives meanwhile
            return handle(data, client_ip)
        return handle_delete

    for host, other in (("HV01", "HV02"), ("HV02", "HV01")):
        endpoint = server.servers[host].endpoint
        endpoint.handle = holding(host, other, endpoint.handle)
    with session_for(server) as session:
        session.run("HV01", (Command.of("Get-Thing"),))
        session.run("HV02", (Command.of("Get-Thing"),))
    assert overlapped == {"HV01": True, "HV02": True}
    assert all(server.servers[h].endpoint.requests["Delete"] == 1 and not server.servers[h].endpoint.pools
               for h in ("HV01", "HV02"))


def test_parameters_travel_structured_and_typed(served):
    server, fake = served
    with session_for(server) as session:
        session.run("HV01", (Command.of("Echo", "arg", Name="a'b; Remove-VM *", StartupBytes=8 * 2**30, Enabled=False, Names=("x", "y")),))
    sent = fake.calls[-1][1][0]
    assert sent.param("Name") == "a'b; Remove-VM *" and sent.param("StartupBytes") == 8 * 2**30
    assert sent.param("Enabled") is False and sent.param("Names") == ["x", "y"] and sent.arguments == ("arg",)


def test_guest_pipeline_travels_through_powershell_direct(served):
    server, fake = served
    nasty = "x' ; Stop-Computer -Force ; '\u2019$(evil)"
    with session_for(server) as session:
        result = session.run("HV01", (Command.of("Get-Thing", Name=nasty),), vm=("L1", "L2-web"))
    context, pipeline = fake.calls[-1]
    assert context == "HV01/L1/L2-web"
    assert pipeline == (Command.of("Get-Thing", Name=nasty),)
    assert result.output[0]["Name"] == nasty


def test_batch_is_one_pipeline_with_the_same_results_as_single_runs(served):
    server, _ = served
    batch = [
        (Command.of("Get-Thing", Name="a'b"),),
        (Command.of("Get-Partly"),),
        (Command.of("Get-Nope"),),
        (Command.of("Get-Thing", Name="after the failure"),),
    ]
    endpoint = server.servers["HV01"].endpoint
    with session_for(server) as session:
        session.run("HV01", (Command.of("Get-Thing"),))  # the pool is open
        commands_before = endpoint.requests["Command"]
        results = session.run_batch("HV01", batch)
        assert endpoint.requests["Command"] - commands_before == 1
    expected = [clixml.roundtrip_result(FakeHost()("HV01", p)) for p in batch]
    assert results == expected
    assert results[2].failed and not results[3].failed and not results[1].errors[0].terminating


def test_batch_for_a_guest_runs_each_pipeline_in_the_guest(served):
    server, fake = served
    with session_for(server) as session:
        results = session.run_batch("HV01", [(Command.of("Get-Thing"),), (Command.of("Get-Thing"),)], vm=("L1",))
    assert [r.output[0]["ComputerName"] for r in results] == ["HV01/L1", "HV01/L1"]


def test_state_changes_persist_across_pipelines(served):
    server, _ = served
    with session_for(server) as session:
        session.run("HV01", (Command.of("Set-Thing", Name="L1", Value="patched"),))
        assert session.run("HV02", (Command.of("Get-Thing", Name="L1"),)).output[0]["Notes"] == "patched"


def test_wrong_password_is_one_line_without_the_password(served):
    """Refused credentials are AuthFailed, not an unreachable host (issue 16 item 2)."""
    from nestlab.simulator.errors import AuthFailed

    server, _ = served
    session = session_for(server, "HV01", password="not-the-Pa55word")
    with pytest.raises(AuthFailed) as caught:
        session.run("HV01", (Command.of("Get-Thing"),))
    message = str(caught.value)
    assert "\n" not in message and "HV01" in message and "rejected" in message
    assert "not-the-Pa55word" not in message and caught.value.host == "HV01"
    assert not isinstance(caught.value, HostUnreachable)


def test_refused_port_is_unreachable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    session = PsrpSession([HostAddress("HV09", "127.0.0.1", port, USER, "http", "basic", connect_timeout=2)], passwords=lambda a: "x")
    with pytest.raises(HostUnreachable, match=r"HV09 \(http://127.0.0.1:\d+\): cannot open a PowerShell session: connection refused"):
        session.run("HV09", (Command.of("Get-VM"),))


class _Garbage(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"<html>hello</html" if self.server.mode == "garbage" else b""
        if self.server.mode == "silent":
            self.server.release.wait(5)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize("mode, reason", [("garbage", "not WS-Management XML"), ("silent", "did not answer in time")])
def test_a_host_answering_garbage_or_nothing_is_unreachable(mode, reason):
    httpd = HTTPServer(("127.0.0.1", 0), _Garbage)
    httpd.mode, httpd.release = mode, threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        address = HostAddress("HV07", "127.0.0.1", httpd.server_address[1], USER, "http", "basic")
        session = PsrpSession([address], passwords=lambda a: "x", wsman_options={"read_timeout": 1, "reconnection_retries": 0})
        with pytest.raises(HostUnreachable, match=reason):
            session.run("HV07", (Command.of("Get-VM"),))
    finally:
        httpd.release.set()
        httpd.shutdown()
        httpd.server_close()


def test_other_hosts_still_work_when_one_is_unreachable(served):
    server, _ = served
    addresses = [
        HostAddress("HV01", "127.0.0.1", server.servers["HV01"].port, USER, "http", "basic"),
        HostAddress("DEAD", "127.0.0.1", 1, USER, "http", "basic", connect_timeout=1),
    ]
    with PsrpSession(addresses, passwords=lambda a: PASSWORD) as session:
        with pytest.raises(HostUnreachable):
            session.run("DEAD", (Command.of("Get-Thing"),))
        assert session.run("HV01", (Command.of("Get-Thing"),)).ok


def test_https_validates_certificates_by_default(tmp_path):
    files = tls.self_signed(tmp_path)
    with serve_fake(tls=tls.server_context(files)) as (server, _):
        port = server.servers["HV01"].port
        strict = PsrpSession([HostAddress("HV01", "127.0.0.1", port, USER, "https", "basic")], passwords=lambda a: PASSWORD)
        with pytest.raises(HostUnreachable, match="certificate"):
            strict.run("HV01", (Command.of("Get-Thing"),))
        trusted = HostAddress("HV01", "127.0.0.1", port, USER, "https", "basic", cert_validation=str(files.cert))
        with PsrpSession([trusted], passwords=lambda a: PASSWORD) as session:
            assert session.run("HV01", (Command.of("Get-Thing"),)).ok
    assert HostAddress("h", "h").transport == "https" and HostAddress("h", "h").cert_validation is True


def test_unknown_host_is_bad_input(served):
    server, _ = served
    with session_for(server) as session, pytest.raises(BadInput, match="NOPE: not a host"):
        session.run("NOPE", (Command.of("Get-Thing"),))


def test_password_sources(monkeypatch):
    address = HostAddress("HV01", "hv01.example", user="admin")
    monkeypatch.setenv("NESTLAB_PASSWORD", "from-env")
    assert password_for(address) == "from-env"
    monkeypatch.delenv("NESTLAB_PASSWORD")
    monkeypatch.setattr("getpass.getpass", lambda prompt: "typed")
    assert password_for(address, prompt=True) == "typed"
    with pytest.raises(BadInput, match="NESTLAB_PASSWORD"):
        password_for(address, prompt=False)
    assert password_for(HostAddress("HV01", "hv01.example")) is None  # Kerberos ticket, no user


def test_address_rejects_unknown_auth_and_transport():
    with pytest.raises(BadInput, match="auth"):
        HostAddress("h", "h", auth="digest")
    with pytest.raises(BadInput, match="transport"):
        HostAddress("h", "h", transport="ftp")


# -- the guest script: the one place text is built -----------------------------------------------

values = st.one_of(
    st.text(), st.booleans(), st.none(), st.integers(-(2**63), 2**63 - 1),
    st.lists(st.text(max_size=8), max_size=3).map(tuple),
)
names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,12}", fullmatch=True)
params = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,10}", fullmatch=True)
commands = st.builds(
    lambda n, p, a: Command(n, tuple(p), tuple(a)),
    names, st.lists(st.tuples(params, values), max_size=3), st.lists(st.text(max_size=10), max_size=2),
)


@settings(max_examples=50)
@given(st.lists(commands, min_size=1, max_size=3).map(tuple))
def test_rendered_guest_script_parses_back_to_the_same_commands(pipeline):
    assert direct.parse(direct.render(pipeline)) == pipeline


@settings(max_examples=50)
@given(st.text())
def test_no_string_escapes_its_quotes(text):
    literal = direct.quote(text)
    inner = literal[1:-1]
    for quote in direct.SINGLE_QUOTES:  # every quote character inside is doubled, so none ends the string
        assert all(len(run) % 2 == 0 for run in _runs(inner, quote))
    assert direct.parse(f"Get-X -A:{literal}")[0].param("A") == text


def test_typographic_quotes_are_doubled_too():
    assert direct.quote("a\u2019b") == "'a\u2019\u2019b'" and direct.quote("it's") == "'it''s'"


def test_nested_guests_unwrap_to_the_chain():
    pipeline = (Command.of("Get-VM", Name="L3"),)
    script = direct.guest_script(("L1", "L2", "L3"), pipeline)
    assert direct.unwrap("L1", script) == (("L1", "L2", "L3"), pipeline)


def test_names_that_are_not_names_are_refused():
    with pytest.raises(ValueError):
        direct.render((Command("Get-VM; Stop-Computer", ()),))
    with pytest.raises(ValueError):
        direct.render((Command("Get-VM", (("Name $(evil)", "x"),)),))


def _runs(text: str, char: str) -> list[str]:
    runs, current = [], ""
    for c in text:
        if c == char:
            current += c
        elif current:
            runs.append(current)
            current = ""
    return runs + ([current] if current else [])
