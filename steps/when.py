"""When steps: an engineer runs a command, the diagnosis runs, its resolution is applied."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pytest_bdd import when

from nestlab.lab.session import Session
from nestlab.simulator.psdata import Result
from nestlab.simulator.psparse import parse as pipeline_of
from nestlab.steps import remedy
from nestlab.steps.phrases import phrase
from nestlab.steps.target import Testbed
from nestlab.steps.where import Where


@dataclass(frozen=True)
class Outcome:
    """What one command gave back, and where it ran (for the failure messages of Then steps)."""

    command: str
    where: Where
    result: Result


def run_text(session: Session, where: Where, command: str) -> Outcome:
    """Run one line of PowerShell as a person typed it, through the Session."""
    result = session.run(where.host, pipeline_of(command), vm=where.vm)
    return Outcome(command, where, result)


@when(phrase('an engineer runs "{command}" on "{node}"'), target_fixture="outcome")
@when(phrase('an engineer runs "{command}" in the guest of "{node}"'), target_fixture="outcome")
def an_engineer_runs(command: str, node: str, testbed: Testbed) -> Outcome:
    """One line of PowerShell on a host (`HV01`) or inside a VM's guest (`HV01/L1/L2-web`,
    reached by PowerShell Direct down the nesting); both phrasings mean the same place."""
    return run_text(testbed.session, Where.of(node), command)


@when("the diagnosis runs", target_fixture="report")
def the_diagnosis_runs(testbed: Testbed, stated: object) -> remedy.Report:
    """Collect evidence through the Session and diagnose it (what `nestlab diagnose` does), with
    what the scenario stated (its intent and the errors it saw: `--nested-host`, `--symptom`)."""
    return remedy.diagnose(testbed.session, stated)


@when("the resolution is applied", target_fixture="applied")
def the_resolution_is_applied(testbed: Testbed, report: remedy.Report) -> list[str]:
    """Apply the last diagnosis's resolutions as `nestlab fix` does: commands through the Session
    where each subject lives; a person's action (firmware, hardware, a restore) as the target's
    physical change — only a simulated target can make one, others skip the scenario."""
    return remedy.apply(testbed, report)


@when("the checklist runs", target_fixture="checklist")
def the_checklist_runs(testbed: Testbed) -> object:
    """The guide's troubleshooting checklist, item by item (what `nestlab check` does)."""
    return remedy.checklist(testbed.session)


@when(phrase('an engineer triages "{text}"'), target_fixture="triaged")
def an_engineer_triages(text: str) -> object:
    """Symptom or error text → ranked root causes (what `nestlab triage` does; no target needed)."""
    from nestlab.diagnosis.triage import triage

    return triage(text)


@when("the data collection runs", target_fixture="bundle")
def the_data_collection_runs(testbed: Testbed, tmp_path_factory: pytest.TempPathFactory) -> object:
    """The guide's data-collection bundle, gathered through the Session (what `nestlab collect` does)."""
    from nestlab.lab.bundle import collect

    return collect(testbed.session, tmp_path_factory.mktemp("bundle") / "bundle")
