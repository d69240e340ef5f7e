"""Authenticated requests WinRM refuses, and its quotas and IdleTimeout (issue 13, items 6 and 7).

Each malformed request is answered with a SOAP fault carrying the code a Windows host sends
(wsmerror.h; wsman.py and quotas.py cite them), never a dropped connection or a silent 200,
and a good client is served right after.
"""

from __future__ import annotations

import base64
import re
import uuid
import xml.etree.ElementTree as ET

import pytest
import requests
import winrm
from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from nestlab.simulator.endpoint import psrp, quotas, wsman
from nestlab.simulator.endpoint.quotas import Quotas
from nestlab.simulator.endpoint.testing import PASSWORD, USER, serve_fake

pytestmark = pytest.mark.endpoint


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served():
    with serve_fake() as (server, fake):
        yield server, server.servers["HV01"].endpoint


def client(server) -> WSMan:
    return WSMan("127.0.0.1", port=server.servers["HV01"].port, username=USER, password=PASSWORD, ssl=False,
                 auth="basic", encryption="never", no_proxy=True)


def post(server, data: bytes) -> requests.Response:
    return requests.post(server.servers["HV01"].url, data=data, auth=(USER, PASSWORD),
                         headers={"Content-Type": "application/soap+xml;charset=UTF-8"}, timeout=30)


def fault_code(response: requests.Response) -> int:
    node = ET.fromstring(response.content).find("s:Body/s:Fault/s:Detail/f:WSManFault", wsman.NS)
    return int(node.get("Code"))


def still_serves(server) -> None:
    with client(server) as transport, RunspacePool(transport) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Thing").add_parameter("Name", "ok")
        assert ps.invoke()[1] == "done"


def recorded_requests(server, endpoint) -> dict[str, bytes]:
    """One real request of each action, as pypsrp sent it (the pool is left open for Command tests)."""
    endpoint.trace = []
    transport = client(server)
    pool = RunspacePool(transport)
    pool.open()
    ps = PowerShell(pool)
    ps.add_cmdlet("Get-Thing")
    ps.invoke()
    found: dict[str, bytes] = {}
    for request, _, _ in endpoint.trace:
        found.setdefault(wsman.parse_request(request).action, request)
    endpoint.trace = None
    return found


def with_header(request: bytes, tag: str, value: str) -> bytes:
    return re.sub(rb"(<[\w:]*" + tag.encode() + rb"[^>]*>)[^<]*(</)", rb"\g<1>" + value.encode() + rb"\2", request, count=1)


@pytest.mark.parametrize(("tag", "value", "code"), [
    ("MaxEnvelopeSize", "abc", wsman.SCHEMA_VALIDATION_ERROR),
    ("MaxEnvelopeSize", "-5", wsman.SCHEMA_VALIDATION_ERROR),
    ("MaxEnvelopeSize", "100", wsman.MIN_ENVELOPE_SIZE),
    ("MaxEnvelopeSize", "9" * 40, wsman.SCHEMA_VALIDATION_ERROR),
    ("OperationTimeout", "PT1.2.3S", wsman.INVALID_TIMEOUT_HEADER),
    ("OperationTimeout", "abc", wsman.INVALID_TIMEOUT_HEADER),
    ("OperationTimeout", "PT", wsman.INVALID_TIMEOUT_HEADER),
])
def test_bad_header_values_are_faults(served, tag, value, code):
    server, endpoint = served
    create = recorded_requests(server, endpoint)["Create"]
    answer = post(server, with_header(create, tag, value))
    assert answer.status_code == 500
    assert fault_code(answer) == code
    message_id = re.search(rb"<[\w:]*MessageID[^>]*>([^<]*)<", create).group(1).decode()
    assert ET.fromstring(answer.content).findtext("s:Header/a:RelatesTo", None, wsman.NS) == message_id
    still_serves(server)


def test_xml_that_does_not_parse_is_invalid_xml(served):
    server, _ = served
    answer = post(server, b"<s:Envelope><unclosed>")
    assert answer.status_code == 400 and fault_code(answer) == wsman.INVALID_XML
    still_serves(server)


