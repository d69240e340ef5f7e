"""Issue 14's "Done when", in one place: every client, with its defaults, against `nestlab serve`.

One `nestlab serve builtin:reference --host HV01` subprocess on a loopback port serves them all:
pypsrp with its default auth (Negotiate) and message encryption, pywinrm `run_cmd`/`run_ps` over
NTLM (encrypted), psrpcore as the PSRP client, and Ansible `raw` and `script` over its psrp and
winrm connections (each with NTLM/Negotiate and encryption, as a Windows host's defaults ask);
pypsrp's Client.copy()/fetch() through the host's file store; and a win_*-style C# module, which
fails as on a host without a C# compiler.
"""

from __future__ import annotations

import base64
import hashlib

import psrpcore
import pytest
from psrpcore.types import PSInvocationState
from pypsrp.host import PSHost
from pypsrp.powershell import PowerShell, RunspacePool

from helpers_clients import (ANSIBLE, PSRP_NEGOTIATE, WINRM_NTLM, Ansible, pypsrp_client, pywinrm_session, script_module,
                             served_groups, served_subprocess, wsman)
from test_endpoint_psrpcore import Wire, events_until, opened_pool, pending

pytestmark = pytest.mark.endpoint


@pytest.fixture(scope="module")
def served():
    """`nestlab serve builtin:reference --host HV01` on a free loopback port."""
    with served_subprocess() as where:
        yield where


# -- pypsrp, its defaults: auth="negotiate", encryption="auto" over http ----------------------------

def test_pypsrp_defaults_negotiate_and_encryption(served):
    with pypsrp_client(served) as client:
        output, streams, had_errors = client.execute_ps("(Get-VMProcessor -VMName L1).ExposeVirtualizationExtensions")
        assert (output, had_errors) == ("True", False)
        transport = client.wsman.transport
        assert transport.auth == "negotiate" and transport.wrap_required and transport.encryption is not None  # sealed
        stdout, stderr, rc = client.execute_cmd("hostname")
        assert (stdout, rc) == ("HV01\r\n", 0)


def test_pypsrp_key_exchange_input_and_exit_code(served):
    host = PSHost(None, None, False, None, None, None, None)
    with wsman(served) as connection, RunspacePool(connection, host=host) as pool:
        pool.exchange_keys()
        ps = PowerShell(pool)
        ps.add_script("$input | ForEach-Object { \"got $_\" }\nexit 4")
        assert ps.invoke(input=["a", "b"]) == ["got a", "got b"]
        assert host.rc == 4


