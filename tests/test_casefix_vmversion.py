"""A VM created on a 2012 R2 host (configuration 5.0) cannot nest after the host's upgrade until
Update-VMVersion (docker/for-win #4470, KNOWN_FAILURES.md 8): the simulated cmdlet, and the
extensions-not-exposed resolution that runs it first."""

from __future__ import annotations

from nestlab.simulator.actions import texts

from nestlab.diagnosis.evidence import Statements
from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import SimSession
from nestlab.simulator import labfile
from nestlab.simulator.faults.base import run

LAB = """
lab: casefix-version
hosts:
  - name: HV
    os: {caption: Microsoft Windows Server 2022 Datacenter, build: 20348}
    memory_gb: 64
    volumes: [{drive: "C:", media: ssd, size_gb: 500, free_gb: 300}]
    vms:
      - name: OLD
        version: "5.0"
        state: STATE
        memory: {startup_gb: 8}
        processor: {count: 4}
        guest:
          os: {caption: Microsoft Windows Server 2019 Standard, build: 17763}
          hyperv_installed: true
"""


def test_update_vmversion_raises_an_off_vm_to_the_hosts_highest_version():
    lab = labfile.loads(LAB.replace("STATE", '"Off"'))
    assert run(lab, "HV", "Update-VMVersion -Name 'OLD' -Force").ok
    assert lab["HV/OLD"].version == "10.0"


def test_update_vmversion_refuses_a_running_vm():
    lab = labfile.loads(LAB.replace("STATE", "Running"))
    result = run(lab, "HV", "Update-VMVersion -Name 'OLD' -Force")
    assert not result.ok and "current state" in result.first_error().message
    assert lab["HV/OLD"].version == "5.0"


def test_the_resolution_updates_the_version_before_exposing_the_extensions():
    lab = labfile.loads(LAB.replace("STATE", "Running"))
    report = diagnose_session(SimSession(lab), target="t", stated=Statements()).report
    finding = next(f for f in report.findings if f.root_cause == "extensions-not-exposed")
    assert texts(finding.resolution) == ("Stop-VM -Name 'OLD'", "Update-VMVersion -Name 'OLD' -Force",
                                  "Set-VMProcessor -VMName 'OLD' -ExposeVirtualizationExtensions $true",
                                  "Start-VM -Name 'OLD'")
    for action in finding.resolution:  # the actions as they are, where each one says it runs
        assert str(action.where) == "HV" and run(lab, str(action.where), action.pipeline).ok, action
    assert lab["HV/OLD"].processor.expose_virtualization_extensions and lab["HV/OLD"].version == "10.0"
