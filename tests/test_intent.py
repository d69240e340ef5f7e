"""Intent is evidence (issue 11, item 2): when a VM is meant to host nested VMs, and what follows.

Every test diagnoses through a SimSession (what `nestlab diagnose` does), so intent comes only
from what the probes show or what the person states.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from nestlab.diagnosis import intent
from nestlab.diagnosis.evidence import Statements
from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import SimSession
from nestlab.simulator.errors import BadInput
from nestlab.simulator.labfile import load
from nestlab.simulator.model import Lab

FRESH = "features/labs/fresh-nested-host.yaml"
L1 = "HV01/L1"


def diagnosis(lab: Lab, **stated):
    return diagnose_session(SimSession(lab), target=lab.name, stated=Statements(**stated))


def findings(lab: Lab, root_cause: str, **stated):
    return [(f.subject, f.severity) for f in diagnosis(lab, **stated).report.by_root_cause(root_cause)]


@pytest.fixture
def fresh() -> Lab:
    return load(FRESH)


def test_a_fresh_l1_gets_an_info_readiness_finding_not_silence(fresh):
    report = diagnosis(fresh).report
    assert [(f.root_cause, f.subject, f.severity) for f in report.findings] == [("extensions-not-exposed", L1, "info")]
    assert report.findings[0].summary.startswith("L1 is not ready to host nested VMs: ExposeVirtualizationExtensions is off")


@pytest.mark.parametrize("name", ["L1", "HV01/L1"])
def test_stated_intent_makes_it_an_error(fresh, name):
    assert findings(fresh, "extensions-not-exposed", nested_hosts=(name,)) == [(L1, "error")]


def test_stated_intent_for_a_vm_that_is_not_there_is_bad_input(fresh):
    with pytest.raises(BadInput, match="--nested-host L9: no VM of that name"):
        diagnosis(fresh, nested_hosts=("L9",))


def test_exposed_extensions_are_intent_so_the_other_checks_apply_fully(fresh):
    vm = fresh[L1]
    fresh.update(L1, processor=replace(vm.processor, expose_virtualization_extensions=True, count=1))
    evidence = diagnosis(fresh).evidence
    assert intent.meant_to_nest(evidence, L1)
    assert "exposes virtualization extensions" in intent.intent_of(evidence, L1).why
    assert findings(fresh, "insufficient-vcpu") == [(L1, "error")]


def test_a_guest_with_hyperv_switches_is_meant_to_nest(fresh):
    lab = load("builtin:reference")
    evidence = diagnosis(lab).evidence
    assert "Hyper-V switches or VMs" in intent.intent_of(evidence, L1).why
    assert not intent.meant_to_nest(evidence, "HV01/L1/L2-web")
    assert intent.in_chain(evidence, "HV01/L1/L2-web")


def test_a_second_ordinary_vm_beside_a_nested_host_gets_no_readiness_finding():
    lab = load("builtin:reference")
    report = diagnosis(lab).report
    assert not report.findings, [f.summary for f in report.findings]


def test_a_running_nested_vm_proves_the_chain_above_it():
    evidence = diagnosis(load("builtin:reference")).evidence
    assert intent.nesting_proven(evidence, "HV01")  # L2-web runs inside L1: HV01 gives L1 its extensions
    assert not intent.nesting_proven(evidence, L1)  # nothing runs inside L1's VMs
    assert intent.nesting_proven(diagnosis(load("builtin:deep")).evidence, L1)  # L3 runs inside L2
