"""Undo that never lies (issue 13, item 2).

(a) A read-back compares everything its step touched: a VM's running state and the memory it runs
with (Get-VM MemoryAssigned), not only the Startup it is configured with. Before, undoing
memory-change-pending plus the guide's resolution left L2-web configured for 2 GB but running with
4 GB, every step "undone". (b) `nestlab restore` compares with the baseline every time, and the
moves that put VMs back are journalled steps: before, a run killed after its undo but before its
VMs were started again had "nothing to undo" (exit 0) and stayed changed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nestlab.diagnosis.collect import collect
from nestlab.lab import journal as J
from nestlab.lab import readback
from nestlab.lab.capture import capture, write
from nestlab.lab.cli import cli
from nestlab.lab.psrp_session import HostAddress, PsrpSession
from nestlab.lab.session import SimSession
from nestlab.simulator import labfile
from nestlab.simulator.psparse import parse
from nestlab.simulator.actions import cmd, run, shown

from helpers_sessions import recording


def by_hand(session, context: str, line: str) -> None:
    """What a person types on a host, outside any journal (their text parsed as `nestlab ps` does)."""
    J.run_line(session, run(context, *parse(line)))


HV01 = [HostAddress("HV01", "127.0.0.1", 9, "nestlab", "http", "basic")]
ALLOW = {"allowed": lambda host: True}
RESOLUTION = ["Stop-VM -Name 'L2-web'", "Set-VMMemory -VMName 'L2-web' -StartupBytes 4GB", "Start-VM -Name 'L2-web'"]


def Recording(lab, on_run=None):
    """A SimSession that remembers the text of every pipeline it ran, and may look at the journal."""
    return recording(lab, on_run)


def reference_with_an_old_web():
    """builtin:reference with L2-web on Windows Server 2012 R2: memory-change-pending is real only
    on a guest without runtime memory resize (before 2016; simulator.behaviour.runtime_resize)."""
    from dataclasses import replace

    from nestlab.simulator.model import OSInfo

    lab = labfile.load("builtin:reference")
    web = lab["HV01/L1/L2-web"]
    lab.update("HV01/L1/L2-web", guest=replace(web.guest, os=OSInfo(
        caption="Microsoft Windows Server 2012 R2 Datacenter", build=9600)))
    return lab


def assigned(session, context: str, name: str) -> int:
    host, *vm = context.split("/")
    return session.run(host, parse(f"Get-VM -Name '{name}'"), vm=tuple(vm)).output[0].get("MemoryAssigned")


def test_memory_change_pending_and_its_resolution_are_undone_to_the_memory_the_vm_ran_with(tmp_path):
    lab = reference_with_an_old_web()
    original = lab.copy()
    session = SimSession(lab)
    journal = J.Journal.create(tmp_path / "journal.json", HV01)
    J.inject(session, journal, lab.copy(), "memory-change-pending", "HV01/L1/L2-web", **ALLOW)
    for line in RESOLUTION:
        assert J.run_journaled(session, journal, "HV01/L1", parse(line), **ALLOW).ok
    assert assigned(session, "HV01/L1", "L2-web") == 4 * 2**30
    outcomes = J.undo_all(session, J.Journal.load(journal.path))
    assert [str(o) for o in outcomes if not o.undone] == []
    assert assigned(session, "HV01/L1", "L2-web") == 2 * 2**30
    assert lab == original


def test_a_set_vmmemorys_read_back_includes_what_the_vm_runs_with():
    (command,) = parse("Set-VMMemory -VMName 'L2-web' -StartupBytes 4GB")
    checks = readback.checks_of([("HV01/L1", command, str(command))])
    assert ("Get-VM -Name 'L2-web'", ("MemoryAssigned", "State")) in [(c.text, c.properties) for c in checks]


def test_an_undo_that_sets_startup_on_a_running_vm_is_not_called_done_until_it_runs_with_it(tmp_path):
    """Set-VMMemory on a running VM only configures: the read-back of MemoryAssigned says so, and
    the repair (a power cycle) is journalled before it runs."""
    lab = reference_with_an_old_web()
    journal_path = tmp_path / "journal.json"
    seen: list[dict] = []
    session = Recording(lab, lambda text: text.startswith("Stop-VM") and seen.append(json.loads(journal_path.read_text())))
    journal = J.Journal.create(journal_path, HV01)
    step = J.inject(session, journal, lab.copy(), "memory-change-pending", "HV01/L1/L2-web", **ALLOW)
    by_hand(session, "HV01/L1", "Stop-VM -Name 'L2-web'")  # someone applied it by hand
    by_hand(session, "HV01/L1", "Start-VM -Name 'L2-web'")
    seen.clear()
    (outcome,) = J.undo_all(session, journal)
    assert outcome.undone and assigned(session, "HV01/L1", "L2-web") == 2 * 2**30
    assert seen and seen[0]["steps"][step.index]["status"] == J.UNDO_RAN
    assert [(r["run"], r["text"]) for r in seen[0]["steps"][step.index]["repairs"]] == [
        ("HV01/L1", "Stop-VM -Name 'L2-web'"), ("HV01/L1", "Start-VM -Name 'L2-web'")]


def test_repairs_start_what_ran_turn_off_what_was_off_and_cycle_a_vm_with_other_memory():
    table = readback.Check("HV01/L1", (cmd("Get-VM"),), ("Name", "State"),
                           before=[["L2-app", "Running"], ["L2-web", "Off"], ["gone", "Running"]],
                           after=[["L2-app", "Off"], ["L2-web", "Running"]])
    one = readback.Check("HV01", (cmd("Get-VM", Name="L1"),), ("State", "MemoryAssigned"),
                         before=[["Running", 2]], after=[["Running", 4]])
    cycled: set = set()
    assert [shown(a) for a in readback.repairs([table, one], cycled)] == [
        "[HV01/L1] Start-VM -Name 'L2-app'", "[HV01/L1] Stop-VM -Name 'L2-web' -TurnOff",
        "[HV01] Stop-VM -Name 'L1'", "[HV01] Start-VM -Name 'L1'"]
    assert readback.repairs([one], cycled) == []  # a second cycle would not change what the first did not


def test_settle_journals_each_move_before_it_is_made(tmp_path):
    lab = labfile.load("builtin:reference")
    baseline = collect(SimSession(lab)).lab
    original = lab.copy()
    path = tmp_path / "journal.json"
    seen: list[dict] = []
    session = Recording(lab, lambda text: text.startswith("Start-VM") and seen.append(json.loads(path.read_text())))
    journal = J.Journal.create(path, HV01)
    by_hand(session, "HV01/L1", "Stop-VM -Name 'L2-web' -TurnOff")
    settled = J.settle(session, journal, baseline)
    assert settled.differences == () and lab == original
    assert seen and seen[0]["steps"][-1]["status"] == J.UNDO_RAN and "L2-web" in seen[0]["steps"][-1]["note"]
    assert [s.status for s in J.Journal.load(path).steps] == [J.UNDONE]


def test_a_move_back_to_the_baseline_killed_before_it_ran_is_made_by_the_next_undo(tmp_path):
    lab = labfile.load("builtin:reference")
    baseline = collect(SimSession(lab)).lab
    original = lab.copy()
    session = SimSession(lab)
    journal = J.Journal.create(tmp_path / "journal.json", HV01)
    by_hand(session, "HV01/L1", "Stop-VM -Name 'L2-web' -TurnOff")
    (move,) = J._moves(baseline, collect(session).lab)
    journal.add(J.Step(0, "", move.context, "HV01", (), (), (move,), note="back to the baseline"))  # then killed
    (outcome,) = J.undo_all(session, J.Journal.load(journal.path))
    assert outcome.undone and lab == original


# ----------------------------------------------------------------------------------------------
# `nestlab restore` against a served lab: it always compares with the baseline
# ----------------------------------------------------------------------------------------------


def _undone_then_left_off(tmp_path: Path, lab, addresses, *, with_baseline: bool) -> Path:
    """A run whose steps are all undone, killed before the VMs its undo stopped were started again."""
    with PsrpSession(addresses) as session:
        baseline = write(capture(session, target="served"), tmp_path / "before.yaml") if with_baseline else ""
        journal = J.Journal.create(tmp_path / "journal.json", addresses, baseline=str(baseline))
        J.inject(session, journal, lab.copy(), "mac-spoofing-disabled", **ALLOW)
        assert all(o.undone for o in J.undo_all(session, journal))
        by_hand(session, "HV01/L1", "Stop-VM -Name 'L2-web' -TurnOff")  # what the undo's reboot left, unstarted
    return journal.path


@pytest.mark.endpoint
def test_restore_with_nothing_pending_still_puts_the_vms_back_as_the_baseline_shows(tmp_path, served_reference):
    lab, _, addresses, _ = served_reference
    original = lab.copy()
    path = _undone_then_left_off(tmp_path, lab, addresses, with_baseline=True)
    result = CliRunner().invoke(cli, ["restore", str(path)])
    assert result.exit_code == 0, result.output
    assert "nothing to undo" not in result.output and "back to the baseline" in result.output
    assert lab == original
    steps = J.Journal.load(path).steps
    assert steps[-1].note.startswith("back to the baseline") and steps[-1].status == J.UNDONE
    again = CliRunner().invoke(cli, ["restore", str(path)])
    assert again.exit_code == 0 and "nothing to undo" in again.output


@pytest.mark.endpoint
def test_restore_without_a_baseline_reports_what_differs_from_the_journals_before_values(tmp_path, served_reference):
    lab, _, addresses, _ = served_reference
    path = _undone_then_left_off(tmp_path, lab, addresses, with_baseline=False)
    J.Journal.load(path)
    with PsrpSession(addresses) as session:  # something the journal read back is changed afterwards
        by_hand(session, "HV01", "Set-VMNetworkAdapter -VMName 'L1' -Name 'Network Adapter' -MacAddressSpoofing Off")
    result = CliRunner().invoke(cli, ["restore", str(path)])
    assert result.exit_code == 1
    assert "nothing to undo" not in result.output
    assert "differs from before the run: [HV01] Get-VMNetworkAdapter -VMName 'L1' -Name 'Network Adapter'" in result.output
