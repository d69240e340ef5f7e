"""CLIXML written as text straight from values (the SimSession hot path) is what ElementTree
would print for the same document, and a Result's batch round trip equals one round trip per object."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

import pytest

import nestlab.lab.session
from nestlab.lab.diagnose import diagnose_session
from nestlab.simulator import clixml, labfile
from nestlab.simulator.psdata import ErrorRecord, PSEnum, PSObject, Result

TRICKY = [
    "",
    "a\nb_x000A_c\t<&>\"'",
    PSObject(("X", "System.Object"), {"A": 'x&y<z>"', "B": None, "C": [1, "<"], "D": {"k": "v"}, 'we"ird\n': 1}, "t<&>"),
    PSObject((clixml.PS_CUSTOM_OBJECT, "System.Object"), {"E": PSEnum("T.State", "Off", 3), "F": datetime(2020, 1, 2)}, ""),
    ErrorRecord("m<&>", 'Id,"x"', terminating=False),
    b"\x00\x01", 2**40, 2**64 - 1, -5, 1.5, True, None,
]


def answers_of_a_diagnosis() -> list[Result]:
    """Every Result a diagnosis of builtin:reference receives, before its round trip."""
    seen: list[Result] = []
    session = nestlab.lab.session.SimSession(labfile.load("builtin:reference"))
    original = session.wire
    session.wire = lambda r: (seen.append(r), original(r))[1]
    diagnose_session(session)
    return seen


@pytest.fixture(scope="module")
def answers() -> list[Result]:
    return answers_of_a_diagnosis()


def test_the_text_is_what_elementtree_prints_for_the_same_document(answers):
    values = [v for r in answers for v in (*r.output, *r.errors)] + TRICKY
    assert len(values) > 100
    for value in values:
        text = clixml.to_clixml(value)
        assert ET.tostring(ET.fromstring(text), encoding="unicode") == text


def test_a_results_batch_round_trip_equals_one_round_trip_per_object(answers):
    for result in [*answers, Result(tuple(TRICKY), (ErrorRecord("e", "E"),), True)]:
        back = clixml.roundtrip_result(result)
        streamed, terminating = clixml.wire_errors(result)
        assert back.output == tuple(clixml.roundtrip(v) for v in result.output)
        assert back.errors == tuple(clixml.roundtrip(e) for e in [*streamed, *([terminating] if terminating else [])])
        assert [type(v) for v in back.output] == [type(clixml.roundtrip(v)) for v in result.output]