def test_invalid_base64_is_a_schema_fault_not_an_empty_success(served):
    server, endpoint = served
    found = recorded_requests(server, endpoint)
    for action in ("Create", "Command"):
        broken = re.sub(rb"(<[\w:]*(?:creationXml|Arguments)[^>]*>)[^<]*", rb"\g<1>!!not base64!!", found[action], count=1)
        answer = post(server, broken)
        assert answer.status_code == 500, action
        assert fault_code(answer) == wsman.SCHEMA_VALIDATION_ERROR, action
    still_serves(server)


def _command_with_body(command: bytes, body: str) -> bytes:
    rpid = uuid.UUID(re.search(rb'Name="ShellId">([^<]*)<', command).group(1).decode())
    pid = uuid.uuid4()
    message = psrp.Message(psrp.DESTINATION_SERVER, psrp.CREATE_PIPELINE, rpid, pid, body).pack()
    fragment = b"".join(psrp.fragments(1, message, 200_000))
    replaced = re.sub(rb"(<[\w:]*Arguments[^>]*>)[^<]*", rb"\g<1>" + base64.b64encode(fragment), command, count=1)
    return re.sub(rb'CommandId="[^"]*"', f'CommandId="{str(pid).upper()}"'.encode(), replaced, count=1)


@pytest.mark.parametrize("body", [
    '<!DOCTYPE Obj [<!ENTITY a "aaaa">]><Obj RefId="0"><S>&a;</S></Obj>',
    '<Obj RefId="0"><LST>' + "<LST>" * 5000 + "</LST>" * 5000 + "</LST></Obj>",
    '<Obj RefId="0"><MS><S N="x">unclosed</MS></Obj>',
], ids=["dtd", "5000-deep", "not-xml"])
def test_psrp_data_powershell_cannot_read_is_the_plugins_fault(served, body):
    server, endpoint = served
    command = recorded_requests(server, endpoint)["Command"]
    answer = post(server, _command_with_body(command, body))
    assert answer.status_code == 500
    assert fault_code(answer) == wsman.INVALID_PARAMETER
    assert b"pwrshplugin.dll" in answer.content
    still_serves(server)


# -- quotas ---------------------------------------------------------------------------------------


def test_max_shells_per_user_counts_psrp_pools_and_cmd_shells(served):
    server, endpoint = served
    endpoint.activity.quotas = Quotas(max_shells_per_user=2)
    protocol = winrm.Protocol(server.servers["HV01"].url, transport="basic", username=USER, password=PASSWORD)
    with client(server) as transport, RunspacePool(transport):
        protocol.open_shell()
        with pytest.raises(winrm.exceptions.WSManFaultError) as refused:
            protocol.open_shell()
    assert refused.value.wsman_fault_code == quotas.SHELLS_EXCEEDED
    assert refused.value.fault_subcode == "w:QuotaLimit"
    assert "This user is allowed a maximum number of 2 concurrent shells, which has been exceeded." in refused.value.reason


def test_max_concurrent_operations_per_user(served):
    server, endpoint = served
    endpoint.activity.quotas = Quotas(max_operations_per_user=2)
    protocol = winrm.Protocol(server.servers["HV01"].url, transport="basic", username=USER, password=PASSWORD)
    shell_id = protocol.open_shell()
    first = protocol.run_command(shell_id, "hostname")
    protocol.run_command(shell_id, "hostname")
    with pytest.raises(winrm.exceptions.WSManFaultError) as refused:
        protocol.run_command(shell_id, "hostname")
    assert refused.value.wsman_fault_code == quotas.OPERATIONS_EXCEEDED
    assert "maximum number of 2 concurrent operations" in refused.value.reason
    protocol.cleanup_command(shell_id, first)  # a terminated command no longer counts
    protocol.run_command(shell_id, "hostname")


def test_an_idle_shell_expires_and_is_then_unknown(served):
    server, endpoint = served
    clock = Clock()
    endpoint.activity.quotas = Quotas(idle_timeout=7200, clock=clock)
    protocol = winrm.Protocol(server.servers["HV01"].url, transport="basic", username=USER, password=PASSWORD)
    shell_id = protocol.open_shell()
    clock.now += 7199
    protocol.run_command(shell_id, "hostname")  # still alive, and now used again
    clock.now += 7201
    with pytest.raises(winrm.exceptions.WSManFaultError) as gone:
        protocol.run_command(shell_id, "hostname")
    assert gone.value.wsman_fault_code == wsman.INVALID_SELECTORS
    assert endpoint.winrs.shells == {}


