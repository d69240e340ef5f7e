"""One target table (lab/target_table.py) behind `nestlab diagnose TARGET` and `pytest --lab=TARGET`:
each scheme once, with its capabilities; `fleet:LAB` for the CLI, `psrp://…` for the BDD suite."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.endpoint import served
from nestlab.lab import fleet, swarm, target_table
from nestlab.lab.cli import cli
from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import SimSession
from nestlab.lab.targets import parse_target
from nestlab.simulator import faults, labfile
from nestlab.simulator.errors import BadInput
from nestlab.steps import target as bdd
from nestlab.steps.target_inventory import InventoryTarget, psrp_target

REPO = Path(__file__).resolve().parent.parent


def test_every_scheme_is_one_row_and_each_side_lists_only_its_own():
    names = [s.name for s in target_table.SCHEMES]
    assert len(names) == len(set(names))
    assert {s.name for s in target_table.schemes("cli")} == {"lab", "builtin", "psrp", "inventory", "fleet"}
    assert {s.name for s in target_table.schemes("bdd")} == {"sim", "endpoint", "psrp", "inventory", "fleet"}
    assert set(bdd.TARGETS) == {s.name for s in target_table.schemes("bdd")}
    assert all(target_table.BY_NAME[k].capabilities.real_hosts for k in ("psrp", "inventory", "fleet"))
    assert not target_table.BY_NAME["psrp"].capabilities.destructive  # a URL cannot give a host's consent


def test_parsing_a_target_imports_none_of_the_openers():
    code = ("import sys; from nestlab.lab import target_table as t; t.lookup('fleet:x', 'cli'); "
            "t.lookup('psrp://h', 'bdd'); print(sorted(m for m in sys.modules if m.startswith(('docker', 'pypsrp', 'pytest', 'nestlab.steps'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("side, text", [("cli", "ssh://h"), ("cli", "nowhere:x"), ("bdd", "nowhere"), ("bdd", "ssh://h")])
def test_an_unknown_scheme_is_one_line_listing_the_table(side, text):
    with pytest.raises(BadInput) as caught:
        target_table.lookup(text, side)
    message = str(caught.value)
    assert "\n" not in message and "unknown target" in message
    assert all(s.syntax in message for s in target_table.schemes(side))


def test_a_scheme_of_the_other_side_says_so():
    with pytest.raises(pytest.UsageError, match=r"--lab=builtin:reference: builtin:NAME is not a --lab target"):
        bdd.parse_lab_option("builtin:reference")
    with pytest.raises(BadInput, match=r"^sim: sim is not a TARGET target"):
        parse_target("sim")


def test_a_lab_file_whose_name_looks_like_a_scheme_is_still_a_lab_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("v2:lab.yaml").write_text("name: x\n")
    assert parse_target("v2:lab.yaml").kind == "lab"


def test_the_cli_target_carries_its_rows_capabilities():
    assert parse_target("builtin:reference").capabilities.state_faults
    assert parse_target("psrp://h").capabilities.credentials


# --- nestlab diagnose fleet:LAB --------------------------------------------------------------


@pytest.fixture
def fleet_of_reference(monkeypatch):
    """builtin:reference's HV01 served on loopback, and Docker's listing saying it is fleet
    `reference`'s running container there (the engine is the only thing not real here)."""
    password = secrets.token_urlsafe(16)
    monkeypatch.setenv("NESTLAB_PASSWORD", password)
    lab = labfile.load("builtin:reference")
    faults.get("extensions-not-exposed").inject(lab, "HV01/L1")  # something for the diagnosis to find
    with served(lab, password) as (server, _):
        member = fleet.Member("reference", "HV01", "nestlab-reference-hv01", "running", "127.0.0.1", "nestlab",
                              port=server.servers["HV01"].port)
        monkeypatch.setattr(fleet, "connect", lambda: NoSwarmEngine())
        listing = lambda client, name=None: [member] if name == "reference" else []  # noqa: E731
        monkeypatch.setattr(fleet, "members", listing)
        monkeypatch.setattr(swarm, "container_members", listing)  # swarm.running lists containers beside services
        yield lab


