"""`nestlab grade`: any diagnostic rated per root cause against the catalog (issue 12, item 3)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from nestlab.lab import grade as grading
from nestlab.lab.cli import cli
from nestlab.simulator.errors import BadInput

ONLY = ["extensions-not-exposed", "dynamic-memory-enabled"]
CHECK = ("$p = Get-VMProcessor -VMName L1 -ErrorAction SilentlyContinue\n"
         "if ($p -and -not $p.ExposeVirtualizationExtensions) { Write-Host 'L1: extensions are not exposed'; exit 1 }\n"
         "Write-Host 'all good'\n")


def _cases():
    return list(grading.cases(builtins=["reference"], only=ONLY))


def test_cases_are_the_healthy_labs_then_each_fault_where_it_applies():
    got = [(c.lab_name, c.fault, c.subject) for c in _cases()]
    assert got == [("builtin:reference", None, None), ("builtin:reference", "extensions-not-exposed", "HV01/L1"),
                   ("builtin:reference", "dynamic-memory-enabled", "HV01/L1")]


def test_a_script_with_a_regex_rule_scores_recall_precision_and_false_alarms(tmp_path):
    script = tmp_path / "check.ps1"
    script.write_text(CHECK, encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text("extensions-not-exposed: 'extensions are not exposed'\ndynamic-memory-enabled: 'dynamic'\n",
                     encoding="utf-8")
    result = grading.grade(grading.ScriptDiagnostic(script), grading.RegexRule.load(rules), _cases())
    ext, dyn = result.score("extensions-not-exposed"), result.score("dynamic-memory-enabled")
    assert (ext.found, ext.cases, ext.precision) == (1, 1, 1.0)
    assert (dyn.found, dyn.cases, dyn.precision) == (0, 1, None) and dyn.said_instead == (("(nothing)", 1),)
    assert (result.healthy, result.healthy_alarms) == (1, 0)


def test_a_regex_that_fires_everywhere_is_a_false_alarm_on_every_other_case(tmp_path):
    script = tmp_path / "noisy.ps1"
    script.write_text("Write-Host 'dynamic memory might be on'\n", encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text("dynamic-memory-enabled: 'dynamic memory'\n", encoding="utf-8")
    result = grading.grade(grading.ScriptDiagnostic(script), grading.RegexRule.load(rules), _cases())
    dyn = result.score("dynamic-memory-enabled")
    assert (dyn.found, dyn.false_alarms) == (1, 2) and result.healthy_alarms == 1
    assert grading.percent(dyn.precision) == "33%"


def test_exit_code_rule_measures_recall_only(tmp_path):
    script = tmp_path / "check.ps1"
    script.write_text(CHECK, encoding="utf-8")
    result = grading.grade(grading.ScriptDiagnostic(script), grading.ExitCodeRule(), _cases())
    assert [(s.cause, s.found) for s in result.scores] == [("dynamic-memory-enabled", 0), ("extensions-not-exposed", 1)]
    assert not result.names_causes and result.healthy_alarms == 0


def test_a_script_through_the_endpoint_scores_the_same(tmp_path):
    script = tmp_path / "check.ps1"
    script.write_text(CHECK, encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text("extensions-not-exposed: 'extensions are not exposed'\n", encoding="utf-8")
    result = grading.grade(grading.ScriptDiagnostic(script, via_endpoint=True), grading.RegexRule.load(rules), _cases())
    assert result.score("extensions-not-exposed").found == 1 and result.healthy_alarms == 0


def test_a_command_gets_the_served_lab_in_its_environment(tmp_path):
    program = tmp_path / "probe.py"
    program.write_text(
        "import os\nfrom pypsrp.client import Client\nfrom urllib.parse import urlparse\n"
        "url = urlparse(os.environ['NESTLAB_URL'])\n"
        "c = Client(url.hostname, port=url.port, username=os.environ['NESTLAB_USER'],"
        " password=os.environ['NESTLAB_PASSWORD'], ssl=False, auth='basic', encryption='never', no_proxy=True)\n"
        "out, _, _ = c.execute_ps('(Get-VMProcessor -VMName L1).ExposeVirtualizationExtensions')\n"
        "print('not exposed' if out.strip() == 'False' else 'fine')\n", encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text("extensions-not-exposed: 'not exposed'\n", encoding="utf-8")
    cases = list(grading.cases(builtins=["reference"], only=["extensions-not-exposed"]))
    result = grading.grade(grading.CommandDiagnostic(f"{sys.executable} {program}"), grading.RegexRule.load(rules), cases)
    assert result.score("extensions-not-exposed").found == 1 and result.healthy_alarms == 0


def test_nestlabs_own_diagnosis_is_graded_by_its_ids():
    result = grading.grade(grading.NestlabDiagnosis(), grading.IdsRule(), _cases())
    assert [(s.cause, s.found, s.precision) for s in result.scores] == [
        ("dynamic-memory-enabled", 1, 1.0), ("extensions-not-exposed", 1, 1.0)]
    assert result.healthy_alarms == 0


def test_rules_file_errors_are_bad_input(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("no-such-cause: 'x'\n", encoding="utf-8")
    with pytest.raises(BadInput, match="not a root-cause id"):
        grading.RegexRule.load(rules)
    rules.write_text("extensions-not-exposed: '('\n", encoding="utf-8")
    with pytest.raises(BadInput, match="bad regex"):
        grading.RegexRule.load(rules)


def test_cli_prints_the_table_and_markdown(tmp_path):
    script = tmp_path / "check.ps1"
    script.write_text(CHECK, encoding="utf-8")
    args = ["grade", str(script), "--fault", "extensions-not-exposed", "--markdown"]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0] == "| root cause | check.ps1: found | precision | nestlab diagnose: found | precision |"
    assert "| `extensions-not-exposed` | 3/3 | – | 3/3 | 100% |" in lines or \
        any(line.startswith("| `extensions-not-exposed` |") for line in lines)


def test_cli_bad_input(tmp_path):
    out = CliRunner().invoke(cli, ["grade", str(tmp_path / "none.ps1")])
    assert out.exit_code == 2 and "no such script file" in out.stderr
    out = CliRunner().invoke(cli, ["grade", "--verdicts", str(tmp_path / "v.yaml")])
    assert out.exit_code == 2 and "give the diagnostic" in out.stderr
    out = CliRunner().invoke(cli, ["grade", "--labs", "generated:x"])
    assert out.exit_code == 2 and "generated:N needs a number" in out.stderr


def test_cli_labs_option_picks_the_labs(tmp_path):
    out = CliRunner().invoke(cli, ["grade", "--labs", "builtin:reference", "--fault", "dynamic-memory-enabled", "--json"])
    assert out.exit_code == 0, out.output
    import json
    (nestlab,) = json.loads(out.stdout)
    assert nestlab["healthy"] == 1 and nestlab["scores"][0]["cases"] == 1 and nestlab["scores"][0]["found"] == 1


def test_hyperv_hosts_include_nested_hosts():
    from nestlab.simulator import labfile

    lab = labfile.load("builtin:deep")
    assert grading.hyperv_hosts(lab) == ["HV01", "HV01/L1", "HV01/L1/L2"]
    assert all(lab.vms(node) for node in grading.hyperv_hosts(lab))


def test_shipped_verdicts_files_load():
    root = Path(__file__).resolve().parent.parent / "fixtures" / "verdicts"
    for path in root.glob("*.yaml"):
        assert grading.RegexRule.load(path).patterns
