"""Root conftest: the BDD step library as a plugin, the `--lab` target, and the feature tags.

The target must be in every scenario's fixture closure (pytest-bdd issue #618: a fixture used only
inside steps is invisible to collection, so it could neither parametrize nor skip a scenario).
`_nestlab_scenario` is autouse and asks for the target whenever the test is a scenario; it is
also where a scenario that the target cannot run is skipped, before any step runs.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from nestlab.steps import STEP_MODULES
from nestlab.steps.cases import Case, case_dirs, load_case
from nestlab.steps.markers import MARKERS
from nestlab.steps.target import Target, build_target, cannot_run, describe_targets, parse_lab_option

pytest_plugins = [*STEP_MODULES, "nestlab.sharding"]  # --shard I/N (nestlab/sharding.py)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nestlab")
    group.addoption("--lab", default="sim", metavar="TARGET", help=f"where the scenarios run: {describe_targets()}")
    group.addoption(
        "--allow-destructive",
        action="store_true",
        help="let scenarios that inject faults run on real hosts whose inventory entry allows it",
    )


def pytest_configure(config: pytest.Config) -> None:
    parse_lab_option(config.getoption("--lab"))  # an unknown target is a usage error, before collection
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")


def pytest_bdd_apply_tag(tag: str, function: object) -> None:
    """`@cases` scenarios run once per customer-case folder: they need the `customer_case` fixture."""
    if tag == "cases":
        pytest.mark.usefixtures("customer_case")(function)
    return None  # pytest-bdd then applies the tag as a marker too


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "customer_case" in metafunc.fixturenames:
        folders = case_dirs()
        metafunc.parametrize("customer_case", folders, ids=[f.name for f in folders], indirect=True)


@pytest.fixture(scope="session")
def nestlab_target(pytestconfig: pytest.Config) -> Iterator[Target]:
    target = build_target(pytestconfig.getoption("--lab"), pytestconfig)
    yield target
    target.close()


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
