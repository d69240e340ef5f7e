"""The shipped data is found through importlib.resources (nestlab.resources), not beside a source
file: the lookups the wheel relies on (.ci/wheel.sh installs one and runs it)."""

from __future__ import annotations

from nestlab import resources
from nestlab.simulator import labfile
from nestlab.steps.cases import case_dirs


def test_builtin_labs_are_the_package_data_of_nestlab_fixtures():
    assert labfile.BUILTIN_DIR == resources.builtin_labs_dir()
    assert {"reference", "azure", "deep"} <= set(labfile.builtin_names())
    assert labfile.resolve("builtin:reference").is_file()


def test_customer_cases_come_from_the_package_data():
    folders = case_dirs()
    assert folders and all(f.parent == resources.cases_dir() for f in folders)
    assert all((f / "lab.yaml").is_file() for f in folders)


def test_a_repository_relative_lab_path_of_a_feature_is_found_in_the_package():
    found = resources.shipped("features/labs/fresh-nested-host.yaml")
    assert found is not None and found.parent.parent == resources.features_dir()
    assert resources.shipped("features/labs/no-such-lab.yaml") is None
    assert resources.shipped("docs/architecture.md") is None  # not package data


def test_the_features_package_holds_the_guides_feature_files():
    names = {p.name for p in resources.features_dir().glob("*.feature")}
    assert {"network.feature", "storage.feature", "cases.feature"} <= names
