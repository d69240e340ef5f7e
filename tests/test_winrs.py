"""The WinRS cmd shell against real pywinrm and pypsrp's WinRS client, on loopback, over builtin:reference."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import pytest
import requests
import winrm
from pypsrp.shell import Process, SignalCode, WinRS
from pypsrp.wsman import WSMan

from nestlab.simulator import labfile
from nestlab.simulator.endpoint import winrs, wsman
from nestlab.simulator.endpoint.auth import Credentials
from nestlab.simulator.endpoint.server import LabServer
from nestlab.simulator.endpoint.shellcommands import split_args

pytestmark = pytest.mark.endpoint

USER, PASSWORD = "labadmin", "S3cret-pa55"


@pytest.fixture
def served():
    lab = labfile.load("builtin:reference")
    with LabServer(lab, Credentials(USER, PASSWORD), hosts=["HV01"]) as server:
        yield server, lab


def session(server) -> winrm.Session:
    return winrm.Session(server.urls()["HV01"], auth=(USER, PASSWORD), transport="basic")


def test_run_cmd_hostname_and_whoami(served):
    server, _ = served
    hostname = session(server).run_cmd("hostname")
    assert (hostname.status_code, hostname.std_out, hostname.std_err) == (0, b"HV01\r\n", b"")
    assert session(server).run_cmd("whoami").std_out == b"hv01\\labadmin\r\n"


def test_cmd_operators_streams_and_exit_code(served):
    """pypsrp's test_winrs_stderr_rc recording: `echo out && echo err>&2 && exit 1` on Windows."""
    result = session(served[0]).run_cmd("cmd.exe", ["/c", "echo out && echo err>&2 && exit 1"])
    assert (result.status_code, result.std_out, result.std_err) == (1, b"out \r\n", b"err \r\n")


def test_unknown_program_is_cmds_error_9009(served):
    result = session(served[0]).run_cmd("nosuch-tool", ["/x"])
    assert result.status_code == 9009
    assert result.std_err.startswith(b"'nosuch-tool' is not recognized as an internal or external command,")


def test_native_commands_read_the_lab(served):
    server, lab = served
    ipconfig = session(server).run_cmd("ipconfig").std_out.decode()
    nic = next(n for n in lab.owned("HV01", "nic"))
    assert "Windows IP Configuration" in ipconfig
    assert f"   IPv4 Address. . . . . . . . . . . : {lab[nic].ip.split('/')[0]}\r\n" in ipconfig
    bcd = session(server).run_cmd("bcdedit", ["/enum"])
    assert bcd.status_code == 0 and b"hypervisorlaunchtype    Auto" in bcd.std_out
    bad = session(server).run_cmd("bcdedit /set hypervisorlaunchtype maybe")
    assert bad.status_code == 1 and b"The set command specified is not valid." in bad.std_out


def test_netsh_change_through_winrs_is_seen_by_the_lab(served):
    server, lab = served
    added = session(server).run_cmd("netsh interface portproxy add v4tov4 listenport=8080 connectaddress=10.0.0.5")
    assert added.status_code == 0
    assert [(r.listen_port, r.connect_address) for r in lab.platform("HV01").portproxy] == [(8080, "10.0.0.5")]
    shown = session(server).run_cmd("netsh interface portproxy show all").std_out.decode()
    assert "0.0.0.0         8080        10.0.0.5        8080" in shown


def test_run_ps_output_as_text(served):
    result = session(served[0]).run_ps("Get-VMProcessor -VMName L1 | Select-Object Count")
    assert result.status_code == 0, result.std_err
    assert re.search(r"Count\s*\n-----\n\s*\d+", result.std_out.decode())  # <= 4 properties: a table, as Windows prints it


