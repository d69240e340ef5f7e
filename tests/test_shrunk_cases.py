"""A failing accuracy example is kept as a case folder for review (issue 11, item 7)."""

from __future__ import annotations

import random

import shrunk_cases
from nestlab.simulator import faults, labfile
from nestlab.simulator.generate import generate
from nestlab.steps.cases import load_case


def test_a_kept_example_is_a_case_folder_the_cases_scenario_reads(tmp_path):
    lab = generate(seed=11, hosts=1, depth=2)
    injected = faults.inject_random(lab, 1, random.Random(5))
    case = shrunk_cases.keep("accuracy-faulted", lab, injected, [("switch-private", "HV01/L1")], "missed …",
                             folder=tmp_path)
    loaded = load_case(case)
    assert [(e.root_cause, e.subject) for e in loaded.expected] == [tuple(p) for p in injected]
    assert set(loaded.unexpected) == {"switch-private"} - {rc for rc, _ in injected}
    assert loaded.story.startswith("shrunk by hypothesis")
    assert labfile.load(case / "lab.yaml") == lab  # the lab exactly as diagnosed


def test_the_next_failure_overwrites_the_folder_so_the_shrunk_example_stays(tmp_path):
    big, small = generate(seed=3, hosts=2, depth=3), generate(seed=3, hosts=1, depth=1)
    shrunk_cases.keep("accuracy-faulted", big, [], [], "first", folder=tmp_path)
    case = shrunk_cases.keep("accuracy-faulted", small, [], [], "last", folder=tmp_path)
    assert labfile.load(case / "lab.yaml") == small
