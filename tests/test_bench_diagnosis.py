"""bench/diagnosis.py's instruments measure the diagnosis they claim to (no timing is asserted)."""

from __future__ import annotations

from bench import diagnosis as bench
from bench.labs import Size
from nestlab.diagnosis.collect import collect
from nestlab.diagnosis.engine import diagnose
from nestlab.lab.session import SimSession
from nestlab.simulator import faults, labfile


def test_the_timing_session_answers_what_simsession_answers():
    lab = labfile.load("builtin:reference")
    faults.get("extensions-not-exposed").inject(lab)
    timed = bench.TimingSession(lab)
    plain = diagnose(collect(SimSession(lab), target=lab.name))
    measured = diagnose(collect(timed, target=lab.name))
    assert [f.root_cause for f in measured.findings] == [f.root_cause for f in plain.findings]
    assert [f.root_cause for f in plain.findings]  # the fault is found: the sessions were compared on something
    assert timed.cmdlets > 0 and timed.wire_copy > 0


def test_the_split_accounts_for_every_part_of_a_diagnosis():
    split = bench.measure_split(Size(20, 2), repeats=1)
    assert split.vms == 20
    assert min(split.cmdlets, split.wire_copy, split.collector_and_parsers, split.rules) >= 0
    assert split.total == split.cmdlets + split.wire_copy + split.collector_and_parsers + split.rules
    (note,) = bench.split_notes(split)
    assert "simulated cmdlets" in note and "rules" in note
