"""Kept reads (simulator/repeated_reads.py) live within one SimSession: a second session on the
same lab starts with none, so a diagnosis repeated on one lab costs what the first did — the
best of N runs a bench takes is a cold run at every lab size, not a warm one at small sizes only."""

from __future__ import annotations

from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import SimSession
from nestlab.simulator import powershell, repeated_reads
from nestlab.simulator.cmdlets import vhd
from nestlab.simulator.generate import generate
from nestlab.simulator.psdata import Command

DISKS = (Command("Get-VMHardDiskDrive", (), (("VMName", "*"),)), Command("Get-VHD"))


def test_a_new_session_starts_with_nothing_kept_from_the_last():
    lab = generate(seed=3, hosts=1, depth=2, vms_per_host=10)
    SimSession(lab)
    powershell.run(lab, lab.hosts()[0], DISKS)
    assert repeated_reads._kept(lab), "the drives stage's output is kept for the next pipeline"
    SimSession(lab)
    assert not repeated_reads._kept(lab)


def test_a_second_diagnosis_of_a_small_lab_builds_as_many_vhd_objects_as_the_first(monkeypatch):
    lab = generate(seed=100, hosts=1, depth=2, vms_per_host=100)
    made = [0]
    real = vhd.vhd_object

    def counted(*args, **kwargs):
        made[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(vhd, "vhd_object", counted)
    counts = []
    for _ in range(2):
        made[0] = 0
        diagnose_session(SimSession(lab), target=lab.name)
        counts.append(made[0])
    assert counts[0] > 0 and counts[0] == counts[1]
