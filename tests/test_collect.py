"""The collector rebuilds, from probe answers alone, every attribute a host can show.

A VM that is not Running cannot be entered by PowerShell Direct, so its guest (OS, security,
listeners, the VMs it runs) and its adapters' addresses are not visible: `visible` projects a lab
onto what a collection can see, and the evidence lab must equal that projection exactly.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnosis.collect import Walk, collect
from lab.session import SimSession
from simulator import labfile
from simulator.generate import generate
from simulator.model import VM, Guest, Lab


def visible(lab: Lab) -> Lab:
    """The lab as a collection sees it: nothing inside a guest that is not Running."""
    seen = lab.copy()
    for vm in lab.all_vms():
        if vm not in seen or lab[vm].state == "Running":
            continue
        record: VM = seen[vm]
        hidden = Guest(integration_services_current=record.guest.integration_services_current)
        seen.set(vm, replace(record, guest=hidden, services=()))
        for adapter in seen.adapters(vm):
            seen.set(adapter, replace(seen[adapter], ip=None))
        for node in [n for n in seen.graph if n.startswith(vm + "/") or n.startswith(vm + ":")]:
            if seen.kind(node) != "adapter" or not node.startswith(vm + ":"):
                seen.remove(node)
    return seen


def canonical(record: object) -> object:
    """Listeners are a set on a host (Get-NetTCPConnection, then Get-NetUDPEndpoint)."""
    if isinstance(record, VM):
        return replace(record, services=tuple(sorted(record.services, key=lambda x: (x.protocol, x.port))))
    return record


def differences(expected: Lab, got: Lab) -> list[str]:
    out = [f"missing {n}" for n in expected if n not in got]
    out += [f"extra {n}" for n in got if n not in expected]
    out += [f"differs {n}: {expected[n]!r} != {got[n]!r}"
            for n in expected if n in got and canonical(expected[n]) != canonical(got[n])]
    edges = set(expected.graph.edges(keys=True)) ^ set(got.graph.edges(keys=True))
    out += [f"edge {e}" for e in sorted(edges)]
    return out


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
    """One batch per platform, plus one per level of disk chain where a platform has disks.

    builtin:reference: HV01 (VMs + its checkpoint chain: 2), L1 (nested VMs + disks: 2), L2-web
    and L2-app (no disks of their own: 1 each).
    """
    _, walk = evidence_of(labfile.load("builtin:reference"))
    assert walk.round_trips == {"HV01": 6}