class NoSwarmEngine:
    """Docker's engine as the fleet code asks it here: not a swarm manager (so no services)."""

    def info(self) -> dict:
        return {"Swarm": {"LocalNodeState": "inactive", "ControlAvailable": False}}


def test_diagnose_fleet_finds_what_the_simulator_finds(fleet_of_reference):
    expected = diagnose_session(SimSession(fleet_of_reference.copy())).report
    result = CliRunner().invoke(cli, ["diagnose", "fleet:reference", "--json"])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert report["target"] == "fleet:reference" and report["hosts"] == ["HV01"]
    assert expected.by_root_cause("extensions-not-exposed")
    assert report["findings"] == expected.to_dict()["findings"]


def test_diagnose_fleet_without_a_running_fleet_is_one_line_exit_2(fleet_of_reference):
    result = CliRunner().invoke(cli, ["diagnose", "fleet:nothing-here"])
    assert result.exit_code == 2
    assert "no running host of nothing-here" in result.output and result.output.strip().count("\n") == 0


def test_the_fleet_target_for_pytest_is_the_listing_and_may_change_only_with_allow_destructive(fleet_of_reference):
    read_only = bdd.build_target("fleet:reference", _Config(False))
    allowed = bdd.build_target("fleet:reference", _Config(True))
    try:
        served_port = fleet.members(None, "reference")[0].port  # the listing's port: where the host answers
        assert list(read_only.hosts) == ["HV01"] and read_only.hosts["HV01"].address.port == served_port
        assert not read_only.can_change_state and allowed.can_change_state
        assert not allowed.can_make_physical_changes
    finally:
        read_only.close(), allowed.close()


class _Config:
    """What build_target asks of pytest's config: the --allow-destructive flag."""

    def __init__(self, allow: bool) -> None:
        self.allow = allow

    def getoption(self, name: str) -> bool:
        assert name == "--allow-destructive"
        return self.allow


# --- pytest --lab=psrp://… -------------------------------------------------------------------


@pytest.mark.endpoint
def test_a_psrp_target_is_named_by_its_computer_name_and_stays_read_only(served_reference):
    target = psrp_target(served_reference.psrp_url, allow_destructive=True)
    try:
        assert isinstance(target, InventoryTarget) and list(target.hosts) == ["HV01"]
        assert target.hosts["HV01"].address.server == "127.0.0.1"
        assert not target.can_change_state and not target.can_make_physical_changes
    finally:
        target.close()


@pytest.mark.endpoint
def test_pytest_runs_the_read_only_scenarios_against_a_psrp_host(served_reference):
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", "features/test_features.py",
         "-k", "healthy", f"--lab={served_reference.psrp_url}"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    passed = re.search(r"(\d+) passed", run.stdout)
    assert passed and int(passed.group(1)) >= 1, run.stdout[-2000:]
    assert "does not list (HV01)" in run.stdout  # the other labs' hosts are not this one: skipped, saying so


def test_pytest_with_an_unknown_lab_is_a_usage_error_listing_the_table():
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--lab=ssh://h",
                          "features/test_features.py", "--collect-only"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 4  # pytest's usage error
    assert "unknown target 'ssh'" in run.stderr and "psrp://" in run.stderr and "fleet:LAB" in run.stderr


def test_docs_targets_shows_every_row_of_the_table_as_it_is():
    text = (REPO / "docs" / "targets.md").read_text(encoding="utf-8")
    for scheme in target_table.SCHEMES:
        assert f"| `{scheme.syntax}` |" in text and scheme.capabilities.words() in text, scheme.name


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function (a lazy import is still an edge)."""
    import ast

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_the_bdd_targets_import_one_way_and_the_table_imports_no_opener():
    assert "nestlab.steps.target" in _imports(REPO / "steps" / "target_inventory.py")
    assert not {m for m in _imports(REPO / "steps" / "target.py") if "target_inventory" in m}
    assert not {m for m in _imports(REPO / "lab" / "target_table.py") if m.startswith(("nestlab.lab.t", "nestlab.steps"))}
