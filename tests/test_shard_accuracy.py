"""Accuracy campaigns past one machine (bench/accuracy.py): `--shard I/N` slices are disjoint and
cover the run, and `--merge` of the N slices gives exactly what one machine computes."""

from __future__ import annotations

import json

import pytest

from bench import accuracy

LABS, SEED = 9, 5


def test_slices_are_disjoint_and_cover_the_run():
    slices = [accuracy.cases_of(LABS, (i, 3)) for i in (1, 2, 3)]
    assert sorted(i for s in slices for i in s) == list(range(LABS))


def test_merged_slices_equal_one_machine():
    whole = accuracy.score(accuracy.tally(LABS, SEED))
    merged = accuracy.score(accuracy.merge([accuracy.tally(LABS, SEED, (i, 3)) for i in (3, 1, 2)]))
    drop = ("seconds", "slices")
    assert {k: v for k, v in merged.items() if k not in drop} == {k: v for k, v in whole.items() if k not in drop}
    assert merged["slices"] == 3 and merged["cases"] == LABS


def test_merge_refuses_a_missing_or_foreign_slice():
    one, two = accuracy.tally(4, SEED, (1, 2)), accuracy.tally(4, SEED, (2, 2))
    with pytest.raises(ValueError, match="each of 1..2"):
        accuracy.merge([one])
    with pytest.raises(ValueError, match="different runs"):
        accuracy.merge([one, accuracy.tally(4, SEED + 1, (2, 2))])
    assert accuracy.merge([two, one])["cases"] == 4


def test_the_command_writes_a_slice_and_merges_the_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(accuracy, "RESULTS", tmp_path)
    monkeypatch.setattr(accuracy, "SHARDS", tmp_path / "accuracy-shards")
    for i in (1, 2):
        accuracy.main(["--labs", "4", "--seed", str(SEED), "--shard", f"{i}/2", "--json"])
    files = sorted((tmp_path / "accuracy-shards").glob("shard-*-of-2.json"))
    assert [f.name for f in files] == ["shard-1-of-2.json", "shard-2-of-2.json"]
    capsys.readouterr()
    accuracy.main(["--merge", *map(str, files), "--json"])
    merged = json.loads(capsys.readouterr().out)
    assert merged["cases"] == 4 and merged["slices"] == 2
    assert json.loads((tmp_path / "accuracy.json").read_text()) == merged
