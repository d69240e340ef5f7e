"""Given steps: which lab a scenario starts from, and which faults are put into it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pytest_bdd import given

from nestlab.diagnosis.evidence import NO_STATEMENTS, Observed, Statements
from nestlab.resources import shipped
from nestlab.simulator import labfile
from nestlab.steps.cases import Case
from nestlab.steps.phrases import phrase
from nestlab.steps.target import PHYSICAL_SKIP_REASON, Target, Testbed, fault


@given(phrase('the lab "{reference}"'), target_fixture="testbed")
def the_lab(reference: str, nestlab_target: Target, request: pytest.FixtureRequest) -> Testbed:
    """A lab by reference: `builtin:NAME` or a lab file path (relative to the repository)."""
    path = labfile.resolve(reference)
    if not path.is_absolute():
        # relative to the project that runs; else the same path in the installed package data
        # (`features/labs/…` when the features run with `pytest --pyargs nestlab.features`)
        in_project = Path(request.config.rootpath) / path
        path = in_project if in_project.exists() else (shipped(path) or in_project)
    return _open(nestlab_target, path, request)


@given("the lab:", target_fixture="testbed")
def the_lab_written_inline(docstring: str, nestlab_target: Target, request: pytest.FixtureRequest, tmp_path: Path) -> Testbed:
    """A lab file pasted into the scenario as a docstring (a customer's reproduction)."""
    path = tmp_path / "lab.yaml"
    path.write_text(docstring + "\n", encoding="utf-8")
    return _open(nestlab_target, path, request)


@given("the customer case", target_fixture="testbed")
def the_customer_case(customer_case: Case, nestlab_target: Target, request: pytest.FixtureRequest) -> Testbed:
    """The lab of the case folder this scenario runs for (one run per folder of fixtures/cases/)."""
    return _open(nestlab_target, customer_case.lab_file, request)


@given(phrase('the fault "{fault_id}" on "{subject}"'), target_fixture="injected")
def the_fault_on(fault_id: str, subject: str, testbed: Testbed, nestlab_target: Target, injected: list) -> list:
    """Put the lab into the state of a root cause, on the named node."""
    return _inject(fault_id, subject, testbed, nestlab_target, injected)


@given(phrase('the fault "{fault_id}"'), target_fixture="injected")
def the_fault(fault_id: str, testbed: Testbed, nestlab_target: Target, injected: list) -> list:
    """Put the lab into the state of a root cause, on the node the catalog finds most natural."""
    return _inject(fault_id, None, testbed, nestlab_target, injected)


@given(phrase('"{vm}" is meant to host nested VMs'), target_fixture="stated")
def meant_to_host_nested_vms(vm: str, stated: Statements) -> Statements:
    """The scenario states intent, as `nestlab diagnose --nested-host VM` does (diagnosis.intent)."""
    return replace(stated, nested_hosts=(*stated.nested_hosts, vm))


@given(phrase('the customer saw "{text}"'), target_fixture="stated")
def the_customer_saw(text: str, stated: Statements) -> Statements:
    """An error text from the ticket, as `nestlab diagnose --symptom TEXT` takes it (diagnosis.symptoms)."""
    from nestlab.diagnosis.symptoms import observe

    return replace(stated, symptoms=(*stated.symptoms, observe(text, "scenario") or Observed(text, "scenario")))


@given(phrase('"{vm}" port {port:d} is meant to be reachable'), target_fixture="stated")
def meant_to_be_reachable(vm: str, port: int, stated: Statements) -> Statements:
    """A service meant to be reached from outside, as `nestlab diagnose --reachable VM:PORT` says."""
    return replace(stated, reachable=(*stated.reachable, (vm, port)))


@given("the symptoms the customer saw", target_fixture="stated")
def the_symptoms_the_customer_saw(customer_case: Case, stated: Statements) -> Statements:
    """The case folder's `symptoms` (errors the customer saw, each on its node), as `--symptom` takes them,
    and its `nested_hosts` (the VMs meant to host nested VMs), as `--nested-host` states them."""
    from nestlab.diagnosis.symptoms import observe

    seen = tuple(observe(text, f"{customer_case.name}/symptoms", node) or Observed(text, f"{customer_case.name}/symptoms", node)
                 for node, text in customer_case.symptoms)
    return replace(stated, symptoms=(*stated.symptoms, *seen),
                   nested_hosts=(*stated.nested_hosts, *customer_case.nested_hosts))  # the case's nested_hosts file


@pytest.fixture
def stated() -> Statements:
    """What a scenario's Given steps stated (intent, symptoms seen): evidence, never state."""
    return NO_STATEMENTS


@pytest.fixture
def injected() -> list[tuple[str, str]]:
    """The (root cause, subject) pairs a scenario's Given steps injected: its ground truth."""
    return []


def _open(target: Target, path: Path, request: pytest.FixtureRequest) -> Testbed:
    testbed = target.open(path)
    request.addfinalizer(testbed.close)
    return testbed


def _inject(fault_id: str, subject: str | None, testbed: Testbed, target: Target, injected: list) -> list:
    if fault(fault_id).kind == "state" and not target.can_make_physical_changes:
        pytest.skip(PHYSICAL_SKIP_REASON)
    return [*injected, (fault_id, testbed.inject(fault_id, subject))]
