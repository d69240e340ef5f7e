"""`nestlab fidelity`: empty against the simulator served, and it finds what a Windows-like host answers otherwise."""

from __future__ import annotations

import json
import secrets
from dataclasses import replace

import pytest
from click.testing import CliRunner

from bench.endpoint import served
from nestlab.lab.cli import cli
from nestlab.lab.fidelity import compare, contexts, fidelity
from nestlab.lab.psrp_session import HostAddress, PsrpSession
from nestlab.simulator import labfile
from nestlab.simulator.endpoint.auth import Credentials
from nestlab.simulator.endpoint.server import LabExecutor, LabServer
from nestlab.simulator.endpoint.testing import USER
from nestlab.simulator.generate import generate
from nestlab.simulator.psdata import Command, ErrorRecord, PSEnum, PSObject, Result

pytestmark = pytest.mark.endpoint


def report_of(lab, executor=None):
    password = secrets.token_urlsafe(16)
    server = LabServer(lab, Credentials(USER, password), execute=executor).start()
    try:
        addresses = [HostAddress(h, "127.0.0.1", s.port, USER, "http", "basic") for h, s in server.servers.items()]
        with PsrpSession(addresses, passwords=lambda a: password) as session:
            return fidelity(session, target="served")
    finally:
        server.stop()


CLIENT = """
lab: desk
hosts:
  - name: DESK01
    os: {caption: Microsoft Windows 11 Pro, build: 22631, background: realistic}
    networks:
      - {adapter: Wi-Fi, network: home, ip: 192.168.1.20/24, gateway: 192.168.1.1}
    switches:
      - {name: Default Switch, type: Internal, host_ip: 172.20.0.1/20}
    vhds:
      - {path: 'C:\\VMs\\dev.vhdx', type: fixed, size_gb: 60}
    vms:
      - name: dev
        state: Running
        adapters: [{switch: Default Switch, ip: 172.20.0.10/20}]
        disks: ['C:\\VMs\\dev.vhdx']
        guest: {os: {caption: Microsoft Windows 11 Enterprise, build: 22631, background: realistic}}
"""


@pytest.mark.parametrize("lab", [labfile.load("builtin:reference"), generate(seed=11, hosts=2, depth=3),
                                 generate(seed=5, depth=3, world="realistic"), labfile.loads(CLIENT)],
                         ids=["reference", "generated", "realistic", "windows-11"])
def test_against_the_simulator_served_nothing_differs(lab):
    report = report_of(lab)
    assert report.compared >= 30 * len(list(contexts(report.captured.lab)))  # every probe, every platform
    assert report.differences == (), report.text()


def test_a_realistic_host_is_captured_with_its_background_and_reproduced():
    lab = generate(seed=3, world="realistic")
    report = report_of(lab)
    assert report.differences == (), report.text()
    captured = report.captured.lab
    host = captured.hosts()[0]
    assert captured.platform(host).os.background == "realistic"
    assert not any(r.name.startswith("CoreNet") for r in captured.platform(host).firewall)  # the file stays short


class WindowsColumn:
    """A host that answers like the fidelity table's "Windows" column: enum properties at remoting
    depth 1 arrive as their names (psrp-server-notes §4: `<S N="Status">`; the simulator now does the
    same), a VMSwitch carries a property the simulator does not write, and PowerShell Direct without
    -Credential fails as Invoke-Command's mandatory parameter demands (Invoke-Command docs)."""

    def __init__(self, lab) -> None:
        self.inner = LabExecutor(lab)

    def __call__(self, context: str, pipeline: tuple[Command, ...]) -> Result:
        if "/" in context:
            return Result((), (ErrorRecord(
                "Cannot process command because of one or more missing mandatory parameters: Credential.",
                "MissingMandatoryParameter,Microsoft.PowerShell.Commands.InvokeCommandCommand", "InvalidArgument",
                activity="Invoke-Command", reason="ParameterBindingException"),), True)
        result = self.inner(context, pipeline)
        return replace(result, output=tuple(self._object(o) for o in result.output))

    def _object(self, obj):
        if not isinstance(obj, PSObject):
            return obj
        props = [(k, v.name if isinstance(v, PSEnum) else v) for k, v in ((k, obj[k]) for k in obj)]
        if obj.type_names[0] == "Microsoft.HyperV.PowerShell.VMSwitch":
            props.append(("DefaultQueueVmmqEnabled", False))
        return PSObject(obj.type_names, props, obj.to_string)


def test_against_a_windows_like_host_it_lists_where_the_simulator_differs():
    report = report_of(labfile.load("builtin:reference"), WindowsColumn(labfile.load("builtin:reference")))
    kinds = {(d.probe, d.kind) for d in report.differences}
    found = [str(d) for d in report.differences]
    # Get-VM's State: a String on both sides now that the simulator writes depth-1 enums as Windows does
    assert ("vms", "type") not in kinds and not any(".State: simulator enum" in d for d in found)
    assert any("VMSwitch[External]: the host has DefaultQueueVmmqEnabled; the simulator does not" in d for d in found)
    # the capture could not enter L1 (the walk says so), and each of L1's probes failed on the host only
    assert report.captured.skipped and report.captured.skipped[0][0] == "HV01/L1"
    guest = {d.probe for d in report.differences if d.context == "HV01/L1" and d.kind == "failed"}
    assert {"os", "vms", "tcplisteners"} <= guest
    text = report.text()
    assert "where the simulator would have predicted otherwise" in text


def test_compare_names_each_kind_of_difference():
    enum = PSEnum("Microsoft.HyperV.PowerShell.VMState", "Running", 2)
    vm = lambda **p: PSObject(("Microsoft.HyperV.PowerShell.VirtualMachine",), {"Name": "L1", **p})  # noqa: E731
    error = lambda m, f, c: ErrorRecord(m, f, c)  # noqa: E731
    cases = [
        (Result((vm(State=enum),)), Result((vm(State="Running"),)), "type"),
        (Result((vm(State=enum),)), Result((vm(State=enum, Extra=1),)), "property"),
        (Result((vm(CPUUsage=3),)), Result((vm(CPUUsage=4),)), "value"),
        (Result((vm(),)), Result((vm(), vm())), "object"),
        (Result(("a",)), Result(("b",)), "text"),
        (Result(errors=(error("x", "A,B", "InvalidArgument"),)), Result(errors=(error("x", "A,B", "ObjectNotFound"),)),
         "error"),
        (Result(), Result(failed=True), "failed"),
    ]
    for expected, got, kind in cases:
        assert [k for k, _ in compare(expected, got)] == [kind], kind
    assert list(compare(Result((vm(State=enum),)), Result((vm(State=enum),)))) == []


def test_nestlab_fidelity_cli_exits_0_with_nothing_to_report_and_prints_json():
    result = CliRunner().invoke(cli, ["fidelity", "builtin:reference", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["differences"] == [] and data["compared"] > 100
