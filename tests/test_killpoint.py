"""A destructive run killed at random points, and `nestlab restore` after each (issue 13, item 2).

`nestlab serve` serves builtin:reference on loopback; an inventory names it with `destructive:
true`. The run is what `pytest --lab=inventory:… --allow-destructive` does for a scenario (the same
InventoryTarget and testbed): memory-change-pending on L2-web and the guide's resolution (power
off, resize, start), a private switch for L1's adapter, a dynamic copy of L2-web's disk, then the
testbed's close (undo every step, put VMs back as the baseline shows). It runs in a forked child;
every request the child's PsrpSession would send is a kill point, before it is sent or after its
answer came back (the host changed, the child never knew). At each chosen point the parent sends
SIGKILL, runs `nestlab restore` on the journal the child left, and compares a fresh capture with
the capture from before: power state, memory, switches, adapters, disks — the whole lab.

KILL_POINTS (default 50) points are drawn with a seeded generator (NESTLAB_KILLPOINT_SEED, default
13) from the requests made after the journal exists (before it, nothing can have changed); the
tally is printed: `kill points restored: 50/50`.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.endpoint import served_elsewhere
from nestlab.lab import journal as journaling
from nestlab.lab.capture import capture, differences
from nestlab.lab.cli import cli
from nestlab.lab.psrp_session import PsrpSession
from nestlab.simulator import labfile
from nestlab.simulator.psparse import parse

REPO = Path(__file__).resolve().parent.parent
KILL_POINTS = int(os.environ.get("NESTLAB_KILL_POINTS", "50"))
SEED = int(os.environ.get("NESTLAB_KILLPOINT_SEED", "13"))
RESOLUTION = ["Stop-VM -Name 'L2-web'", "Set-VMMemory -VMName 'L2-web' -StartupBytes 4GB", "Start-VM -Name 'L2-web'"]

pytestmark = [pytest.mark.endpoint, pytest.mark.skipif(not hasattr(os, "fork"), reason="kill points fork the run")]


def destructive_run(inventory: Path, journal_dir: Path) -> None:
    """One destructive scenario on the served host, as the BDD suite's inventory target runs it."""
    from nestlab.steps.target_inventory import InventoryTarget

    target = InventoryTarget(inventory, allow_destructive=True, journal_dir=journal_dir)
    testbed = target.open(REPO / "fixtures" / "labs" / "reference.yaml")
    testbed.inject("memory-change-pending", "HV01/L1/L2-web")
    for line in RESOLUTION:
        assert testbed.session.run("HV01", parse(line), vm=("L1",)).ok, line
    testbed.inject("switch-private", "HV01/L1:adapter:Network Adapter")
    testbed.inject("dynamic-vhd", r"HV01/L1:vhd:C:\VMs\L2-web\L2-web.vhdx")
    testbed.close()
    target.close()


class Counter:
    """Counts the pipelines every PsrpSession in this process sends (`_invoked`: every PSRP pipeline
    of a `send`, lone or batched);
    at `kill_at` tells the parent and waits for its SIGKILL."""

    def __init__(self, kill_at: int | None = None, after: bool = False, tell: int | None = None) -> None:
        self.count, self.journal_at = 0, None
        self.kill_at, self.after, self.tell = kill_at, after, tell

    def install(self) -> None:
        invoked, create = PsrpSession._invoked, journaling.Journal.create.__func__
        counter = self

        def wrapped(original):
            def call(session, *args, **kwargs):
                counter.point(after=False)
                result = original(session, *args, **kwargs)
                counter.point(after=True)
                return result
            return call

        def created(cls, *args, **kwargs):
            journal = create(cls, *args, **kwargs)
            counter.journal_at = counter.count
            return journal

        PsrpSession._invoked = wrapped(invoked)  # the one place a pipeline is sent
        journaling.Journal.create = classmethod(created)

    def point(self, *, after: bool) -> None:
        if not after:
            self.count += 1
        if self.count == self.kill_at and after == self.after:
            os.write(self.tell, b"k")
            time.sleep(600)  # SIGKILL arrives here


