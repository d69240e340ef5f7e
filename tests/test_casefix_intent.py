"""Real-case intent defects (fixtures/cases, KNOWN_FAILURES.md 4 and 7): a Linux L1 is judged for
KVM only when something says it is meant to nest, never by the Windows-only guest-OS table, and a
machine observed Running inside a Linux guest without extensions is emulated, not an error."""

from __future__ import annotations

from nestlab.diagnosis.engine import diagnose
from nestlab.diagnosis.evidence import Evidence, Statements
from nestlab.simulator import labfile

LAB = """
lab: casefix-linux
hosts:
  - name: HV
    os: {caption: Microsoft Windows 11 Pro, build: 22631}
    memory_gb: 32
    volumes: [{drive: "C:", media: ssd, size_gb: 500, free_gb: 300}]
    networks: [{adapter: Ethernet, network: home-lan, ip: 192.168.1.5/24, gateway: 192.168.1.1}]
    switches: [{name: External, type: External, adapter: Ethernet}]
    vhds: [{path: 'C:\\VMs\\lin.vhdx', type: fixed, size_gb: 40}]
    vms:
      - name: lin
        state: Running
        processor: {count: 2}
        memory: {startup_gb: 4}
        adapters: [{name: Network Adapter, switch: External, mac_spoofing: true, ip: 192.168.1.40/24}]
        disks: ['C:\\VMs\\lin.vhdx']
        guest:
          os: {caption: Debian GNU/Linux 11, build: 0}
          INNER
"""
INNER = """switches: [{name: br0, type: External, adapter: Network Adapter}]
          vms:
            - {name: vax, state: Running, memory: {startup_gb: 1}, adapters: [{name: qe0, switch: br0}]}"""

def loud(lab_text: str, **stated) -> set[tuple[str, str, str]]:
    lab = labfile.loads(lab_text)
    ev = Evidence(lab, {}, target="test", collected_at="2026-12-02T08:00:00Z", stated=Statements(**stated))
    return {(f.severity, f.root_cause, f.subject) for f in diagnose(ev).findings}

def test_a_linux_vm_meant_to_run_kvm_is_told_to_expose_extensions_and_not_that_its_os_is_unsupported():
    found = loud(LAB.replace("INNER", ""), nested_hosts=("lin",))
    assert ("error", "extensions-not-exposed", "HV/lin") in found
    assert not [f for f in found if f[1] == "guest-os-unsupported"]

def test_a_linux_vm_nothing_says_is_meant_to_nest_gets_nothing():
    assert not [f for f in loud(LAB.replace("INNER", "")) if f[1] == "extensions-not-exposed"]

def test_an_emulated_machine_running_inside_a_linux_vm_is_no_error():
    found = loud(LAB.replace("INNER", INNER), nested_hosts=("lin",))
    assert ("info", "extensions-not-exposed", "HV/lin") in found
    assert not [f for f in found if f[0] == "error"]
