"""Inventories of real hosts: what a run may change on each (`destructive:`, `vms:`), the read-only
guard in front of every host, and the `--lab=inventory:PATH` target against a served lab."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from bench.endpoint import served
from nestlab.diagnosis import probes
from nestlab.lab.demo import demo_lab
from nestlab.lab import journal as J
from nestlab.lab.inventory import GuardedSession, Permission, ReadOnly, changes_state, read_hosts
from nestlab.lab.session import SimSession
from nestlab.lab.targets import read_inventory
from nestlab.simulator import labfile
from nestlab.simulator.errors import BadInput
from nestlab.simulator.faults import CATALOG
from nestlab.simulator.psdata import Command
from nestlab.simulator.psparse import parse
from nestlab.steps.target_inventory import TRACE_SKIP_REASON, InventoryTarget

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "lab" / "inventory.example.yaml"


def test_the_example_inventory_reads_and_is_read_only_by_default():
    hosts = {h.name: h for h in read_hosts(EXAMPLE)}
    assert [a.name for a in read_inventory(EXAMPLE)] == list(hosts) == ["HV01", "HV02"]
    assert hosts["HV01"].destructive is False and hosts["HV01"].vms == ("L1",)
    assert hosts["HV02"].destructive is True and hosts["HV02"].vms is None
    uncommented = [line.split("#", 1)[0] for line in EXAMPLE.read_text().splitlines()]
    assert not any("password" in line.lower() for line in uncommented)


@pytest.mark.parametrize("entry, message", [
    ("destructive: yes-please", "hosts[0] (HV01): destructive must be true or false"),
    ("vms: L1", "hosts[0] (HV01): vms must be a list of VM names"),
    ("password: hunter2", "a password never goes in an inventory"),
])
def test_a_bad_entry_names_the_file_and_the_entry(tmp_path, entry, message):
    path = tmp_path / "inventory.yaml"
    path.write_text(f"hosts:\n  - name: HV01\n    {entry}\n")
    with pytest.raises(BadInput) as raised:
        read_hosts(path)
    assert str(raised.value).startswith(f"{path}: hosts[0]") and message in str(raised.value)


def test_a_change_needs_both_the_flag_and_the_entry():
    hosts = {h.name: h for h in read_hosts(EXAMPLE)}
    assert not Permission(hosts, allow_destructive=False).may_change("HV02")
    assert not Permission(hosts, allow_destructive=True).may_change("HV01")
    assert Permission(hosts, allow_destructive=True).may_change("HV02")
    assert not Permission(hosts, allow_destructive=True).may_change("HV09")
    assert "without --allow-destructive" in Permission(hosts).why_not("HV02")
    assert "does not say destructive: true" in Permission(hosts, True).why_not("HV01")


def test_vms_limit_what_may_be_touched():
    (hv01, _) = read_hosts(EXAMPLE)
    assert hv01.may_touch("HV01/L1") and hv01.may_touch("HV01/L1/L2-web") and hv01.may_touch("HV01/L1:adapter:Network Adapter")
    assert not hv01.may_touch("HV01/L9") and not hv01.may_touch("HV01") and not hv01.may_touch("HV02/L1")


def test_every_probe_of_the_collector_is_a_read():
    batches = [*probes.first_batch(guest=False), *probes.first_batch(guest=True),
               *probes.disk_batch(set(), [r"D:\a.vhdx"], [r"D:\b.avhdx"]), *probes.search_batch([r"D:\a.vhdx"], ["C:", "D:"])]
    assert [p.key for p in batches if changes_state(p.pipeline)] == []


def test_every_line_that_injects_or_undoes_a_fault_is_a_change():
    lines = [line for f in CATALOG.values() if f.kind == "cmd"
             for lab in [demo_lab(f.id)]  # builtin:reference, or builtin:legacy for faults real only on early builds
             for line in [*f.inject_script(lab), *f.undo_script(lab)]]
    assert lines and [str(a) for a in lines if not changes_state(a.pipeline)] == []


@pytest.mark.parametrize("line, changes", [
    ("Get-VM | Where-Object { $_.State -eq 'Running' }", False),
    ("Get-VM | Where-Object { $_.Stop() }", True),
    ("Invoke-Command -VMName 'L2' -ScriptBlock { Get-Job }", False),
    ("Invoke-Command -VMName 'L2' -ScriptBlock { Get-Job | Stop-Job }", True),
    ("bcdedit /enum {current}", False),
    ("bcdedit /set hypervisorlaunchtype off", True),
    ("Frobnicate-Host", True),
])
def test_what_is_not_known_to_read_counts_as_a_change(line, changes):
    assert changes_state(parse(line)) is changes


def test_the_guard_sends_nothing_that_would_change_a_read_only_host():
    lab = labfile.load("builtin:reference")
    original = lab.copy()
    guarded = GuardedSession(SimSession(lab), Permission({h.name: h for h in read_hosts(EXAMPLE)}, True))
    with pytest.raises(ReadOnly, match="HV01: refused 'Stop-VM -Name L1'"):
        guarded.run("HV01", (Command.of("Stop-VM", Name="L1"),))
    with pytest.raises(ReadOnly):
        guarded.run_batch("HV01", [(Command.of("Get-VM"),), (Command.of("Stop-VM", Name="L1"),)])
    assert guarded.run("HV01", (Command.of("Get-VM"),)).ok
    assert lab == original


# ----------------------------------------------------------------------------------------------
# --lab=inventory:PATH against a served lab
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def served_inventory(tmp_path, monkeypatch):
    """builtin:reference served on loopback, and an inventory file naming it (destructive: true)."""
    password = secrets.token_urlsafe(16)
    monkeypatch.setenv("NESTLAB_PASSWORD", password)
    lab = labfile.load("builtin:reference")
    with served(lab, password) as (server, _):
        path = tmp_path / "inventory.yaml"
        path.write_text(
            "hosts:\n"
            f"  - {{name: HV01, address: 127.0.0.1, port: {server.servers['HV01'].port}, transport: http,"
            " auth: basic, user: nestlab, vms: [L1], destructive: true}\n"
        )
        yield lab, path, password


def open_target(path: Path, tmp_path: Path, allow: bool):
    target = InventoryTarget(path, allow_destructive=allow, journal_dir=tmp_path / "journals")
    testbed = target.open(REPO / "fixtures" / "labs" / "reference.yaml")
    return target, testbed


@pytest.mark.endpoint
def test_a_destructive_scenario_is_journalled_and_undone_at_close(served_inventory, tmp_path):
    lab, path, password = served_inventory
    original = lab.copy()
    target, testbed = open_target(path, tmp_path, allow=True)
    try:
        assert testbed.inject("extensions-not-exposed", "HV01/L1") == "HV01/L1"
        assert lab != original
        assert testbed.session.run("HV01", (Command.of("Get-VMProcessor", VMName="L1"),)).output[0][
            "ExposeVirtualizationExtensions"] is False
        testbed.close()
    finally:
        target.close()
    assert lab == original
    (journal,) = (tmp_path / "journals").glob("*.json")
    assert J.Journal.load(journal).baseline.endswith(".before.yaml")
    assert [s.status for s in J.Journal.load(journal).steps] == [J.UNDONE]
    assert password not in journal.read_text()


@pytest.mark.endpoint
def test_an_engineers_commands_are_journalled_and_a_reboots_leftovers_settled(served_inventory, tmp_path):
    lab, path, _ = served_inventory
    original = lab.copy()
    target, testbed = open_target(path, tmp_path, allow=True)
    try:
        assert testbed.session.run("HV01", parse("Invoke-Command -VMName 'L1' -ScriptBlock { Stop-VM -Name 'L2-app' }")).ok
        assert lab["HV01/L1/L2-app"].state == "Off"
        assert testbed.session.run("HV01", parse("Stop-VM -Name 'L1'")).ok
        assert testbed.session.run("HV01", parse("Set-VMMemory -VMName 'L1' -StartupBytes 8GB")).ok
        with pytest.raises(pytest.skip.Exception, match="no read-back of State"):  # L1 is off: L2-web cannot be read
            testbed.session.run("HV01", parse("Invoke-Command -VMName 'L1' -ScriptBlock { Stop-VM -Name 'L2-web' }"))
        with pytest.raises(pytest.skip.Exception, match="no undo is known for Install-WindowsFeature"):
            testbed.session.run("HV01", parse("Install-WindowsFeature -Name Hyper-V"))
        assert lab != original
        testbed.close()
    finally:
        target.close()
    assert lab == original


@pytest.mark.endpoint
def test_without_allow_destructive_nothing_changes_and_the_scenario_skips(served_inventory, tmp_path):
    lab, path, _ = served_inventory
    original = lab.copy()
    target, testbed = open_target(path, tmp_path, allow=False)
    try:
        assert not target.can_change_state and not target.can_make_physical_changes
        with pytest.raises(pytest.skip.Exception, match="read-only without --allow-destructive"):
            testbed.inject("extensions-not-exposed", "HV01/L1")
        with pytest.raises(pytest.skip.Exception, match="HV01: refused 'Stop-VM -Name L1'"):
            testbed.session.run("HV01", (Command.of("Stop-VM", Name="L1"),))
        with pytest.raises(pytest.skip.Exception, match="reachability traces"):
            testbed.trace("HV01/L1", "corp-lan", 80, "TCP")
        testbed.close()
    finally:
        target.close()
    assert lab == original
    assert TRACE_SKIP_REASON


@pytest.mark.endpoint
def test_a_subject_outside_the_entrys_vms_is_skipped(served_inventory, tmp_path):
    lab, path, _ = served_inventory
    path.write_text(path.read_text().replace("vms: [L1]", "vms: [L9]"))
    target, testbed = open_target(path, tmp_path, allow=True)
    try:
        with pytest.raises(pytest.skip.Exception, match="not among the VMs"):
            testbed.inject("extensions-not-exposed", "HV01/L1")
        testbed.close()
    finally:
        target.close()


def test_a_scenario_lab_with_other_hosts_is_skipped(tmp_path):
    target = InventoryTarget(EXAMPLE, journal_dir=tmp_path)
    try:
        with pytest.raises(pytest.skip.Exception, match="needs hosts"):
            target.open(REPO / "fixtures" / "labs" / "azure.yaml")
    finally:
        target.close()
