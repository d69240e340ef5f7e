"""The nestlab pytest plugin (entry point `pytest11: nestlab`): loaded wherever nestlab is installed.

For the repository's own suite and for people's suites alike it gives

- the options `--lab=TARGET` (where the guide's scenarios run: sim, endpoint, psrp://…,
  fleet:LAB, inventory:PATH — the rows of `nestlab.lab.target_table`, shared with the CLI) and
  `--allow-destructive`, and the feature tags as markers;
- the BDD step library (`nestlab.steps.given/when/then`), so a project's own `.feature` files
  can use the guide's sentences; `pytest --pyargs nestlab.features` runs the guide's features
  from the installed package;
- fixtures for a project's own tests:
  `nestlab_lab` (a fresh `Lab`; which one: `@pytest.mark.nestlab_lab("builtin:azure")`, else
  the ini option `nestlab_lab`, default builtin:reference; a path is relative to the rootdir),
  `nestlab_session` (a `Session` on it, in process), `nestlab_host` (the lab served on loopback:
  URL, username and password for the project's own tool, stopped when the test ends) and
  `inject` (`inject("extensions-not-exposed")` breaks the lab, undone after the test).

Against real or served hosts (`--lab=psrp://…`, `inventory:…`, `fleet:…`, `endpoint`) the run ends
with the fidelity report, where the simulator would have predicted those hosts' answers otherwise
(`nestlab.steps.fidelity_replay`; `--no-nestlab-fidelity` turns it off,
`--nestlab-fidelity-report PATH` writes it too).

The target must be in every scenario's fixture closure (pytest-bdd issue #618: a fixture used only
inside steps is invisible to collection, so it could neither parametrize nor skip a scenario).
`_nestlab_scenario` is autouse and asks for the target whenever the test is a scenario; it is
also where a scenario that the target cannot run is skipped, before any step runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from nestlab.injection import Injector
from nestlab.lab.session import Session, SimSession
from nestlab.served import ServedHost, serve
from nestlab.simulator import labfile
from nestlab.simulator.model import Lab
from nestlab.steps import STEP_MODULES
from nestlab.steps.cases import Case, case_dirs, load_case
from nestlab.steps.markers import MARKERS
from nestlab.steps.target import Target, build_target, cannot_run, describe_targets, parse_lab_option

DEFAULT_LAB = "builtin:reference"
HAS_BDD = importlib.util.find_spec("pytest_bdd") is not None

# The step library is a set of pytest plugins; without pytest-bdd the fixtures still work.
pytest_plugins = [*(STEP_MODULES if HAS_BDD else ()), "nestlab.sharding"]  # --shard I/N (nestlab/sharding.py)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nestlab")
    group.addoption("--lab", default="sim", metavar="TARGET", help=f"where the scenarios run: {describe_targets()}")
    group.addoption(
        "--allow-destructive",
        action="store_true",
        help="let scenarios that inject faults run on real hosts whose inventory entry allows it",
    )
    group.addoption("--guest-user", metavar="USER", default=None,
                    help="real hosts: log PowerShell Direct into guests as USER (password from NESTLAB_GUEST_PASSWORD, "
                         "NESTLAB_GUEST_PASSWORD_FILE or a prompt; an inventory may name one per VM)")
    group.addoption("--nestlab-fidelity", action=argparse.BooleanOptionalAction, default=True,
                    help="at the end of a run against real or served hosts, print where the simulator would have "
                         "predicted their answers otherwise (nestlab fidelity; default on)")
    group.addoption("--nestlab-fidelity-report", metavar="PATH", default=None,
                    help="also write that report to PATH (JSON if it ends in .json, else text), e.g. beside --junitxml")
    parser.addini("nestlab_lab", f"the lab the nestlab_lab fixture loads: builtin:NAME or a path (default {DEFAULT_LAB})",
                  default=DEFAULT_LAB)


def pytest_configure(config: pytest.Config) -> None:
    parse_lab_option(config.getoption("--lab"))  # an unknown target is a usage error, before collection
    if config.getoption("--guest-user"):
        from nestlab.lab.guest_credentials import set_guest_user

        set_guest_user(config.getoption("--guest-user"))
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    config.addinivalue_line("markers", "nestlab_lab(reference): the lab the nestlab_lab fixture loads (builtin:NAME or a path)")


@pytest.hookimpl(optionalhook=True, tryfirst=True)  # before pytest-bdd's own (firstresult)
def pytest_bdd_apply_tag(tag: str, function: object) -> None:
    """`@cases` scenarios run once per customer-case folder: they need the `customer_case` fixture."""
    if tag == "cases":
        pytest.mark.usefixtures("customer_case")(function)
    return None  # pytest-bdd then applies the tag as a marker too


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "customer_case" in metafunc.fixturenames:
        folders = case_dirs()
        metafunc.parametrize("customer_case", folders, ids=[f.name for f in folders], indirect=True)


# -- the guide's scenarios ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def nestlab_target(pytestconfig: pytest.Config) -> Iterator[Target]:
    """Where the scenarios run (`--lab`), built once per run."""
    target = build_target(pytestconfig.getoption("--lab"), pytestconfig)
    pytestconfig.stash[TARGET_KEY] = target  # for the fidelity report at the end (pytest_terminal_summary)
    yield target
    target.close()


TARGET_KEY = pytest.StashKey[Target]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The fidelity report of a run against real or served hosts (nestlab/steps/fidelity_replay.py)."""
    target = config.stash.get(TARGET_KEY, None)
    if target is None or not config.getoption("--nestlab-fidelity"):
        return
    from nestlab.simulator.errors import BadInput
    from nestlab.steps.fidelity_replay import SECTION, replay_fidelity, write_report

    try:
        report = replay_fidelity(target)
    except BadInput as exc:  # a host gone by the end of the run: say so, the run's outcome stands
        terminalreporter.write_sep("=", SECTION)
        terminalreporter.write_line(f"not compared: {exc}")
        return
    if report is None:
        return
    terminalreporter.write_sep("=", SECTION)
    terminalreporter.write(report.text())
    path = config.getoption("--nestlab-fidelity-report")
    if path:
        write_report(report, Path(path))
        terminalreporter.write_line(f"fidelity report written to {path}")


