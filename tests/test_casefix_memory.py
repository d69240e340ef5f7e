"""A VM that cannot start for lack of free host memory (MSLab #300, KNOWN_FAILURES.md 6): the
seen error is evidence; the running neighbours that hold the memory are the cause."""

from __future__ import annotations

from nestlab.simulator.actions import texts

from nestlab.diagnosis.evidence import Statements
from nestlab.diagnosis.symptoms import observe
from nestlab.diagnosis.triage import triage
from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import SimSession
from nestlab.simulator import labfile

LAB = """
lab: casefix-memory
hosts:
  - name: LT
    os: {caption: Microsoft Windows 10 Enterprise, build: 19045}
    memory_gb: 16
    volumes: [{drive: "C:", media: ssd, size_gb: 500, free_gb: 300}]
    vms:
      - {name: Big, state: Running, memory: {startup_gb: 8}}
      - {name: Small, state: Running, memory: {startup_gb: 2}}
      - {name: DC, state: "Off", memory: {startup_gb: 4}}
"""
ERROR = "'DC' failed to start. Not enough memory in the system to start the virtual machine DC."


def test_the_out_of_memory_start_text_is_in_the_triage_catalog():
    # "failed to start." (vm-start-fails) matches verbatim too, so the hypervisor causes tie with it
    matches = triage(ERROR).matches
    best = max(m.score for m in matches)
    assert {"noisy-neighbor"} <= {m.root_cause for m in matches if m.score == best}
    assert observe(ERROR, "test").symptoms[0] == "vm-start-out-of-memory"


def test_the_neighbours_holding_the_memory_are_an_error_until_the_vm_runs():
    lab = labfile.loads(LAB)
    stated = Statements(symptoms=(observe(ERROR, "test", "LT"),))
    finding = next(f for f in diagnose_session(SimSession(lab), target="t", stated=stated).report.findings
                   if f.root_cause == "noisy-neighbor")
    assert finding.severity == "error" and texts(finding.resolution) == ("Stop-VM -Name 'Big'", "Start-VM -Name 'DC'")
    lab.update("LT/DC", state="Running")
    after = diagnose_session(SimSession(lab), target="t", stated=stated).report.findings
    assert not [f for f in after if f.root_cause == "noisy-neighbor"]
