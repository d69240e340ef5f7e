"""Windows' authentication: Negotiate/NTLM with WinRM message encryption over http (issue 14, item 3).

pypsrp with its defaults (auth="negotiate", encryption="auto" over http) and pywinrm with
transport="ntlm" connect; the messages on the wire are sealed; a wrong password is 401; the
password is written nowhere (the NTLM acceptor's user file is in memory).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pypsrp.exceptions import AuthenticationError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from nestlab.simulator.endpoint import encryption, ntlm_store, wsman
from nestlab.simulator.endpoint.testing import PASSWORD, USER, serve_fake

from helpers_transport import FaultProxy, exchange, post

pytestmark = [
    pytest.mark.endpoint,
    pytest.mark.skipif(not ntlm_store.available(), reason="Negotiate needs an in-memory file (Linux memfd_create)"),
]


@pytest.fixture
def port():
    with serve_fake() as (server, _):
        yield server.servers["HV01"].port


def _invoke(wsman: WSMan) -> list:
    with RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Thing").add_parameter("Name", "L1")
        return ps.invoke()


def test_pypsrp_with_its_defaults_connects_over_http(port):
    wsman = WSMan("127.0.0.1", port=port, username=USER, password=PASSWORD, ssl=False, no_proxy=True)
    assert wsman.transport.auth == "negotiate" and wsman.transport.wrap_required  # the defaults: sealed messages
    output = _invoke(wsman)
    assert output[-1] == "done" and output[0].adapted_properties["Name"] == "L1"


@pytest.mark.parametrize("user", [USER, f"HV01\\{USER}", f".\\{USER}"])
def test_pypsrp_ntlm_with_a_local_account_in_each_spelling(port, user):
    assert _invoke(WSMan("127.0.0.1", port=port, username=user, password=PASSWORD, ssl=False, auth="ntlm", no_proxy=True))[-1] == "done"


def test_the_wire_carries_only_sealed_messages(port):
    with FaultProxy(port, record=True) as proxy:
        _invoke(WSMan("127.0.0.1", port=proxy.port, username=USER, password=PASSWORD, ssl=False, no_proxy=True))
    wire = bytes(proxy.wire)
    assert wire.count(encryption.PROTOCOL.encode()) >= 6  # Create, Receive, Command, Receive, Signal, Delete …
    assert b"Get-Thing" not in wire and b"creationXml" not in wire and b"Envelope" not in wire
    assert PASSWORD.encode() not in wire


def test_a_wrong_password_is_authentication_error(port):
    wsman = WSMan("127.0.0.1", port=port, username=USER, password="wrong", ssl=False, no_proxy=True)
    with pytest.raises(AuthenticationError):
        _invoke(wsman)


def test_an_account_of_another_endpoint_is_refused():
    from nestlab.simulator.endpoint.auth import Credentials
    from nestlab.simulator.endpoint.server import LabServer
    from nestlab.simulator.endpoint.testing import FakeHost

    with serve_fake() as (server, _):
        other = LabServer(None, Credentials("someone", "else-pa55"), execute=FakeHost(), hosts=["HV02"])
        with other:
            port = server.servers["HV01"].port
            with pytest.raises(AuthenticationError):  # someone is in the process's user file, not HV01's account
                _invoke(WSMan("127.0.0.1", port=port, username="someone", password="else-pa55", ssl=False, no_proxy=True))
            assert _invoke(WSMan("127.0.0.1", port=other.servers["HV02"].port, username="someone",
                                 password="else-pa55", ssl=False, no_proxy=True))[-1] == "done"


def test_an_encrypted_body_on_an_unauthenticated_connection_is_refused(port):
    body = encryption.wrap(b"<s:Envelope/>", _FakeSession())
    answer = exchange(port, post(body, headers={"Content-Type": encryption.CONTENT_TYPE}))
    assert answer.status == 401


def test_the_ntlm_user_file_is_in_memory_and_holds_no_password(port):
    path = os.environ["NTLM_USER_FILE"]
    assert path.startswith("/proc/") and os.readlink(path).startswith("/memfd:")
    assert PASSWORD not in Path(path).read_text() and USER in Path(path).read_text()


def test_pywinrm_ntlm_authenticates_and_reads_the_sealed_answers(port):
    winrm = pytest.importorskip("winrm", reason="pywinrm is in the test extra (pip install -e '.[test]')")
    from winrm.exceptions import WSManFaultError

    protocol = winrm.protocol.Protocol(f"http://127.0.0.1:{port}/wsman", transport="ntlm", username=USER, password=PASSWORD)
    assert protocol.transport.message_encryption == "auto"  # over http: sealed, as Windows requires
    with pytest.raises(WSManFaultError) as fault:
        protocol.close_shell("00000000-0000-0000-0000-000000000000")  # a shell that does not exist
    # the fault came back sealed and pywinrm unsealed it: the endpoint's own answer, not a 401
    assert fault.value.code == 500 and fault.value.wsman_fault_code == wsman.INVALID_SELECTORS


class _FakeSession:
    """A stand-in sealing context: the framing alone, for the unauthenticated case."""

    def wrap_winrm(self, data: bytes):
        from types import SimpleNamespace

        return SimpleNamespace(header=b"\x00" * 16, data=data, padding_length=0)


def test_negotiate_over_https_binds_the_channel(tmp_path):
    from nestlab.simulator.endpoint import tls

    with serve_fake(tls=tls.server_context(tls.self_signed(tmp_path))) as (server, _):
        port = server.servers["HV01"].port
        wsman = WSMan("127.0.0.1", port=port, username=USER, password=PASSWORD, ssl=True, cert_validation=False, no_proxy=True)
        assert not wsman.transport.wrap_required  # TLS seals; the NTLM token carries the channel binding
        assert _invoke(wsman)[-1] == "done"


def test_a_psrp_target_with_the_default_auth_reaches_a_served_host(port, monkeypatch):
    from nestlab.lab.targets import parse_target

    monkeypatch.setenv("NESTLAB_PASSWORD", PASSWORD)
    target = parse_target(f"psrp://{USER}@127.0.0.1:{port}?transport=http")
    assert target.addresses[0].auth == "negotiate"
    from nestlab.simulator.psdata import Command

    with target.open() as session:
        result = session.run("127.0.0.1", [Command("Get-Thing", (("Name", "L1"),))])
    assert result.output[-1] == "done"


def test_the_user_file_is_never_seen_empty_or_cut_while_endpoints_come_and_go():
    import threading

    stop = threading.Event()
    seen: list[bytes] = []
    ntlm_store.register("steady", "pa55-steady", "HVS")

    def churn() -> None:
        for index in range(2000):
            ntlm_store.register(f"user{index}", "pa55", f"HOST{index}")
            ntlm_store.unregister(f"user{index}", f"HOST{index}")
        stop.set()

    worker = threading.Thread(target=churn)
    worker.start()
    while not stop.is_set():
        seen.append(Path(os.environ["NTLM_USER_FILE"]).read_bytes())
    worker.join()
    ntlm_store.unregister("steady", "HVS")
    assert seen
    for text in seen:
        lines = text.split(b"\n")[:-1]
        assert all(len(line) == ntlm_store.LINE_WIDTH - 1 for line in lines)  # whole lines only
        assert any(line.startswith(b"steady:") for line in lines)  # the steady account never vanished
