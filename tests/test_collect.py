"""The collector rebuilds, from probe answers alone, every attribute a host can show.

`visible` (tests/helpers_visible.py) projects a lab onto what a collection can see (nothing inside
a guest that is not Running); the evidence lab must equal that projection exactly.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nestlab.diagnosis.collect import Walk, collect
from nestlab.lab.session import SimSession
from nestlab.simulator import labfile
from nestlab.simulator.generate import generate
from nestlab.simulator.model import Lab

from helpers_visible import differences, visible


def evidence_of(lab: Lab) -> tuple[Lab, Walk]:
    walk = Walk()
    return collect(SimSession(lab), walk=walk).lab, walk


@pytest.mark.parametrize("name", labfile.builtin_names())
def test_builtin_labs_are_rebuilt_exactly(name: str) -> None:
    lab = labfile.load(f"builtin:{name}")
    got, _ = evidence_of(lab)
    assert differences(visible(lab), got) == []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), hosts=st.integers(1, 3), depth=st.integers(1, 4))
def test_generated_labs_are_rebuilt_on_every_visible_attribute(seed: int, hosts: int, depth: int) -> None:
    lab = generate(seed=seed, hosts=hosts, depth=depth)
    got, _ = evidence_of(lab)
    assert differences(visible(lab), got) == []


def test_guests_that_are_off_are_skipped_and_said_so() -> None:
    lab = labfile.load("builtin:reference")
    lab.update("HV01/L1", state="Off")
    got, walk = evidence_of(lab)
    assert [vm for vm, _ in walk.skipped] == ["HV01/L1"]
    assert "HV01/L1/L2-web" not in got


def test_round_trips_stay_few_per_host() -> None:
    """builtin:reference: HV01's first batch with every Running guest's below it (the fan-out);
    then the disk follow-ups of every platform in one more round."""
    _, walk = evidence_of(labfile.load("builtin:reference"))
    assert walk.round_trips == {"HV01": 2}


def test_a_deeper_lab_costs_no_more_round_trips() -> None:
    _, walk = evidence_of(labfile.load("builtin:deep"))
    assert walk.round_trips == {"HV01": 2}  # HV01, L1, L2, L3 at once; then their disks


def test_the_fan_out_gives_the_evidence_a_level_per_round_gives(monkeypatch) -> None:
    """The fan-out only saves round trips: with it off, one round per level, the same evidence."""
    from nestlab.diagnosis import collect as collecting

    for name in ("reference", "deep"):
        fanned, fanned_walk = evidence_of(labfile.load(f"builtin:{name}"))
        with monkeypatch.context() as patch:
            patch.setattr(collecting, "FAN_OUT_LEVELS", 0)
            levelled, levelled_walk = evidence_of(labfile.load(f"builtin:{name}"))
        assert labfile.dumps(fanned) == labfile.dumps(levelled)
        assert fanned_walk.skipped == levelled_walk.skipped
        assert sum(levelled_walk.round_trips.values()) > sum(fanned_walk.round_trips.values())


def test_a_guest_below_the_fan_out_is_still_walked(monkeypatch) -> None:
    from nestlab.diagnosis import collect as collecting

    monkeypatch.setattr(collecting, "FAN_OUT_LEVELS", 1)  # L1 at once; L2 and L3 a round each
    got, walk = evidence_of(labfile.load("builtin:deep"))
    assert walk.round_trips == {"HV01": 3}
    assert any(vm.count("/") == 3 for vm in got.all_vms())  # HV01/L1/L2/L3 reached



def test_a_host_that_refuses_the_fan_out_is_still_collected_whole() -> None:
    """A host that fails the whole first batch because of the fan-out (its script refused) is
    asked again without it, and its guests are walked a level per round: the same evidence."""
    from nestlab.simulator.psdata import ErrorRecord, Result
    from nestlab.simulator.session_protocol import FunctionSession

    refused = ErrorRecord("The script could not be parsed", "ParseException", terminating=True)
    inner = SimSession(labfile.load("builtin:reference"))

    def batches(requests):
        if any(r.guest_levels for r in requests):
            return [Result((), (refused,), True) for _ in requests]
        return inner.send(requests)

    walk = Walk()
    got = collect(FunctionSession(batches=batches, hosts=inner.hosts()), walk=walk).lab
    want, _ = evidence_of(labfile.load("builtin:reference"))
    assert labfile.dumps(got) == labfile.dumps(want) and not walk.unreachable
    assert walk.round_trips == {"HV01": 4}  # the refused round, its retry, then a level per round