def test_pypsrp_copy_and_fetch(served, tmp_path):
    """Client.copy() runs pypsrp's copy script (begin/process/end, SHA1 of each chunk, [System.IO.File]);
    the file lands in the host's file store, where Get-FileHash, Test-Path and fetch() see it."""
    source = tmp_path / "in.txt"
    data = b"hello\r\nfrom the client\r\n" + bytes(range(256)) * 300  # binary, and more than one chunk
    source.write_bytes(data)
    with pypsrp_client(served) as client:
        client.wsman.max_payload_size = 16384  # small chunks: many process-block calls
        assert client.copy(str(source), r"C:\Windows\Temp\in.txt") == r"C:\Windows\Temp\in.txt"
        out, _, had_errors = client.execute_ps(r"(Get-FileHash C:\Windows\Temp\in.txt -Algorithm SHA1).Hash; "
                                               r"Test-Path C:\Windows\Temp\in.txt -PathType Leaf")
        assert (out, had_errors) == (f"{hashlib.sha1(data).hexdigest().upper()}\nTrue", False)
        client.fetch(r"C:\Windows\Temp\in.txt", str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_bytes() == data


def test_pypsrp_fetch_of_a_missing_file_fails_with_the_scripts_error(served, tmp_path):
    from pypsrp.exceptions import WinRMError

    with pypsrp_client(served) as client, pytest.raises(WinRMError, match=r"The path at 'C:\\nope\.txt' does not exist"):
        client.fetch(r"C:\nope.txt", str(tmp_path / "x"))


# -- pywinrm over NTLM (with encryption) -----------------------------------------------------------

def test_pywinrm_run_cmd_and_run_ps_over_ntlm(served):
    session = pywinrm_session(served)
    cmd = session.run_cmd("ipconfig")
    assert cmd.status_code == 0 and b"Windows IP Configuration" in cmd.std_out
    ps = session.run_ps("Get-VM | Where-Object { $_.Name -eq 'L1' } | ForEach-Object { $_.Name }\nexit 5")
    assert (ps.status_code, ps.std_out) == (5, b"L1\n")


# -- psrpcore as the PSRP client -------------------------------------------------------------------

def test_psrpcore_client_runs_a_script(served):
    wire = Wire(served.url)
    pool, shell_id = opened_pool(wire)
    ps = psrpcore.ClientPowerShell(pool)
    ps.add_script("$vms = Get-VM\nforeach ($v in $vms) { $v.Name }")
    ps.start()
    command_id = ps.pipeline_id
    wire.call("Command", f'<rsp:CommandLine CommandId="{str(command_id).upper()}"><rsp:Command></rsp:Command>'
                         f"<rsp:Arguments>{base64.b64encode(pending(pool)).decode()}</rsp:Arguments></rsp:CommandLine>",
              shell_id)
    seen = events_until(pool, wire, shell_id, lambda seen: ps.state == PSInvocationState.Completed, command_id)
    assert [str(e.data) for e in seen if isinstance(e, psrpcore.PipelineOutputEvent)] == ["L1"]
    wire.call("Delete", "", shell_id)


# -- Ansible raw and script, over both connections ----------------------------------------------------

@pytest.fixture(scope="module")
def ansible(served, tmp_path_factory):
    if not ANSIBLE.exists():
        pytest.skip(f"ansible-core is not installed beside {ANSIBLE.parent} (pip install -e '.[test]')")
    folder = tmp_path_factory.mktemp("ansible")
    return Ansible(folder, served_groups(served, {"HV01-winrm": WINRM_NTLM, "HV01-psrp": PSRP_NEGOTIATE}),
                   library=script_module(folder / "library"), timeout=120)


@pytest.mark.parametrize("host", ["HV01-winrm", "HV01-psrp"])
def test_ansible_raw(ansible, host):
    result = ansible(host, "raw", "(Get-VMProcessor -VMName L1).ExposeVirtualizationExtensions")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{host} | CHANGED | rc=0 >>\nTrue" in result.stdout


@pytest.mark.parametrize("host", ["HV01-winrm", "HV01-psrp"])
def test_ansible_raw_exit_code(ansible, host):
    result = ansible(host, "raw", "netsh nosuchcontext")
    assert result.returncode == 2 and f"{host} | FAILED | rc=1 >>" in result.stdout


@pytest.mark.parametrize("host", ["HV01-winrm", "HV01-psrp"])
def test_ansible_script(ansible, host):
    """`script`: mkdtemp through the bootstrap and exec wrappers, the upload (psrp_put_file.ps1 /
    winrm_put_file.ps1) into the file store, then module_wrapper.ps1 runs the uploaded file."""
    script = ansible.folder / "probe.ps1"
    script.write_text("hostname\n(Get-VMProcessor -VMName L1).ExposeVirtualizationExtensions\n")
    result = ansible(host, "script", str(script))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{host} | CHANGED =>" in result.stdout
    assert '"stdout_lines": [\n        "HV01",\n        "True"\n    ]' in result.stdout


@pytest.mark.parametrize("host", ["HV01-winrm", "HV01-psrp"])
def test_ansible_script_exit_code(ansible, host):
    script = ansible.folder / "fails.ps1"
    script.write_text("Write-Output 'before'\nexit 7\n")
    result = ansible(host, "script", str(script))
    assert result.returncode == 2, result.stdout + result.stderr
    assert '"rc": 7' in result.stdout and '"before"' in result.stdout


@pytest.mark.parametrize("host", ["HV01-winrm", "HV01-psrp"])
def test_ansible_csharp_module_fails_with_the_compiler_error(ansible, host):
    """A module written as win_* modules are (#AnsibleRequires -CSharpUtil Ansible.Basic): the exec wrapper
    compiles the util through CodeDom, which a host without csc.exe cannot."""
    result = ansible(host, "csharp_probe", "")
    assert result.returncode == 2 and f"{host} | FAILED! =>" in result.stdout
    assert "Compiler executable file csc.exe cannot be found." in result.stdout and "pong" not in result.stdout
