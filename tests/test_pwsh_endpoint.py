"""Scripts through pypsrp against a served lab: add_script and execute_ps run in the PowerShell engine."""

from __future__ import annotations

import pytest
from pypsrp.client import Client
from pypsrp.host import PSHost, PSHostUserInterface
from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool
from pypsrp.wsman import WSMan

from nestlab.simulator.endpoint.server import Credentials, LabServer
from nestlab.simulator.endpoint.testing import PASSWORD, USER

SETTINGS = dict(username=USER, password=PASSWORD, ssl=False, auth="basic", encryption="never", no_proxy=True)


@pytest.fixture
def server(lab):
    with LabServer(lab, Credentials(USER, PASSWORD)) as served:
        yield served


def pool(server, host="HV01") -> RunspacePool:
    return RunspacePool(WSMan("127.0.0.1", port=server.servers[host].port, **SETTINGS))


def test_add_script_runs_every_line(server):
    with pool(server) as p:
        ps = PowerShell(p)
        ps.add_script("Get-VM\nGet-VMSwitch")
        output = ps.invoke()
    assert [o.types[0] for o in output] == ["Microsoft.HyperV.PowerShell.VirtualMachine",
                                            "Microsoft.HyperV.PowerShell.VMSwitch"]
    assert ps.state == PSInvocationState.COMPLETED and not ps.had_errors


def test_add_script_with_language_constructs_and_streams(server, lab):
    script = ("$vms = Get-VM\nforeach ($v in $vms) {\n  $p = Get-VMProcessor -VM $v\n"
              "  Write-Host \"$($v.Name): $($p.ExposeVirtualizationExtensions)\"\n  $p.Count\n}\n"
              "Write-Warning 'a warning'\nWrite-Verbose 'shown' -Verbose")
    with pool(server) as p:
        ps = PowerShell(p)
        ps.add_script(script)
        output = ps.invoke()
    assert output == [lab[lab.vms("HV01")[0]].processor.count]
    assert [str(i.message_data) for i in ps.streams.information] == ["L1: True"]
    assert [w.message for w in ps.streams.warning] == ["a warning"]
    assert [v.message for v in ps.streams.verbose] == ["shown"]


def test_execute_ps_of_a_multi_line_script(server):
    client = Client("127.0.0.1", port=server.servers["HV01"].port, **SETTINGS)
    output, streams, had_errors = client.execute_ps(
        "$running = Get-VM | Where-Object { $_.State -eq 'Running' }\n"
        "\"running: $(@($running).Count)\"\n(Get-VMProcessor -VMName L1).ExposeVirtualizationExtensions")
    assert output.splitlines() == ["running: 1", "True"] and not had_errors


def test_execute_ps_prints_the_default_table_of_get_vm(server):
    client = Client("127.0.0.1", port=server.servers["HV01"].port, **SETTINGS)
    output, _, _ = client.execute_ps("Get-VM")
    header = [line for line in output.splitlines() if line.strip()][0]
    assert header.split()[:3] == ["Name", "State", "CPUUsage(%)"]


def test_script_errors_reach_the_client_with_their_ids(server):
    with pool(server) as p:
        ps = PowerShell(p)
        ps.add_script("Get-Nonsense\n'after'")
        output = ps.invoke()
    assert output == ["after"] and ps.state == PSInvocationState.COMPLETED  # statement-terminating, as on Windows
    assert [str(e.fq_error) for e in ps.streams.error] == ["CommandNotFoundException"]


def test_syntax_error_fails_the_pipeline_with_parse_exception(server):
    with pool(server) as p:
        ps = PowerShell(p)
        ps.add_script("Get-VM | Where-Object { $_.State -eq 'Running' ")
        ps.invoke()
    assert ps.state == PSInvocationState.FAILED
    assert "Missing closing '}'" in str(ps.streams.error[-1])


def test_a_script_changes_the_served_lab(server, lab):
    with pool(server) as p:
        ps = PowerShell(p)
        ps.add_script("Set-VMMemory -VMName L1 -DynamicMemoryEnabled $true -ErrorAction SilentlyContinue\n"
                      "if (-not $?) { Stop-VM -Name L1 -Force; Set-VMMemory -VMName L1 -DynamicMemoryEnabled $true }\n"
                      "(Get-VMMemory -VMName L1).DynamicMemoryEnabled")
        assert ps.invoke() == [True]


class _Answers(PSHostUserInterface):
    """A client's host UI that answers every ReadLine host call."""

    def __init__(self, *answers: str) -> None:
        super().__init__()
        self.answers = list(answers)
        self.asked = 0

    def ReadLine(self, runspace, pipeline):  # noqa: N802 - pypsrp's host method name
        self.asked += 1
        return self.answers.pop(0)


def test_read_host_is_a_host_call_the_clients_pshost_answers(server, lab):
    ui = _Answers("Y", "L1")
    wsman = WSMan("127.0.0.1", port=server.servers["HV01"].port, **SETTINGS)
    with RunspacePool(wsman, host=PSHost(None, None, False, "test", None, ui, None)) as p:
        ps = PowerShell(p)
        ps.add_script("$a = Read-Host\nif ($a -eq 'Y') { $n = Read-Host; (Get-VM -Name $n).Name }")
        output = ps.invoke()
    assert output == ["L1"] and ui.asked == 2 and not ps.streams.error


def test_read_host_without_a_client_host_is_non_interactive(server):
    with pool(server) as p:
        ps = PowerShell(p)
        ps.add_script("$a = Read-Host\n'after'")
        output = ps.invoke()
    assert output == ["after"] and "NonInteractive mode" in str(ps.streams.error[0])
