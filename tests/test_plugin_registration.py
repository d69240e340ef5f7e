"""The plugin is loaded once, whichever way a project asks for it: by the entry point alone, or
also by `pytest_plugins = ["nestlab.pytest_plugin"]` / `-p nestlab.pytest_plugin` (the entry
point is named as the module, so pytest sees it is already there instead of failing with
"Plugin already registered")."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

TEST = "def test_the_fixture_is_there(nestlab_lab):\n    assert nestlab_lab.hosts() == ['HV01']\n"


@pytest.mark.parametrize("how", ["entry point", "conftest pytest_plugins", "-p"])
def test_the_plugin_registers_once(pytester: pytest.Pytester, how: str):
    pytester.makepyfile(test_one=TEST)
    args = []
    if how == "conftest pytest_plugins":
        pytester.makeconftest('pytest_plugins = ["nestlab.pytest_plugin"]\n')
    elif how == "-p":
        args = ["-p", "nestlab.pytest_plugin"]
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=1)


def test_it_can_be_turned_off(pytester: pytest.Pytester):
    pytester.makepyfile(test_one=TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:nestlab.pytest_plugin")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'nestlab_lab' not found*"])
