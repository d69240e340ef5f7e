"""The tree walker: statements, expressions and pipelines of a parsed script, over a Session.

One method per kind of node of tree-sitter-powershell's grammar. Chains of single-child nodes
(the grammar's precedence levels) are walked through; a node kind with no method here is a
NotSupported error at its position, never skipped. Commands are resolved and bound by
`pwsh.invoke`; this module only decides what runs in which order and what reaches the output.
"""

from __future__ import annotations

from typing import Any

import tree_sitter
from functools import lru_cache

from nestlab.simulator.pwsh import members, ops
from nestlab.simulator.pwsh.errors import Break, Continue, Exit, Return, ScriptError, not_supported, null_array, runtime, thrown
from nestlab.simulator.pwsh.parse import Script
from nestlab.simulator.pwsh.scope import MISSING, Scope
from nestlab.simulator.pwsh.values import (Enumerator, Hashtable, ScriptBlock, TypeRef, collect, enumerate_value, is_enumerable,
                                           parse_number, to_bool, to_str, type_name)
from nestlab.simulator.psdata import PSObject

Node = tree_sitter.Node

SKIP = {"comment", "empty_statement", ";", "\n"}
NO_OUTPUT = {"assignment_expression", "pre_increment_expression", "pre_decrement_expression",
             "post_increment_expression", "post_decrement_expression"}
KEEP = {"variable", "command", "command_name", "generic_token", "expandable_string_literal",
        "expandable_here_string_literal", "statement_block", "script_block_expression"}
ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "e": "\x1b"}


