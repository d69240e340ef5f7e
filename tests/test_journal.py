"""The journal of destructive runs: written before a fault goes in, undone newest first even after a
crash, verified by reading back; `nestlab restore` finishes what a killed run left; no password
anywhere in it."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Sequence

import pytest
from click.testing import CliRunner

from nestlab.lab.demo import demo_lab
from nestlab.lab import journal as J
from nestlab.lab import readback
from nestlab.lab.session import address
from nestlab.lab.cli import cli
from nestlab.lab.psrp_session import HostAddress, PsrpSession
from nestlab.lab.session import SimSession
from nestlab.simulator import labfile
from nestlab.simulator.errors import BadInput
from nestlab.simulator.faults import CATALOG
from nestlab.simulator.psdata import Command, Result
from nestlab.simulator.actions import cmd, run
from nestlab.simulator.psparse import parse

from helpers_sessions import recording


def by_hand(session, context: str, line: str) -> None:
    """What a person types on a host, outside any journal (their text parsed as `nestlab ps` does)."""
    J.run_line(session, run(context, *parse(line)))

CMD_FAULTS = [fid for fid, f in CATALOG.items() if f.kind == "cmd"]
HV01 = [HostAddress("HV01", "127.0.0.1", 9, "nestlab", "http", "basic")]
ALLOW = {"allowed": lambda host: True}
REPO = Path(__file__).resolve().parent.parent


def new_journal(tmp_path: Path, addresses=HV01) -> J.Journal:
    return J.Journal.create(tmp_path / "journal.json", addresses, target="test")


def Recording(lab, on_run=None):
    """A SimSession that remembers every pipeline it ran, and can look at the journal as it runs."""
    return recording(lab, on_run)


# ----------------------------------------------------------------------------------------------
# in process: every cmd fault of the catalog
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault_id", CMD_FAULTS)
def test_every_cmd_fault_is_seen_by_its_read_backs_and_undone_exactly(fault_id, tmp_path):
    lab = demo_lab(fault_id)  # builtin:reference, or builtin:legacy for faults real only on early builds
    original = lab.copy()
    session = SimSession(lab)
    step = J.inject(session, new_journal(tmp_path), lab.copy(), fault_id, **ALLOW)
    assert step.status == J.APPLIED
    assert any(not c.same for c in J._read_all(session, step)), "no read-back shows the injected change"
    outcomes = J.undo_all(session, J.Journal.load(tmp_path / "journal.json"))
    assert [o.undone for o in outcomes] == [True]
    assert lab == original


def test_the_step_is_on_disk_before_the_first_line_runs(tmp_path):
    lab = labfile.load("builtin:reference")
    path = tmp_path / "journal.json"
    seen: list[dict] = []

    def look(text: str) -> None:
        if text.startswith("Stop-VM") and not seen:
            seen.append(json.loads(path.read_text())["steps"][0])

    J.inject(Recording(lab, look), J.Journal.create(path, HV01), lab.copy(), "extensions-not-exposed", "HV01/L1", **ALLOW)
    assert seen and seen[0]["status"] == J.WRITTEN
    assert seen[0]["undo"][1]["run"] == "HV01"
    assert seen[0]["undo"][1]["text"] == "Set-VMProcessor -VMName 'L1' -ExposeVirtualizationExtensions $true"
    assert seen[0]["undo"][1]["pipeline"] == [{"name": "Set-VMProcessor", "arguments": [], "parameters": [
        ["VMName", "L1"], ["ExposeVirtualizationExtensions", True]]}]  # structured: never parsed back
    before = {c["command"]: c["before"] for c in seen[0]["checks"]}
    assert before["Get-VMProcessor -VMName 'L1'"] == [[True]]


def test_a_host_that_is_not_allowed_gets_nothing_not_even_a_read(tmp_path):
    lab = labfile.load("builtin:reference")
    session = Recording(lab)
    journal = new_journal(tmp_path)
    with pytest.raises(BadInput, match="HV01: read-only"):
        J.inject(session, journal, lab.copy(), "extensions-not-exposed", allowed=lambda host: False)
    assert session.ran == [] and J.Journal.load(journal.path).steps == []


def test_a_line_without_a_read_back_is_refused_before_anything_runs():
    with pytest.raises(BadInput, match="no read-back is known for Format-Volume"):
        readback.checks_for([run("HV01", cmd("Format-Volume", DriveLetter="D"))])


def test_undo_is_newest_first_and_a_second_undo_runs_nothing(tmp_path):
    lab = labfile.load("builtin:reference")
    original = lab.copy()
    session = Recording(lab)
    journal = new_journal(tmp_path)
    J.inject(session, journal, lab.copy(), "insufficient-vcpu", "HV01/L1", **ALLOW)
    J.inject(session, journal, lab.copy(), "insufficient-memory", "HV01/L1", **ALLOW)
    first = J.undo_all(session, journal)
    assert [o.step.fault for o in first] == ["insufficient-memory", "insufficient-vcpu"]
    assert all(o.undone and o.ran for o in first) and lab == original
    session.ran.clear()
    again = J.undo_all(session, J.Journal.load(journal.path))
    assert again == [] and session.ran == []


def test_a_step_already_undone_on_the_host_is_marked_without_running_its_lines(tmp_path):
    lab = labfile.load("builtin:reference")
    session = Recording(lab)
    journal = new_journal(tmp_path)
    step = J.inject(session, journal, lab.copy(), "mac-spoofing-disabled", **ALLOW)
    for action in step.undo:  # someone put it back by hand
        J.run_line(session, action)
    session.ran.clear()
    (outcome,) = J.undo_all(session, journal)
    assert outcome.undone and not outcome.ran
    assert not any(text.startswith("Set-") for text in session.ran)


def test_an_undo_the_read_backs_contradict_is_not_called_done(tmp_path):
    lab = labfile.load("builtin:reference")
    session = SimSession(lab)
    journal = new_journal(tmp_path)
    step = J.inject(session, journal, lab.copy(), "insufficient-vcpu", "HV01/L1", **ALLOW)
    wrong = tuple(c if "Processor" not in c.text else J.replace(c, before=[[64]]) for c in step.checks)
    journal.update(step, checks=wrong)
    (outcome,) = J.undo_all(session, journal)
    assert outcome.step.status == J.UNDO_FAILED and "NOT undone" in str(outcome)
    assert J.Journal.load(journal.path).pending()


def test_an_interrupted_scenario_is_undone_on_the_way_out(tmp_path):
    lab = labfile.load("builtin:reference")
    original = lab.copy()
    session = SimSession(lab)
    with pytest.raises(KeyboardInterrupt):
        with J.undone_on_exit(session, new_journal(tmp_path)) as journal:
            J.inject(session, journal, lab.copy(), "switch-private", **ALLOW)
            raise KeyboardInterrupt
    assert lab == original
    assert [s.status for s in J.Journal.load(tmp_path / "journal.json").steps] == [J.UNDONE]


# ----------------------------------------------------------------------------------------------
# the journal file and `nestlab restore`'s bad input
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a nestlab journal (not JSON"),
    ('{"steps": []}', 'not a nestlab journal (no "format"'),
    ('{"format": "nestlab-journal", "version": 9}', "journal version 9 is not 2"),
    ('{"format": "nestlab-journal", "version": 2, "hosts": [], "steps": [{"index": 0}]}', "malformed journal"),
    ('{"format": "nestlab-journal", "version": 1, "hosts": [], "steps": []}', "journal version 1 is not 2"),
])
def test_a_bad_journal_is_one_line_and_exit_2(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = CliRunner().invoke(cli, ["restore", str(path)])
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_restore_dry_run_prints_the_undo_and_connects_to_nothing(tmp_path):
    lab = labfile.load("builtin:reference")
    journal = new_journal(tmp_path)  # HV01 at 127.0.0.1:9: nothing listens there
    J.inject(SimSession(lab), journal, lab.copy(), "extensions-not-exposed", **ALLOW)
    result = CliRunner().invoke(cli, ["restore", "--dry-run", str(journal.path)])
    assert result.exit_code == 0, result.output
    assert "[HV01] Set-VMProcessor -VMName 'L1' -ExposeVirtualizationExtensions $true" in result.output
    assert J.Journal.load(journal.path).steps[0].status == J.APPLIED


def test_restore_of_an_unreachable_host_is_exit_2_and_keeps_the_step(tmp_path, monkeypatch):
    monkeypatch.setenv("NESTLAB_PASSWORD", "irrelevant")
    lab = labfile.load("builtin:reference")
    journal = new_journal(tmp_path)
    J.inject(SimSession(lab), journal, lab.copy(), "extensions-not-exposed", **ALLOW)
    result = CliRunner().invoke(cli, ["restore", str(journal.path)])
    assert result.exit_code == 2
    assert "cannot open a PowerShell session" in result.output
    assert J.Journal.load(journal.path).pending()


# ----------------------------------------------------------------------------------------------
# end to end: the served simulator, a run killed with -9, `nestlab restore`
# ----------------------------------------------------------------------------------------------

CHILD = """
import json, sys, time
from pathlib import Path
from nestlab.lab import journal as J
from nestlab.lab.capture import capture
from nestlab.lab.psrp_session import HostAddress, PsrpSession

