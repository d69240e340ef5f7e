"""The CLI starts at once (issue 17): the group lists its subcommands from a table without
importing them, a subcommand's `--help` imports none of the heavy libraries, and shell completion
(click's) completes subcommands, targets, builtin labs and fault ids.

No timing here (a loaded machine makes any threshold flaky): what is checked is *what gets
imported*, which is what start-up time follows; `make bench` (bench/startup.py) measures the time.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import nestlab.lab.commands as commands_package
from nestlab.lab.cli import cli
from nestlab.lab.commands import COMMANDS

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("networkx", "pydantic", "ruamel", "rich", "pypsrp", "docker", "faker", "cryptography", "requests",
         "nestlab.simulator.model", "nestlab.simulator.labfile", "nestlab.diagnosis", "nestlab.lab.session")

_PROBE = """
import contextlib, io, json, sys
from nestlab.lab.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.startswith(tuple(json.loads({heavy!r}))))
print(json.dumps({{"code": code, "heavy": heavy}}))
"""


def _imports_after(*argv: str) -> dict:
    probe = _PROBE.format(heavy=json.dumps(HEAVY))
    out = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_every_module_of_lab_commands_is_in_the_table():
    modules = {info.name for info in pkgutil.iter_modules(commands_package.__path__)}
    assert modules == {module for module, _ in COMMANDS.values()}


def test_the_table_names_each_module_command_and_its_short_help():
    for name, (module, short_help) in COMMANDS.items():
        command = cli.get_command(click.Context(cli), name)
        assert command is not None and command.name == name, name
        assert command.callback.__module__ == f"nestlab.lab.commands.{module}"
        assert short_help == command.get_short_help_str(limit=10**6), name


def test_top_help_lists_every_command_as_click_would():
    """The lazy help is the eager one: the same rows click writes from the commands themselves."""
    lazy = CliRunner().invoke(cli, ["--help"], prog_name="nestlab").output
    eager = click.Group("nestlab", commands=[cli.get_command(click.Context(cli), n) for n in COMMANDS],
                        params=cli.params, help=cli.help, context_settings=cli.context_settings)
    expected = CliRunner().invoke(eager, ["--help"], prog_name="nestlab").output
    assert lazy.split("Commands:")[1] == expected.split("Commands:")[1]
    assert all(f"  {name} " in lazy for name in COMMANDS)


def test_a_module_missing_from_the_table_is_still_registered(tmp_path, monkeypatch):
    (tmp_path / "hello.py").write_text(
        'import click\n\n@click.command("hello")\ndef command():\n    """Say hello."""\n    click.echo("hi")\n')
    monkeypatch.setattr(commands_package, "__path__", [*commands_package.__path__, str(tmp_path)])
    monkeypatch.setattr("nestlab.lab.cli._UNLISTED", None)
    try:
        rows = [line.split() for line in CliRunner().invoke(cli, ["--help"]).output.splitlines()]
        assert ["hello", "Say", "hello."] in rows
        assert CliRunner().invoke(cli, ["hello"]).output == "hi\n"
    finally:
        cli.commands.pop("hello", None)
        sys.modules.pop("nestlab.lab.commands.hello", None)
        import nestlab.lab.cli as cli_module

        cli_module._UNLISTED = None


def test_help_and_version_import_no_heavy_library():
    for argv in (["--help"], ["--version"]):
        found = _imports_after(*argv)
        assert found == {"code": 0, "heavy": []}, argv


def test_help_does_not_read_the_package_metadata():
    """importlib.metadata (nestlab.__version__, click's --version) costs more than the rest of start-up."""
    probe = _PROBE.format(heavy=json.dumps(["importlib.metadata"]))
    for argv in (["--help"], ["diagnose", "--help"]):
        out = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True, cwd=REPO)
        assert json.loads(out.stdout.strip().splitlines()[-1]) == {"code": 0, "heavy": []}, argv


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_subcommand_help_imports_no_heavy_library(name):
    assert _imports_after(name, "--help") == {"code": 0, "heavy": []}


def test_command_modules_import_only_light_modules_at_top_level():
    """The rule behind the two tests above, on the source: heavy imports live inside functions."""
    offenders = []
    for path in sorted((REPO / "lab" / "commands").glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(HEAVY)]
    assert offenders == []


def test_a_subcommand_imports_only_what_it_uses():
    """`nestlab faults --json` runs without the endpoint, pypsrp or docker."""
    probe = _PROBE.replace("heavy = sorted", "loaded = sorted").replace('"heavy": heavy', '"heavy": loaded')
    out = subprocess.run([sys.executable, "-c", probe.format(heavy=json.dumps(["pypsrp", "docker", "nestlab.simulator.endpoint"])),
                          "faults", "--json"], capture_output=True, text=True, check=True, cwd=REPO)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"code": 0, "heavy": []}


def test_password_env_matches_the_psrp_session():
    from nestlab.lab.commands.serve import PASSWORD_ENV
    from nestlab.lab.psrp_session import PASSWORD_ENV as SESSION_PASSWORD_ENV

    assert PASSWORD_ENV == SESSION_PASSWORD_ENV


def test_diagnosing_a_lab_file_does_not_load_the_remoting_client():
    """`nestlab diagnose builtin:reference` costs start-up plus the diagnosis: no pypsrp, no docker."""
    probe = _PROBE.format(heavy=json.dumps(["pypsrp", "requests", "cryptography", "spnego", "docker"]))
    out = subprocess.run([sys.executable, "-c", probe, "diagnose", "builtin:reference", "--json"],
                         capture_output=True, text=True, cwd=REPO)
    assert json.loads(out.stdout.strip().splitlines()[-1])["heavy"] == []
