"""Collection gaps travel inside the report: guests not entered and hosts that did not answer
show in `--json` (the additive `gaps` field), the table, Markdown and HTML."""

from __future__ import annotations

import json
import secrets
import socket

import pytest
from click.testing import CliRunner

from bench.endpoint import served
from nestlab.diagnosis.findings import CollectionGap, Report
from nestlab.lab.cli import cli
from nestlab.lab.render import report_markdown
from nestlab.simulator import labfile

OFF_VM = "HV01/L1/L2-app"


@pytest.fixture
def lab_with_an_off_vm(tmp_path):
    lab = labfile.load("builtin:reference")
    lab.update(OFF_VM, state="Off")
    return labfile.save(lab, tmp_path / "off.yaml")


def _json(output: str) -> dict:
    return json.loads(output[output.index("{"):])


def test_json_lists_a_guest_that_is_off(lab_with_an_off_vm):
    result = CliRunner().invoke(cli, ["diagnose", str(lab_with_an_off_vm), "--json"])
    assert result.exit_code in (0, 1), result.output
    (gap,) = _json(result.output)["gaps"]
    assert gap["node"] == OFF_VM and gap["kind"] == "skipped" and "not Running" in gap["why"]


def test_json_of_a_whole_collection_has_exactly_the_spec_keys():
    result = CliRunner().invoke(cli, ["diagnose", "builtin:reference", "--json"])
    assert list(_json(result.output)) == ["target", "collected_at", "hosts", "findings"]


def test_the_table_markdown_and_html_show_the_gap(lab_with_an_off_vm, tmp_path):
    table = CliRunner().invoke(cli, ["diagnose", str(lab_with_an_off_vm)])
    assert f"skipped {OFF_VM}: not Running" in " ".join(table.output.split())
    markdown = CliRunner().invoke(cli, ["diagnose", str(lab_with_an_off_vm), "--markdown"]).output
    assert f"- `{OFF_VM}` (skipped): not Running" in markdown and "Partial: 1 not collected" in markdown
    page = tmp_path / "report.html"
    CliRunner().invoke(cli, ["diagnose", str(lab_with_an_off_vm), "--html", str(page)])
    assert 'id="not-collected"' in page.read_text() and OFF_VM in page.read_text()


def test_only_one_vm_keeps_the_gaps(lab_with_an_off_vm):
    result = CliRunner().invoke(cli, ["diagnose", str(lab_with_an_off_vm), "--json", "--vm", "L2-web"])
    assert [g["node"] for g in _json(result.output)["gaps"]] == [OFF_VM]


def test_a_host_that_does_not_answer_is_an_unreachable_gap_of_the_partial_report(tmp_path, monkeypatch):
    password = secrets.token_urlsafe(16)
    monkeypatch.setenv("NESTLAB_PASSWORD", password)
    with socket.socket() as probe:  # a loopback port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    with served(labfile.load("builtin:reference"), password) as (server, _):
        inventory = tmp_path / "inventory.yaml"
        common = "transport: http, auth: basic, user: nestlab"
        inventory.write_text(
            "hosts:\n"
            f"  - {{name: HV01, address: 127.0.0.1, port: {server.servers['HV01'].port}, {common}}}\n"
            f"  - {{name: HV09, address: 127.0.0.1, port: {dead}, {common}}}\n"
        )
        result = CliRunner().invoke(cli, ["diagnose", f"inventory:{inventory}", "--json"])
    assert result.exit_code == 2  # the run could not do it all; the report of HV01 is still printed
    report = json.loads(result.stdout)
    (gap,) = report["gaps"]
    assert gap["node"] == "HV09" and gap["kind"] == "unreachable" and gap["why"]
    assert "partial report" in result.stderr


def test_markdown_of_a_report_without_findings_does_not_call_the_unseen_healthy():
    report = Report("t", "now", ("HV01",), (), (CollectionGap("HV02", "unreachable", "HV02: refused | closed"),))
    text = report_markdown(report)
    assert "No findings in what was collected." in text and "- `HV02` (unreachable): HV02: refused \\| closed" in text
