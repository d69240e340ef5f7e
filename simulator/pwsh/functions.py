"""Script blocks and functions as callables: their parameters, named blocks, and how arguments bind.

A function, a `{ … }` script block and the script itself have the same shape (about_Functions_
Advanced): an optional param() with typed, attributed parameters, then either a plain body (the
end block) or begin/process/end blocks. Binding follows PowerShell: named (unambiguous prefixes
allowed), then positional in declaration order, the rest in $args; switches take no argument;
a missing Mandatory parameter is an error, as in a non-interactive session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import tree_sitter

from nestlab.simulator.pwsh.errors import ScriptError, record
from nestlab.simulator.pwsh.parse import Script

Node = tree_sitter.Node


@dataclass(frozen=True)
class Parameter:
    name: str
    type_name: str = ""
    default: Node | None = None
    mandatory: bool = False
    position: int | None = None
    from_pipeline: bool = False
    by_property: bool = False

    @property
    def is_switch(self) -> bool:
        return self.type_name.lower() in ("switch", "system.management.automation.switchparameter")


@dataclass(frozen=True)
class Callable_:
    """What runs: its parameters and its named blocks (None where absent)."""

    name: str
    script: Script
    parameters: tuple[Parameter, ...]
    begin: Node | None
    process: Node | None
    end: Node | None
    is_filter: bool = False
    advanced: bool = False
    source: Any = field(default=None, compare=False)


def from_node(name: str, node: Node, script: Script, *, is_filter: bool = False) -> Callable_:
    """A function_statement, script_block, script_block_expression or program as a Callable_."""
    params: list[Parameter] = []
    begin = process = end = None
    advanced = False
    body: Node | None = None
    for child in _body_parts(node):
        if child.type == "function_parameter_declaration":
            params.extend(_parameters(child, script))
        elif child.type == "param_block":
            params.extend(_parameters(child, script))
            attributes = [a for a in child.children if a.type == "attribute"]
            attributes += [a for lst in child.children if lst.type == "attribute_list" for a in lst.children]
            advanced = advanced or any("cmdletbinding" in script.text(a).lower() for a in attributes)
        elif child.type == "named_block_list":
            for block in child.named_children:
                if block.type != "named_block":
                    continue
                kind = script.text(block.children[0]).lower()
                statements = next((c for c in block.named_children if c.type == "statement_block"), None)
                if kind == "begin":
                    begin = statements
                elif kind == "process":
                    process = statements
                elif kind == "end":
                    end = statements
                else:
                    raise ScriptError(record(f"The simulated host does not support '{kind}' blocks.", "NotSupported",
                                             "NotImplemented"), script.position(block))
        else:
            body = child
    if node.type == "program" and body is not None and begin is None and process is None and end is None:
        named = top_level_blocks(body, script)
        if named is not None:
            begin, process, end = named.get("begin"), named.get("process"), named.get("end")
            body = None
    if body is not None and begin is None and process is None and end is None:
        if is_filter:
            process = body
        else:
            end = body
    return Callable_(name, script, tuple(params), begin, process, end, is_filter, advanced)


BLOCK_NAMES = ("begin", "process", "end")


def top_level_blocks(body: Node, script: Script) -> dict[str, Node] | None:
    """A script's own `begin {…} process {…} end {…}`: tree-sitter-powershell knows named blocks only
    inside `{ }`, and reads them at the top of a file as commands named begin/process/end whose
    arguments are the blocks (and, on one line, the next names). PowerShell reads a script whose
    statements are all of this shape as those named blocks (about_Functions_Advanced_Methods);
    anything else stays statements. Each block is the script block's statement list (or None)."""
    statements = [c for c in (body.named_children if body.type == "statement_list" else [body]) if c.type != "comment"]
    words: list[Node] = []
    for statement in statements:
        command = statement
        while command.type in ("pipeline", "pipeline_chain") and command.named_child_count == 1:
            command = command.named_children[0]
        if command.type != "command":
            return None
        name = command.child_by_field_name("command_name")
        elements = command.child_by_field_name("command_elements")
        if name is None or elements is None:
            return None
        words.append(name)
        words.extend(c for c in elements.named_children if c.type not in ("command_argument_sep", "comment"))
    found: dict[str, Node] = {}
    for i in range(0, len(words), 2):
        kind = script.text(words[i]).lower()
        if kind not in BLOCK_NAMES or kind in found or i + 1 >= len(words):
            return None
        block = words[i + 1]
        while block.named_child_count == 1 and block.type != "script_block_expression":
            block = block.named_children[0]
        if block.type != "script_block_expression":
            return None
        inner = next((c for c in block.named_children if c.type == "script_block"), None)
        found[kind] = next((c for c in inner.named_children if c.type in ("script_block_body", "statement_list")),
                           inner) if inner is not None else None
    return found


