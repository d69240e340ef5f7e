"""Actions as data (simulator/actions.py): one renderer for every action kind, text that is exactly
the command sent, a journal that stores and reads them back structured, `nestlab fix` sending them
as they are, and no resolution or fault text parsed back anywhere."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from nestlab.lab import fix
from nestlab.lab import journal as J
from nestlab.lab.demo import demo_lab
from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.psrp_session import HostAddress
from nestlab.lab.session import SimSession
from nestlab.simulator import actions, faults, generate, labfile, psparse
from nestlab.simulator.actions import Manual, Note, Run, cmd, render, run, shown, texts
from nestlab.simulator.errors import BadInput
from nestlab.simulator.model import NodeId

ROOT = Path(__file__).resolve().parents[1]


# -- rendering: each kind ------------------------------------------------------------------------


def test_a_command_on_a_host_renders_as_typed_there():
    action = run("HV01", cmd("Set-VMProcessor", VMName="L1", ExposeVirtualizationExtensions=True))
    assert render(action) == str(action) == "Set-VMProcessor -VMName 'L1' -ExposeVirtualizationExtensions $true"
    assert shown(action) == "[HV01] Set-VMProcessor -VMName 'L1' -ExposeVirtualizationExtensions $true"
    assert action.typed_on == action.where == NodeId.parse("HV01")


def test_a_command_for_a_guest_typed_on_its_parent_renders_as_invoke_command():
    action = run("HV01/L1/L2", cmd("Remove-NetNat", Name="NestedNAT", Confirm=False), from_parent=True)
    assert render(action) == "Invoke-Command -VMName 'L2' -ScriptBlock { Remove-NetNat -Name 'NestedNAT' -Confirm:$false }"
    assert action.where == NodeId.parse("HV01/L1/L2")  # where it executes
    assert str(action.typed_on) == "HV01/L1"  # where a person types it
    assert shown(action).startswith("[HV01/L1] Invoke-Command -VMName 'L2'")


def test_a_command_typed_inside_a_guest_renders_bare():
    action = run("HV01/L1", cmd("netsh", "interface", "portproxy", "delete", "v4tov4", "listenport=8080"))
    assert render(action) == "netsh interface portproxy delete v4tov4 listenport=8080"
    assert shown(action) == "[HV01/L1] netsh interface portproxy delete v4tov4 listenport=8080"


def test_a_person_s_step_and_a_note_render_as_their_text():
    assert render(Manual("Enable VT-x in HV01's firmware")) == str(Manual("Enable VT-x in HV01's firmware"))
    assert shown(Note("Verify with msinfo32")) == "Verify with msinfo32"
    assert texts((Manual("a"), run("HV01", cmd("Restart-Computer", Force=True)), Note("b"))) == (
        "a", "Restart-Computer -Force", "b")


@pytest.mark.parametrize("value, text", [
    (8 * 2**30, "8GB"), (512 * 2**20, "512MB"), (1536 * 2**20, "1536MB"), (1000, "1000"), (0, "0"),
])
def test_byte_counts_use_one_size_formatter(value, text):
    assert actions.size_text(value) == text
    assert render(run("HV01", cmd("Set-VMMemory", VMName="L1", StartupBytes=value))).endswith(f"-StartupBytes {text}")


def test_literals_follow_the_cmdlets_conventions():
    line = render(run("HV01", cmd("Start-Service", Name=["vmms", "vmcompute"]), ))
    assert line == "Start-Service -Name vmms,vmcompute"
    assert render(run("HV01", cmd("New-VMSwitch", Name="it's", SwitchType="Internal", Force=True))) == (
        "New-VMSwitch -Name 'it''s' -SwitchType Internal -Force")
    assert render(run("HV01", cmd("Where-Object", "Path", eq="D:\\x.vhdx"))) == "Where-Object Path -eq 'D:\\x.vhdx'"
    block = psparse.ScriptBlock("Get-Job | Stop-Job")
    assert render(run("HV01", cmd("Invoke-Command", VMName="L1", ScriptBlock=block))) == (
        "Invoke-Command -VMName 'L1' -ScriptBlock { Get-Job | Stop-Job }")


def test_a_run_is_on_a_host_or_in_a_guest_and_only_a_guest_is_entered_from_its_parent():
    with pytest.raises(BadInput, match="not on a switch"):
        run("HV01:switch:External", cmd("Get-VMSwitch"))
    with pytest.raises(BadInput, match="only a VM's guest"):
        run("HV01", cmd("Get-VM"), from_parent=True)


# -- the text is the command sent ----------------------------------------------------------------


def every_action() -> list[Run | Manual | Note]:
    """Every resolution a diagnosis gives for every fault on the demo labs and some generated ones,
    and every fault's inject and undo script."""
    found = []
    labs = [lambda fid: demo_lab(fid), lambda fid: generate.generate(seed=3, depth=3, world="realistic")]
    for fault in faults.CATALOG.values():
        for make in labs:
            lab = make(fault.id)
            for subject in fault.candidates(lab)[:1]:
                if fault.kind == "cmd":
                    found += [*fault.inject_script(lab, subject), *fault.undo_script(lab, subject)]
                fault.inject(lab, subject)
                report = diagnose_session(SimSession(lab), target=lab.name).report
                found += [a for f in report.findings for a in f.resolution]
    return found


@pytest.fixture(scope="module")
def all_actions() -> list:
    return every_action()


