"""psrpcore as the client (its own PSRP state machine, serializer and key exchange) over our WS-Management.

psrpcore has no transport: the test carries its payloads in hand-written Create, Send, Command
and Receive envelopes, as a psrpcore-based client (pypsrp 1.x, psrp.exe …) does.
"""

from __future__ import annotations

import base64
import uuid
import xml.etree.ElementTree as ET

import psrpcore
import pytest
import requests
from psrpcore.types import RunspacePoolState, PSInvocationState

from nestlab.simulator.endpoint import wsman
from nestlab.simulator.endpoint.testing import PASSWORD, USER, serve_fake

pytestmark = pytest.mark.endpoint

PWSH = "http://schemas.microsoft.com/powershell"


class Wire:
    def __init__(self, url: str) -> None:
        self.url = url

    def call(self, action: str, body: str, shell_id: str | None = None) -> ET.Element:
        selector = f'<w:SelectorSet><w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet>' if shell_id else ""
        namespace = wsman.TRANSFER if action in ("Create", "Delete") else wsman.SHELL
        envelope = (
            f'<s:Envelope xmlns:s="{wsman.NS["s"]}" xmlns:a="{wsman.NS["a"]}" xmlns:w="{wsman.NS["w"]}" '
            f'xmlns:rsp="{wsman.NS["rsp"]}"><s:Header><a:Action>{namespace}{action}</a:Action>'
            f"<a:MessageID>uuid:{uuid.uuid4()}</a:MessageID><a:To>{self.url}</a:To>"
            f"<w:ResourceURI>{wsman.RESOURCE_URI}</w:ResourceURI><w:MaxEnvelopeSize>153600</w:MaxEnvelopeSize>"
            f"<w:OperationTimeout>PT5S</w:OperationTimeout>{selector}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
        )
        answer = requests.post(self.url, data=envelope.encode(), auth=(USER, PASSWORD), timeout=30)
        assert answer.status_code == 200, answer.text
        return ET.fromstring(answer.content)

    def receive(self, shell_id: str, command_id: uuid.UUID | None = None) -> list[bytes]:
        attr = f' CommandId="{str(command_id).upper()}"' if command_id else ""
        root = self.call("Receive", f"<rsp:Receive><rsp:DesiredStream{attr}>stdout</rsp:DesiredStream></rsp:Receive>", shell_id)
        return [base64.b64decode(s.text or "") for s in root.iter(f"{{{wsman.NS['rsp']}}}Stream")]


def pending(pool: psrpcore.ClientRunspacePool) -> bytes:
    data = b""
    while (payload := pool.data_to_send()) is not None:
        data += payload.data
    return data


def events_until(pool, wire, shell_id, done, command_id=None) -> list:
    seen = []
    for _ in range(20):
        for chunk in wire.receive(shell_id, command_id):
            pool.receive_data(psrpcore.PSRPPayload(chunk, psrpcore.StreamType.default, command_id))
        while (event := pool.next_event()) is not None:
            seen.append(event)
        if done(seen):
            return seen
    raise AssertionError(f"no end in {seen}")


def opened_pool(wire: Wire) -> tuple[psrpcore.ClientRunspacePool, str]:
    """A psrpcore runspace pool opened on the served host: Create with its creationXml, then Receive
    until the pool says Opened. Returns the pool and its shell id."""
    pool = psrpcore.ClientRunspacePool()
    pool.open()
    shell_id = str(pool.runspace_pool_id).upper()
    creation = base64.b64encode(pending(pool)).decode()
    wire.call("Create", f'<rsp:Shell ShellId="{shell_id}"><rsp:InputStreams>stdin pr</rsp:InputStreams>'
                        f'<rsp:OutputStreams>stdout</rsp:OutputStreams><creationXml xmlns="{PWSH}">{creation}'
                        "</creationXml></rsp:Shell>")
    events_until(pool, wire, shell_id, lambda seen: pool.state == RunspacePoolState.Opened)
    return pool, shell_id


def test_psrpcore_client_opens_a_pool_exchanges_keys_and_runs_a_pipeline():
    with serve_fake() as (server, fake):
        wire = Wire(server.servers["HV01"].url)
        pool, shell_id = opened_pool(wire)

        pool.exchange_key()
        wire.call("Send", f'<rsp:Send><rsp:Stream Name="stdin">{base64.b64encode(pending(pool)).decode()}</rsp:Stream></rsp:Send>',
                  shell_id)
        events_until(pool, wire, shell_id, lambda seen: any(isinstance(e, psrpcore.EncryptedSessionKeyEvent) for e in seen))

        ps = psrpcore.ClientPowerShell(pool)
        ps.add_command("Get-Thing").add_parameter("Name", "core")
        ps.start()
        first = base64.b64encode(pending(pool)).decode()
        command_id = ps.pipeline_id
        wire.call("Command", f'<rsp:CommandLine CommandId="{str(command_id).upper()}"><rsp:Command></rsp:Command>'
                             f"<rsp:Arguments>{first}</rsp:Arguments></rsp:CommandLine>", shell_id)
        seen = events_until(pool, wire, shell_id, lambda seen: ps.state == PSInvocationState.Completed, command_id)
        output = [e.data for e in seen if isinstance(e, psrpcore.PipelineOutputEvent)]
        assert str(output[1]) == "done"
        assert output[0].Name == "core" and output[0].ComputerName == "HV01"
        assert fake.calls[-1][1][0].param("Name") == "core"
        wire.call("Delete", "", shell_id)
