"""`nestlab faults` and `nestlab inject`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from nestlab.lab.cli import cli
from nestlab.simulator import labfile
from nestlab.simulator.faults import CATALOG


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def test_faults_json_lists_every_id_with_its_kind():
    result = invoke("faults", "--json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)["faults"]
    assert [r["id"] for r in rows] == list(CATALOG)
    assert {r["inject"] for r in rows} == {"cmd", "state"}
    assert set(rows[0]) == {"id", "category", "inject", "description", "section"}


def test_faults_table_names_every_id():
    result = invoke("faults")
    assert result.exit_code == 0
    assert "extensions-not-exposed" in result.stdout and "winnat-locked" in result.stdout


def test_inject_writes_the_broken_lab_and_says_what_changed(tmp_path):
    out = tmp_path / "broken.yaml"
    result = invoke("inject", "builtin:reference", "extensions-not-exposed", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert "injected extensions-not-exposed on HV01/L1" in result.stderr
    assert "expose_virtualization_extensions: false" in result.stderr
    lab = labfile.load(str(out))
    assert lab["HV01/L1"].processor.expose_virtualization_extensions is False
    assert list(tmp_path.iterdir()) == [out]  # no temp file left behind


def test_inject_without_output_prints_yaml_on_stdout():
    result = invoke("inject", "builtin:reference", "winnat-locked")
    assert result.exit_code == 0
    assert "winnat: locked" in result.stdout


def test_inject_with_a_subject(tmp_path):
    out = tmp_path / "b.yaml"
    subject = "HV01/L1/L2-app:adapter:Network Adapter"
    result = invoke("inject", "builtin:reference", "switch-private", "--subject", subject, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert f"on {subject}" in result.stderr


def test_bad_fault_id_is_one_line_exit_2():
    result = invoke("inject", "builtin:reference", "no-such-fault")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == ["nestlab: unknown fault 'no-such-fault' (see nestlab faults)"]


def test_bad_subject_is_one_line_exit_2(tmp_path):
    out = tmp_path / "never.yaml"
    result = invoke("inject", "builtin:reference", "switch-private", "--subject", "HV01", "-o", str(out))
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "'HV01' is not a subject" in result.stderr
    assert not out.exists()
