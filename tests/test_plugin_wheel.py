"""A throwaway project that has nothing but the built wheel installed (issue 15, "done when"):
its own test uses `nestlab_host` with its own PSRP client, its own feature file uses the step
library, and `pytest --pyargs nestlab.features` runs the guide's scenarios from the package.

The wheel is built once per run and installed (with pytest and pytest-bdd, nothing else of this
checkout) into a fresh venv under the session's temporary folder, outside the repository; the
throwaway projects are pytester folders, run with that venv's Python and no PYTHONPATH.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from importlib.metadata import version
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def wheel_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python of a fresh venv with the nestlab wheel, pytest and pytest-bdd installed."""
    root = tmp_path_factory.mktemp("wheel")
    assert REPO not in root.parents
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(root / "dist"), str(REPO)],
                   check=True, capture_output=True, cwd=root)
    (wheel,) = (root / "dist").glob("nestlab-*.whl")
    venv.create(root / "venv", with_pip=True)
    python = root / "venv" / "bin" / "python"
    pins = [f"pytest=={version('pytest')}", f"pytest-bdd=={version('pytest-bdd')}"]  # pip's cache has them
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel), *pins],
                   check=True, capture_output=True, cwd=root)
    return python


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    return pytester


def _pytest(project: pytest.Pytester, python: Path, *args: str) -> pytest.RunResult:
    return project.run(str(python), "-m", "pytest", "-p", "no:cacheprovider", "-q", *args, timeout=600)


def test_nothing_of_the_checkout_is_importable_there(project, wheel_python):
    result = project.run(str(wheel_python), "-c",
                         "import nestlab.simulator, importlib.util as u; print(nestlab.simulator.__file__);"
                         "print([n for n in ('lab', 'steps', 'simulator', 'diagnosis') if u.find_spec(n)])")
    assert result.ret == 0, result.stderr.str()
    where, shadowing = result.outlines[-2:]
    assert "site-packages" in where and str(REPO) not in where
    assert shadowing == "[]"


def test_a_users_own_tool_against_nestlab_host(project, wheel_python):
    project.makepyfile(test_my_tool="""
        from pypsrp.powershell import PowerShell, RunspacePool
        from pypsrp.wsman import WSMan

        def vm_states(server, **options):   # the user's own diagnostic tool
            with RunspacePool(WSMan(server, **options)) as pool:
                ps = PowerShell(pool)
                ps.add_cmdlet("Get-VMProcessor").add_parameter("VMName", "*")
                return {str(p.adapted_properties["VMName"]): p.adapted_properties["ExposeVirtualizationExtensions"]
                        for p in ps.invoke()}

        def test_my_tool_sees_a_healthy_host(nestlab_host):
            assert vm_states(nestlab_host.server, **nestlab_host.pypsrp_options()) == {"L1": True}

        def test_my_tool_sees_the_injected_fault(nestlab_host, inject):
            inject("extensions-not-exposed")
            assert vm_states(nestlab_host.server, **nestlab_host.pypsrp_options()) == {"L1": False}
    """)
    result = _pytest(project, wheel_python)
    result.assert_outcomes(passed=2)


def test_a_users_feature_file_uses_the_step_library(project, wheel_python):
    project.makefile(".feature", my_lab="""
        Feature: our own nested lab
          Scenario: a VM without virtualization extensions is diagnosed and healed
            Given the lab "builtin:reference"
            And the fault "extensions-not-exposed" on "HV01/L1"
            When the diagnosis runs
            Then the finding "extensions-not-exposed" names "HV01/L1"
            When the resolution is applied
            Then the diagnosis finds nothing
    """)
    project.makepyfile(test_my_lab="""
        from pytest_bdd import scenarios
        scenarios("my_lab.feature")
    """)
    result = _pytest(project, wheel_python, "--lab=endpoint")
    result.assert_outcomes(passed=1)


def test_the_guides_features_run_from_the_installed_package(project, wheel_python):
    # healthy labs, the feature that names features/labs/…, and the customer cases (fixtures/cases)
    result = _pytest(project, wheel_python, "--pyargs", "nestlab.features", "-m", "healthy or hyperv_role or cases")
    outcomes = result.parseoutcomes()
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert outcomes.get("passed", 0) >= 20 and "failed" not in outcomes and "error" not in outcomes
