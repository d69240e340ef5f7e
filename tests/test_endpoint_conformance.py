"""The served endpoint's SOAP and PSRP structure against exchanges recorded with real Windows hosts.

The recordings (pypsrp's test suite, MIT; ../shared/reference/pypsrp-recordings) are loaded from
the shared folder, never copied here. Structure means element paths (tag and `N=` name), not
values; GUIDs in the recordings predate pypsrp's byte-order fix, so PIDs/RPIDs are not compared.
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan
from ruamel.yaml import YAML

from nestlab.simulator.endpoint import psrp
from nestlab.simulator.endpoint.testing import PASSWORD, USER, serve_fake

RECORDINGS = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference" / "pypsrp-recordings"

if not RECORDINGS.is_dir():
    pytest.skip(f"recordings of real Windows hosts not found at {RECORDINGS}", allow_module_level=True)

RSP = "{http://schemas.microsoft.com/wbem/wsman/1/windows/shell}"


def soap_paths(text: str | bytes) -> set[str]:
    paths: set[str] = set()

    def walk(element: ET.Element, prefix: str) -> None:
        path = f"{prefix}/{element.tag}"
        paths.add(path)
        paths.update(f"{path}@{name}" for name in element.attrib)
        for child in element:
            walk(child, path)

    walk(ET.fromstring(text), "")
    return paths


def clixml_paths(text: str) -> set[str]:
    paths: set[str] = set()

    def walk(element: ET.Element, prefix: str) -> None:
        path = f"{prefix}/{element.tag}" + (f"[{element.get('N')}]" if element.get("N") else "")
        paths.add(path)
        for child in element:
            walk(child, path)

    walk(ET.fromstring(text), "")
    return paths


def action(envelope: str | bytes) -> str:
    text = envelope.decode() if isinstance(envelope, bytes) else envelope
    found = re.search(r"Action[^>]*>([^<]*)<", text)
    return found.group(1).rsplit("/", 1)[-1] if found else ""


def subcode(envelope: str | bytes) -> str:
    found = re.search(r"<s:Subcode><s:Value>([^<]*)<", envelope.decode() if isinstance(envelope, bytes) else envelope)
    return found.group(1) if found else ""


def messages_of(envelopes: list[str | bytes]) -> list[psrp.Message]:
    incoming = psrp.Defragmenter()
    found: list[psrp.Message] = []
    for envelope in envelopes:
        root = ET.fromstring(envelope)
        for stream in root.iter(f"{RSP}Stream"):
            found.extend(incoming.feed(base64.b64decode(stream.text or "")))
    return found


@pytest.fixture(scope="module")
def recorded() -> list[str]:
    responses: list[str] = []
    for path in sorted(RECORDINGS.glob("*.yml")):
        for exchange in YAML(typ="safe").load(path.read_text(encoding="utf-8"))["messages"]:
            if exchange.get("response"):
                responses.append(exchange["response"])
    return responses


@pytest.fixture(scope="module")
def ours() -> list[bytes]:
    """Every response of a session that exercises each operation the recordings cover."""
    with serve_fake() as (server, _):
        endpoint = server.servers["HV01"].endpoint
        endpoint.trace = []
        wsman = WSMan("127.0.0.1", port=server.servers["HV01"].port, username=USER, password=PASSWORD, ssl=False,
                      auth="basic", encryption="never", no_proxy=True, operation_timeout=1)
        with RunspacePool(wsman) as pool:
            with PowerShell(pool) as ps:
                ps.add_cmdlet("Get-Thing").invoke()
            PowerShell(pool).add_cmdlet("Get-Partly").invoke()
            PowerShell(pool).add_cmdlet("Get-Nonsense").invoke()
            PowerShell(pool).add_cmdlet("Get-Slow").add_parameter("Seconds", 1.1).invoke()
            PowerShell(pool).add_cmdlet("Set-Thing").add_parameter("Name", "x").add_parameter("Value", "y" * 700_000).invoke()
        return [body for _, _, body in endpoint.trace]


def by_action(responses) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = {}
    for response in responses:
        key = action(response)
        if key.endswith("fault"):
            key = f"fault {subcode(response)}"
        grouped.setdefault(key, set()).update(soap_paths(response))
    return grouped


@pytest.mark.parametrize(
    "operation",
    ["CreateResponse", "ReceiveResponse", "CommandResponse", "SendResponse", "SignalResponse", "DeleteResponse", "fault w:TimedOut"],
)
def test_soap_structure_matches_windows(recorded, ours, operation):
    expected, actual = by_action(recorded).get(operation), by_action(ours).get(operation)
    assert expected, f"no recorded {operation}"
    assert actual, f"the endpoint sent no {operation}"
    assert actual == expected, f"missing {sorted(expected - actual)}; extra {sorted(actual - expected)}"


def psrp_paths(responses, message_type: int, keep=lambda body: True) -> set[str]:
    """CLIXML paths of every message of a type; TargetObject is any type (the recordings' is Nil)."""
    paths: set[str] = set()
    for message in messages_of(responses):
        if message.message_type == message_type and keep(message.body):
            paths |= {re.sub(r"/\w+\[TargetObject\]", "/*[TargetObject]", p) for p in clixml_paths(message.body)}
    return paths


@pytest.mark.parametrize(
    "message_type",
    [psrp.SESSION_CAPABILITY, psrp.RUNSPACEPOOL_STATE, psrp.APPLICATION_PRIVATE_DATA],
)
def test_pool_messages_match_windows(recorded, ours, message_type):
    expected, actual = psrp_paths(recorded, message_type), psrp_paths(ours, message_type)
    assert expected and actual == expected, f"missing {sorted(expected - actual)}; extra {sorted(actual - expected)}"


def test_completed_pipeline_state_matches_windows(recorded, ours):
    completed = lambda body: ">4</I32>" in body  # noqa: E731
    assert psrp_paths(ours, psrp.PIPELINE_STATE, completed) == psrp_paths(recorded, psrp.PIPELINE_STATE, completed)


# The parts of an ErrorRecord a reader uses; InvocationInfo, stack traces and Data are not sent.
ERROR_CORE = {
    "/Obj/ToString", "/Obj/MS/Obj[Exception]", "/Obj/MS/Obj[Exception]/TN", "/Obj/MS/Obj[Exception]/ToString",
    "/Obj/MS/Obj[Exception]/Props/S[Message]", "/Obj/MS/S[FullyQualifiedErrorId]", "/Obj/MS/I32[ErrorCategory_Category]",
    "/Obj/MS/S[ErrorCategory_Activity]", "/Obj/MS/S[ErrorCategory_Reason]", "/Obj/MS/S[ErrorCategory_TargetName]",
    "/Obj/MS/S[ErrorCategory_TargetType]", "/Obj/MS/S[ErrorCategory_Message]", "/Obj/MS/B[SerializeExtendedInfo]",
}


def test_failed_pipeline_error_record_has_the_windows_shape(recorded, ours):
    failed = lambda body: ">5</I32>" in body  # noqa: E731
    expected, actual = psrp_paths(recorded, psrp.PIPELINE_STATE, failed), psrp_paths(ours, psrp.PIPELINE_STATE, failed)
    prefix = "/Obj/MS/Obj[ExceptionAsErrorRecord]"
    core = {prefix + p[len("/Obj"):] for p in ERROR_CORE}
    assert core <= expected, "the recordings no longer show the core ErrorRecord fields"
    assert core <= actual
    assert actual <= expected, f"paths Windows never sends: {sorted(actual - expected)}"


def test_streamed_error_record_has_the_windows_shape(recorded, ours):
    expected, actual = psrp_paths(recorded, psrp.ERROR_RECORD), psrp_paths(ours, psrp.ERROR_RECORD)
    assert ERROR_CORE | {"/Obj/MS/B[writeErrorStream]"} <= actual
    assert actual <= expected, f"paths Windows never sends: {sorted(actual - expected)}"


# Known, documented differences from a recorded object (see simulator/clixml.py): enum properties
# travel as name + number, and primitive property types the recorded ServiceController lacks.
ENUM_PROPERTY = {"/Obj/Props/Obj/ToString", "/Obj/Props/Obj/I32"}
PRIMITIVE_PROPERTIES = {f"/Obj/Props/{tag}" for tag in ("I32", "I64", "U64", "Db", "DT", "TS", "G", "BA")}


def object_shapes(responses) -> set[str]:
    shapes: set[str] = set()
    for message in messages_of(responses):
        if message.message_type == psrp.PIPELINE_OUTPUT and message.body.startswith("<Obj"):
            shapes |= {re.sub(r"\[[^]]*\]", "", path) for path in clixml_paths(message.body)}
    return shapes


def test_output_objects_use_the_recorded_object_syntax(recorded, ours):
    expected, actual = object_shapes(recorded), object_shapes(ours)
    assert {"/Obj/TN/T", "/Obj/ToString", "/Obj/Props/S", "/Obj/Props/Obj/LST/S"} <= actual
    assert actual - ENUM_PROPERTY - PRIMITIVE_PROPERTIES <= expected, sorted(actual - expected)