path, fault_id, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
addresses = [HostAddress(**a) for a in json.loads(sys.argv[4])]
session = PsrpSession(addresses)
shown = capture(session, target="served").lab        # what the host shows: the scripts are computed on it
journal = J.Journal.create(path, addresses, target="served")
if mode == "kill":
    J.inject(session, journal, shown, fault_id, allowed=lambda host: True)
    print("applied", flush=True)
    time.sleep(120)                                   # killed here with -9: no finally, no atexit
else:
    with J.undone_on_exit(session, journal):
        J.inject(session, journal, shown, fault_id, allowed=lambda host: True)
        print("applied", flush=True)
        time.sleep(120)                               # interrupted here (SIGINT / SIGTERM)
"""


def run_child(tmp_path: Path, addresses, fault_id: str, mode: str) -> subprocess.Popen:
    data = json.dumps([{k: getattr(a, k) for k in ("name", "server", "port", "user", "transport", "auth")}
                       for a in addresses])
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "journal.json"), fault_id, mode, data],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    line = child.stdout.readline()
    assert line.strip() == "applied", child.stderr.read() if child.poll() is not None else line
    return child


@pytest.mark.endpoint
def test_a_run_killed_after_injecting_is_restored_by_nestlab_restore(tmp_path, served_reference, caplog):
    lab, server, addresses, password = served_reference
    original = lab.copy()
    child = run_child(tmp_path, addresses, "extensions-not-exposed", "kill")
    child.kill()  # SIGKILL: the child's own undo never runs
    child.wait(10)
    assert lab != original, "the fault is in the served lab"
    path = tmp_path / "journal.json"
    assert [s.status for s in J.Journal.load(path).steps] == [J.APPLIED]

    caplog.set_level(logging.DEBUG)
    result = CliRunner().invoke(cli, ["restore", str(path)])
    assert result.exit_code == 0, result.output
    assert "undone; 3 read-back(s) equal" in result.output  # the VM, the VMs in its guest, its processor
    assert lab == original
    (step,) = J.Journal.load(path).steps
    assert step.status == J.UNDONE and all(c.same for c in step.checks)

    again = CliRunner().invoke(cli, ["restore", str(path)])
    assert again.exit_code == 0 and "nothing to undo" in again.output

    for text in (path.read_text(), result.output, again.output, caplog.text, child.stderr.read()):
        assert password not in text


@pytest.mark.endpoint
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_undoes_itself(tmp_path, served_reference, signum):
    lab, server, addresses, password = served_reference
    original = lab.copy()
    child = run_child(tmp_path, addresses, "switch-private", "interrupt")
    assert lab != original
    child.send_signal(signum)
    child.wait(30)
    assert lab == original
    assert [s.status for s in J.Journal.load(tmp_path / "journal.json").steps] == [J.UNDONE]


@pytest.mark.endpoint
def test_no_password_in_the_journal_or_the_logs_of_a_psrp_run(tmp_path, served_reference, caplog):
    lab, server, addresses, password = served_reference
    caplog.set_level(logging.DEBUG)
    original = lab.copy()
    with PsrpSession(addresses) as session:
        with J.undone_on_exit(session, new_journal(tmp_path, addresses)) as journal:
            J.inject(session, journal, lab.copy(), "portproxy-missing", **ALLOW)
            assert lab != original
    assert lab == original
    text = (tmp_path / "journal.json").read_text()
    assert '"status": "undone"' in text
    assert password not in text and password not in caplog.text


# ----------------------------------------------------------------------------------------------
# commands a scenario runs on a real host: journalled with the undo their read-backs allow
# ----------------------------------------------------------------------------------------------

SCENARIO = [  # (context, line): what engineers and resolutions do in the features
    ("HV01", "Stop-VM -Name 'L1'"),
    ("HV01", "Set-VMProcessor -VMName 'L1' -ExposeVirtualizationExtensions $false -Count 2"),
    ("HV01", "Set-VMMemory -VMName 'L1' -StartupBytes 8GB"),
    ("HV01", "Start-VM -Name 'L1'"),
    ("HV01", "Set-VMNetworkAdapter -VMName 'L1' -MacAddressSpoofing Off"),
    ("HV01", "New-VMSwitch -Name 'Lab' -SwitchType Internal"),
    ("HV01", "Connect-VMNetworkAdapter -VMName 'L1' -Name 'Network Adapter' -SwitchName 'Lab'"),
    ("HV01/L1", "netsh interface portproxy delete v4tov4 listenport=8080 listenaddress=10.20.0.50"),
    ("HV01/L1", "netsh interface portproxy add v4tov4 listenport=9090 listenaddress=10.20.0.50 connectport=90 connectaddress=192.168.200.10"),
    ("HV01/L1", "Remove-NetNat -Name 'NestedNAT' -Confirm:$false"),
    ("HV01/L1", "New-NetNat -Name 'Other' -InternalIPInterfaceAddressPrefix 172.31.0.0/24"),
    ("HV01/L1", "New-NetFirewallRule -Name 'Extra' -DisplayName 'Extra' -Direction Inbound -Action Allow -Protocol TCP -LocalPort 81"),
    ("HV01", "bcdedit /set nx AlwaysOn"),
    ("HV01", r"reg add HKLM\System\CurrentControlSet\Control\DeviceGuard /v EnableVirtualizationBasedSecurity /t REG_DWORD /d 0 /f"),
    ("HV01", "Restart-Computer -Force"),
]


def test_a_scenarios_commands_are_journalled_and_all_undone(tmp_path):
    from nestlab.simulator.psparse import parse

    lab = labfile.load("builtin:reference")
    original = lab.copy()
    session = SimSession(lab)
    journal = new_journal(tmp_path)
    for context, line in SCENARIO:
        host, vm = address(context)
        result = J.run_journaled(session, journal, context, parse(line), **ALLOW)
        assert result.ok, f"{line}: {result.errors}"
    assert lab != original
    outcomes = J.undo_all(session, J.Journal.load(journal.path))
    assert [str(o) for o in outcomes if not o.undone] == []
    assert lab == original


@pytest.mark.parametrize("line, why", [
    ("Install-WindowsFeature -Name Hyper-V", "no undo is known for Install-WindowsFeature"),
    ("Get-VM | Stop-VM", "only single commands are journalled"),
    ("Remove-VMSwitch -Name 'External' -Force", "no undo is known for Remove-VMSwitch"),
])
def test_a_command_without_a_known_undo_is_not_run(tmp_path, line, why):
    from nestlab.simulator.psparse import parse

    lab = labfile.load("builtin:reference")
    original = lab.copy()
    journal = new_journal(tmp_path)
    with pytest.raises(readback.NoUndo, match=why):
        J.run_journaled(SimSession(lab), journal, "HV01", parse(line), **ALLOW)
    assert lab == original and journal.steps == []


def test_settle_starts_what_a_reboot_left_off_and_reports_the_rest():
    from nestlab.lab.capture import settle
    from nestlab.diagnosis.collect import collect

    lab = labfile.load("builtin:reference")
    session = SimSession(lab)
    baseline = collect(session).lab
    original = lab.copy()
    by_hand(session, "HV01", "Stop-VM -Name 'L1' -TurnOff")
    assert settle(session, baseline) == [] and lab == original
    by_hand(session, "HV01", "Stop-VM -Name 'L1'")
    by_hand(session, "HV01", "Set-VMProcessor -VMName 'L1' -Count 2")
    left = settle(session, baseline)
    assert lab["HV01/L1"].state == "Running"
    assert len(left) == 1 and left[0].startswith("changed HV01/L1: processor")


@pytest.mark.endpoint
def test_restore_settles_against_the_baseline_capture_beside_the_journal(tmp_path, served_reference):
    from nestlab.lab.capture import capture, write

    lab, server, addresses, password = served_reference
    original = lab.copy()
    with PsrpSession(addresses) as session:
        baseline = write(capture(session, target="served"), tmp_path / "before.yaml")
        journal = J.Journal.create(tmp_path / "journal.json", addresses, baseline=str(baseline))
        J.inject(session, journal, lab.copy(), "mac-spoofing-disabled", **ALLOW)
        by_hand(session, "HV01/L1", "Stop-VM -Name 'L2-app' -TurnOff")  # what a crash mid-reboot leaves
    result = CliRunner().invoke(cli, ["restore", str(journal.path)])
    assert result.exit_code == 0, result.output
    assert lab == original


@pytest.mark.endpoint
def test_restore_lists_what_still_differs_from_the_baseline_and_exits_1(tmp_path, served_reference):
    from nestlab.lab.capture import capture, write

    lab, server, addresses, password = served_reference
    with PsrpSession(addresses) as session:
        baseline = write(capture(session, target="served"), tmp_path / "before.yaml")
        journal = J.Journal.create(tmp_path / "journal.json", addresses, baseline=str(baseline))
        J.inject(session, journal, lab.copy(), "portproxy-missing", **ALLOW)
        by_hand(session, "HV01", "Set-VMNetworkAdapter -VMName 'L1' -MacAddressSpoofing Off")  # never journalled
    result = CliRunner().invoke(cli, ["restore", str(journal.path)])
    assert result.exit_code == 1
    assert "differs from the baseline" in result.output and "HV01/L1:adapter:Network Adapter" in result.output
    assert J.Journal.load(journal.path).steps[0].status == J.UNDONE
