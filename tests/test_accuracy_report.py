"""`make accuracy`'s report (bench/accuracy.py), run small in CI: its judge, its numbers, its JSON."""

from __future__ import annotations

import json

from bench import accuracy
from nestlab.diagnosis.findings import Finding, Report
from nestlab.simulator import faults

FIELDS = {"injected", "found", "recall", "findings", "precision", "precision_errors", "precision_warnings",
          "false_errors"}


def finding(subject: str, severity: str = "error") -> Finding:
    return Finding(root_cause="extensions-not-exposed", category="hyperv-role", severity=severity,
                   subject=subject, summary="s")


def report(*findings: Finding) -> Report:
    return Report(target="t", collected_at="", hosts=("HV01",), findings=findings)


def test_judge_counts_a_finding_on_another_subject_as_a_miss_and_a_false_error():
    wrong = finding("HV01/L2")
    result = accuracy.judge([("extensions-not-exposed", "HV01/L1")], report(wrong))
    assert result.missed == (("extensions-not-exposed", "HV01/L1"),)
    assert result.false_errors == (wrong,)
    assert not result.ok


def test_judge_neither_blames_an_explained_finding_nor_misses_a_named_one():
    cause = finding("HV01/L1")
    explained = finding("HV01/L2").demoted(cause)
    result = accuracy.judge([("extensions-not-exposed", "HV01/L1")], report(cause, explained))
    assert result.ok and result.named == (cause,)


def test_twenty_random_labs_have_full_recall_and_a_json_report(tmp_path):
    result = accuracy.accuracy(20, seed=7)
    assert result["world"] == "realistic"
    assert result["overall"]["recall"] == 1.0, result["failures"]
    assert result["overall"]["false_errors"] == 0, result["failures"]
    assert result["healthy"] == {"labs": 20, "errors": 0, "warnings": 0}, result["false_alarms"]
    assert accuracy.passed(result)
    assert set(result["overall"]) == FIELDS
    assert result["root_causes"] and set(result["root_causes"]) <= set(faults.CATALOG)
    assert all(set(row) == FIELDS for row in result["root_causes"].values())
    assert sum(row["injected"] for row in result["root_causes"].values()) == result["overall"]["injected"] >= 20
    path = accuracy.write(result, tmp_path / "accuracy.json")
    assert json.loads(path.read_text()) == result
    assert [p.name for p in tmp_path.iterdir()] == ["accuracy.json"]  # no temp file left behind


def test_the_same_seed_draws_the_same_labs():
    assert [accuracy.Case.draw(i, 3) for i in range(5)] == [accuracy.Case.draw(i, 3) for i in range(5)]
    assert accuracy.Case.draw(0, 3) != accuracy.Case.draw(0, 4)


def _result(**overall) -> dict:
    row = {"injected": 10, "found": 10, "recall": 1.0, "findings": 10, "precision": 1.0, "precision_errors": 1.0,
           "precision_warnings": 1.0, "false_errors": 0, **overall}
    return {"overall": row, "healthy": {"labs": 10, "errors": 0, "warnings": 0}}


def test_the_bar_is_issue_11s_silence_on_healthy_labs_and_precision_by_severity():
    assert accuracy.passed(_result())
    assert accuracy.passed(_result(precision_warnings=None))  # no warning at all: nothing to be imprecise about
    assert not accuracy.passed(_result(precision_warnings=0.79))
    assert accuracy.passed(_result(precision_warnings=0.80))
    assert not accuracy.passed(_result(recall=0.99))
    noisy = _result()
    noisy["healthy"]["warnings"] = 1
    assert not accuracy.passed(noisy)
