"""Version-aware truths (issue 11, item 4): VBS blocks nesting on the builds where it did, and the
diagnosis weighs it by build and by what runs — in the simulator and in the rules alike.

Sources: Virtualization-Documentation #345 (a 14393 host with VBS running: nesting "NO") and
PR #1059 (2019: "nested virtualization works fine with VBS enabled in the host");
windows-itpro-docs #2704 (HVCI and nesting together on 1809).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import SimSession
from nestlab.simulator import behaviour, faults, powershell
from nestlab.simulator.labfile import load
from nestlab.simulator.model import Lab, OSInfo

WIN11 = OSInfo(caption="Microsoft Windows 11 Enterprise", build=22631)
SERVER_2016 = OSInfo(caption="Microsoft Windows Server 2016 Datacenter", build=14393)


def with_host(lab: Lab, os: OSInfo, **security) -> Lab:
    lab.update_platform("HV01", os=os, security=replace(lab.platform("HV01").security, **security))
    return lab


def start_fails(lab: Lab, context: str, vm: str) -> bool:
    powershell.run_line(lab, context, f"Stop-VM -Name '{vm}' -TurnOff")
    return not powershell.run_line(lab, context, f"Start-VM -Name '{vm}'").ok


def loud(lab: Lab):
    report = diagnose_session(SimSession(lab), target=lab.name).report
    return [(f.severity, f.root_cause, f.subject) for f in report.findings if f.severity != "info"], report


@pytest.mark.parametrize(("build", "blocks"), [(14393, True), (17763, False), (20348, False), (22631, False)])
def test_the_simulator_blocks_a_nested_start_under_vbs_only_on_early_builds(build, blocks):
    lab = with_host(load("builtin:reference"), replace(WIN11, build=build), vbs="running")
    assert behaviour.vbs_blocks_nesting(lab.platform("HV01")) is blocks
    assert start_fails(lab, "HV01/L1", "L2-web") is blocks


def test_windows_11_with_memory_integrity_and_a_running_nested_vm_has_no_error():
    lab = with_host(load("builtin:reference"), WIN11, vbs="running", device_guard=True)
    found, report = loud(lab)
    assert found == []
    assert {(f.root_cause, f.severity) for f in report.findings if f.subject == "HV01"} >= {("device-guard-enabled", "info")}


def test_vbs_on_server_2016_with_nested_hosts_below_is_an_error():
    lab = load("builtin:legacy")
    subject = faults.get("vbs-enabled").inject(lab, "HV01")
    assert start_fails(lab, "HV01/L1", "L2")
    found, _ = loud(lab)
    assert ("error", "vbs-enabled", subject) in found


def test_vbs_on_server_2016_with_nothing_meant_to_nest_is_info():
    lab = with_host(load("features/labs/fresh-nested-host.yaml"), SERVER_2016, vbs="running")
    found, report = loud(lab)
    assert found == []
    assert [f.severity for f in report.by_root_cause("vbs-enabled")] == ["info"]


def test_the_catalog_injects_vbs_faults_only_where_they_are_real():
    for fault_id in ("vbs-enabled", "credential-guard-enabled", "device-guard-enabled", "deviceguard-registry-policy",
                     "group-policy-blocking"):
        assert not faults.get(fault_id).candidates(load("builtin:reference")), fault_id
        assert faults.get(fault_id).candidates(load("builtin:legacy")), fault_id


def test_an_amd_host_before_server_2022_is_an_error_only_with_a_vm_meant_to_nest():
    lab = load("builtin:reference")
    lab.update("HV01", cpu=replace(lab["HV01"].cpu, vendor="AMD", model="AMD EPYC 7543 32-Core Processor"),
               os=OSInfo(caption="Microsoft Windows Server 2019 Datacenter", build=17763))
    found, _ = loud(lab)
    assert ("error", "host-os-unsupported", "HV01") in found
    fresh = load("features/labs/fresh-nested-host.yaml")
    fresh.update("HV01", cpu=replace(fresh["HV01"].cpu, vendor="AMD"),
                 os=OSInfo(caption="Microsoft Windows Server 2019 Datacenter", build=17763))
    found, report = loud(fresh)
    assert found == [] and [f.severity for f in report.by_root_cause("host-os-unsupported")] == ["info"]


def test_evidence_beats_rules_a_guest_os_the_table_rejects_but_whose_vms_run_is_info():
    # A build our OS table does not know as nesting-capable, yet L1's own VMs run: no error.
    from nestlab.diagnosis.engine import diagnose
    from nestlab.diagnosis.evidence import Evidence

    lab = load("builtin:reference")
    l1 = lab["HV01/L1"]
    lab.update("HV01/L1", guest=replace(l1.guest, os=OSInfo(caption="Microsoft Windows Server 2012 R2 Datacenter", build=9600)))
    report = diagnose(Evidence(lab, {}, target="t", collected_at="2026-12-02T00:00:00Z"))
    assert [(f.subject, f.severity) for f in report.by_root_cause("guest-os-unsupported")] == [("HV01/L1", "info")]
    assert "yet its own VMs run" in report.by_root_cause("guest-os-unsupported")[0].summary


def test_evidence_beats_rules_an_amd_host_whose_nested_vms_run_is_info():
    from nestlab.diagnosis.engine import diagnose
    from nestlab.diagnosis.evidence import Evidence

    lab = load("builtin:reference")  # stands in for what a host shows: L2-web Running inside L1
    lab.update("HV01", cpu=replace(lab["HV01"].cpu, vendor="AMD"),
               os=OSInfo(caption="Microsoft Windows Server 2019 Datacenter", build=17763))
    report = diagnose(Evidence(lab, {}, target="t", collected_at="2026-12-02T00:00:00Z"))
    assert [f.severity for f in report.by_root_cause("host-os-unsupported")] == ["info"]
