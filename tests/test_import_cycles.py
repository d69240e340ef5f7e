"""The simulator's import graph has no cycle between the cmdlets and their dispatcher (issue 16 item 5).

`simulator/powershell.py` resolves and runs cmdlets, so it imports `simulator.cmdlets`; a cmdlet
that needs the dispatcher's knowledge (CommandNotFoundException, Invoke-Command) gets it from
`cmdlets.base` or through `Ctx.run_nested`, never by importing `powershell` — not even inside a
function, which hides the cycle from Python but not from a reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

from nestlab import simulator

ROOT = Path(simulator.__file__).parent


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join(("nestlab.simulator", *parts))


def imports_of(path: Path, package: str) -> set[str]:
    """Every module `path` imports, at any nesting (function-level imports count), as full names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module -> the modules of this package it imports."""
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        graph[name] = {m for m in imports_of(path, package) if m in files and m != name}
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_no_cmdlet_module_reaches_the_dispatcher():
    graph = import_graph()
    cmdlets = sorted(m for m in graph if m.startswith("nestlab.simulator.cmdlets"))
    assert len(cmdlets) > 5 and "nestlab.simulator.powershell" in graph
    assert "nestlab.simulator.cmdlets" in reachable(graph, "nestlab.simulator.powershell")
    for module in cmdlets:
        assert "nestlab.simulator.powershell" not in reachable(graph, module), f"{module} imports powershell"


def test_the_dispatchers_names_stay_importable_from_it():
    from nestlab.simulator import powershell
    from nestlab.simulator.cmdlets.base import command_not_found

    assert powershell.command_not_found is command_not_found
    assert powershell.command_not_found("Get-Nope").fully_qualified_error_id == "CommandNotFoundException"


def test_the_check_sees_a_cycle_hidden_in_a_function(tmp_path):
    (tmp_path / "cmdlets").mkdir()
    (tmp_path / "cmdlets" / "__init__.py").write_text("from . import area\n", encoding="utf-8")
    (tmp_path / "cmdlets" / "area.py").write_text(
        "def f():\n    from nestlab.simulator.powershell import run\n", encoding="utf-8")
    (tmp_path / "powershell.py").write_text("from nestlab.simulator.cmdlets import area\n", encoding="utf-8")
    graph = import_graph(tmp_path)
    assert "nestlab.simulator.cmdlets.area" in graph["nestlab.simulator.cmdlets"]
    assert "nestlab.simulator.powershell" in reachable(graph, "nestlab.simulator.cmdlets.area")


def test_the_lab_file_modules_depend_one_way():
    """labfile.py was one module that read, mapped, merged comments and wrote; now mapping
    depends on neither side, reading and saving depend on mapping only, and labfile re-exports."""
    graph = import_graph()
    read, mapping, save = ("nestlab.simulator.labread", "nestlab.simulator.labmap", "nestlab.simulator.labsave")
    assert not {read, save, "nestlab.simulator.labfile"} & reachable(graph, mapping)
    assert save not in reachable(graph, read) and read not in reachable(graph, save)
    assert mapping in graph[read] and mapping in graph[save]


def test_labfile_still_offers_every_name_its_callers_use():
    from nestlab.simulator import labfile

    for name in ("BUILTIN_DIR", "BadInput", "C_LOADER", "builtin_names", "dumps", "format_path", "lab_from_data",
                 "lab_to_data", "link_derived_edges", "load", "loads", "parse", "resolve", "save", "validate",
                 "write_atomic", "yaml_error"):
        assert hasattr(labfile, name), name
