"""Recorded requests, mutated: every answer is a success or a SOAP fault, never a dropped connection.

The requests are what pypsrp (a pool and a pipeline) and pywinrm (a cmd shell, a command, stdin)
really sent to the served endpoint; each mutation empties an element, flips bytes, truncates,
removes an element, changes an attribute or spoils base64. Seeded, so a failure replays. This
is how the unknown-encoding escape (`encoding="zz"`, LookupError in expat) was found.
"""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET

import pytest
import requests
import winrm
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from nestlab.simulator.endpoint import wsman
from nestlab.simulator.endpoint.testing import PASSWORD, USER, serve_fake

pytestmark = pytest.mark.endpoint

MUTATIONS = 200


def _recorded(server) -> list[bytes]:
    endpoint = server.servers["HV01"].endpoint
    endpoint.trace = []
    transport = WSMan("127.0.0.1", port=server.servers["HV01"].port, username=USER, password=PASSWORD, ssl=False,
                      auth="basic", encryption="never", no_proxy=True)
    pool = RunspacePool(transport)
    pool.open()
    ps = PowerShell(pool)
    ps.add_cmdlet("Get-Thing")
    ps.invoke(input=["x"])
    protocol = winrm.Protocol(server.servers["HV01"].url, transport="basic", username=USER, password=PASSWORD)
    shell_id = protocol.open_shell()
    command_id = protocol.run_command(shell_id, "hostname")
    protocol.get_command_output(shell_id, command_id)
    protocol.send_command_input(shell_id, command_id, b"x")
    recorded = [request for request, _, _ in endpoint.trace]
    endpoint.trace = None
    # short waits: a mutated Receive that stays valid would otherwise wait out its 20 s
    return [re.sub(rb"PT[\d.]+S", b"PT0.05S", request) for request in recorded]


def _mutate(rng: random.Random, request: bytes) -> bytes:
    data = bytearray(request)
    kind = rng.randrange(6)
    if kind == 0 and (texts := list(re.finditer(rb">[^<]+<", data))):
        hit = rng.choice(texts)
        data[hit.start() + 1 : hit.end() - 1] = b""
    elif kind == 1:
        for _ in range(rng.randrange(1, 5)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == 2:
        data = data[: rng.randrange(len(data))]
    elif kind == 3 and (elements := list(re.finditer(rb"<([\w:]+)[^>/]*>[^<]*</\1>", data))):
        hit = rng.choice(elements)
        data[hit.start() : hit.end()] = b""
    elif kind == 4 and (values := list(re.finditer(rb'="[^"]*"', data))):
        hit = rng.choice(values)
        data[hit.start() + 2 : hit.end() - 1] = rng.choice([b"", b"zz", b"-1", b"\xff", b"P" * 300])
    elif kind == 5 and (blobs := list(re.finditer(rb">[A-Za-z0-9+/=]{8,}<", data))):
        hit = rng.choice(blobs)
        data[hit.start() + 1 : hit.start() + 5] = b"@@@@"
    return bytes(data)


def test_mutated_requests_get_an_answer_and_the_endpoint_keeps_serving():
    rng = random.Random(20261202)
    with serve_fake() as (server, _):
        recorded = _recorded(server)
        url = server.servers["HV01"].url
        outcomes: dict[str, int] = {}
        for _ in range(MUTATIONS):
            answer = requests.post(url, data=_mutate(rng, rng.choice(recorded)), auth=(USER, PASSWORD), timeout=30)
            if answer.status_code == 200:
                outcome = "200"
            else:
                fault = ET.fromstring(answer.content).find("s:Body/s:Fault/s:Detail/f:WSManFault", wsman.NS)
                assert fault is not None, (answer.status_code, answer.content[:300])
                outcome = f"{answer.status_code} {fault.get('Code')}"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        assert sum(outcomes.values()) == MUTATIONS
        assert len(outcomes) > 3, outcomes  # the mutations reach more than one kind of refusal
        with WSMan("127.0.0.1", port=server.servers["HV01"].port, username=USER, password=PASSWORD, ssl=False,
                   auth="basic", encryption="never", no_proxy=True) as transport, RunspacePool(transport) as pool:
            ps = PowerShell(pool)
            ps.add_cmdlet("Get-Thing")
            assert ps.invoke()[1] == "done"
