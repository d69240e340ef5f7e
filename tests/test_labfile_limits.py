"""Hostile lab files (issue 13, item 4): each is one `FILE:LINE: refused: …` line and exit 2, never a crash.

Before: 100,000 nested `[` killed `nestlab validate` with SIGSEGV (libyaml's recursive composer);
10,000-deep flow, 2,000-deep block mappings and `hosts: &h [*h]` were a RecursionError with a
3,000-line traceback; a 609-byte billion laughs took 2 GB and ended in MemoryError. Each case runs
in a child process with its address space capped (RLIMIT_AS), so a regression is a failed
assertion here, not a machine out of memory.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from nestlab.simulator import labfile, labread, yamlguard

MEMORY_CAP = 1024 * 2**20  # the child may use at most 1 GiB of address space


def _laughs() -> str:
    """The classic: nine levels of nine aliases each, 9**9 strings once expanded, about 600 bytes."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        lines.append(f"l{level}: &l{level} [" + ",".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join([*lines, "hosts: *l8"]) + "\n"


def _block(depth: int) -> str:
    return "hosts:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(depth)) + "  " * (depth + 1) + "x: 1\n"


CASES = {
    "100k-brackets": ("hosts: " + "[" * 100_000 + "]" * 100_000 + "\n", 1, "nested more than 100 levels deep"),
    "10k-flow-mappings": ("hosts: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n", 1, "nested more than 100 levels deep"),
    "2000-deep-block": (_block(2_000), 101, "nested more than 100 levels deep"),
    "recursive-alias": ("hosts: &h [*h]\n", 1, "alias *h is inside the node its anchor &h names"),
    "billion-laughs": (_laughs(), None, "aliases stand for more than 100,000 nodes"),
}


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nestlab", "validate", str(path)], capture_output=True,
                          text=True, preexec_fn=_cap_memory, timeout=300)


@pytest.mark.parametrize("name", CASES)
def test_a_hostile_lab_file_is_one_line_and_exit_2(tmp_path, name):
    text, line, message = CASES[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    done = _validate(path)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    (error,) = done.stderr.splitlines()
    where = f"{path}:{line}: refused: " if line else f"{path}:"
    assert where in error and message in error and "Traceback" not in done.stderr


def test_the_laughs_are_refused_at_the_alias_that_crosses_the_line():
    text, _, _ = CASES["billion-laughs"]
    assert len(text) < 700
    with pytest.raises(yamlguard.Refused) as refused:
        labfile.parse(text)
    assert refused.value.problem_mark.line < text.count("\n")  # before the last line: nothing was expanded


@pytest.mark.parametrize("name", CASES)
def test_ruamels_own_parser_is_held_to_the_same_limits(monkeypatch, name):
    """Whatever libyaml refuses goes to pure ruamel (or it is all there is): the same refusals."""
    monkeypatch.setattr(labread, "C_LOADER", None)  # where parse reads it
    text, _, message = CASES[name]
    (error,) = labfile.validate(text)
    assert error.startswith("<text>:") and f"refused: {message}" in error


def test_nesting_at_the_limit_is_read():
    depth = yamlguard.LIMITS.max_depth
    assert labfile.parse("[" * depth + "]" * depth) == eval("[" * depth + "]" * depth)
    with pytest.raises(yamlguard.Refused):
        labfile.parse("[" * (depth + 1) + "]" * (depth + 1))


def test_aliases_within_the_cap_are_shared_not_copied():
    data = labfile.parse("base: &b {memory_gb: 4}\nvms: [*b, *b]\n")
    assert data["vms"] == [{"memory_gb": 4}] * 2 and data["vms"][0] is data["vms"][1] is data["base"]


def test_an_alias_to_a_finished_sibling_is_not_recursive():
    assert labfile.parse("a: &x [1]\nb: [*x, *x]\n") == {"a": [1], "b": [[1], [1]]}


def test_a_document_too_long_is_refused_before_parsing(monkeypatch, tmp_path):
    monkeypatch.setattr(yamlguard, "LIMITS", yamlguard.Limits(max_chars=100))
    (error,) = labfile.validate("lab: x\n" + "# padding\n" * 20)
    assert error.startswith("<text>:1: refused: 207 characters")
    path = tmp_path / "long.yaml"
    path.write_text("lab: x\n" + "# padding\n" * 20, encoding="utf-8")
    with pytest.raises(labfile.BadInput, match=r"long\.yaml:1: refused: 207 bytes"):
        labfile.load(path)


def test_merge_keys_and_tags_build_what_ruamel_builds():
    from ruamel.yaml import YAML

    for text in ["base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n",
                 "base: &b {x: 1}\nc: {y: 3, <<: [*b, {x: 2, z: 1}]}\n",
                 "a: !!str 3\nb: 2024-01-01 10:00:00\nc: [~, .inf, 0o17]\n", "", "---\na: 1\n...\n"]:
        assert labfile.parse(text) == YAML(typ="safe", pure=True).load(text)


@pytest.mark.parametrize("text, message", [
    ("a: 1\n---\nb: 2\n", "expected a single document in the stream"),
    ("a: *nowhere\n", "found undefined alias"),
    ("? [a]\n: 1\n", "found unhashable key"),
    ("a: !!set {x, y}\n", "not one a lab file uses"),
])
def test_what_ruamel_refuses_is_still_refused(text, message):
    (error,) = labfile.validate(text)
    assert error.startswith("<text>:") and "not readable YAML" in error and message in error


def test_an_inventory_file_is_read_with_the_same_limits(tmp_path):
    """Inventories go through the guarded loader too: a recursive alias is one line, not a crash."""
    from nestlab.lab.inventory import read_hosts
    from nestlab.simulator.errors import BadInput

    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("hosts: &h [*h]\n", encoding="utf-8")
    with pytest.raises(BadInput, match=r"inventory\.yaml:1: refused: alias \*h"):
        read_hosts(inventory)
