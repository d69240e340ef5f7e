"""A script statement's arguments, pipeline input and exit code, through the engine seam (issue 14).

PSRP: `add_script(...).add_argument(...)` reaches the script's $args / param(), pipeline input is
its `$input`, and `exit N` reaches the client's host as SetShouldExit(N)
(pypsrp's `host.rc`, what Ansible's psrp connection reads). WinRS: `exit N` is the command's
ExitCode, and a `powershell -EncodedCommand` script sees its stdin as `$input`.
"""

from __future__ import annotations

import base64

import pytest
from pypsrp.host import PSHost
from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool
from pypsrp.shell import Process, SignalCode, WinRS
from pypsrp.wsman import WSMan

from nestlab.simulator import labfile, pwsh
from nestlab.simulator.endpoint.auth import Credentials
from nestlab.simulator.endpoint.server import LabServer

pytestmark = pytest.mark.endpoint

USER, PASSWORD = "labadmin", "S3cret-pa55"


@pytest.fixture(scope="module")
def port():
    lab = labfile.load("builtin:reference")
    with LabServer(lab, Credentials(USER, PASSWORD), hosts=["HV01"]) as server:
        yield server.servers["HV01"].port


def wsman(port: int) -> WSMan:
    return WSMan("127.0.0.1", port=port, username=USER, password=PASSWORD, ssl=False, auth="basic",
                 encryption="never", no_proxy=True)


def test_a_script_gets_its_arguments(port):
    with wsman(port) as client, RunspacePool(client) as pool:
        ps = PowerShell(pool)
        ps.add_script("param($Name) \"$Name/$($args.Count)\"; $MyInvocation.UnboundArguments.Count")
        ps.add_parameter("Name", "L1").add_argument("x").add_argument("y")
        assert ps.invoke()[0] == "L1/2"


def test_pipeline_input_is_the_scripts_input(port):
    with wsman(port) as client, RunspacePool(client) as pool:
        ps = PowerShell(pool)
        ps.add_script("$n = 0\n$input | ForEach-Object { $n++; \"item $_\" }\n\"total $n\"")
        assert ps.invoke(input=["a", "b", "c"]) == ["item a", "item b", "item c", "total 3"]
        ps = PowerShell(pool)
        ps.add_script("@($input).Count")
        assert ps.invoke(input=[1, 2, 3, 4]) == [4]


def test_exit_n_reaches_the_client_host_as_set_should_exit(port):
    host = PSHost(None, None, False, None, None, None, None)
    with wsman(port) as client, RunspacePool(client, host=host) as pool:
        ps = PowerShell(pool)
        ps.add_script("'before'\nexit 3\n'after'")
        assert ps.invoke() == ["before"]
        assert ps.state == PSInvocationState.COMPLETED
        assert host.rc == 3


def test_last_exit_code_of_a_native_program_is_what_exit_reports(port):
    """Ansible's psrp `raw` sends `<cmd>\\nexit $LASTEXITCODE`: the native program's code is the rc."""
    host = PSHost(None, None, False, None, None, None, None)
    with wsman(port) as client, RunspacePool(client, host=host) as pool:
        ps = PowerShell(pool)
        ps.add_script("netsh nosuchcontext\nexit $LASTEXITCODE")
        assert ps.invoke()[0] == "The following command was not found: nosuchcontext."
        assert host.rc == 1  # netsh.exe's code after that message


@pytest.mark.parametrize("script", ["'fine'", "netsh nosuchcontext"])
def test_a_script_without_exit_sends_no_set_should_exit(port, script):
    """Not even after a failing native program: PowerShell calls SetShouldExit for `exit` only."""
    host = PSHost(None, None, False, None, None, None, None)
    with wsman(port) as client, RunspacePool(client, host=host) as pool:
        ps = PowerShell(pool)
        ps.add_script(script)
        assert ps.invoke()
        assert host.rc is None


def test_exit_0_is_sent_too(port):
    host = PSHost(None, None, False, None, None, None, None)
    host.rc = 9
    with wsman(port) as client, RunspacePool(client, host=host) as pool:
        ps = PowerShell(pool)
        ps.add_script("'x'\nexit 0")
        assert ps.invoke() == ["x"]
        assert host.rc == 0


def _encoded(script: str) -> str:
    return base64.b64encode(script.encode("utf-16-le")).decode()


def test_winrs_exit_code_is_the_scripts_exit(port):
    with wsman(port) as client, WinRS(client) as shell:
        process = Process(shell, "powershell.exe", ["-NoProfile", "-EncodedCommand", _encoded("'x'; exit 7")])
        process.invoke()
        process.signal(SignalCode.CTRL_C)
    assert (process.rc, process.stdout) == (7, b"x\n")


@pytest.mark.parametrize("script, code", [("net start winnat", 1), ("net start winnat; exit $LASTEXITCODE", 2),
                                          ("netsh nosuchcontext", 1), ("'ok'", 0)])
def test_winrs_powershell_without_exit_exits_0_or_1(port, script, code):
    """net.exe ends with 2 after "NET HELPMSG 2182"; powershell.exe passes that on only through `exit`."""
    with wsman(port) as client, WinRS(client) as shell:
        process = Process(shell, "powershell.exe", ["-NoProfile", "-EncodedCommand", _encoded(script)])
        process.invoke()
        process.signal(SignalCode.CTRL_C)
    assert process.rc == code


def test_winrs_encoded_command_sees_stdin_as_input(port):
    with wsman(port) as client, WinRS(client) as shell:
        script = "$lines = @($input); \"$($lines.Count): $($lines -join '+')\""
        process = Process(shell, "powershell.exe", ["-NoProfile", "-EncodedCommand", _encoded(script)])
        process.begin_invoke()
        process.send(b"first\r\n", end=False)
        process.send(b"second\r\n", end=True)
        process.end_invoke()
        process.signal(SignalCode.CTRL_C)
    assert (process.rc, process.stdout) == (0, b"2: first+second\n")


def test_the_seam_takes_input_additively():
    lab = labfile.load("builtin:reference")
    from nestlab.simulator import powershell

    def execute(context, pipeline):
        return powershell.run(lab, context, pipeline)

    assert pwsh.run_script(execute, "HV01", "$input | ForEach-Object { $_ * 2 }", input=[1, 2]).output == (2, 4)
    assert pwsh.run_script(execute, "HV01", "@($input).Count").output == (0,)
