"""`--shard I/N` (nestlab/sharding.py): the N slices are disjoint, cover the suite, depend only on
test ids (the same on every machine), and compose with pytest-xdist's `-n`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from nestlab.sharding import parse_shard, shard_of

TESTS = 40


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A throwaway suite of TESTS tests, outside the repository (its own rootdir, no conftest)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_many.py").write_text(
        "import pytest\n\n@pytest.mark.parametrize('n', range(%d))\ndef test_n(n):\n    pass\n" % TESTS)
    return tmp_path


def collected(project: Path, *args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "nestlab.sharding", "-p", "no:cacheprovider",
                           "--collect-only", "-q", *args], cwd=project, capture_output=True, text=True)
    assert done.returncode in (0, 5), done.stdout + done.stderr  # 5: a slice that happens to be empty
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_the_slices_are_disjoint_and_cover_the_suite(project):
    everything = collected(project)
    slices = [collected(project, "--shard", f"{i}/3") for i in (1, 2, 3)]
    assert len(everything) == TESTS
    assert sorted(t for s in slices for t in s) == sorted(everything)
    assert all(slices), "with 40 tests each of 3 slices gets some"


def test_a_slice_is_the_same_on_every_run_and_follows_the_test_id(project):
    first = collected(project, "--shard", "2/4")
    assert collected(project, "--shard", "2/4") == first
    assert first == [t for t in collected(project) if shard_of(t, 4) == 2]


def test_a_bad_shard_is_a_usage_error(project):
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "nestlab.sharding", "--shard", "0/2"],
                          cwd=project, capture_output=True, text=True)
    assert done.returncode == 4 and "--shard '0/2'" in done.stderr


@pytest.mark.parametrize("text", ["", "1", "3/2", "a/b", "1/0"])
def test_parse_shard_refuses_what_is_not_a_slice(text):
    with pytest.raises(ValueError, match="--shard"):
        parse_shard(text)


def test_shards_compose_with_xdist(project):
    pytest.importorskip("xdist", reason="pytest-xdist is not installed (pip install -e '.[test]')")
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "nestlab.sharding", "-p", "no:cacheprovider",
                           "-n", "2", "--shard", "1/2", "-q"], cwd=project, capture_output=True, text=True)
    expected = len(collected(project, "--shard", "1/2"))
    assert re.search(rf"\b{expected} passed\b", done.stdout), done.stdout
