"""cmd faults: the actions that inject a fault on a real host do, through the simulated cmdlets,
exactly what the state-level injection does; and their undo actions put the lab back."""

from __future__ import annotations

import pytest

from nestlab.lab.demo import demo_lab
from nestlab.simulator import labfile, powershell
from nestlab.simulator.faults import CATALOG
from nestlab.simulator.actions import Run, run, shown
from nestlab.simulator.model import Lab
from nestlab.simulator.psdata import Command

CMD_FAULTS = [fid for fid, f in CATALOG.items() if f.kind == "cmd"]


def run_script(lab: Lab, actions: tuple[Run, ...]) -> None:
    for action in actions:
        result = powershell.run(lab, str(action.where), action.pipeline)
        assert result.ok, f"{shown(action)}: {[e.message for e in result.errors]}"


def reference_with_subject(fault_id: str) -> tuple[Lab, str]:
    lab = demo_lab(fault_id)  # builtin:reference, or builtin:legacy for faults real only on early builds
    return lab, CATALOG[fault_id].candidates(lab)[0]


@pytest.mark.parametrize("fault_id", CMD_FAULTS)
def test_inject_script_equals_state_injection(fault_id):
    fault = CATALOG[fault_id]
    by_state, subject = reference_with_subject(fault_id)
    by_script = by_state.copy()
    script = fault.inject_script(by_script, subject)
    fault.inject(by_state, subject)
    run_script(by_script, script)
    assert by_script == by_state


@pytest.mark.parametrize("fault_id", CMD_FAULTS)
def test_undo_script_restores_the_original_lab(fault_id):
    fault = CATALOG[fault_id]
    lab, subject = reference_with_subject(fault_id)
    original = lab.copy()
    script, undo = fault.inject_script(lab, subject), fault.undo_script(lab, subject)
    run_script(lab, script)
    assert lab != original
    run_script(lab, undo)
    assert lab == original


def test_scripts_are_structured_commands_where_they_run():
    lab = labfile.load("builtin:reference")
    actions = CATALOG["extensions-not-exposed"].inject_script(lab, "HV01/L1")
    assert actions == (
        run("HV01", Command.of("Stop-VM", Name="L1")),
        run("HV01", Command.of("Set-VMProcessor", VMName="L1", ExposeVirtualizationExtensions=False)),
        run("HV01", Command.of("Start-VM", Name="L1")),
    )
    assert [shown(a) for a in actions] == [
        "[HV01] Stop-VM -Name 'L1'",
        "[HV01] Set-VMProcessor -VMName 'L1' -ExposeVirtualizationExtensions $false",
        "[HV01] Start-VM -Name 'L1'",
    ]


def as_sets(lab: Lab) -> Lab:
    """The lab with its portproxy, firewall and NAT mapping tables sorted: a re-added rule lands at the
    end of its table, and their order means nothing to Windows (they match by value)."""
    out = lab.copy()
    for nat in out.nodes("nat"):
        out.update(nat, static_mappings=tuple(sorted(out[nat].static_mappings, key=repr)))
    for owner in [*out.hosts(), *out.all_vms()]:
        platform = out.platform(owner)
        out.update_platform(owner, portproxy=tuple(sorted(platform.portproxy, key=repr)),
                            firewall=tuple(sorted(platform.firewall, key=repr)))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_scripts_equal_state_injection_on_generated_labs(seed):
    from nestlab.simulator.generate import generate

    base = generate(seed=seed, hosts=1 + seed % 2, depth=1 + seed % 3)
    checked = 0
    for fault_id in CMD_FAULTS:
        fault = CATALOG[fault_id]
        for subject in fault.candidates(base)[:2]:
            by_state, by_script = base.copy(), base.copy()
            run_script(by_script, fault.inject_script(by_script, subject))
            fault.inject(by_state, subject)
            assert by_script == by_state, f"{fault_id} on {subject}"
            run_script(by_script, fault.undo_script(base, subject))
            assert as_sets(by_script) == as_sets(base), f"{fault_id} on {subject}: undo"
            checked += 1
    assert checked