class Evaluator:
    """Walks one script's tree; `session` (pwsh.session.Session) holds streams, scopes and commands."""

    def __init__(self, session: Any, script: Script) -> None:
        self.session = session
        self.script = script

    # -- helpers ----------------------------------------------------------------------------------

    def text(self, node: Node) -> str:
        return self.script.text(node)

    @property
    def scope(self) -> Scope:
        return self.session.scope

    def fail(self, error: ScriptError, node: Node) -> ScriptError:
        if error.position is None:
            error.position = self.script.position(node)
        return error

    @staticmethod
    def named(node: Node) -> list[Node]:
        return [c for c in node.named_children if c.type not in ("comment",)]

    # -- statements -------------------------------------------------------------------------------

    def run_block(self, node: Node | None) -> list[Any]:
        """Run a statement list, each statement's errors handled as PowerShell does; return its output."""
        out: list[Any] = []
        if node is None:
            return out
        statements = node.named_children if node.type in ("statement_list", "program", "script_block_body") else [node]
        try:
            for child in statements:
                if child.type in SKIP:
                    continue
                if child.type in ("statement_list", "script_block_body"):
                    out.extend(self.run_block(child))
                    continue
                out.extend(self.statement(child))
                if node is self.session.top_block:
                    self.session.events.append(("output", len(out)))
        except (Exit, Return, ScriptError) as stop:
            stop.partial = out + getattr(stop, "partial", [])  # what was written before the script stopped
            raise
        return out

    def statement(self, node: Node) -> list[Any]:
        try:
            result = self.statement_raw(node)
            return result
        except ScriptError as error:
            self.fail(error, node)
            if not error.script_terminating and to_str(self.session.variable("ErrorActionPreference")).lower() == "stop":
                error.script_terminating = True  # $ErrorActionPreference = 'Stop': a failed statement stops the script
            if error.script_terminating or self.session.in_try:
                raise
            self.session.report(error)
            return []

    def statement_raw(self, node: Node) -> list[Any]:
        node = self.unwrap(node)
        kind = node.type
        handler = getattr(self, "s_" + kind, None)
        if handler is not None:
            return handler(node)
        if kind in NO_OUTPUT:
            self.expr(node)
            self.session.succeeded()
            return []
        if kind in ("pipeline", "pipeline_chain", "command"):
            return self.pipeline(node)
        value = self.expr(node)
        self.session.succeeded()
        return enumerate_value(value) if value is not None else []

    def unwrap(self, node: Node) -> Node:
        while node.child_count == 1 and node.children[0].is_named and node.type not in KEEP:
            node = node.children[0]
        if node.type in ("pipeline", "pipeline_chain"):
            kids = [c for c in node.children if c.type != "comment"]
            if len(kids) == 1:
                return self.unwrap(kids[0])
        return node

    def s_statement_list(self, node: Node) -> list[Any]:
        return self.run_block(node)

    def s_empty_statement(self, node: Node) -> list[Any]:
        return []

    def s_comment(self, node: Node) -> list[Any]:
        return []

    def s_function_statement(self, node: Node) -> list[Any]:
        name_node = next(c for c in node.children if c.type == "function_name")
        self.session.define_function(self.text(name_node), node, self.script,
                                     is_filter=node.children[0].type == "filter")
        return []

    def s_if_statement(self, node: Node) -> list[Any]:
        cond = node.child_by_field_name("condition")
        blocks = [c for c in node.children if c.type == "statement_block"]
        if to_bool(self.condition(cond)):
            return self.block(blocks[0])
        for clause in node.children:
            if clause.type == "elseif_clauses":
                for elseif in clause.named_children:
                    if elseif.type != "elseif_clause":
                        continue
                    if to_bool(self.condition(elseif.child_by_field_name("condition"))):
                        return self.block(next(c for c in elseif.children if c.type == "statement_block"))
            if clause.type == "else_clause":
                return self.block(next(c for c in clause.children if c.type == "statement_block"))
        return []

    def condition(self, node: Node) -> Any:
        return self.value_of(node)

    def block(self, node: Node) -> list[Any]:
        lists = [c for c in node.named_children if c.type == "statement_list"]
        return self.run_block(lists[0]) if lists else []

    def loop_body(self, body: Node, out: list[Any]) -> bool:
        """Run a loop's body into `out`; False when `break` ends the loop."""
        try:
            out.extend(self.block(body))
        except Continue:
            return True
        except Break:
            return False
        return True

    def s_foreach_statement(self, node: Node) -> list[Any]:
        var = next(c for c in node.named_children if c.type == "variable")
        source = next(c for c in node.named_children if c.type not in ("variable", "statement_block", "comment"))
        body = next(c for c in node.children if c.type == "statement_block")
        value = self.value_of(source)
        items = value if isinstance(value, Enumerator) else enumerate_value(value)  # $input: read as it goes
        out: list[Any] = []
        for item in items:
            self.assign_variable(var, item)
            if not self.loop_body(body, out):
                break
        return out

    def s_for_statement(self, node: Node) -> list[Any]:
        init, cond, step = (node.child_by_field_name(f) for f in ("for_initializer", "for_condition", "for_iterator"))
        body = next(c for c in node.children if c.type == "statement_block")
        out: list[Any] = []
        if init is not None:
            self.statement_raw(init)
        guard = 0
        while cond is None or to_bool(self.value_of(cond)):
            guard = self.session.tick(guard)
            if not self.loop_body(body, out):
                break
            if step is not None:
                self.statement_raw(step)
        return out

    def s_while_statement(self, node: Node) -> list[Any]:
        cond = node.child_by_field_name("condition")
        body = next(c for c in node.children if c.type == "statement_block")
        out: list[Any] = []
        guard = 0
        while to_bool(self.value_of(cond)):
            guard = self.session.tick(guard)
            if not self.loop_body(body, out):
                break
        return out

    def s_do_statement(self, node: Node) -> list[Any]:
        cond = node.child_by_field_name("condition")
        until = any(c.type == "until" for c in node.children)
        body = next(c for c in node.children if c.type == "statement_block")
        out: list[Any] = []
        guard = 0
        while True:
            guard = self.session.tick(guard)
            if not self.loop_body(body, out):
                break
            value = to_bool(self.value_of(cond))
            if value == until:
                break
        return out

    def s_flow_control_statement(self, node: Node) -> list[Any]:
        keyword = node.children[0].type.lower()
        operand = next((c for c in node.named_children if c.type != "comment"), None)
        if keyword == "break":
            raise Break(self.text(operand) if operand is not None else None)
        if keyword == "continue":
            raise Continue(self.text(operand) if operand is not None else None)
        if keyword == "return":
            out = self.statement_raw(operand) if operand is not None else []
            self.session.returned = out
            raise Return()
        if keyword == "exit":
            code = self.value_of(operand) if operand is not None else 0
            try:
                raise Exit(int(ops.cast(TypeRef("int"), code)) if code is not None else 0)
            except (ScriptError, ValueError):
                raise Exit(0) from None
        if keyword == "throw":
            value = self.value_of(operand) if operand is not None else None
            if isinstance(value, ScriptError):
                raise value
            if isinstance(value, PSObject) and "Exception" in value and isinstance(value.get("__error__"), ScriptError):
                raise value["__error__"]
            text = to_str(value) if value is not None else "ScriptHalted"
            raise self.fail(thrown(value, text), node)
        raise self.fail(not_supported(f"'{keyword}'"), node)

    def s_try_statement(self, node: Node) -> list[Any]:
        body = next(c for c in node.children if c.type == "statement_block")
        catches = [c for c in node.children if c.type in ("catch_clauses", "catch_clause")]
        flat: list[Node] = []
        for c in catches:
            flat.extend([c] if c.type == "catch_clause" else [k for k in c.children if k.type == "catch_clause"])
        final = next((c for c in node.children if c.type == "finally_clause"), None)
        out: list[Any] = []
        depth = self.session.in_try
        self.session.in_try = depth + 1
        pending: BaseException | None = None
        try:
            out.extend(self.block(body))
        except ScriptError as error:
            self.session.in_try = depth
            out.extend(getattr(error, "partial", []))
            error.partial = []
            self.fail(error, body)
            clause = self.matching_catch(flat, error)
            if clause is None:
                pending = error
            else:
                previous = self.scope.lookup("_")
                self.scope.set("_", self.session.error_object(error))
                self.scope.set("PSItem", self.scope.get("_"))
                try:
                    out.extend(self.block(next(c for c in clause.children if c.type == "statement_block")))
                except (ScriptError, Exit, Return, Break, Continue) as stop:
                    out.extend(getattr(stop, "partial", []))
                    pending = stop
                finally:
                    if previous is not MISSING:
                        self.scope.set("_", previous)
        except (Exit, Return, Break, Continue) as stop:
            out.extend(getattr(stop, "partial", []))
            pending = stop
        finally:
            self.session.in_try = depth
        if final is not None:  # output already written stays written, whatever the finally block does
            try:
                out.extend(self.block(next(c for c in final.children if c.type == "statement_block")))
            except (ScriptError, Exit, Return, Break, Continue) as stop:
                stop.partial = out + getattr(stop, "partial", [])
                raise
        if pending is not None:
            pending.partial = out
            raise pending
        return out

    def matching_catch(self, clauses: list[Node], error: ScriptError) -> Node | None:
        for clause in clauses:
            types = [self.text(t).strip("[]") for t in clause.named_children if t.type in ("type_literal", "catch_type_list")]
            flat_types: list[str] = []
            for t in types:
                flat_types.extend(p.strip().strip("[]") for p in t.split(","))
            if not flat_types:
                return clause
            exc = error.record.exception_type.lower()
            for name in flat_types:
                low = name.lower()
                low = low if low.startswith("system.") or "." in low else "system." + low
                if low in ("system.exception", "system.systemexception") or low == exc or \
                        (low == "system.management.automation.runtimeexception" and "automation" in exc) or \
                        exc.endswith("." + low.rsplit(".", 1)[-1]):
                    return clause
        return None

    def s_switch_statement(self, node: Node) -> list[Any]:
        cond_node = next(c for c in node.children if c.type == "switch_condition")
        params = [self.text(c).lower() for c in node.children if c.type == "switch_parameters" or c.type == "switch_parameter"]
        flags = " ".join(params)
        value_node = next(c for c in cond_node.named_children if c.type != "comment")
        value = self.value_of(value_node)
        body = next(c for c in node.children if c.type == "switch_body")
        clauses = [c for c in body.named_children if c.type in ("switch_clauses", "switch_clause")]
        flat: list[Node] = []
        for c in clauses:
            flat.extend([c] if c.type == "switch_clause" else [k for k in c.named_children if k.type == "switch_clause"])
        out: list[Any] = []
        items = enumerate_value(value) if value is not None else [None]
        for item in items:
            matched = False
            default = None
            try:
                for clause in flat:
                    cond = next(c for c in clause.named_children if c.type != "comment")
                    action = next(c for c in clause.named_children if c.type == "statement_block")
                    if self.text(cond).lower() == "default":
                        default = action
                        continue
                    if self.switch_matches(cond, item, flags):
                        matched = True
                        out.extend(self.with_dollar_under(item, lambda a=action: self.block(a)))
                if not matched and default is not None:
                    out.extend(self.with_dollar_under(item, lambda: self.block(default)))
            except Continue:
                continue
            except Break:
                break
        return out

    def switch_matches(self, cond: Node, item: Any, flags: str) -> bool:
        if cond.type in ("script_block_expression",):
            block = self.expr(cond)
            return to_bool(self.with_dollar_under(item, lambda: collect(self.session.invoke_block(block, [], dollar_under=item))))
        pattern = self.expr(cond) if cond.type != "generic_token" and cond.type != "simple_name" else self.text(cond)
        case = "-casesensitive" in flags
        if "-wildcard" in flags:
            return ops.like(item, pattern, case)
        if "-regex" in flags:
            m = ops.match(item, pattern, case)
            if m is not None:
                self.scope.set("Matches", ops.match_table(m))
            return m is not None
        return ops.equal(item, pattern, case)

    def with_dollar_under(self, item: Any, run: Any) -> Any:
        previous = self.scope.lookup("_")
        self.scope.set("_", item)
        try:
            return run()
        finally:
            if previous is MISSING:
                self.scope.vars.pop("_", None) if "_" in self.scope.vars else None
            else:
                self.scope.set("_", previous)

    def s_trap_statement(self, node: Node) -> list[Any]:
        raise self.fail(not_supported("trap statements"), node)

    def s_class_statement(self, node: Node) -> list[Any]:
        raise self.fail(not_supported("class definitions"), node)

    def s_param_block(self, node: Node) -> list[Any]:
        return []

    # -- pipelines --------------------------------------------------------------------------------

    def pipeline(self, node: Node) -> list[Any]:
        node = self.unwrap(node)
        if node.type == "command":
            stages = [node]
        elif node.type in ("pipeline", "pipeline_chain"):
            stages = [c for c in node.children if c.type not in ("|", "comment") and c.is_named]
            if len(stages) == 2 and stages[1].type == "redirections":  # `$x.Method() > $null`
                return self.redirected(stages[0], stages[1])
            if any(c.type in ("&&", "||") for c in node.children):
                raise self.fail(not_supported("pipeline chain operators (&&, ||) of PowerShell 7"), node)
        else:
            value = self.expr(node)
            return enumerate_value(value)
        return self.session.run_pipeline(self, stages)

    def redirected(self, expression: Node, redirections: Node) -> list[Any]:
        """An expression's output redirected: `> $null` (and `1>`, `*>`, `>>`) discards it, `2>`…`6>
        $null` leave it (an expression writes only output). A file target is what the engine has not."""
        out = enumerate_value(self.expr(expression))
        for redirection in (c for c in redirections.named_children if c.type == "redirection"):
            op = self.text(redirection.children[0]).strip()
            target = self.text(redirection.children[-1]).strip()
            if target.lower() != "$null":
                raise self.fail(not_supported(f"redirecting to a file ('{op} {target}'): the simulated host has no "
                                              "file system"), redirection)
            if op in (">", ">>", "1>", "1>>", "*>", "*>>"):
                out = []
        return out

    # -- expressions ------------------------------------------------------------------------------

    def value_of(self, node: Node) -> Any:
        """An expression or pipeline as a value (a pipeline's output collected)."""
        node = self.unwrap(node)
        if node.type in ("pipeline", "pipeline_chain", "command") or node.type == "command_name":
            if node.type == "command_name":
                return collect(self.session.run_pipeline(self, [node]))
            return collect(self.pipeline(node))
        if node.type == "statement_list" or hasattr(self, "s_" + node.type):
            return collect(self.statement_raw(node))
        return self.expr(node)

    def expr(self, node: Node) -> Any:
        node = self.unwrap(node)
        handler = getattr(self, "e_" + node.type, None)
        if handler is None:
            if node.type in ("pipeline", "pipeline_chain", "command", "command_name"):
                return self.value_of(node)
            if hasattr(self, "s_" + node.type):
                return collect(self.statement_raw(node))
            if node.type == "ERROR":
                raise self.fail(not_supported("this syntax"), node)
            raise self.fail(not_supported(f"the syntax '{node.type}'"), node)
        try:
            return handler(node)
        except ScriptError as error:
            raise self.fail(error, node)

    # literals

    def e_decimal_integer_literal(self, node: Node) -> Any:
        return parse_number(self.text(node))

    e_hexadecimal_integer_literal = e_decimal_integer_literal
    e_real_literal = e_decimal_integer_literal

    def e_verbatim_string_characters(self, node: Node) -> str:
        text = self.text(node)
        return text[1:-1].replace("''", "'")

    def e_verbatim_here_string_characters(self, node: Node) -> str:
        text = self.text(node)
        body = text[2:-2]
        return _here_body(body)

    def e_expandable_string_literal(self, node: Node) -> str:
        text = self.text(node)
        return self.expand(node, 1, len(text.encode()) - 1).replace('""', '"') if text.startswith('"') else self.expand(node, 0, len(text.encode()))

    def e_expandable_here_string_literal(self, node: Node) -> str:
        return _here_body(self.expand(node, 2, len(self.text(node).encode()) - 2))

    def e_string_literal(self, node: Node) -> Any:
        return self.expr(self.named(node)[0])

    def expand(self, node: Node, start: int, end: int) -> str:
        """Expand `$var`, `${var}`, `$(…)` and backtick escapes inside a double-quoted string."""
        src = self.script.source
        base = node.start_byte
        pieces: list[str] = []
        cursor = base + start
        for child in node.named_children:
            if child.start_byte < cursor or child.end_byte > base + end:
                continue
            pieces.append(_unescape(src[cursor:child.start_byte].decode("utf-8", "replace")))
            if child.type == "sub_expression":
                pieces.append(to_str(self.e_sub_expression(child)))
            elif child.type == "variable":
                pieces.append(to_str(self.e_variable(child)))
            else:
                pieces.append(to_str(self.expr(child)))
            cursor = child.end_byte
        pieces.append(_unescape(src[cursor:base + end].decode("utf-8", "replace")))
        return "".join(pieces)

    def e_generic_token(self, node: Node) -> Any:
        text = self.text(node)
        try:
            return parse_number(text)
        except ValueError:
            return _unescape(text)

    def e_simple_name(self, node: Node) -> str:
        return self.text(node)

    def e_path_command_name(self, node: Node) -> Any:
        """`& $info.ScriptBlock` (members of a variable) or `& $env:windir\\x.exe` (a path built on one)."""
        parts = [c for c in node.named_children if c.type != "comment"]
        value = self.expr(parts[0])
        tokens = [self.text(c) for c in parts[1:]]
        if all(t.startswith(".") for t in tokens):
            for token in tokens:
                for name in token[1:].split("."):
                    value = members.get(value, name)
            return value
        return to_str(value) + "".join(tokens)

    def e_type_literal(self, node: Node) -> TypeRef:
        name = self.text(node).strip()[1:-1].strip()
        return TypeRef(qualified(name, self.script.namespaces))

    # variables

    def e_variable(self, node: Node) -> Any:
        name = self.text(node)
        if name.startswith("@"):
            return self.session.variable(name[1:])
        return self.session.variable(_var_name(name))

    def e_braced_variable(self, node: Node) -> Any:
        return self.session.variable(_var_name(self.text(node)))

    # collections

    def e_array_literal_expression(self, node: Node) -> Any:
        items = [c for c in node.named_children if c.type != "comment"]
        if len(items) == 1 and not any(c.type == "," for c in node.children):
            return self.expr(items[0])
        return [self.expr(c) for c in items]

    def e_array_expression(self, node: Node) -> list[Any]:
        inner = [c for c in node.named_children if c.type != "comment"]
        out: list[Any] = []
        for child in inner:
            out.extend(self.run_block(child) if child.type == "statement_list" else self.statement_raw(child))
        return out

    def e_sub_expression(self, node: Node) -> Any:
        inner = [c for c in node.named_children if c.type != "comment"]
        out: list[Any] = []
        for child in inner:
            out.extend(self.run_block(child) if child.type == "statement_list" else self.statement_raw(child))
        return collect(out)

    def e_parenthesized_expression(self, node: Node) -> Any:
        inner = [c for c in node.named_children if c.type != "comment"]
        if not inner:
            raise not_supported("an empty ()")
        target = self.unwrap(inner[0])
        if target.type in NO_OUTPUT and target.type == "assignment_expression":
            self.expr(target)
            return self.expr(target.children[0])
        return self.value_of(inner[0])

    def e_hash_literal_expression(self, node: Node) -> Hashtable:
        table = Hashtable()
        body = next((c for c in node.named_children if c.type == "hash_literal_body"), None)
        if body is None:
            return table
        for entry in body.named_children:
            if entry.type != "hash_entry":
                continue
            parts = [c for c in entry.named_children if c.type != "comment"]
            key_node, value_node = parts[0], parts[-1]
            key = self.text(key_node) if key_node.type in ("simple_name", "key_expression") and key_node.type == "simple_name" \
                else self.expr(key_node)
            table[key] = self.value_of(value_node)
        return table

    def e_script_block_expression(self, node: Node) -> ScriptBlock:
        text = self.text(node)
        return ScriptBlock(node, self.script, text[1:-1] if text.startswith("{") else text)

    # operators

    def e_assignment_expression(self, node: Node) -> Any:
        target = node.children[0]
        op = self.text(next(c for c in node.children if c.type == "assignement_operator")).strip()
        value_node = node.child_by_field_name("value") or node.children[-1]
        value = self.value_of(value_node)
        if op != "=":
            current = self.expr(target)
            value = ops.arithmetic(op[0], current, value)
        self.assign(target, value)
        return None

    def assign(self, target: Node, value: Any) -> None:
        target = self.unwrap(target)
        if target.type == "left_assignment_expression":
            target = self.unwrap(target.children[0])
        if target.type == "variable":
            self.assign_variable(target, value)
        elif target.type == "cast_expression":
            type_ref = self.expr(target.children[0])
            self.assign(target.children[-1], ops.cast(type_ref, value))
        elif target.type == "member_access":
            obj = self.expr(target.children[0])
            name = self.member_name(target)
            members.put(obj, name, value)
        elif target.type == "element_access":
            obj = self.expr(target.children[0])
            key = self.expr(next(c for c in target.named_children[1:] if c.type != "comment"))
            if isinstance(obj, Hashtable):
                obj[key] = value
            elif isinstance(obj, list):
                index = int(ops.cast(TypeRef("int"), key))
                if not -len(obj) <= index < len(obj):
                    raise runtime("Index was outside the bounds of the array.", "IndexOutOfRange", "OperationStopped")
                obj[index] = value
            elif isinstance(obj, PSObject):
                members.put(obj, to_str(key), value)
            elif obj is None:
                raise null_array()
            else:
                # ParserStrings.CannotIndex
                raise runtime(f'Unable to index into an object of type "{type_name(obj)}".', "CannotIndex")
        elif target.type == "array_literal_expression":  # $a, $b = 1, 2, 3: the last takes the rest
            names = list(target.named_children)
            values = enumerate_value(value)
            for i, name_node in enumerate(names):
                if i == len(names) - 1:
                    rest = values[i:]
                    self.assign(name_node, collect(rest) if len(rest) <= 1 else rest)
                else:
                    self.assign(name_node, values[i] if i < len(values) else None)
        else:
            raise not_supported(f"assigning to '{self.text(target)}'")

    def assign_variable(self, node: Node, value: Any) -> None:
        self.session.set_variable(_var_name(self.text(node)), value)

    def _step(self, node: Node, delta: int, post: bool) -> Any:
        target = next(c for c in node.named_children if c.type != "comment")
        old = self.expr(target)
        new = ops.arithmetic("+", old if old is not None else 0, delta)
        self.assign(target, new)
        return old if post else new

    def e_post_increment_expression(self, node: Node) -> Any:
        return self._step(node, 1, True)

    def e_post_decrement_expression(self, node: Node) -> Any:
        return self._step(node, -1, True)

    def e_pre_increment_expression(self, node: Node) -> Any:
        return self._step(node, 1, False)

    def e_pre_decrement_expression(self, node: Node) -> Any:
        return self._step(node, -1, False)

    def e_logical_expression(self, node: Node) -> Any:
        kids = node.children
        left = to_bool(self.expr(kids[0]))
        op = kids[1].type.lower()
        if op == "-and":
            return left and to_bool(self.expr(kids[2]))
        if op == "-or":
            return left or to_bool(self.expr(kids[2]))
        if op == "-xor":
            return left != to_bool(self.expr(kids[2]))
        raise not_supported(f"the operator '{op}'")

    def e_bitwise_expression(self, node: Node) -> Any:
        kids = node.children
        return ops.bitwise(self.text(kids[1]), self.expr(kids[0]), self.expr(kids[2]))

    def e_comparison_expression(self, node: Node) -> Any:
        kids = [c for c in node.children if c.type != "comment"]
        left = self.expr(kids[0])
        op = self.text(kids[1]).strip()
        right = self.expr(kids[2])
        return ops.compare(op, left, right, lambda table: self.scope.set("Matches", table))

    def e_additive_expression(self, node: Node) -> Any:
        kids = node.children
        return ops.arithmetic(self.text(kids[1]).strip(), self.expr(kids[0]), self.expr(kids[2]))

    e_multiplicative_expression = e_additive_expression

    def e_format_expression(self, node: Node) -> Any:
        kids = node.children
        return ops.format_operator(self.expr(kids[0]), self.expr(kids[2]))

    def e_range_expression(self, node: Node) -> list[int]:
        kids = node.children
        a = int(ops.cast(TypeRef("int"), self.expr(kids[0])))
        b = int(ops.cast(TypeRef("int"), self.expr(kids[2])))
        step = 1 if b >= a else -1
        return list(range(a, b + step, step))

    def e_expression_with_unary_operator(self, node: Node) -> Any:
        op = self.text(node.children[0]).strip().lower()
        operand = node.children[-1]
        if op in ("-not", "!"):
            return not to_bool(self.expr(operand))
        if op == ",":
            return [self.expr(operand)]
        if op == "-":
            return ops.unary_number(self.expr(operand), -1)
        if op == "+":
            return ops.unary_number(self.expr(operand), 1)
        if op == "-bnot":
            return ~int(ops.cast(TypeRef("int"), self.expr(operand)))
        if op in ("-split", "-join"):
            value = self.expr(operand)
            return ops.split(value, r"\s+", False) if op == "-split" else "".join(to_str(v) for v in enumerate_value(value))
        if op == "++" or op == "--":
            return self._step(node, 1 if op == "++" else -1, False)
        raise not_supported(f"the unary operator '{op}'")

    def e_cast_expression(self, node: Node) -> Any:
        type_ref = self.expr(node.children[0])
        return ops.cast(type_ref, self.expr(node.children[-1]))

    # members

    def member_name(self, node: Node) -> str:
        name_node = next((c for c in node.children[1:] if c.type in ("member_name", "simple_name", "variable",
                                                                      "string_literal", "expandable_string_literal",
                                                                      "verbatim_string_characters")), None)
        if name_node is None:
            raise not_supported("this member access")
        inner = self.unwrap(name_node)
        if inner.type in ("simple_name", "member_name"):
            return self.text(inner)
        return to_str(self.expr(inner))

    def e_member_access(self, node: Node) -> Any:
        obj_node = node.children[0]
        static = any(c.type == "::" for c in node.children)
        obj = self.expr(obj_node)
        name = self.member_name(node)
        if static:
            return self.session.static_member(obj, name)
        if isinstance(obj, TypeRef) and name.lower() in ("assembly", "fullname", "name"):  # [PSObject].Assembly
            from nestlab.simulator.pwsh import dotnet
            kind = dotnet.runtime_type(self.session, ops.resolve_type(obj.name))
            return dotnet.assembly(self.session) if name.lower() == "assembly" else members.get(kind, name)
        return members.get(obj, name)

    def e_invokation_expression(self, node: Node) -> Any:
        obj = self.expr(node.children[0])
        static = any(c.type == "::" for c in node.children)
        name = self.member_name(node)
        arg_list = next((c for c in node.children if c.type == "argument_list"), None)
        args: list[Any] = []
        if arg_list is not None:
            exprs = next((c for c in arg_list.named_children if c.type != "comment"), None)
            if exprs is not None:
                inner = self.unwrap(exprs)
                if inner.type == "argument_expression_list":
                    args = [self.expr(c) for c in inner.named_children if c.type != "comment"]
                elif inner.type == "array_literal_expression" and any(c.type == "," for c in inner.children):
                    args = [self.expr(c) for c in inner.named_children]
                else:
                    args = [self.expr(exprs)]
        if static:
            return self.session.static_call(obj, name, args)
        if isinstance(obj, ScriptBlock) and name.lower() == "getsteppablepipeline":
            from nestlab.simulator.pwsh import steppable
            return steppable.make(self.session, obj)
        return members.call(obj, name, args, lambda block, a, *item: collect(self.session.invoke_block(block, a, **({'dollar_under': item[0]} if item else {}))))

    def e_invokation_foreach_expression(self, node: Node) -> list[Any]:
        """`$items.ForEach{ … }` (and `.ForEach({ … })`): the block for each item, $_ the item."""
        items = enumerate_value(self.expr(node.children[0]))
        block = self.expr(next(c for c in node.named_children[1:] if c.type == "script_block_expression"))
        return [r for item in items for r in self.session.invoke_block(block, [], dollar_under=item)]

    def e_element_access(self, node: Node) -> Any:
        obj = self.expr(node.children[0])
        index_node = next(c for c in node.named_children[1:] if c.type != "comment")
        index = self.expr(index_node)
        return index_value(obj, index)


    # the grammar's argument-list variants of the binary expressions evaluate the same way
    e_logical_argument_expression = e_logical_expression
    e_bitwise_argument_expression = e_bitwise_expression
    e_comparison_argument_expression = e_comparison_expression
    e_additive_argument_expression = e_additive_expression
    e_multiplicative_argument_expression = e_additive_expression
    e_format_argument_expression = e_format_expression
    e_range_argument_expression = e_range_expression

    def e_key_expression(self, node: Node) -> Any:
        inner = self.named(node)
        if len(inner) == 1 and inner[0].type == "simple_name":
            return self.text(inner[0])
        return self.expr(inner[0]) if inner else self.text(node)

    def e_integer_literal(self, node: Node) -> Any:
        return parse_number(self.text(node))

    def s_data_statement(self, node: Node) -> list[Any]:
        raise self.fail(not_supported("data sections"), node)

    def s_enum_statement(self, node: Node) -> list[Any]:
        raise self.fail(not_supported("enum definitions"), node)

    def s_sequence_statement(self, node: Node) -> list[Any]:
        raise self.fail(not_supported("workflow sequence statements"), node)

    def s_parallel_statement(self, node: Node) -> list[Any]:
        raise self.fail(not_supported("workflow parallel statements"), node)

    def s_inlinescript_statement(self, node: Node) -> list[Any]:
        raise self.fail(not_supported("workflow inlinescript statements"), node)


