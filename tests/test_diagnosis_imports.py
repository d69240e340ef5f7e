"""The diagnosis sees a host only through evidence: of the simulator it may import only the shared
records (model), the wire shapes (psdata), the errors, actions as data (actions: what a
resolution asks for), the behaviour-free record queries (lab_queries) and the Session protocol
(session_protocol, which holds no behaviour of the simulator) — design rule 1 of DESIGN.md."""

from __future__ import annotations

import ast
from pathlib import Path

from nestlab import diagnosis

ALLOWED = {"nestlab.simulator.model", "nestlab.simulator.psdata", "nestlab.simulator.errors",
           "nestlab.simulator.actions", "nestlab.simulator.lab_queries", "nestlab.simulator.session_protocol"}


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names if node.module == "nestlab.simulator"}
    return found


def test_diagnosis_imports_nothing_else_of_the_simulator():
    root = Path(diagnosis.__file__).parent
    files = sorted(root.rglob("*.py"))
    assert len(files) > 5
    for path in files:
        for module in imports_of(path):
            if module == "nestlab.simulator" or module.startswith("nestlab.simulator."):
                assert module in ALLOWED, f"{path.relative_to(root.parent)} imports {module}"


def test_the_check_sees_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from nestlab.simulator import powershell\nimport nestlab.simulator.behaviour\n", encoding="utf-8")
    assert {"nestlab.simulator.powershell", "nestlab.simulator.behaviour"} <= imports_of(bad)
