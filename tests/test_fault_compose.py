"""Faults compose: several at once on one lab, each with its symptom showing."""

from __future__ import annotations

import random

import pytest

from nestlab.simulator import labfile
from nestlab.simulator.faults import CATALOG, check_symptom, compatible, inject_random
from nestlab.simulator.generate import generate


def assert_each_symptom_shows(lab, injected):
    for fault_id, subject in injected:
        symptom = CATALOG[fault_id].symptom(lab, subject)
        assert check_symptom(lab, symptom), f"{fault_id} on {subject}: {symptom} hidden among {injected}"


@pytest.mark.parametrize("seed", range(15))
def test_random_faults_on_reference_each_show(seed):
    lab = labfile.load("builtin:reference")
    injected = inject_random(lab, 3, random.Random(seed))
    assert 1 <= len(injected) <= 3
    assert len({fid for fid, _ in injected}) == len(injected)
    assert_each_symptom_shows(lab, injected)


def assert_no_other_fault_fits(lab, injected):
    """inject_random returns fewer than k only when no other fault has a compatible subject left."""
    chosen = [(CATALOG[fid], subject) for fid, subject in injected]
    for fault in CATALOG.values():
        if fault.id in dict(injected):
            continue
        fitting = [s for s in fault.candidates(lab) if all(compatible(lab, (fault, s), c) for c in chosen)]
        assert not fitting, f"{fault.id} could still go on {fitting[0]} beside {injected}"


@pytest.mark.parametrize("seed", range(15))
def test_random_faults_on_generated_labs_each_show(seed):
    lab = generate(seed=seed, hosts=2, depth=2)
    injected = inject_random(lab, 4, random.Random(seed))
    assert 2 <= len(injected) <= 4
    if len(injected) < 4:
        assert_no_other_fault_fits(lab, injected)
    assert_each_symptom_shows(lab, injected)


def test_inject_random_is_deterministic_for_a_seed():
    runs = []
    for _ in range(2):
        lab = generate(seed=7, hosts=2, depth=2)
        runs.append((inject_random(lab, 5, random.Random(42)), labfile.dumps(lab)))
    assert runs[0] == runs[1]


def test_inject_random_prefers_different_subjects():
    lab = generate(seed=3, hosts=3, depth=2)
    injected = inject_random(lab, 5, random.Random(1))
    assert len({subject for _, subject in injected}) == len(injected)


def test_hand_picked_faults_compose_on_reference():
    lab = labfile.load("builtin:reference")
    picks = [
        ("vhd-parent-missing", None),
        ("switch-private", "HV01/L1/L2-app:adapter:Network Adapter"),
        ("nat-prefix-mismatch", None),
        ("bandwidth-limited", None),
        ("outdated-integration-services", "HV01/L1"),
    ]
    injected = [(fid, CATALOG[fid].inject(lab, subject)) for fid, subject in picks]
    assert_each_symptom_shows(lab, injected)
