"""Damaged disks and broken chains are named where the damage is (found by the accuracy tests).

* A disk Get-VHD cannot open (a damaged file) is still tested: the collector runs Test-VHD on every
  path Get-VMHardDiskDrive shows, so vhd-corrupt is found on a VM's own disk.
* Test-VHD opens a whole chain, so a child fails with its parent's error; only the first broken
  link is named (a corrupt base disk is not also blamed on the checkpoint on top of it).
* A moved parent that is itself a checkpoint: the collector reads the found file's own parents,
  so its chain is whole and nothing is called missing.
"""

from __future__ import annotations

import pytest

from nestlab.lab.demo import closed_loop
from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import SimSession
from nestlab.simulator import faults, labfile
from nestlab.simulator.generate import generate
from nestlab.simulator.model import Edge, Lab

REFERENCE = "builtin:reference"


@pytest.mark.parametrize("subject", faults.get("vhd-corrupt").candidates(labfile.load(REFERENCE)))
def test_a_corrupt_disk_is_named_itself_and_heals(subject):
    loop = closed_loop("vhd-corrupt", labfile.load(REFERENCE), subject=subject)
    assert loop.ok, loop


def test_a_checkpoint_on_a_corrupt_base_disk_is_not_blamed():
    lab = labfile.load(REFERENCE)
    base = "HV01:vhd:D:\\VMs\\L1\\L1.vhdx"
    (child,) = lab.into(base, Edge.PARENT)
    faults.get("vhd-corrupt").inject(lab, base)
    named = {(f.root_cause, f.subject) for f in diagnose_session(SimSession(lab)).report.findings}
    assert ("vhd-corrupt", base) in named
    assert not any(subject == child for _, subject in named)


def _moved_checkpoint_parents() -> tuple[Lab, str]:
    """A generated lab and a vhd-parent-moved subject whose parent is a checkpoint itself."""
    for seed in range(200):
        lab = generate(seed=seed, hosts=2, depth=1)
        for child in faults.get("vhd-parent-moved").candidates(lab):
            (parent,) = lab.out(child, Edge.PARENT)
            if lab[parent].type == "differencing":
                return lab, child
    raise AssertionError("no generated lab of the first 200 seeds has a checkpoint on a checkpoint")


def test_a_moved_parent_that_is_a_checkpoint_is_found_with_its_own_chain():
    lab, child = _moved_checkpoint_parents()
    faults.get("vhd-parent-moved").inject(lab, child)
    report = diagnose_session(SimSession(lab)).report
    errors = [(f.root_cause, f.subject) for f in report.findings if f.severity == "error"]
    assert errors == [("vhd-parent-moved", child)]
