"""The fleet's modules form no import cycle and import no CLI module (issue 16: `lab/fleet.py` ↔
`lab/image.py`, and fleet imported `lab/commands/serve.py` for two constants).

Every import counts, also those inside functions: a lazy import hides a cycle from Python's
loader, not from a reader who has to understand one module before the other."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

import nestlab.lab

LAB = Path(nestlab.lab.__file__).parent
FLEET_MODULES = ("fleet", "image", "docker_engine", "swarm", "target_fleet", "serve_env")


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(("nestlab.lab", *parts)).removesuffix(".__init__")


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The nestlab.lab modules `path` imports anywhere in it (`from nestlab.lab import fleet` is fleet)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name in known}


def lab_graph(root: Path = LAB) -> nx.DiGraph:
    paths = {module_name(path, root): path for path in root.rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(paths)
    for name, path in paths.items():
        graph.add_edges_from((name, target) for target in imports_of(path, set(paths)) if target != name)
    return graph


def cycles_through(graph: nx.DiGraph, modules: set[str]) -> list[list[str]]:
    return [sorted(component) for component in nx.strongly_connected_components(graph)
            if len(component) > 1 and component & modules]


def test_no_import_cycle_runs_through_a_fleet_module():
    graph = lab_graph()
    fleet = {f"nestlab.lab.{name}" for name in FLEET_MODULES if f"nestlab.lab.{name}" in graph}
    assert {"nestlab.lab.fleet", "nestlab.lab.image", "nestlab.lab.docker_engine"} <= fleet
    assert cycles_through(graph, fleet) == []


def test_fleet_modules_import_no_cli_module():
    graph = lab_graph()
    for name in FLEET_MODULES:
        module = f"nestlab.lab.{name}"
        if module in graph:
            cli = [target for target in graph.successors(module) if target.startswith("nestlab.lab.commands") or target == "nestlab.lab.cli"]
            assert cli == [], f"{module} imports {cli}"


def test_the_check_sees_a_lazy_cycle(tmp_path):
    """The same check on a made-up package where a function-level import closes the loop."""
    (tmp_path / "fleet.py").write_text("from nestlab.lab.image import IMAGE\n", encoding="utf-8")
    (tmp_path / "image.py").write_text("def main():\n    from nestlab.lab.fleet import connect\n", encoding="utf-8")
    (tmp_path / "other.py").write_text("import nestlab.lab.fleet\n", encoding="utf-8")
    graph = lab_graph(tmp_path)
    assert cycles_through(graph, {"nestlab.lab.fleet"}) == [["nestlab.lab.fleet", "nestlab.lab.image"]]