@lru_cache(maxsize=4096)
def qualified(name: str, namespaces: tuple[str, ...]) -> str:
    """[File] under `using namespace System.IO` is [System.IO.File]: the first namespace that names a
    known type (generic arguments are left as written); else the name as written."""
    if not namespaces:
        return name
    try:
        ops.resolve_type(name)
        return name
    except ScriptError:
        pass
    head, bracket, rest = name.partition("[")
    for namespace in namespaces:
        candidate = f"{namespace}.{head}"
        for attempt in (candidate + bracket + rest, candidate):
            try:
                ops.resolve_type(attempt)
                return candidate + bracket + rest
            except ScriptError:
                continue
    return name


def index_value(obj: Any, index: Any) -> Any:
    if obj is None:
        raise null_array()
    if isinstance(obj, Hashtable):
        if is_enumerable(index):
            return [obj.get(i) for i in index]
        return obj.get(index)
    if isinstance(obj, PSObject):
        return obj.get(to_str(index)) if isinstance(index, str) else (obj if index in (0, -1) else None)
    seq = obj if isinstance(obj, (list, str)) else [obj]
    if is_enumerable(index):
        return [index_value(seq, i) for i in index]
    try:
        i = int(ops.cast(TypeRef("int"), index))
    except ScriptError:
        return None
    if -len(seq) <= i < len(seq):
        return seq[i]
    return None


def _var_name(text: str) -> str:
    name = text.lstrip("$@")
    if name.startswith("{") and name.endswith("}"):
        name = name[1:-1]
    return name


def _here_body(body: str) -> str:
    """A here-string's text: what lies between the opening line's end and the closing line's start."""
    if body.startswith("\r\n"):
        body = body[2:]
    elif body.startswith("\n"):
        body = body[1:]
    if body.endswith("\r\n"):
        body = body[:-2]
    elif body.endswith("\n"):
        body = body[:-1]
    return body


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "`" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append(ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)
