"""`nestlab validate` and `nestlab labs` (spec/cli.md)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from nestlab.lab.cli import cli
from nestlab.simulator import labfile

BAD = Path(__file__).resolve().parent.parent / "fixtures" / "bad-labs"


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_validate_a_valid_builtin_prints_its_shape_and_exits_0():
    result = run("validate", "builtin:reference")
    assert result.exit_code == 0, result.output
    assert result.stdout == "builtin:reference: valid (1 hosts, 3 VMs, depth 2)\n"


def test_validate_a_valid_file_by_path(tmp_path):
    path = tmp_path / "deep.yaml"
    labfile.save(labfile.load("builtin:deep"), path)
    result = run("validate", str(path))
    assert result.exit_code == 0
    assert result.stdout == f"{path}: valid (1 hosts, 3 VMs, depth 3)\n"


def test_validate_a_broken_file_prints_every_error_on_stderr_and_exits_2():
    path = BAD / "refs.yaml"
    result = run("validate", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines == [f"nestlab: {line}" for line in labfile.validate(path)]
    assert len(lines) == 7
    assert "Traceback" not in result.stderr


def test_validate_a_missing_file_is_one_line_exit_2(tmp_path):
    result = run("validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert result.stderr == f"nestlab: {tmp_path / 'nope.yaml'}: no such lab file\n"


def test_labs_json_lists_every_builtin_with_its_shape():
    result = run("labs", "--json")
    assert result.exit_code == 0
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {f"builtin:{name}" for name in labfile.builtin_names()}
    assert rows["builtin:deep"]["depth"] == 3 and rows["builtin:deep"]["vms"] == 3
    assert rows["builtin:reference"] == {
        "name": "builtin:reference",
        "description": labfile.load("builtin:reference").description,
        "hosts": 1,
        "vms": 3,
        "depth": 2,
    }


def test_labs_table_names_every_builtin():
    result = run("labs")
    assert result.exit_code == 0
    for name in labfile.builtin_names():
        assert f"builtin:{name}" in result.stdout


def test_help_has_examples():
    for command in ("labs", "validate"):
        result = run(command, "--help")
        assert result.exit_code == 0 and "Examples:" in result.stdout and f"nestlab {command}" in result.stdout