@pytest.fixture
def customer_case(request: pytest.FixtureRequest) -> Case:
    return load_case(request.param)


@pytest.fixture(autouse=True)
def _nestlab_scenario(request: pytest.FixtureRequest) -> None:
    if "_pytest_bdd_example" not in request.fixturenames:
        return  # a plain test, not a scenario
    target: Target = request.getfixturevalue("nestlab_target")
    reason = cannot_run(target, {mark.name for mark in request.node.iter_markers()})
    if reason:
        pytest.skip(reason)


# -- fixtures for a project's own tests -------------------------------------------------------


@pytest.fixture
def nestlab_lab(request: pytest.FixtureRequest) -> Lab:
    """A fresh lab for this test: the `nestlab_lab` marker's, else the ini option's."""
    marker = request.node.get_closest_marker("nestlab_lab")
    reference = marker.args[0] if marker and marker.args else request.config.getini("nestlab_lab") or DEFAULT_LAB
    path = labfile.resolve(reference)
    if not path.is_absolute():
        path = Path(request.config.rootpath) / path
    return labfile.load(path)


@pytest.fixture
def _nestlab_lock() -> threading.Lock:
    """One lock per test between the served lab's pipelines and `inject` in the test's thread."""
    return threading.Lock()


@pytest.fixture
def nestlab_session(nestlab_lab: Lab) -> Iterator[Session]:
    """A Session on `nestlab_lab` in process: `session.run(host, pipeline, vm=…)` as on a host."""
    session = SimSession(nestlab_lab)
    yield session
    session.close()


@pytest.fixture
def nestlab_host(nestlab_lab: Lab, _nestlab_lock: threading.Lock) -> Iterator[ServedHost]:
    """`nestlab_lab` served over WS-Management/PSRP on loopback for the project's own tool."""
    with serve(nestlab_lab, lock=_nestlab_lock) as host:
        yield host


@pytest.fixture
def inject(nestlab_lab: Lab, _nestlab_lock: threading.Lock) -> Iterator[Injector]:
    """`inject(root_cause, subject=None)` breaks `nestlab_lab` (served or not); undone after the test."""
    injector = Injector(nestlab_lab, _nestlab_lock)
    yield injector
    injector.undo_all()