def test_run_ps_error_is_clixml_on_stderr_and_exit_1(served):
    server, _ = served
    raw = winrm.Session(server.urls()["HV01"], auth=(USER, PASSWORD), transport="basic")
    encoded = base64.b64encode("Get-VM -Name nosuch".encode("utf-16-le")).decode()
    plain = raw.run_cmd(f"powershell -encodedcommand {encoded}")
    assert plain.status_code == 1
    assert plain.std_err.startswith(b"#< CLIXML\r\n<Objs Version=\"1.1.0.1\"")
    assert b'<S S="Error">Get-VM : Hyper-V was unable to find a virtual machine with name "nosuch"._x000D__x000A_</S>' \
        in plain.std_err
    cleaned = raw.run_ps("Get-VM -Name nosuch")
    assert cleaned.status_code == 1
    assert "FullyQualifiedErrorId : InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM" in cleaned.std_err.decode()


def test_powershell_command_errors_are_console_text(served):
    result = session(served[0]).run_cmd("powershell.exe", ["-NoProfile", "-NonInteractive", "-Command", "Get-Nothing"])
    assert result.status_code == 1
    assert result.std_err.decode().startswith("Get-Nothing : The term 'Get-Nothing' is not recognized")
    assert "CLIXML" not in result.std_err.decode()


def test_powershell_reads_its_script_from_stdin(served):
    """pypsrp's test_winrs_send recording: `powershell.exe -` with two Sends, the second End=True."""
    server, _ = served
    wsman_client = WSMan("127.0.0.1", port=server.servers["HV01"].port, username=USER, password=PASSWORD, ssl=False,
                         auth="basic", encryption="never", no_proxy=True)
    with wsman_client, WinRS(wsman_client) as shell:
        process = Process(shell, "powershell.exe", ["-"])
        process.begin_invoke()
        process.send(b"hostname\r\n", end=False)
        process.send(b"whoami\r\n", end=True)
        process.end_invoke()
        assert process.rc == 0
        assert process.stdout == b"HV01\nhv01\\labadmin\n"
        process.signal(SignalCode.CTRL_C)


def test_receive_responses_are_shaped_as_windows(served):
    """Streams, End markers and CommandState as in pypsrp's test_winrs_standard recording."""
    server, _ = served
    protocol = session(server).protocol
    shell_id = protocol.open_shell()
    command_id = protocol.run_command(shell_id, "hostname")
    stdout, stderr, code = protocol.get_command_output(shell_id, command_id)
    assert (stdout, stderr, code) == (b"HV01\r\n", b"", 0)
    protocol.cleanup_command(shell_id, command_id)
    with pytest.raises(winrm.exceptions.WSManFaultError) as failed:  # terminate forgot the command
        protocol.get_command_output_raw(shell_id, command_id)
    assert failed.value.wsman_fault_code == wsman.INVALID_SELECTORS
    protocol.close_shell(shell_id)
    with pytest.raises(winrm.exceptions.WSManFaultError) as gone:
        protocol.run_command(shell_id, "hostname")
    assert "the shell was not found on the server" in gone.value.reason + str(gone.value.response)


def test_receive_envelope_elements(served):
    server, _ = served
    protocol = session(server).protocol
    shell_id = protocol.open_shell()
    command_id = protocol.run_command(shell_id, "hostname")
    answer = None
    for _ in range(20):
        text = _raw_receive(server, shell_id, command_id)
        if "CommandState/Done" in text:
            answer = text
            break
    assert answer is not None
    body = ET.fromstring(answer).find("s:Body/rsp:ReceiveResponse", wsman.NS)
    streams = [(s.get("Name"), s.get("End"), s.text) for s in body.findall("rsp:Stream", wsman.NS)]
    assert streams == [("stdout", None, base64.b64encode(b"HV01\r\n").decode()), ("stdout", "true", None),
                       ("stderr", "true", None)]
    state = body.find("rsp:CommandState", wsman.NS)
    assert state.get("CommandId") == command_id and state.findtext("rsp:ExitCode", None, wsman.NS) == "0"
    protocol.close_shell(shell_id)


