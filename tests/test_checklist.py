"""The guide's checklist: pass, fail or not applicable per item, with the evidence behind it."""

from __future__ import annotations

import json
from dataclasses import replace

from nestlab.diagnosis.checklist import ITEMS, run_checklist
from nestlab.diagnosis.evidence import Evidence
from nestlab.diagnosis.rules import RULES_BY_ID
from nestlab.simulator.labfile import load


def statuses(lab) -> dict[str, str]:
    return {r.item.id: r.status for r in run_checklist(Evidence(lab)).results}


def test_items_follow_the_guide_and_name_real_root_causes():
    assert [i.id for i in ITEMS][:2] == ["host-os", "host-cpu"]
    assert len({i.id for i in ITEMS}) == len(ITEMS)
    for item in ITEMS:
        assert item.root_causes and set(item.root_causes) <= set(RULES_BY_ID)


def test_every_prerequisite_hyperv_role_and_security_cause_has_an_item():
    covered = {rc for item in ITEMS for rc in item.root_causes}
    wanted = {rc for rc, r in RULES_BY_ID.items() if r.category in ("prerequisites", "hyperv-role", "security")}
    assert wanted <= covered


def test_healthy_reference_passes_every_item_with_evidence():
    checklist = run_checklist(Evidence(load("builtin:reference")))
    assert not checklist.failed
    for result in checklist.results:
        assert result.status == "pass", result.item.id
        assert result.evidence, result.item.id


def test_items_without_subjects_are_not_applicable():
    result = statuses(load("builtin:azure"))  # no VM in it hosts nested VMs
    assert result["guest-generation"] == result["extensions"] == result["memory"] == "not-applicable"
    assert result["host-os"] == "pass"


def test_a_broken_prerequisite_fails_its_item_with_the_finding_evidence():
    lab = load("builtin:reference")
    lab.update("HV01/L1", processor=replace(lab["HV01/L1"].processor, expose_virtualization_extensions=False))
    checklist = run_checklist(Evidence(lab))
    (extensions,) = [r for r in checklist.results if r.item.id == "extensions"]
    assert extensions.status == "fail" and checklist.failed
    assert extensions.findings[0].subject == "HV01/L1"
    assert [(e.property, e.value) for e in extensions.evidence] == [("ExposeVirtualizationExtensions", False)]
    assert statuses(lab)["host-os"] == "pass"


def test_checklist_json():
    data = json.loads(run_checklist(Evidence(load("builtin:reference"), target="builtin:reference")).to_json())
    assert data["target"] == "builtin:reference" and data["hosts"] == ["HV01"]
    assert set(data["items"][0]) == {"item", "title", "status", "evidence", "findings"}