def _body_parts(node: Node) -> list[Node]:
    parts: list[Node] = []
    for child in node.named_children:
        if child.type in ("script_block", "script_block_body"):
            parts.extend(_body_parts(child))
        elif child.type in ("function_parameter_declaration", "param_block", "named_block_list", "statement_list"):
            parts.append(child)
        elif child.type not in ("function_name", "comment"):
            # a body of one statement is that statement itself (the grammar elides the list)
            if node.type in ("script_block", "script_block_body", "function_statement", "script_block_expression", "program"):
                parts.append(child)  # a body of one statement: the grammar elides the list
    return parts


def _parameters(node: Node, script: Script) -> list[Parameter]:
    out: list[Parameter] = []
    stack = [node]
    found: list[Node] = []
    while stack:
        n = stack.pop()
        if n.type == "script_parameter":
            found.append(n)
            continue
        if n.type == "variable" and n.parent is not None and n.parent.type in ("parameter_list", "param_block",
                                                                                 "function_parameter_declaration"):
            found.append(n)
            continue
        stack.extend(reversed(n.named_children))
    found.sort(key=lambda n: n.start_byte)
    for index, p in enumerate(found):
        out.append(_parameter(p, script, index))
    return out


def _parameter(node: Node, script: Script, index: int) -> Parameter:
    if node.type == "variable":
        return Parameter(script.text(node).lstrip("$"))
    name, type_name, default = "", "", None
    mandatory = from_pipeline = by_property = False
    position: int | None = None
    attributes: list[Node] = []
    for child in node.named_children:
        if child.type == "variable":
            name = script.text(child).lstrip("$")
        elif child.type == "script_parameter_default":
            default = next((c for c in child.named_children if c.type != "comment"), None)
        elif child.type == "attribute_list":
            attributes.extend(child.named_children)
        elif child.type in ("attribute", "type_literal"):
            attributes.append(child)
    for attr in attributes:
        text = script.text(attr)
        if attr.type == "type_literal" or ("(" not in text and attr.type != "attribute"):
            type_name = text.strip()[1:-1].strip()
            continue
        low = text.lower().replace(" ", "")
        if low.startswith("[parameter"):
            mandatory = "mandatory" in low and "mandatory=$false" not in low
            from_pipeline = "valuefrompipeline" in low.replace("valuefrompipelinebypropertyname", "") and \
                "valuefrompipeline=$false" not in low
            by_property = "valuefrompipelinebypropertyname" in low and "valuefrompipelinebypropertyname=$false" not in low
            if "position=" in low:
                digits = low.split("position=", 1)[1]
                number = "".join(ch for ch in digits if ch.isdigit())
                position = int(number) if number else None
        elif "(" not in low:
            type_name = text.strip()[1:-1].strip()
    return Parameter(name, type_name, default, mandatory, position, from_pipeline, by_property)


def ordered_positionals(params: tuple[Parameter, ...]) -> list[Parameter]:
    explicit = sorted((p for p in params if p.position is not None and not p.is_switch), key=lambda p: p.position or 0)
    if explicit:
        return explicit + [p for p in params if p.position is None and not p.is_switch and not explicit]
    return [p for p in params if not p.is_switch]


def missing_mandatory(function: str, names: list[str]) -> ScriptError:
    return ScriptError(record(f"Cannot process command because of one or more missing mandatory parameters: "
                              f"{' '.join(names)}.", f"MissingMandatoryParameter,{function}", "InvalidArgument",
                              reason="ParameterBindingException",
                              exception_type="System.Management.Automation.ParameterBindingException", activity=function))


def unknown_parameter(function: str, name: str) -> ScriptError:
    return ScriptError(record(f"A parameter cannot be found that matches parameter name '{name}'.",
                              f"NamedParameterNotFound,{function}", "InvalidArgument", reason="ParameterBindingException",
                              exception_type="System.Management.Automation.ParameterBindingException", activity=function))


def positional_not_found(function: str, value: str) -> ScriptError:
    return ScriptError(record(f"A positional parameter cannot be found that accepts argument '{value}'.",
                              f"PositionalParameterNotFound,{function}", "InvalidArgument",
                              reason="ParameterBindingException",
                              exception_type="System.Management.Automation.ParameterBindingException", activity=function))
