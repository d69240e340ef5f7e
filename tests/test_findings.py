"""Finding, Report and their JSON: the shape spec/cli.md shows, and the order it prescribes."""

from __future__ import annotations

import json

from nestlab.diagnosis.engine import diagnose, explain
from nestlab.diagnosis.evidence import Evidence
from nestlab.diagnosis.findings import EvidenceItem, Finding, Report, chain_depth, ordered
from nestlab.simulator.labfile import load
from nestlab.simulator.psdata import PSEnum

FINDING_KEYS = ["root_cause", "category", "severity", "subject", "summary", "evidence", "resolution", "explains", "reference"]


def finding(root_cause="extensions-not-exposed", severity="error", subject="HV01/L1", explains=()) -> Finding:
    return Finding(root_cause=root_cause, category="hyperv-role", severity=severity, subject=subject,
                   summary=f"{root_cause} on {subject}", explains=explains,
                   evidence=(EvidenceItem("Get-VMProcessor -VMName L1", "ExposeVirtualizationExtensions", False),))


def test_report_json_has_exactly_the_cli_keys():
    report = Report("builtin:reference", "2026-11-25T12:00:00Z", ("HV01",), (finding(),))
    data = json.loads(report.to_json())
    assert list(data) == ["target", "collected_at", "hosts", "findings"]
    assert list(data["findings"][0]) == FINDING_KEYS
    assert data["findings"][0]["evidence"] == [
        {"command": "Get-VMProcessor -VMName L1", "property": "ExposeVirtualizationExtensions", "value": False}]
    assert data["hosts"] == ["HV01"] and data["target"] == "builtin:reference"


def test_evidence_values_become_plain_json():
    item = EvidenceItem("Get-VMNetworkAdapter -VMName L1", "MacAddressSpoofing", PSEnum("OnOffState", "Off", 2))
    assert item.to_dict()["value"] == "Off"
    assert EvidenceItem("c", "p", (1, 2)).to_dict()["value"] == [1, 2]


def test_chain_depth_of_every_subject_kind():
    assert chain_depth("HV01") == 0
    assert chain_depth("HV01/L1") == 1
    assert chain_depth("HV01/L1:nat:NestedNAT") == 1
    assert chain_depth("HV01/L1/L2-web:adapter:Network Adapter") == 2
    assert chain_depth("HV01:vhd:D:\\VMs\\L1\\L1_8F2A.avhdx") == 0


def test_order_is_severity_then_higher_up_the_chain_first():
    deep_error = finding(subject="HV01/L1/L2")
    host_error = finding("host-cpu-no-virtualization", subject="HV01")
    warning = finding("vm-generation-1", severity="warning", subject="HV01")
    info = finding("vbs-enabled", severity="info", subject="HV01")
    assert ordered([info, warning, deep_error, host_error]) == (host_error, deep_error, warning, info)


def test_report_sorts_its_findings():
    a, b = finding(subject="HV01/L1/L2"), finding("host-os-unsupported", subject="HV01")
    assert Report("t", "now", ("HV01",), (a, b)).findings == (b, a)


def test_explained_findings_are_demoted_and_say_by_what():
    cause = finding("credential-guard-enabled", subject="HV01", explains=("vbs-enabled",))
    effect = finding("vbs-enabled", subject="HV01")
    unrelated = finding("vbs-enabled", subject="HV02")
    result = explain([cause, effect, unrelated])
    assert result[0] == cause and result[2] == unrelated
    assert result[1].severity == "info" and "explained by credential-guard-enabled on HV01" in result[1].summary


def test_a_cause_explains_only_at_or_below_its_subject():
    cause = finding("insufficient-vcpu", subject="HV01/L1", explains=("host-overcommitted",))
    above = finding("host-overcommitted", subject="HV01")
    below = finding("host-overcommitted", subject="HV01/L1/L2")
    result = explain([cause, above, below])
    assert result[1].severity == "error" and result[2].severity == "info"


def test_diagnose_reports_target_time_and_hosts():
    report = diagnose(Evidence(load("builtin:reference"), target="builtin:reference", collected_at="2026-11-25T12:00:00Z"))
    assert (report.target, report.collected_at, report.hosts) == ("builtin:reference", "2026-11-25T12:00:00Z", ("HV01",))
    assert report.findings == () and not report.has_findings
