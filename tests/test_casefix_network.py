"""Real-case network defects (fixtures/cases, KNOWN_FAILURES.md 1-3): a Private lab switch by
design is no finding, the switch-private heal works on a host without an External switch, and the
Default Switch (Internal + ICS) counts as NAT."""

from __future__ import annotations

from nestlab.diagnosis.evidence import Statements
from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import SimSession
from nestlab.simulator import labfile
from nestlab.simulator.faults import get

# An MSLab-like host: only the Default Switch and a Private lab switch, a DC and a nested host on it.
LAB = """
lab: casefix-private
hosts:
  - name: HV
    os: {caption: Microsoft Windows 10 Enterprise, build: 19041}
    memory_gb: 64
    volumes: [{drive: "C:", media: ssd, size_gb: 500, free_gb: 300}]
    networks: [{adapter: Ethernet, network: home-lan, ip: 192.168.1.20/24, gateway: 192.168.1.1}]
    switches:
      - {name: LabSwitch, type: Private}
    vms:
      - name: DC
        state: Running
        memory: {startup_gb: 2}
        adapters: [{name: Management, switch: LabSwitch, ip: 10.0.0.1/24}]
        guest: {os: {caption: Microsoft Windows Server 2019 Datacenter, build: 17763}}
      - name: NODE
        state: Running
        processor: {count: 2, expose_virtualization_extensions: true}
        memory: {startup_gb: 8}
        adapters: [{name: Management, switch: LabSwitch, mac_spoofing: true, ip: ADDRESS}]
        guest:
          os: {caption: Microsoft Windows Server 2019 Datacenter, build: 17763}
          hyperv_installed: true
"""


def _lab(address: str):
    return labfile.loads(LAB.replace("ADDRESS", address))


def _ids(lab, **stated) -> set[tuple[str, str]]:
    report = diagnose_session(SimSession(lab), target=lab.name, stated=Statements(**stated)).report
    return {(f.root_cause, f.subject) for f in report.findings if f.severity in ("error", "warning")}


def test_a_private_lab_switch_shared_with_its_dc_is_no_finding():
    assert ("switch-private", "HV/NODE:adapter:Management") not in _ids(_lab("10.0.0.11/24"))


def test_a_lan_address_on_a_private_switch_is_an_error():
    assert ("switch-private", "HV/NODE:adapter:Management") in _ids(_lab("192.168.1.30/24"))


def test_the_switch_private_heal_creates_an_external_switch_when_the_host_has_none():
    lab = _lab("192.168.1.30/24")
    get("switch-private").heal(lab, "HV/NODE:adapter:Management")
    switch = lab.switch_of("HV/NODE:adapter:Management")
    assert lab[switch].type == "External" and lab[switch].adapter == "Ethernet"
    assert lab.path_to_lan("HV/NODE")


def _on_internal(caption: str, build: int, switch: str):
    lab = _lab("10.0.0.11/24")
    text = labfile.lab_to_data(lab)
    host = text["hosts"][0]
    host["os"] = {"caption": caption, "build": build}
    host["switches"].append({"name": switch, "type": "Internal", "host_ip": "172.20.48.1/20"})
    host["vms"][1]["adapters"] = [{"name": "Management", "switch": switch}]
    return labfile.lab_from_data(text)


def test_windows_default_switch_counts_as_nat_on_a_client():
    lab = _on_internal("Microsoft Windows 11 Pro", 22631, "Default Switch")
    assert ("switch-internal", "HV/NODE:adapter:Management") not in _ids(lab)


def test_a_switch_named_default_switch_on_a_server_is_a_plain_internal_switch():
    lab = _on_internal("Microsoft Windows Server 2022 Datacenter", 20348, "Default Switch")
    assert ("switch-internal", "HV/NODE:adapter:Management") in _ids(lab)


def test_the_switch_internal_fault_never_uses_the_default_switch():
    lab = _on_internal("Microsoft Windows 11 Pro", 22631, "Default Switch")
    data = labfile.lab_to_data(lab)
    data["hosts"][0]["switches"].append({"name": "External", "type": "External", "adapter": "Ethernet"})
    data["hosts"][0]["vms"][1]["adapters"] = [{"name": "Management", "switch": "External", "ip": "192.168.1.30/24"}]
    lab = labfile.lab_from_data(data)
    get("switch-internal").inject(lab, "HV/NODE:adapter:Management")
    switch = lab.switch_of("HV/NODE:adapter:Management")
    assert lab[switch].type == "Internal" and lab[switch].name != "Default Switch"
    assert ("switch-internal", "HV/NODE:adapter:Management") in _ids(lab)