def in_child(work, counter: Counter) -> int:
    """Fork; the child installs the counter and runs `work`; the parent gets the pid."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            counter.install()
            work()
        except BaseException as exc:  # noqa: BLE001 - the child reports and exits; pytest must not go on in it
            os.write(2, f"destructive run failed: {type(exc).__name__}: {exc}\n".encode())
            code = 3
        finally:
            if counter.tell is not None:
                os.write(counter.tell, f"done {counter.count} {counter.journal_at}".encode())
            os._exit(code)
    return pid


@pytest.fixture(scope="module")
def served_lab(tmp_path_factory):
    from dataclasses import replace

    from nestlab.simulator.model import OSInfo

    password = "pw-" + secrets.token_urlsafe(18)
    lab = labfile.load("builtin:reference")
    # memory-change-pending is real only on a guest without runtime memory resize (before 2016)
    web = lab["HV01/L1/L2-web"]
    lab.update("HV01/L1/L2-web", guest=replace(web.guest, os=OSInfo(
        caption="Microsoft Windows Server 2012 R2 Datacenter", build=9600)))
    # Each killed run leaves its runspace pool open on the host, as a killed client leaves a real
    # WinRM shell until IdleTimeout; 50 kills exceed Windows' default MaxShellsPerUser (30), so the
    # served host's quota is raised as a lab admin would (winrm/config/winrs).
    with served_elsewhere(lab, password, extra=("--max-shells-per-user", "500")) as addresses:
        folder = tmp_path_factory.mktemp("killpoint")
        inventory = folder / "inventory.yaml"
        (address,) = addresses
        inventory.write_text("hosts:\n"
                             f"  - {{name: HV01, address: 127.0.0.1, port: {address.port}, transport: http,"
                             " auth: basic, user: nestlab, destructive: true}\n", encoding="utf-8")
        yield addresses, inventory, password, folder


def fresh_capture(addresses):
    with PsrpSession(addresses) as session:
        return capture(session, target="served").lab


def run_to(inventory: Path, journal_dir: Path, kill_at: int | None, after: bool) -> tuple[bool, str]:
    """Run the scenario in a child, SIGKILLed at request `kill_at` (None: to the end); (killed, its report)."""
    read, write = os.pipe()
    pid = in_child(lambda: destructive_run(inventory, journal_dir), Counter(kill_at, after, write))
    os.close(write)
    first = os.read(read, 200)
    killed = first == b"k"
    if killed:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    rest = os.read(read, 200) if not killed else b""
    os.close(read)
    report = (first + rest).decode()
    if not killed:
        assert os.waitstatus_to_exitcode(status) == 0, f"the run itself failed: {report}"
    return killed, report


def test_a_destructive_run_killed_anywhere_is_restored_by_nestlab_restore(served_lab, monkeypatch, capsys):
    addresses, inventory, password, folder = served_lab
    monkeypatch.setenv("NESTLAB_PASSWORD", password)
    baseline = fresh_capture(addresses)

    killed, report = run_to(inventory, folder / "whole", None, False)  # the whole run, to count its requests
    _, total, journal_at = report.split()
    total, journal_at = int(total), int(journal_at)
    assert not differences(baseline, fresh_capture(addresses)), "the unkilled run did not restore the host itself"

    chooser = random.Random(SEED)
    points = [(chooser.randint(journal_at + 1, total), chooser.random() < 0.5) for _ in range(KILL_POINTS)]
    failures = []
    for number, (kill_at, after) in enumerate(points):
        journal_dir = folder / f"kill-{number}"
        killed, report = run_to(inventory, journal_dir, kill_at, after)
        assert killed, f"kill point {kill_at} was never reached: {report}"
        journals = sorted(journal_dir.glob("*.json"))
        result = CliRunner().invoke(cli, ["restore", str(journals[-1])]) if journals else None
        left = differences(baseline, fresh_capture(addresses))
        if left or (result is not None and result.exit_code != 0):
            failures.append(f"request {kill_at} ({'after' if after else 'before'} it): exit "
                            f"{result.exit_code if result else '-'}; {result.output if result else ''}; differs: {left}")
    restored = KILL_POINTS - len(failures)
    with capsys.disabled():
        print(f"\nkill points restored: {restored}/{KILL_POINTS} (requests {journal_at + 1}..{total} of a run, seed {SEED})",
              file=sys.stderr)
    assert not failures, "\n".join(failures)
