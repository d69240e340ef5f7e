"""PSRP beyond structured pipelines: pipeline input, the session key exchange, Client.copy/fetch."""

from __future__ import annotations

import pytest
from pypsrp.client import Client
from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool
from pypsrp.serializer import ObjectMeta
from pypsrp.wsman import WSMan

from nestlab.simulator import labfile
from nestlab.simulator.endpoint import keyexchange
from nestlab.simulator.endpoint.auth import Credentials
from nestlab.simulator.endpoint.server import LabServer
from nestlab.simulator.endpoint.testing import PASSWORD, USER, serve_fake

pytestmark = pytest.mark.endpoint


def client(port: int) -> WSMan:
    return WSMan("127.0.0.1", port=port, username=USER, password=PASSWORD, ssl=False, auth="basic",
                 encryption="never", no_proxy=True)


@pytest.fixture
def served_lab():
    lab = labfile.load("builtin:reference")
    with LabServer(lab, Credentials(USER, PASSWORD), hosts=["HV01"]) as server:
        yield server.servers["HV01"].port


def test_pipeline_input_reaches_the_first_command(served_lab):
    with client(served_lab) as wsman, RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Select-Object").add_parameter("First", 2)
        output = ps.invoke(input=["a", "b", "c"])
        assert ps.state == PSInvocationState.COMPLETED
        assert output == ["a", "b"]


def test_add_input_then_invoke(served_lab):
    with client(served_lab) as wsman, RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Select-Object").add_parameter("Last", 1)
        assert ps.invoke(input=[1, 2, 3]) == [3]


def test_input_reaches_the_executor_as_write_output():
    with serve_fake() as (server, fake), client(server.servers["HV01"].port) as wsman, RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Echo")
        assert ps.invoke(input=["x", "y"]) == ["x", "y"]
        context, pipeline = fake.calls[-1]
        assert [c.name for c in pipeline] == ["Write-Output", "Echo"]
        assert pipeline[0].param("InputObject") == ["x", "y"]


def test_exchange_keys_lets_a_secure_string_through():
    with serve_fake() as (server, fake), client(server.servers["HV01"].port) as wsman, RunspacePool(wsman) as pool:
        pool.exchange_keys()
        secret = pool.serialize("super secret", ObjectMeta("SS"))
        ps = PowerShell(pool)
        ps.add_cmdlet("Echo").add_parameter("Value", secret)
        ps.invoke()
        _, pipeline = fake.calls[-1]
        assert pipeline[0].param("Value") == "super secret"


def test_session_key_round_trip():
    """The server's own SecureString coding against the spec's: UTF-16-LE, PKCS#7, AES-CBC, zero IV."""
    key = bytes(range(32))
    assert keyexchange.decrypt_secure_string(key, keyexchange.encrypt_secure_string(key, "pässwörd")) == "pässwörd"


def test_a_public_key_that_is_not_a_capi_blob_is_refused():
    with pytest.raises(ValueError):
        keyexchange.public_key(b"\x01" * 40)


def test_client_copy_and_fetch_a_file(served_lab, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("hello from the client\n")
    with Client("127.0.0.1", port=served_lab, username=USER, password=PASSWORD, ssl=False, auth="basic",
                encryption="never", no_proxy=True) as c:
        assert c.copy(str(source), r"C:\Windows\Temp\in.txt") == r"C:\Windows\Temp\in.txt"
        c.fetch(r"C:\Windows\Temp\in.txt", str(tmp_path / "back.txt"))
        with pytest.raises(Exception, match="Could not find a part of the path"):  # no C:\temp on a fresh Windows
            c.copy(str(source), r"C:\temp\in.txt")
    assert (tmp_path / "back.txt").read_text() == "hello from the client\n"


class _ExitingHost:
    """Stands in for the script engine: `Exit-With -Code N` ends with exit code N (what `exit N` gives)."""

    def __call__(self, context, pipeline):
        from nestlab.simulator.endpoint.runner import Outcome

        return Outcome(("before exit",), exit_code=int(pipeline[-1].param("Code")))


def test_an_exit_code_reaches_the_client_host_as_set_should_exit():
    from pypsrp.host import PSHost

    from nestlab.simulator.endpoint.auth import Credentials as Account

    with LabServer(None, Account(USER, PASSWORD), execute=_ExitingHost(), hosts=["HV01"]) as server:
        host = PSHost(None, None, False, None, None, None, None)
        with client(server.servers["HV01"].port) as wsman, RunspacePool(wsman, host=host) as pool:
            ps = PowerShell(pool)
            ps.add_cmdlet("Exit-With").add_parameter("Code", 3)
            assert ps.invoke() == ["before exit"]
            assert host.rc == 3
