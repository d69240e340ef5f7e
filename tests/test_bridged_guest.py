"""A VM whose bridge its guest cannot show (a Linux VM bridging an emulator, simh/simh#1078): the
host side alone warns `mac-spoofing-disabled` when the machines behind it are seen without network."""

from __future__ import annotations

from dataclasses import replace

from nestlab.diagnosis.evidence import Statements
from nestlab.diagnosis.symptoms import observe
from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import SimSession
from nestlab.resources import cases_dir
from nestlab.simulator import labfile

CASE = cases_dir() / "simh-linux-vm-tap-bridge-no-mac-spoofing"
ADAPTER = "LUKEB-HV/simh-linux:adapter:Network Adapter"
SEEN = "NetBSD vax (nested in the Linux VM) gets no DHCP address"


def _findings(lab, *symptoms):
    stated = Statements(symptoms=tuple(observe(text, "--symptom", node) for node, text in symptoms))
    report = diagnose_session(SimSession(lab), target=lab.name, stated=stated).report
    return {(f.root_cause, f.subject): f for f in report.findings if f.severity in ("error", "warning")}


def test_the_seen_symptom_and_the_hosts_view_give_a_warning():
    lab = labfile.load(CASE / "lab.yaml")
    found = _findings(lab, ("LUKEB-HV/simh-linux", SEEN))
    finding = found[("mac-spoofing-disabled", ADAPTER)]
    assert finding.severity == "warning"
    assert any(e.value == SEEN for e in finding.evidence)
    assert any(e.property == "MacAddressSpoofing" and e.value == "Off" for e in finding.evidence)
    assert ("extensions-not-exposed", "LUKEB-HV/simh-linux") not in found


def test_nothing_without_the_symptom_or_with_spoofing_on():
    lab = labfile.load(CASE / "lab.yaml")
    assert ("mac-spoofing-disabled", ADAPTER) not in _findings(lab)
    lab.set(ADAPTER, replace(lab[ADAPTER], mac_spoofing=True))
    assert ("mac-spoofing-disabled", ADAPTER) not in _findings(lab, ("LUKEB-HV/simh-linux", SEEN))


def test_a_symptom_on_another_vm_says_nothing_about_this_one():
    lab = labfile.load(CASE / "lab.yaml")
    assert ("mac-spoofing-disabled", ADAPTER) not in _findings(lab, ("LUKEB-HV", SEEN))
