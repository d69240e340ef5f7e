"""The served endpoint against the real pypsrp client (loopback, free ports, a fake executor)."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from pypsrp.client import Client
from pypsrp.exceptions import AuthenticationError, WSManFaultError
from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool
from pypsrp.wsman import WSMan

from nestlab.simulator.endpoint import psrp, tls, wsman
from nestlab.simulator.endpoint.server import fragment_budget
from nestlab.simulator.endpoint.testing import PASSWORD, USER, serve_fake


def client(server, host="HV01", password=PASSWORD, **options) -> WSMan:
    port = server.servers[host].port
    settings = dict(port=port, username=USER, password=password, ssl=False, auth="basic", encryption="never", no_proxy=True)
    settings.update(options)
    return WSMan("127.0.0.1", **settings)


@pytest.fixture
def served():
    with serve_fake(("HV01", "HV02")) as (server, fake):
        yield server, fake


def test_pipeline_returns_hyperv_shaped_objects(served):
    server, _ = served
    with RunspacePool(client(server)) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Thing").add_parameter("Name", "L1")
        vm, text = ps.invoke()
    assert ps.state == PSInvocationState.COMPLETED and text == "done"
    assert vm.types[0] == "Microsoft.HyperV.PowerShell.VirtualMachine"
    assert vm.adapted_properties["Name"] == "L1" and vm.adapted_properties["MemoryStartup"] == 4 * 2**30
    assert str(vm.adapted_properties["State"]) == "Running"
    assert vm.adapted_properties["ComputerName"] == "HV01"


def test_each_host_runs_in_its_own_context(served):
    server, fake = served
    with RunspacePool(client(server, "HV02")) as pool:
        PowerShell(pool).add_cmdlet("Get-Thing").invoke()
    assert fake.calls[-1][0] == "HV02"


def test_unknown_command_fails_with_command_not_found(served):
    server, _ = served
    with RunspacePool(client(server)) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Nonsense")
        assert ps.invoke() == []
    assert ps.state == PSInvocationState.FAILED and ps.had_errors
    error = ps.streams.error[0]
    assert error.fq_error == "CommandNotFoundException" and error.category == 13
    assert "'Get-Nonsense' is not recognized" in str(error)


def test_non_terminating_error_is_streamed_and_pipeline_completes(served):
    server, _ = served
    with RunspacePool(client(server)) as pool:
        ps = PowerShell(pool)
        output = ps.add_cmdlet("Get-Partly").invoke()
    assert len(output) == 1 and ps.state == PSInvocationState.COMPLETED and not ps.had_errors
    assert ps.streams.error[0].fq_error.startswith("InvalidParameter")


def test_structured_parameters_arrive_typed(served):
    server, fake = served
    with RunspacePool(client(server)) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Echo").add_parameter("Name", ["a", "b"]).add_parameter("Force").add_parameter("Count", 3)
        ps.add_argument("positional")
        ps.invoke()
    command = fake.calls[-1][1][0]
    assert command.param("Name") == ["a", "b"] and command.param("Force") is True and command.param("Count") == 3
    assert command.arguments == ("positional",)


def test_runspace_availability_messages_are_answered(served):
    server, _ = served
    with RunspacePool(client(server)) as pool:
        pool.max_runspaces = 3
        assert pool.max_runspaces == 3 and pool.get_available_runspaces() == 1


def test_a_script_is_parsed_into_commands(served):
    server, _ = served
    with RunspacePool(client(server)) as pool:
        ps = PowerShell(pool)
        ps.add_script("Get-Thing -Name 'web 01'")
        assert ps.invoke()[0].adapted_properties["Name"] == "web 01"


def test_statements_run_in_order(served):
    server, fake = served
    with RunspacePool(client(server)) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Set-Thing").add_parameter("Name", "L1").add_parameter("Value", "v1").add_statement()
        ps.add_cmdlet("Get-Thing").add_parameter("Name", "L1")
        output = ps.invoke()
    assert output[0].adapted_properties["Notes"] == "v1"


def test_state_changed_through_one_host_is_seen_through_another(served):
    server, _ = served
    with RunspacePool(client(server, "HV01")) as pool:
        PowerShell(pool).add_cmdlet("Set-Thing").add_parameter("Name", "L9").add_parameter("Value", "changed").invoke()
    with RunspacePool(client(server, "HV02")) as pool:
        vm = PowerShell(pool).add_cmdlet("Get-Thing").add_parameter("Name", "L9").invoke()[0]
    assert vm.adapted_properties["Notes"] == "changed"


def test_receive_times_out_and_the_client_retries(served):
    server, _ = served
    with RunspacePool(client(server, operation_timeout=1, read_timeout=5)) as pool:
        ps = PowerShell(pool)
        output = ps.add_cmdlet("Get-Slow").add_parameter("Seconds", 1.2).invoke()
    assert output == ["slow"]
    assert server.servers["HV01"].endpoint.requests["TimedOut"] >= 1


def test_large_output_is_fragmented_under_max_envelope_size(served):
    server, _ = served
    endpoint = server.servers["HV01"].endpoint
    with RunspacePool(client(server)) as pool:
        receives_before = endpoint.requests["Receive"]
        output = PowerShell(pool).add_cmdlet("Get-Many").add_parameter("Count", 600).add_parameter("Size", 2000).invoke()
        receives = endpoint.requests["Receive"] - receives_before
    assert len(output) == 600 and output[599].startswith("000599")
    assert receives >= 3  # 1.2 MB of output cannot fit one 512000-byte envelope
    assert endpoint.largest_response <= 512000


def test_one_message_larger_than_an_envelope_spans_receives(served):
    server, _ = served
    with RunspacePool(client(server)) as pool:
        output = PowerShell(pool).add_cmdlet("Get-Many").add_parameter("Count", 1).add_parameter("Size", 900_000).invoke()
    assert len(output[0]) == 900_006


def test_large_argument_arrives_through_send(served):
    server, fake = served
    endpoint = server.servers["HV01"].endpoint
    with RunspacePool(client(server)) as pool:
        PowerShell(pool).add_cmdlet("Set-Thing").add_parameter("Name", "big").add_parameter("Value", "y" * 700_000).invoke()
    assert fake.state["big"] == "y" * 700_000 and endpoint.requests["Send"] >= 1


def test_close_sends_terminate_and_stop_sends_ctrl_c(served):
    server, _ = served
    endpoint = server.servers["HV01"].endpoint
    with RunspacePool(client(server)) as pool:
        with PowerShell(pool) as ps:
            ps.add_cmdlet("Get-Thing").invoke()
        slow = PowerShell(pool)
        slow.add_cmdlet("Get-Slow").add_parameter("Seconds", 0.5)
        slow.begin_invoke()
        slow.stop()
        assert slow.state == PSInvocationState.STOPPED
        assert PowerShell(pool).add_cmdlet("Get-Thing").invoke()[1] == "done"  # the pool still works
    assert endpoint.requests["Signal"] == 2


def test_wrong_password_is_http_401(served):
    server, _ = served
    with pytest.raises(AuthenticationError):
        RunspacePool(client(server, password="wrong")).open()


def test_unknown_shell_is_a_wsman_fault(served):
    server, _ = served
    with pytest.raises(WSManFaultError) as caught:
        client(server).receive(wsman.RESOURCE_URI, _desired(), selector_set=_selector(str(uuid.uuid4())))
    assert caught.value.code == wsman.INVALID_SELECTORS


def test_garbage_request_is_refused(served):
    server, _ = served
    url = server.urls()["HV01"]
    response = requests.post(url, data=b"not xml", auth=(USER, PASSWORD), proxies={"http": None}, timeout=5)
    assert response.status_code == 400 and b"Fault" in response.content


def test_execute_ps_renders_text(served):
    server, _ = served
    port = server.servers["HV01"].port
    pypsrp_client = Client("127.0.0.1", port=port, username=USER, password=PASSWORD, ssl=False, auth="basic", encryption="never", no_proxy=True)
    output, streams, had_errors = pypsrp_client.execute_ps("Get-Thing -Name web01")
    # Out-String -Stream of the engine's output: the VirtualMachine default table (psformat), as Windows prints it
    rows = [line.split() for line in output.splitlines() if line.strip()]
    assert rows[0][:2] == ["Name", "State"] and rows[2][:2] == ["web01", "Running"]
    assert not had_errors


def test_https_with_the_generated_certificate(tmp_path):
    files = tls.self_signed(tmp_path)
    with serve_fake(tls=tls.server_context(files)) as (server, _):
        assert server.urls()["HV01"].startswith("https://127.0.0.1:")
        with RunspacePool(client(server, ssl=True, cert_validation=str(files.cert), encryption="never")) as pool:
            assert PowerShell(pool).add_cmdlet("Get-Thing").invoke()[1] == "done"


def test_guid_byte_order_and_object_ids(served):
    server, _ = served
    endpoint = server.servers["HV01"].endpoint
    endpoint.trace = []
    with RunspacePool(client(server)) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Thing").invoke()
    messages, object_ids, incoming = [], [], psrp.Defragmenter()
    for _, _, body in endpoint.trace:
        for chunk in _streams(body):
            object_ids.extend(f[0] for f in psrp.split_fragments(chunk))
            messages.extend(incoming.feed(chunk))
    pool_messages = [m for m in messages if m.message_type == psrp.RUNSPACEPOOL_STATE]
    pipeline_messages = [m for m in messages if m.message_type == psrp.PIPELINE_STATE]
    assert pool_messages[0].rpid == uuid.UUID(str(pool.id))
    assert pipeline_messages[0].pid == uuid.UUID(str(ps.id)) and pipeline_messages[0].rpid == uuid.UUID(str(pool.id))
    assert object_ids == sorted(set(object_ids))  # one counter per pool, never reused


def test_requests_per_collection(served):
    server, _ = served
    endpoint = server.servers["HV01"].endpoint
    with RunspacePool(client(server)) as pool:
        for _ in range(10):
            PowerShell(pool).add_cmdlet("Get-Thing").invoke()
    assert sum(v for k, v in endpoint.requests.items() if k != "TimedOut") == 2 + 10 * 2 + 1


def test_a_full_receive_fits_the_smallest_envelope():
    request = wsman.Request("Receive", "uuid:" + str(uuid.uuid4()), "http://127.0.0.1/wsman", 153600, 20.0, "S")
    body = wsman.receive_response(request, [b"x" * fragment_budget(153600)], str(uuid.uuid4()).upper(), True)
    assert len(body) <= 153600


def test_servers_stop_and_release_their_ports():
    with serve_fake() as (server, _):
        port = server.servers["HV01"].port
    with pytest.raises(requests.ConnectionError):
        requests.post(f"http://127.0.0.1:{port}/wsman", data=b"", timeout=2, proxies={"http": None})


def test_concurrent_pools_on_one_host(served):
    server, _ = served
    results: list[str] = []

    def collect() -> None:
        with RunspacePool(client(server)) as pool:
            results.append(PowerShell(pool).add_cmdlet("Get-Thing").invoke()[1])

    threads = [threading.Thread(target=collect) for _ in range(4)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == ["done"] * 4 and time.monotonic() - start < 5


# -- helpers --------------------------------------------------------------------------------------


def _selector(shell_id: str):
    from pypsrp.wsman import SelectorSet

    selectors = SelectorSet()
    selectors.add_option("ShellId", shell_id)
    return selectors


def _desired():
    import xml.etree.ElementTree as ET

    body = ET.Element("{http://schemas.microsoft.com/wbem/wsman/1/windows/shell}Receive")
    ET.SubElement(body, "{http://schemas.microsoft.com/wbem/wsman/1/windows/shell}DesiredStream").text = "stdout"
    return body


def _streams(body: bytes) -> list[bytes]:
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return []
    return [base64.b64decode(s.text or "") for s in root.iter("{%s}Stream" % wsman.NS["rsp"])]


# -- the real simulator behind the endpoint, and `nestlab serve` ---------------------------------


def test_state_changes_through_the_endpoint_change_the_served_lab():
    from nestlab.simulator import labfile, powershell
    from nestlab.simulator.endpoint.auth import Credentials
    from nestlab.simulator.endpoint.server import LabServer
    from nestlab.simulator.model import vm_id
    from nestlab.simulator.psdata import Command

    lab = labfile.load("builtin:reference")
    host = lab.hosts()[0]
    name = lab[lab.vms(host)[0]].name
    with LabServer(lab, Credentials(USER, PASSWORD)) as server:
        with RunspacePool(client(server, host)) as pool:
            stop = PowerShell(pool)
            stop.add_cmdlet("Stop-VM").add_parameter("Name", name).add_parameter("TurnOff", True).invoke()
            assert stop.state == PSInvocationState.COMPLETED, [str(e) for e in stop.streams.error]
            served = PowerShell(pool).add_cmdlet("Get-VM").add_parameter("Name", name).invoke()[0]
    assert str(served.adapted_properties["State"]) == "Off"
    in_process = powershell.run(lab, host, (Command.of("Get-VM", Name=name),)).output[0]
    assert str(in_process["State"]) == "Off" and vm_id(host, name) in lab


def test_nestlab_serve_prints_a_line_per_host_and_stops_on_ctrl_c():
    import os
    import signal
    import subprocess
    import sys

    env = dict(os.environ, NESTLAB_PASSWORD=PASSWORD)
    process = subprocess.Popen(
        [sys.executable, "-m", "nestlab", "serve", "builtin:reference", "--port", "0", "--user", USER],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=Path(__file__).resolve().parents[1],
    )
    try:
        line = process.stdout.readline().strip()
        host, url = line.split(" ")
        assert url.startswith("http://127.0.0.1:") and url.endswith("/wsman")
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        wsman_client = WSMan("127.0.0.1", port=port, username=USER, password=PASSWORD, ssl=False, auth="basic", encryption="never", no_proxy=True)
        with RunspacePool(wsman_client):
            pass
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert "stopped" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()


def test_nestlab_serve_needs_a_password(monkeypatch):
    from click.testing import CliRunner

    from nestlab.lab.cli import cli

    monkeypatch.delenv("NESTLAB_PASSWORD", raising=False)
    done = CliRunner().invoke(cli, ["serve", "builtin:reference", "--port", "0"])
    assert done.exit_code == 2 and done.output.strip().count("\n") == 0 and "NESTLAB_PASSWORD" in done.output