def test_every_action_is_data_and_every_command_s_text_parses_to_what_is_sent(all_actions):
    runs = [a for a in all_actions if isinstance(a, Run)]
    assert len(runs) > 100 and all(isinstance(a, (Run, Manual, Note)) for a in all_actions)
    for action in runs:
        typed = psparse.parse(render(action))  # what a person who copies the line runs
        if action.from_parent:
            (invoke,) = typed
            assert invoke.name == "Invoke-Command" and invoke.param("VMName") == action.where.name
            typed = psparse.parse(str(invoke.param("ScriptBlock")))
        assert typed == action.pipeline, render(action)


def test_actions_survive_a_journal_file_exactly(all_actions):
    runs = [a for a in all_actions if isinstance(a, Run)]
    data = json.loads(json.dumps([actions.to_data(a) for a in all_actions]))
    assert [actions.from_data(d) for d in data] == all_actions
    assert [d["text"] for d in data if "run" in d] == [render(a) for a in runs]


def test_an_unknown_action_in_a_file_is_one_line_of_bad_input():
    with pytest.raises(BadInput, match="not an action"):
        actions.from_data({"shell": "rm -rf /"})


# -- fix and the journal consume actions -----------------------------------------------------------


class Recording(SimSession):
    def __init__(self, lab) -> None:
        super().__init__(lab)
        self.sent: list = []

    def run(self, host, pipeline, *, vm=()):
        self.sent.append((host, tuple(vm), tuple(pipeline)))
        return super().run(host, pipeline, vm=vm)


@pytest.mark.parametrize("fault_id", ["nat-conflict", "extensions-not-exposed", "noisy-neighbor"])
def test_fix_sends_each_command_as_its_action_says_where_it_executes(fault_id):
    lab = demo_lab(fault_id)
    faults.get(fault_id).inject(lab)
    report = diagnose_session(SimSession(lab), target=lab.name).report
    steps = fix.plan(report)
    session = Recording(lab)
    outcomes = fix.apply(session, steps, manual=fix.simulated_manual_action(lab))
    commands = [s.action for s in steps if isinstance(s.action, Run)]
    assert commands and all(o.done for o in outcomes)
    assert session.sent == [(a.where.host, a.where.guest_path, a.pipeline) for a in commands]
    assert not diagnose_session(SimSession(lab), target=lab.name).report.by_root_cause(fault_id)


def test_a_journal_holds_the_fault_s_own_actions_and_undoes_them(tmp_path):
    lab = labfile.load("builtin:reference")
    original = lab.copy()
    fault = faults.get("nat-conflict")  # its script runs inside L1's guest
    script, undo = fault.inject_script(lab.copy()), fault.undo_script(lab.copy())
    session = SimSession(lab)
    journal = J.Journal.create(tmp_path / "j.json", [HostAddress("HV01", "127.0.0.1", 9, "u", "http", "basic")])
    J.inject(session, journal, lab.copy(), "nat-conflict", allowed=lambda host: True)
    (step,) = J.Journal.load(journal.path).steps
    assert step.inject == script and step.undo == undo
    assert all(a.where == NodeId.parse("HV01/L1") for a in script)
    assert lab != original
    (outcome,) = J.undo_all(session, J.Journal.load(journal.path))
    assert outcome.undone and lab == original


# -- nothing parses resolution or fault text back ------------------------------------------------------


def test_q_is_defined_once():
    defined = [p for p in ROOT.rglob("*.py") if not {".venv", "build"} & set(p.relative_to(ROOT).parts)
               and any(isinstance(n, ast.FunctionDef) and n.name == "q" for n in ast.walk(ast.parse(p.read_text())))]
    assert [p.relative_to(ROOT).as_posix() for p in defined] == ["simulator/actions.py"]


ACTION_HANDLERS = ["lab/fix.py", "lab/journal.py", "lab/readback.py", "lab/commands/fix.py", "lab/commands/inject.py",
                   "lab/commands/restore.py", "steps/remedy.py", "steps/target.py", "steps/when.py",
                   *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "simulator/faults").glob("*.py"))]


def _parses_text(path: Path) -> list[str]:
    """psparse.parse imported or called for anything but a person's typed command."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "nestlab.simulator.psparse":
            found += [a.name for a in node.names if a.name == "parse"]
        if isinstance(node, ast.Attribute) and node.attr == "parse" and getattr(node.value, "id", "") == "psparse":
            found.append("psparse.parse")
    return found


def test_no_module_that_handles_actions_parses_powershell_text_back():
    offenders = {name: _parses_text(ROOT / name) for name in ACTION_HANDLERS}
    # steps/when.py parses what the engineer of a scenario types (`When the engineer runs "…"`), never an action
    assert {k: v for k, v in offenders.items() if v} == {"steps/when.py": ["parse"]}


def test_the_check_sees_a_parse(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from nestlab.simulator.psparse import parse\nfrom nestlab.simulator import psparse\npsparse.parse('x')\n")
    assert _parses_text(bad) == ["parse", "psparse.parse"]


def test_a_finding_refuses_a_resolution_written_as_text() -> None:
    from nestlab.diagnosis.findings import Finding

    with pytest.raises(TypeError, match="Run/Manual/Note"):
        Finding(root_cause="mac-spoofing-disabled", category="network", severity="warning", subject="HV01/L1",
                summary="s", resolution=("Set-VMNetworkAdapter -VMName 'L1' -MacAddressSpoofing On",))