def _raw_receive(server, shell_id: str, command_id: str) -> str:
    body = f'<rsp:Receive><rsp:DesiredStream CommandId="{command_id}">stdout stderr</rsp:DesiredStream></rsp:Receive>'
    return _raw(server, "Receive", shell_id, body)


def _raw(server, action: str, shell_id: str, body: str) -> str:
    envelope = (
        f'<s:Envelope xmlns:s="{wsman.NS["s"]}" xmlns:a="{wsman.NS["a"]}" xmlns:w="{wsman.NS["w"]}" '
        f'xmlns:rsp="{wsman.NS["rsp"]}"><s:Header><a:Action>{wsman.SHELL}{action}</a:Action>'
        f"<a:MessageID>uuid:00000000-0000-0000-0000-000000000001</a:MessageID><w:ResourceURI>{winrs.CMD_URI}</w:ResourceURI>"
        f'<w:OperationTimeout>PT5S</w:OperationTimeout><w:SelectorSet><w:Selector Name="ShellId">{shell_id}</w:Selector>'
        f"</w:SelectorSet></s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )
    answer = requests.post(server.urls()["HV01"], data=envelope.encode(), auth=(USER, PASSWORD),
                           headers={"Content-Type": "application/soap+xml;charset=UTF-8"})
    return answer.text


def test_ctrl_c_stops_a_command_waiting_for_stdin(served):
    server, _ = served
    protocol = session(server).protocol
    shell_id = protocol.open_shell()
    command_id = protocol.run_command(shell_id, "powershell", ["-"])
    protocol.send_command_input(shell_id, command_id, b"hostname\r\n")
    stdout, _, _, done = protocol.get_command_output_raw(shell_id, command_id)
    assert (stdout, done) == (b"HV01\n", False)
    body = (f'<rsp:Signal CommandId="{command_id}"><rsp:Code>{winrs.SIGNAL_CTRL_C}</rsp:Code></rsp:Signal>')
    assert "SignalResponse" in _raw(server, "Signal", shell_id, body)
    _, _, code = protocol.get_command_output(shell_id, command_id)
    assert code == -1073741510  # STATUS_CONTROL_C_EXIT
    protocol.close_shell(shell_id)


@pytest.mark.parametrize(("line", "argv"), [
    ('a "b c" d', ["a", "b c", "d"]),
    (r'a\\"b c" d', ["a\\b c", "d"]),
    (r'a\"b', ['a"b']),
    (r"C:\dir\x.exe y", [r"C:\dir\x.exe", "y"]),
    ('""', [""]),
])
def test_command_line_splits_as_windows_does(line, argv):
    assert split_args(line) == argv


def test_large_output_spans_receives_complete_and_in_order():
    from nestlab.simulator.endpoint.testing import PASSWORD as FAKE_PASSWORD, USER as FAKE_USER, serve_fake

    with serve_fake() as (server, _):
        endpoint = server.servers["HV01"].endpoint
        s = winrm.Session(server.urls()["HV01"], auth=(FAKE_USER, FAKE_PASSWORD), transport="basic")
        result = s.run_cmd("powershell", ["-Command", "Get-Many -Count 3000 -Size 90"])
        assert result.status_code == 0, result.std_err
        lines = result.std_out.decode().split("\n")[:-1]
        assert lines == [f"{i:06d}" + "x" * 90 for i in range(3000)]
        assert endpoint.requests["Receive"] >= 2  # 291 kB of output, 153,600-byte envelopes


def test_stdout_and_stderr_keep_the_order_they_were_written(served):
    server, _ = served
    protocol = session(server).protocol
    shell_id = protocol.open_shell()
    command_id = protocol.run_command(shell_id, "echo a&& echo b>&2&& echo c")
    streams: list[tuple[str, bytes]] = []
    for _ in range(20):
        text = _raw_receive(server, shell_id, command_id)
        body = ET.fromstring(text).find("s:Body/rsp:ReceiveResponse", wsman.NS)
        streams += [(s.get("Name"), base64.b64decode(s.text)) for s in body.findall("rsp:Stream", wsman.NS) if s.text]
        if "CommandState/Done" in text:
            break
    assert streams == [("stdout", b"a\r\n"), ("stderr", b"b\r\n"), ("stdout", b"c\r\n")]
    protocol.close_shell(shell_id)


def test_create_response_lists_the_shell_as_windows_does(served):
    """The rsp:Shell children of pypsrp's recorded CreateResponse (test_winrs_standard.yml), in order."""
    server, _ = served
    envelope = (
        f'<s:Envelope xmlns:s="{wsman.NS["s"]}" xmlns:a="{wsman.NS["a"]}" xmlns:w="{wsman.NS["w"]}" '
        f'xmlns:rsp="{wsman.NS["rsp"]}"><s:Header><a:Action>{wsman.TRANSFER}Create</a:Action>'
        f"<a:MessageID>uuid:00000000-0000-0000-0000-000000000002</a:MessageID><w:ResourceURI>{winrs.CMD_URI}</w:ResourceURI>"
        "<a:To>http://127.0.0.1/wsman</a:To></s:Header><s:Body><rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams>"
        "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell></s:Body></s:Envelope>"
    )
    answer = requests.post(server.urls()["HV01"], data=envelope.encode(), auth=(USER, PASSWORD))
    body = ET.fromstring(answer.content).find("s:Body", wsman.NS)
    shell = body.find("rsp:Shell", wsman.NS)
    assert [child.tag.split("}")[1] for child in shell] == [
        "ShellId", "ResourceUri", "Owner", "ClientIP", "IdleTimeOut", "InputStreams", "OutputStreams",
        "ShellRunTime", "ShellInactivity"]
    selector = body.find("x:ResourceCreated/a:ReferenceParameters/w:SelectorSet/w:Selector", wsman.NS)
    assert selector.text == shell.findtext("rsp:ShellId", None, wsman.NS)
    assert shell.findtext("rsp:Owner", None, wsman.NS) == USER
    assert shell.findtext("rsp:IdleTimeOut", None, wsman.NS) == "PT7200.000S"


def test_receive_of_a_silent_command_times_out_and_pywinrm_retries(served):
    server, _ = served
    protocol = winrm.Protocol(server.urls()["HV01"], transport="basic", username=USER, password=PASSWORD,
                              operation_timeout_sec=1, read_timeout_sec=3)
    shell_id = protocol.open_shell()
    command_id = protocol.run_command(shell_id, "powershell", ["-"])  # waits for stdin
    with pytest.raises(winrm.exceptions.WinRMOperationTimeoutError):
        protocol.get_command_output_raw(shell_id, command_id)
    protocol.send_command_input(shell_id, command_id, b"hostname\r\n", end=True)
    assert protocol.get_command_output(shell_id, command_id) == (b"HV01\n", b"", 0)
    protocol.close_shell(shell_id)


def test_clixml_stderr_escapes_markup_and_underscores(served):
    """XML markup is escaped, and a literal "_x" has its "_" written _x005F_ (MS-PSRP 2.2.5.1.1)."""
    encoded = base64.b64encode("Get-VM -Name 'a<b&c_x0041_'".encode("utf-16-le")).decode()
    raw = session(served[0]).run_cmd(f"powershell -EncodedCommand {encoded}")
    assert 'name "a&lt;b&amp;c_x005F_x0041_"._x000D__x000A_</S>' in raw.std_err.decode()
    cleaned = session(served[0]).run_ps("Get-VM -Name 'a<b&c_x0041_'")
    assert 'with name "a<b&c_x005F_x0041_".' in cleaned.std_err.decode()  # pywinrm decodes only CRLF, as from Windows
