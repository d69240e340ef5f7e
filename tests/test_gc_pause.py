"""The cyclic collector is paused for a load and a collection, and what they built is frozen
(nestlab/gc_pause.py, issue 17): the collector never rescans a lab or an evidence, and a
dropped one is still freed at once, by reference counting — which holds only while a Lab holds
no reference cycle."""

from __future__ import annotations

import gc
import weakref

import pytest

from nestlab import gc_pause
from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import SimSession
from nestlab.simulator import labfile
from nestlab.simulator.generate import generate


@pytest.fixture
def collector_off():
    """Reference counting only, as for an object the pause froze: what is left after `del` is
    held by a cycle."""
    was = gc.isenabled()
    gc.disable()
    yield
    if was:
        gc.enable()


def test_a_dropped_diagnosis_is_freed_by_reference_counting(collector_off):
    lab = generate(seed=3, hosts=2, depth=2, vms_per_host=6)
    diagnosis = diagnose_session(SimSession(lab), target=lab.name)
    evidence_lab = diagnosis.evidence.lab
    list(evidence_lab.graph.edges(keys=True)), list(evidence_lab.graph.in_edges), dict(evidence_lab.graph.degree)
    held = [weakref.ref(x) for x in (diagnosis.evidence, diagnosis.report, evidence_lab, evidence_lab.graph)]
    del diagnosis, evidence_lab
    assert [ref() is None for ref in held] == [True] * len(held)


def test_a_dropped_lab_is_freed_by_reference_counting_after_its_edges_were_read(collector_off):
    lab = labfile.load("builtin:reference")
    list(lab.graph.out_edges(keys=True, data=True)), lab.graph.out_degree, lab.copy()
    graph = weakref.ref(lab.graph)
    del lab
    assert graph() is None


def test_a_collection_leaves_its_evidence_frozen_where_no_collector_pass_scans_it():
    lab = generate(seed=4, hosts=1, depth=2, vms_per_host=4)
    gc.enable()
    diagnosis = diagnose_session(SimSession(lab), target=lab.name)
    graph = diagnosis.evidence.lab.graph
    assert gc.isenabled()
    assert gc.is_tracked(graph) and not any(o is graph for o in gc.get_objects())


def test_dropped_diagnoses_are_gone_after_a_collector_pass():
    """What a pause froze is never collected as a cycle: a frozen evidence left to the cyclic
    collector would stay for the life of the process, one per diagnosis."""
    lab = generate(seed=5, hosts=2, depth=2, vms_per_host=8)
    gc.enable()
    held = []
    for _ in range(3):
        diagnosis = diagnose_session(SimSession(lab), target=lab.name)
        held += [weakref.ref(diagnosis.evidence.lab), weakref.ref(diagnosis.evidence.lab.graph)]
    del diagnosis
    gc.collect()
    assert [ref() is None for ref in held] == [True] * len(held)


def test_a_pause_inside_a_pause_keeps_the_collector_off_until_the_outer_one_ends():
    gc.enable()
    with gc_pause.paused():
        with gc_pause.paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_pause_entered_with_the_collector_off_leaves_it_off(collector_off):
    with gc_pause.paused():
        pass
    assert not gc.isenabled()
