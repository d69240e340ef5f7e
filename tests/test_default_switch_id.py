"""Windows' Default Switch has the fixed Id c08cb7b8-9b3c-408e-8e30-5e16a3aeb444 (code-ready/crc,
canonical/multipass look it up by it); the simulator gives it that Id, and the diagnosis knows the
Default Switch by the Id Get-VMSwitch shows, not by its name and the host's build."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

from nestlab.diagnosis.default_switch import DEFAULT_SWITCH_ID
from nestlab.diagnosis.evidence import Statements
from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import SimSession
from nestlab.simulator import labfile
from nestlab.simulator.psdata import Command, PSObject, Result
from nestlab.simulator.session_protocol import Runs

LAB = """
lab: default-switch
hosts:
  - name: DESK
    os: {caption: CAPTION, build: BUILD}
    memory_gb: 32
    networks: [{adapter: Wi-Fi, network: home, ip: 192.168.1.20/24, gateway: 192.168.1.1}]
    switches:
      - {name: SWITCH, type: Internal, host_ip: 172.20.48.1/20}
    vms:
      - name: NODE
        state: Running
        processor: {count: 2, expose_virtualization_extensions: true}
        memory: {startup_gb: 8}
        adapters: [{name: Network Adapter, switch: SWITCH, mac_spoofing: true}]
        guest:
          os: {caption: Microsoft Windows Server 2022 Datacenter, build: 20348}
          hyperv_installed: true
"""
SUBJECT = ("switch-internal", "DESK/NODE:adapter:Network Adapter")


def _lab(caption="Microsoft Windows 11 Pro", build=22631, switch="Default Switch"):
    return labfile.loads(LAB.replace("CAPTION", caption).replace("BUILD", str(build)).replace("SWITCH", switch))


class Rewritten(Runs):
    """A SimSession whose answers pass through `change` (an object → an object): a host that
    shows something the simulator would not, for the diagnosis to judge."""

    def __init__(self, lab, change: Callable[[PSObject], PSObject]) -> None:
        self.inner, self.change = SimSession(lab), change

    def hosts(self) -> list[str]:
        return self.inner.hosts()

    def _result(self, result: Result) -> Result:
        return replace(result, output=tuple(self.change(o) if isinstance(o, PSObject) else o for o in result.output))

    def send(self, requests) -> list[Result]:
        return [self._rewritten(r) for r in self.inner.send(requests)]

    def _rewritten(self, result: Result) -> Result:
        """The answer, and each guest's answer a fan-out request brought back, rewritten."""
        changed = self._result(result)
        return replace(changed, guests=tuple((path, self._rewritten(r)) for path, r in result.guests))

    def close(self) -> None:
        self.inner.close()


def _switch_prop(name: str, value) -> Callable[[PSObject], PSObject]:
    def change(obj: PSObject) -> PSObject:
        if obj.type_names[0] != "Microsoft.HyperV.PowerShell.VMSwitch":
            return obj
        props = [(k, value if k == name else obj[k]) for k in obj if value is not None or k != name]
        return PSObject(obj.type_names, props, obj.to_string)
    return change


def _findings(session) -> set[tuple[str, str]]:
    report = diagnose_session(session, target="t", stated=Statements()).report
    return {(f.root_cause, f.subject) for f in report.findings if f.severity in ("error", "warning")}


def test_the_simulated_default_switch_has_the_fixed_id_in_any_world():
    for background in ("minimal", "realistic"):
        lab = _lab()
        data = labfile.lab_to_data(lab)
        data["hosts"][0]["os"]["background"] = background
        lab = labfile.lab_from_data(data)
        switches = SimSession(lab).run("DESK", (Command("Get-VMSwitch"),)).output
        ids = {s["Name"]: str(s["Id"]).lower() for s in switches}
        assert ids["Default Switch"] == DEFAULT_SWITCH_ID, background


def test_a_server_switch_named_default_switch_has_its_own_id():
    lab = _lab("Microsoft Windows Server 2022 Datacenter", 20348)
    (switch,) = SimSession(lab).run("DESK", (Command("Get-VMSwitch"),)).output
    assert str(switch["Id"]).lower() != DEFAULT_SWITCH_ID


def test_the_default_switch_by_its_id_is_nat_whatever_it_is_called():
    # a host whose Default Switch shows another name (a renamed or localized one) but Windows' Id
    lab = _lab(switch="Standardswitch")
    assert SUBJECT in _findings(SimSession(lab))  # by name it is a bare Internal switch
    assert SUBJECT not in _findings(Rewritten(lab, _switch_prop("Id", DEFAULT_SWITCH_ID)))


def test_a_switch_called_default_switch_with_another_id_is_a_plain_internal_switch():
    lab = _lab()
    assert SUBJECT not in _findings(SimSession(lab))
    other = "0bd8956b-23c1-4b88-ab6b-32cd59bead92"
    assert SUBJECT in _findings(Rewritten(lab, _switch_prop("Id", other)))


def test_without_the_id_the_name_and_build_decide():
    assert SUBJECT not in _findings(Rewritten(_lab(), _switch_prop("Id", None)))
    assert SUBJECT in _findings(Rewritten(_lab("Microsoft Windows Server 2022 Datacenter", 20348), _switch_prop("Id", None)))
