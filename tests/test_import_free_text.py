"""A ticket's text is evidence (issue 11, item 5): `nestlab import` reads every file of a customer
folder — command output as state, free text line by line: a known error message becomes a symptom
on the host or VM it was seen on, any other line is listed and skipped; --strict stops as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nestlab.lab.cli import cli
from nestlab.lab.importer import import_bundle
from nestlab.simulator.errors import BadInput

INSTALL_ERROR = "Hyper-V cannot be installed: The processor does not have required virtualization capabilities."
GET_VM = """Name State   CPUUsage(%) MemoryAssigned(M) Uptime           Status             Version
---- -----   ----------- ----------------- ------           ------             -------
L1   Running 2           4096              00:12:31.4410000 Operating normally 10.0
"""
GET_VMPROCESSOR = """VMName Count CompatibilityForMigrationEnabled CompatibilityForOlderOperatingSystemsEnabled
------ ----- -------------------------------- --------------------------------------------
L1     2     False                            False
"""
NOTES = f"""Hello support,

Inside L1, Server Manager > Add Roles and Features > Hyper-V, then:
{INSTALL_ERROR}

Thanks, Bob
"""


def folder(tmp_path: Path, **files: str) -> Path:
    root = tmp_path / "ticket-4711"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def ticket(tmp_path: Path) -> Path:
    return folder(tmp_path, **{"get-vm.txt": GET_VM, "get-vmprocessor.txt": GET_VMPROCESSOR, "notes.txt": NOTES})


def test_a_known_error_in_a_note_becomes_a_symptom_on_the_vm_the_note_names(ticket):
    imported = import_bundle(ticket)
    (symptom,) = imported.symptoms
    assert symptom.text == INSTALL_ERROR
    assert symptom.source == "notes.txt:4"
    assert symptom.node == "HOST/L1"
    assert "hyperv-role-install-fails" in symptom.symptoms


def test_the_other_lines_are_listed_with_file_line_and_why_and_skipped(ticket):
    skipped = import_bundle(ticket).skipped
    assert [line.split(":", 2)[:2] for line in skipped] == [["notes.txt", "1"], ["notes.txt", "3"], ["notes.txt", "6"]]
    assert all("no known error message" in line for line in skipped)


def test_strict_keeps_the_old_exit_2_with_file_and_line(ticket):
    with pytest.raises(BadInput) as err:
        import_bundle(ticket, strict=True)
    assert str(err.value).startswith("notes.txt:1:")


def test_the_lab_file_lists_symptoms_and_skipped_lines_as_comments(ticket, tmp_path):
    from nestlab.simulator import labfile

    imported = import_bundle(ticket)
    text = imported.text()
    assert f"#   - notes.txt:4 on HOST/L1: {INSTALL_ERROR}" in text
    (tmp_path / "lab.yaml").write_text(text)
    assert labfile.load(tmp_path / "lab.yaml") == imported.lab


def test_cli_import_then_diagnose_with_the_symptom_names_the_cause_as_an_error(ticket, tmp_path):
    out = tmp_path / "repro.yaml"
    runner = CliRunner()
    result = runner.invoke(cli, ["import", str(ticket), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["symptoms"][0]["node"] == "HOST/L1" and len(data["skipped"]) == 3
    plain = runner.invoke(cli, ["diagnose", str(out), "--json"])
    with_symptom = runner.invoke(cli, ["diagnose", str(out), "--json", "--symptom", data["symptoms"][0]["text"]])
    severity = {r: [(f["root_cause"], f["severity"]) for f in json.loads(r.output)["findings"]] for r in (plain, with_symptom)}
    assert ("extensions-not-exposed", "info") in severity[plain]
    assert ("extensions-not-exposed", "error") in severity[with_symptom]
    assert json.loads(with_symptom.output)["symptoms"][0]["node"] == "HOST/L1"


def test_an_error_record_under_a_command_is_a_symptom_of_the_folder_it_is_in(tmp_path):
    record = ("Install-WindowsFeature : " + INSTALL_ERROR + "\n"
              "    + CategoryInfo          : InvalidOperation: (Hyper-V:String) [Install-WindowsFeature], Exception\n"
              "    + FullyQualifiedErrorId : Alteration_PrerequisiteCheck_Failed,Microsoft.Windows.ServerManager.Commands.AddWindowsFeatureCommand\n")
    root = folder(tmp_path, **{"get-vm.txt": GET_VM, "get-vmprocessor.txt": GET_VMPROCESSOR, "L1/install.txt": record})
    (symptom,) = import_bundle(root).symptoms
    assert symptom.node == "HOST/L1" and symptom.source == "L1/install.txt:1"


def test_a_case_folder_keeps_the_symptoms_and_its_scenario_reads_them(ticket, tmp_path):
    from nestlab.steps.cases import load_case

    case = tmp_path / "cases" / "bob-4711"
    case.mkdir(parents=True)
    result = CliRunner().invoke(cli, ["import", str(ticket), "-o", str(case / "lab.yaml"), "--case"])
    assert result.exit_code == 0, result.output
    assert (case / "symptoms").read_text().splitlines()[1] == f"HOST/L1 | {INSTALL_ERROR}"
    # with the symptom, L1 is meant to nest: the expected list names the cause as the error it is
    assert "extensions-not-exposed HOST/L1" in (case / "expected").read_text().splitlines()
    lab_text = (case / "lab.yaml").read_text()
    (case / "lab.yaml").write_text("# Bob cannot install Hyper-V in L1\n" + lab_text)
    assert load_case(case).symptoms == (("HOST/L1", INSTALL_ERROR),)