def test_idle_psrp_pools_and_unreceived_pipelines_expire(served):
    server, endpoint = served
    clock = Clock()
    endpoint.activity.quotas = Quotas(idle_timeout=7200, clock=clock)
    with client(server) as transport:
        pool = RunspacePool(transport)
        pool.open()
        forgotten = PowerShell(pool)
        forgotten.add_cmdlet("Get-Many").add_parameter("Count", 500).add_parameter("Size", 1000)
        forgotten.begin_invoke()  # output queued on the server, never received
        (shell,) = endpoint.pools.values()
        assert len(shell.pipelines) == 1
        clock.now += 5000
        pool.get_available_runspaces()  # the pool is used, the pipeline is not
        clock.now += 5000
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Thing")
        assert ps.invoke()[1] == "done"
        assert list(shell.pipelines) == []  # the unreceived one is gone, its output with it
        clock.now += 7201
        with pytest.raises(WSManFaultError) as gone:  # the idle pool itself is gone now
            PowerShell(pool).add_cmdlet("Get-Thing").invoke()
        assert gone.value.code == wsman.INVALID_SELECTORS
        assert endpoint.pools == {}


def test_a_dtd_in_the_creation_xml_is_the_plugins_fault(served):
    server, endpoint = served
    create = recorded_requests(server, endpoint)["Create"]
    rpid = uuid.UUID(re.search(rb'ShellId="([^"]*)"', create).group(1).decode())
    capability = '<!DOCTYPE Obj [<!ENTITY big "x">]><Obj RefId="0"><MS><S N="x">&big;</S></MS></Obj>'
    data = b"".join(psrp.fragments(1, psrp.Message(psrp.DESTINATION_SERVER, psrp.SESSION_CAPABILITY, rpid, psrp.EMPTY,
                                                   capability).pack(), 100_000))
    broken = re.sub(rb"(<[\w:]*creationXml[^>]*>)[^<]*", rb"\g<1>" + base64.b64encode(data), create, count=1)
    answer = post(server, broken)
    assert answer.status_code == 500 and fault_code(answer) == wsman.INVALID_PARAMETER
    assert psrp.DTD_PROHIBITED.encode() in answer.content
    still_serves(server)


def test_an_xml_declaration_with_an_unknown_encoding_is_invalid_xml(served):
    """Found by mutating recorded requests: expat raises LookupError, not ParseError, for it."""
    server, endpoint = served
    create = recorded_requests(server, endpoint)["Create"]
    answer = post(server, b'<?xml version="1.0" encoding="zz"?>' + create)
    assert answer.status_code == 400 and fault_code(answer) == wsman.INVALID_XML
    still_serves(server)


@pytest.mark.parametrize(("mutate", "code"), [
    (lambda r: re.sub(rb"<[\w:]*Action[^>]*>[^<]*</[\w:]*Action>", b"", r, count=1), wsman.HEADER_REQUIRED),
    (lambda r: re.sub(rb"(<[\w:]*Action[^>]*>)[^<]*", rb"\g<1>http://schemas.xmlsoap.org/ws/2004/09/transfer/Frobnicate",
                      r, count=1), wsman.ACTION_NOT_SUPPORTED),
    (lambda r: re.sub(rb"<[\w:]*creationXml.*?</[\w:]*creationXml>", b"", r, count=1, flags=re.S), wsman.INVALID_SOAP_BODY),
], ids=["no-action", "unknown-action", "no-creationXml"])
def test_missing_headers_and_bodies_and_unknown_actions(served, mutate, code):
    server, endpoint = served
    answer = post(server, mutate(recorded_requests(server, endpoint)["Create"]))
    assert answer.status_code == 500 and fault_code(answer) == code
    still_serves(server)


def test_a_cmd_shell_idles_out_after_the_idle_timeout_it_asked_for(served):
    server, endpoint = served
    clock = Clock()
    endpoint.activity.quotas = Quotas(idle_timeout=7200, clock=clock)
    protocol = winrm.Protocol(server.servers["HV01"].url, transport="basic", username=USER, password=PASSWORD)
    short = protocol.open_shell(idle_timeout="PT60S")
    default = protocol.open_shell()
    clock.now += 61
    with pytest.raises(winrm.exceptions.WSManFaultError) as gone:
        protocol.run_command(short, "hostname")
    assert gone.value.wsman_fault_code == wsman.INVALID_SELECTORS
    protocol.run_command(default, "hostname")
