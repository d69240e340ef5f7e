"""Shell completion through click's own protocol (the `_NESTLAB_COMPLETE` variable the shell
scripts set), as bash and zsh call it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from nestlab.lab.cli import cli
from nestlab.lab.commands import COMMANDS
from nestlab.simulator import labfile
from nestlab.simulator.faults import CATALOG


def complete(words: str, shell: str = "bash", cwd=None) -> list[str]:
    """What click answers the shell for the command line `words` (the last word is being typed)."""
    parts = words.split(" ")
    env = {"_NESTLAB_COMPLETE": f"{shell}_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1)}
    result = CliRunner().invoke(cli, [], prog_name="nestlab", env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    if shell == "bash":  # "type,value" per line
        return [line.split(",", 1)[1] for line in lines]
    return lines[1::3]  # zsh: type, value, help per item


def test_the_bash_script_is_sourced_from_the_env_var():
    result = CliRunner().invoke(cli, [], prog_name="nestlab", env={"_NESTLAB_COMPLETE": "bash_source"})
    assert "_nestlab_completion" in result.output and "complete " in result.output


def test_subcommands_complete_without_importing_them():
    assert complete("nestlab di") == ["diagnose"]
    assert complete("nestlab ") == sorted(COMMANDS)


def test_zsh_completion_carries_the_short_help():
    result = CliRunner().invoke(cli, [], prog_name="nestlab",
                                env={"_NESTLAB_COMPLETE": "zsh_complete", "COMP_WORDS": "nestlab fa", "COMP_CWORD": "1"})
    assert result.output.splitlines()[:3] == ["plain", "faults", COMMANDS["faults"][1]]


def test_fault_ids_complete_for_inject_and_demo():
    some = next(iter(CATALOG))
    assert complete(f"nestlab inject builtin:reference {some[:4]}") == [f for f in CATALOG if f.startswith(some[:4])]
    assert complete("nestlab demo --fault ") == list(CATALOG)


def test_builtin_labs_complete_after_the_scheme():
    names = [f"builtin:{n}" for n in labfile.builtin_names()]
    assert complete("nestlab diagnose builtin:") == names
    assert complete("nestlab validate builtin:ref") == [n for n in names if n.startswith("builtin:ref")]


@pytest.mark.parametrize("command", ["diagnose", "check", "capture", "collect", "fix"])
def test_target_schemes_complete_for_every_target_argument(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert complete(f"nestlab {command} ") == ["builtin:", "psrp://", "inventory:"]
    assert complete(f"nestlab {command} ps") == ["psrp://"]


def test_lab_files_and_inventory_paths_complete(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lab.yaml").write_text("x")
    (tmp_path / "labs").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    assert complete("nestlab validate la") == ["lab.yaml", "labs/"]
    assert complete("nestlab diagnose inventory:la") == ["inventory:lab.yaml", "inventory:labs/"]
    assert complete("nestlab serve ") == ["builtin:", "lab.yaml", "labs/"]
