"""The one-namespace promise (issue 15): every package folder of the repository installs under
`nestlab.*`, and the code imports nothing by the short top-level names any more."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAPPED = ("simulator", "diagnosis", "lab", "steps")


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_package_folder_is_listed_under_the_nestlab_namespace():
    setuptools = _pyproject()["tool"]["setuptools"]
    folders = {
        "nestlab." + ".".join(init.parent.relative_to(REPO).parts)
        for top in MAPPED
        for init in (REPO / top).rglob("__init__.py")
    }
    assert folders <= set(setuptools["packages"]), sorted(folders - set(setuptools["packages"]))
    assert all(name == "nestlab" or name.startswith("nestlab.") for name in setuptools["packages"])
    assert {setuptools["package-dir"][f"nestlab.{top}"] for top in MAPPED} == set(MAPPED)


def _short_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found += [f"{path.relative_to(REPO)}:{node.lineno}: {name}" for name in names if name.split(".")[0] in MAPPED]
    return found


def test_no_code_imports_a_short_top_level_name():
    tops = [*MAPPED, "nestlab", "tests", "bench", "features"]
    files = [p for top in tops for p in (REPO / top).rglob("*.py")] + [REPO / "conftest.py"]
    offenders = [hit for path in files for hit in _short_imports(path)]
    assert offenders == []


def test_the_check_sees_a_short_import(tmp_path, monkeypatch):
    bad = REPO / "tests" / "_packaging_probe.py"
    try:
        bad.write_text("import simulator.model\nfrom lab import cli\n", encoding="utf-8")
        assert len(_short_imports(bad)) == 2
    finally:
        bad.unlink()


def test_the_console_script_is_in_the_namespace():
    assert _pyproject()["project"]["scripts"]["nestlab"].startswith("nestlab.")
