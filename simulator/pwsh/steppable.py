"""`{ … }.GetSteppablePipeline()`: a script block of one pipeline, driven Begin / Process / End.

Ansible's exec wrapper feeds its manifest through `{ ConvertFrom-Json | Convert-JsonObject }`
and runs each action as `{ & $script @params }` this way. Here the pipeline runs once, at End,
with every object given to Process() as input to its first command: what each command sees is
the same, but output a command writes while processing comes back from End(), never from
Process() (which returns nothing). Ansible discards what Process() returns, so its results are
unchanged; this is the one deviation from PowerShell's streaming, named here.
Variables resolve when End() runs, in the caller's scope, as a script block's do.
"""

from __future__ import annotations

from typing import Any

from nestlab.simulator.pwsh.errors import ScriptError, runtime
from nestlab.simulator.pwsh.scope import Scope
from nestlab.simulator.pwsh.values import DotNet, ScriptBlock, enumerate_value


def make(session: Any, block: ScriptBlock) -> DotNet:
    from nestlab.simulator.pwsh.evaluator import Evaluator

    evaluator = Evaluator(session, block.script)
    nodes = _pipeline_nodes(evaluator, block)
    state: dict[str, Any] = {"input": [], "expecting": False, "begun": False, "done": False}

    def begin(expecting: Any = False) -> None:
        state.update(begun=True, expecting=bool(expecting))

    def process(*item: Any) -> list[Any]:
        if item:
            state["input"].extend(enumerate_value(item[0]) if isinstance(item[0], list) else [item[0]])
        return []

    def end() -> list[Any]:
        if state["done"]:
            return []
        state["done"] = True
        saved = session.scope
        session.scope = Scope(saved, kind="function")
        try:
            from nestlab.simulator.pwsh.invoke import run_pipeline

            initial = list(state["input"]) if state["expecting"] or state["input"] else None
            return run_pipeline(evaluator, nodes, initial)
        finally:
            session.scope = saved

    return DotNet("System.Management.Automation.SteppablePipeline", {},
                  {"Begin": begin, "Process": process, "End": end, "Dispose": lambda: None})


def _pipeline_nodes(evaluator: Any, block: ScriptBlock) -> list[Any]:
    """The one pipeline of the block, as its stage nodes (what Evaluator.pipeline splits)."""
    node = block.node
    body = next((c for c in node.named_children if c.type == "script_block"), node)
    statements = []
    stack = [body]
    while stack:
        n = stack.pop()
        if n.type in ("script_block", "script_block_body", "statement_list", "program"):
            stack.extend(reversed([c for c in n.named_children if c.type != "comment"]))
        else:
            statements.append(n)
    if len(statements) != 1:
        raise runtime("Only a script block that contains exactly one pipeline or command can be converted. "
                      "Expressions or control structures are not permitted. Verify that the script block contains "
                      "exactly one pipeline or command.", "CanConvertOneClauseOnly", "InvalidOperation")
    inner = evaluator.unwrap(statements[0])
    if inner.type in ("pipeline", "pipeline_chain"):
        return [c for c in inner.children if c.type not in ("|", "comment") and c.is_named]
    return [inner]


__all__ = ["make", "ScriptError"]
