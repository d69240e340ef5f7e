"""Evidence that remembers where it came from (issue 16 item 3): every evidence item of a collected
diagnosis cites a probe that was really sent, on the host or guest it was sent to."""

from __future__ import annotations

import pytest

from nestlab.diagnosis import intent
from nestlab.diagnosis.checklist import run_checklist
from nestlab.diagnosis.evidence import Evidence, Observed, Statements
from nestlab.diagnosis.findings import STATED
from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import SimSession
from nestlab.simulator import faults, labfile
from nestlab.simulator.model import Lab
from nestlab.simulator.psdata import Result
from nestlab.simulator.session_protocol import FunctionSession, Request


class Recording:
    """A SimSession that keeps its traffic: (node id the pipeline ran in, pipeline text), seen through
    `send` (the one way in), including the guests a fan-out request entered on the host's side."""

    def __init__(self, lab: Lab) -> None:
        self.sent: set[tuple[str, str]] = set()
        self.session = FunctionSession.around(SimSession(lab), self._record)

    def __getattr__(self, name: str):
        return getattr(self.session, name)

    def _record(self, request: Request, inner) -> Result:
        result = inner.send([request])[0]
        text = " | ".join(str(c) for c in request.pipeline)
        if not request.guest_levels:
            self.sent.add((str(request.where), text))
        for path, _ in result.guests:
            self.sent.add(("/".join((str(request.where), *path)), text))
        return result


def broken(fault_id: str) -> Lab:
    """The first built-in lab where the fault is real (the VBS faults need builtin:legacy)."""
    fault = faults.get(fault_id)
    for name in ("builtin:reference", "builtin:legacy"):
        lab = labfile.load(name)
        try:
            fault.inject(lab)
        except Exception:  # noqa: BLE001 - the fault has no subject here: try the next lab
            continue
        return lab
    pytest.fail(f"{fault_id} applies to no built-in lab")


def unsent(items, session: Recording) -> list:
    return [item for item in items if item.seen_on != STATED and (item.seen_on, item.command) not in session.sent]


@pytest.mark.parametrize("fault_id", list(faults.CATALOG))
def test_every_evidence_item_cites_a_probe_that_was_sent_where_it_ran(fault_id: str) -> None:
    session = Recording(broken(fault_id))
    diagnosis = diagnose_session(session)
    items = [item for f in diagnosis.report.findings for item in f.evidence]
    assert diagnosis.report.by_root_cause(fault_id), f"{fault_id} was not diagnosed"
    assert items and all(item.seen_on for item in items)
    assert unsent(items, session) == []


def test_checklist_evidence_of_a_collection_cites_probes_that_were_sent() -> None:
    session = Recording(broken("extensions-not-exposed"))
    diagnosis = diagnose_session(session)
    items = [item for result in run_checklist(diagnosis.evidence).results for item in result.evidence]
    assert items and unsent(items, session) == []


def test_an_item_seen_inside_a_guest_names_the_guest_and_a_vm_setting_its_parent() -> None:
    diagnosis = diagnose_session(Recording(broken("extensions-not-exposed")))
    (finding,) = diagnosis.report.by_root_cause("extensions-not-exposed")
    by_property = {(item.command, item.property): item for item in finding.evidence}
    expose = by_property[("Get-VMProcessor -VMName *", "ExposeVirtualizationExtensions")]
    assert (expose.value, expose.seen_on) == (False, "HV01")  # a VM's setting shows on its parent
    launch = by_property[("Get-WinEvent -LogName System -MaxEvents 50", "Id")]
    assert (launch.value, launch.seen_on) == (41, "HV01/L1")  # the launch failure is in L1's own log
    assert finding.to_dict()["evidence"][0] == {"command": "Get-VMProcessor -VMName *",
                                                "property": "ExposeVirtualizationExtensions", "value": False,
                                                "seen_on": "HV01"}


def test_cite_reads_the_recorded_answer_and_says_none_when_nothing_showed_it() -> None:
    evidence = diagnose_session(Recording(labfile.load("builtin:reference"))).evidence
    item = evidence.cite("HV01/L1", "ExposeVirtualizationExtensions")
    assert (item.command, item.property, item.value, item.seen_on) == (
        "Get-VMProcessor -VMName *", "ExposeVirtualizationExtensions", True, "HV01")
    caption = evidence.cite("HV01/L1", "Caption")
    assert caption.seen_on == "HV01/L1" and caption.command == "Get-CimInstance -ClassName Win32_OperatingSystem"
    winnat = evidence.cite("HV01", "Status", where={"Name": "winnat"})
    assert winnat.command.startswith("Get-Service") and str(winnat.value) == "Running"
    assert evidence.cite("HV01/L1", "NoSuchProperty") is None
    assert evidence.cite("HV01/NoSuchVM", "Name") is None


def test_stated_evidence_says_it_was_stated_and_a_symptom_where_it_was_seen() -> None:
    lab = labfile.load("builtin:reference")
    faults.get("extensions-not-exposed").inject(lab)
    seen_text = "Hyper-V cannot be installed: The processor does not have required virtualization capabilities."
    stated = Statements(nested_hosts=("L1",), symptoms=(Observed(seen_text, "--symptom", "HV01/L1",
                                                                                 ("hyperv-role-install-fails",)),))
    diagnosis = diagnose_session(Recording(lab), stated=stated)
    why = intent.intent_of(diagnosis.evidence, "HV01/L1")
    origins = {(item.command, item.property): item.seen_on for item in why.evidence}
    assert origins[("--nested-host", "VM")] == STATED
    assert origins[("--symptom", "Text")] == "HV01/L1"
    assert Observed(seen_text, "--symptom").item().seen_on == STATED
    assert Observed(seen_text, "--symptom", "HV01/L1").item().seen_on == "HV01/L1"


def test_a_lab_handed_over_as_evidence_cites_the_documented_command_and_no_origin() -> None:
    lab = labfile.load("builtin:reference")
    faults.get("extensions-not-exposed").inject(lab)
    from nestlab.diagnosis.engine import diagnose

    (finding,) = diagnose(Evidence(lab)).by_root_cause("extensions-not-exposed")
    assert finding.evidence[0].to_dict() == {"command": "Get-VMProcessor -VMName L1",
                                             "property": "ExposeVirtualizationExtensions", "value": False}


def test_markdown_and_html_say_where_each_item_was_seen() -> None:
    from nestlab.lab.render import report_markdown
    from nestlab.lab.report_html import findings_html

    session = Recording(broken("extensions-not-exposed"))
    report = diagnose_session(session).report
    items = [item for f in report.findings for item in f.evidence]
    inside = next(item for item in items if "/" in item.seen_on)  # a guest's own answer (the launch events)
    markdown, html = report_markdown(report), findings_html(report)
    assert f"`{inside.command}` (on {inside.seen_on}): {inside.property}" in markdown
    assert f"(on {inside.seen_on})</td>" in html
