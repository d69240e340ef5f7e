"""`nestlab diagnose / check / fix / demo` from the outside: JSON shape, exit codes, one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from nestlab.lab.cli import cli
from nestlab.simulator import faults, labfile

FINDING_KEYS = {"root_cause", "category", "severity", "subject", "summary", "evidence", "resolution",
                "explains", "reference"}
CATEGORIES = {"prerequisites", "hyperv-role", "network", "performance", "security", "nat", "storage", "resources"}


def nestlab(*args: str):
    return CliRunner().invoke(cli, list(args))


def broken(tmp_path: Path, *fault_ids: str) -> Path:
    lab = labfile.load("builtin:reference")
    for fault_id in fault_ids:
        faults.get(fault_id).inject(lab)
    path = tmp_path / "broken.yaml"
    labfile.save(lab, path)
    return path


@pytest.mark.parametrize("name", labfile.builtin_names())
def test_diagnose_json_of_every_builtin_lab_is_the_cli_md_shape_and_clean(name: str) -> None:
    result = nestlab("diagnose", f"builtin:{name}", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report) == {"target", "collected_at", "hosts", "findings"}
    assert report["target"] == f"builtin:{name}"
    assert report["hosts"] == labfile.load(f"builtin:{name}").hosts()
    assert report["findings"] == []


def test_diagnose_json_names_the_injected_cause_and_exits_1(tmp_path: Path) -> None:
    result = nestlab("diagnose", str(broken(tmp_path, "extensions-not-exposed")), "--json")
    assert result.exit_code == 1
    (finding,) = json.loads(result.output)["findings"]
    assert set(finding) == FINDING_KEYS
    assert finding["root_cause"] == "extensions-not-exposed" and finding["subject"] == "HV01/L1"
    assert finding["category"] in CATEGORIES and finding["severity"] == "error"
    assert finding["resolution"] == ["Stop-VM -Name 'L1'",
                                     "Set-VMProcessor -VMName 'L1' -ExposeVirtualizationExtensions $true",
                                     "Start-VM -Name 'L1'"]
    # the probe as the collector sent it (one -VMName * for every VM), seen on L1's parent
    assert {"command": "Get-VMProcessor -VMName *", "property": "ExposeVirtualizationExtensions",
            "value": False, "seen_on": "HV01"} in finding["evidence"]


def test_diagnose_orders_causes_up_the_chain_first(tmp_path: Path) -> None:
    result = nestlab("diagnose", str(broken(tmp_path, "insufficient-memory", "winnat-locked")), "--json")
    subjects = [(f["severity"], f["subject"]) for f in json.loads(result.output)["findings"]]
    assert subjects == sorted(subjects, key=lambda s: (["error", "warning", "info"].index(s[0]), s[1].count("/")))


def test_bad_target_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(cli, ["diagnose", "no-such-lab.yaml"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == ["nestlab: no-such-lab.yaml: no such lab file"]


def test_check_fails_the_item_of_the_cause(tmp_path: Path) -> None:
    result = nestlab("check", str(broken(tmp_path, "vm-generation-1")), "--json")
    assert result.exit_code == 1
    items = {i["item"]: i["status"] for i in json.loads(result.output)["items"]}
    assert items["guest-generation"] == "fail"
    assert items["host-os"] == "pass"


def test_fix_dry_run_changes_nothing(tmp_path: Path) -> None:
    path = broken(tmp_path, "mac-spoofing-disabled")
    before = path.read_text()
    result = nestlab("fix", str(path), "--dry-run")
    assert result.exit_code == 1
    assert "Set-VMNetworkAdapter -VMName 'L1' -MacAddressSpoofing On" in result.output
    assert path.read_text() == before


def test_fix_heals_the_lab_file_in_place(tmp_path: Path) -> None:
    path = broken(tmp_path, "mac-spoofing-disabled", "dynamic-memory-enabled")
    result = nestlab("fix", str(path))
    assert result.exit_code == 0, result.output
    assert nestlab("diagnose", str(path)).exit_code == 0
    assert list(tmp_path.iterdir()) == [path]  # atomic: no temp file left beside it


def test_fix_refuses_to_overwrite_a_builtin_lab() -> None:
    result = nestlab("fix", "builtin:reference")
    assert result.exit_code == 2 and "read-only" in result.output


def test_fix_refuses_a_real_host_without_yes() -> None:
    result = nestlab("fix", "psrp://admin@hv01.contoso.com")
    assert result.exit_code == 2 and "--yes" in result.output


def test_demo_of_one_fault_exits_0_with_its_row() -> None:
    result = nestlab("demo", "--fault", "vhd-parent-moved")
    assert result.exit_code == 0, result.output
    assert "vhd-parent-moved" in result.output and "1/1 faults" in result.output


def test_labs_tree_draws_every_level_of_nesting() -> None:
    result = nestlab("labs", "--tree")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    l3 = next(line for line in lines if " L3 " in line)
    l1 = next(line for line in lines if " L1 " in line and "48 cores" not in line)
    assert l3.index("L3") > l1.index("L1")  # drawn deeper
    assert "L1_8F2A.avhdx → L1.vhdx" in result.output  # the checkpoint chain of builtin:reference


@pytest.mark.endpoint
def test_diagnose_psrp_of_a_served_lab_equals_the_in_process_diagnosis(tmp_path: Path, monkeypatch) -> None:
    """`nestlab diagnose psrp://…` against `nestlab serve`'s endpoint names the same findings,
    with the same evidence and resolutions, as the lab diagnosed in process."""
    from bench.endpoint import USER, served

    path = broken(tmp_path, "extensions-not-exposed", "winnat-locked")
    password = "served-lab-password"
    monkeypatch.setenv("NESTLAB_PASSWORD", password)

    def essentials(output: str) -> list[tuple]:
        report = json.loads(output)
        return [(f["root_cause"], f["subject"], f["severity"], f["resolution"], f["evidence"])
                for f in report["findings"]]

    local = nestlab("diagnose", str(path), "--json")
    with served(labfile.load(path), password) as (_, (address,)):
        remote = nestlab("diagnose", f"psrp://{USER}@127.0.0.1:{address.port}?transport=http&auth=basic", "--json")
    assert remote.exit_code == local.exit_code == 1, remote.output
    assert essentials(remote.output) == essentials(local.output)
    assert {f[0] for f in essentials(local.output)} >= {"extensions-not-exposed", "winnat-locked"}


@pytest.mark.endpoint
def test_an_unreachable_host_of_an_inventory_is_one_line_and_exit_2_and_the_others_are_diagnosed(
    tmp_path: Path, monkeypatch
) -> None:
    import socket

    from bench.endpoint import USER, served

    password = "served-lab-password"
    monkeypatch.setenv("NESTLAB_PASSWORD", password)
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    lab = labfile.load(broken(tmp_path, "mac-spoofing-disabled"))
    with served(lab, password) as (_, (address,)):
        inventory = tmp_path / "inventory.yaml"
        inventory.write_text(
            "hosts:\n"
            f"  - {{name: HV01, address: 127.0.0.1, port: {address.port}, transport: http, auth: basic, user: {USER}}}\n"
            f"  - {{name: HV99, address: 127.0.0.1, port: {dead_port}, transport: http, auth: basic, user: {USER}}}\n")
        result = CliRunner().invoke(cli, ["diagnose", f"inventory:{inventory}", "--json"])
    assert result.exit_code == 2
    report, error = result.stdout, result.stderr
    assert [f["root_cause"] for f in json.loads(report)["findings"]] == ["mac-spoofing-disabled"]
    assert error.count("\n") == 1 and "HV99" in error and "nestlab:" in error


def test_diagnose_markdown_carries_each_finding_its_evidence_and_resolution(tmp_path: Path) -> None:
    result = nestlab("diagnose", str(broken(tmp_path, "mac-spoofing-disabled", "winnat-locked")), "--markdown")
    assert result.exit_code == 1
    text = result.output
    assert re.search(r"^\| (error|warning) \| `mac-spoofing-disabled` \| `HV01/L1:adapter:Network Adapter` \|", text, re.M)
    assert "## `winnat-locked` on `HV01/L1`" in text
    assert "```powershell\nSet-VMNetworkAdapter -VMName 'L1' -MacAddressSpoofing On\n```" in text
    assert "- `Get-VMNetworkAdapter" in text


def test_diagnose_json_and_markdown_together_is_a_usage_error() -> None:
    assert nestlab("diagnose", "builtin:reference", "--json", "--markdown").exit_code == 2
