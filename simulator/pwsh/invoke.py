"""Commands in a script: resolve a name, evaluate its arguments, run a pipeline of them.

Resolution order is PowerShell's: alias → function → cmdlet. Engine cmdlets (`pwsh.builtins`)
are the language's own (Where-Object, Write-Host …); every other known name is a simulated
cmdlet, reached as a structured `Command` through the Executor with the script's values as its
parameters. Consecutive simulated cmdlets go as one pipeline; objects a script stage hands to a
simulated stage travel through `Write-Output -InputObject`, PowerShell's own way to put objects on
a pipeline. An unknown name fails the whole pipeline before any of it runs
(CommandNotFoundException), as PowerShell resolves commands first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import tree_sitter

from nestlab.simulator import powershell as sim_powershell
from nestlab.simulator.cmdlets import TABLE
from nestlab.simulator.errors import BadInput
from nestlab.simulator.psdata import Command, ErrorRecord
from nestlab.simulator.psparse import ALIASES as SIM_ALIASES
from nestlab.simulator.psparse import ScriptBlock as SimScriptBlock
from nestlab.simulator.pwsh import builtins
from nestlab.simulator.pwsh.errors import ScriptError, not_supported, runtime
from nestlab.simulator.pwsh.functions import Callable_
from nestlab.simulator.pwsh.values import Hashtable, ScriptBlock, enumerate_value, to_str

Node = tree_sitter.Node

RANGE = re.compile(r"^-?\d+\.\.-?\d+$")
NUMBER = re.compile(r"^-?(0x[0-9a-f]+|\d+(\.\d+)?)(kb|mb|gb|tb|pb)?$", re.IGNORECASE)

ALIASES = {**{k.lower(): v for k, v in SIM_ALIASES.items()}, **{
    "where": "Where-Object", "?": "Where-Object", "%": "ForEach-Object", "foreach": "ForEach-Object",
    "select": "Select-Object", "sort": "Sort-Object", "measure": "Measure-Object", "group": "Group-Object",
    "fl": "Format-List", "ft": "Format-Table", "echo": "Write-Output", "write": "Write-Output", "cls": "Clear-Host",
    "clear": "Clear-Host", "gcm": "Get-Command", "gwmi": "Get-WmiObject", "gcim": "Get-CimInstance",
    "gp": "Get-ItemProperty", "gci": "Get-ChildItem", "ls": "Get-ChildItem", "dir": "Get-ChildItem",
    "sleep": "Start-Sleep", "iex": "Invoke-Expression", "icm": "Invoke-Command", "gsv": "Get-Service",
    "sls": "Select-String", "oh": "Out-Host", "gv": "Get-Variable", "sv": "Set-Variable", "gm": "Get-Member",
    "tee": "Tee-Object", "ogv": "Out-GridView", "gjb": "Get-Job", "sajb": "Start-Job",
}}

COMMON = {"erroraction": "ErrorAction", "ea": "ErrorAction", "warningaction": "WarningAction", "wa": "WarningAction",
          "errorvariable": "ErrorVariable", "ev": "ErrorVariable", "outvariable": "OutVariable", "ov": "OutVariable",
          "verbose": "Verbose", "vb": "Verbose", "debug": "Debug", "db": "Debug", "informationaction": "InformationAction",
          "infa": "InformationAction", "warningvariable": "WarningVariable", "wv": "WarningVariable",
          "informationvariable": "InformationVariable", "iv": "InformationVariable", "outbuffer": "OutBuffer",
          "ob": "OutBuffer", "pipelinevariable": "PipelineVariable", "pv": "PipelineVariable"}

# Switch parameters of simulated cmdlets (the table does not say which parameters are switches):
# a switch never takes the next argument, as in PowerShell.
SWITCHES = {"online", "force", "passthru", "confirm", "whatif", "turnoff", "save", "asjob", "recurse", "stream",
            "includemanagementtools", "includeallsubfeature", "restart", "norestart", "all", "list", "quiet",
            "detailed", "wait", "keep", "exact", "asstring", "raw", "simplematch", "descending", "unique",
            "nonewline", "compress", "casesensitive", "allmatches", "notmatch", "autosize", "wrap",
            "hidetableheaders", "sum", "average", "maximum", "minimum", "character", "line", "word", "noclobber",
            "noelement", "ashashtable", "valueonly", "noenumerate", "completed", "strict", "allstats"}


@dataclass
class Arg:
    name: str | None  # a parameter name as written (no dash), or None for a positional argument
    value: Any = True
    explicit: bool = False  # -Name:value or -Name value (not a bare switch)
    node: Node | None = None
    colon: bool = False  # -Name:value (a switch's own value), not -Name value
    source: Node | None = None  # the value's node


@dataclass
class Stage:
    """One command of a pipeline, resolved and with its arguments evaluated."""

    kind: str  # "function", "builtin", "simulated", "block", "expression"
    name: str
    args: list[Arg] = field(default_factory=list)
    target: Any = None  # Callable_, builtins.Builtin, simulated Cmdlet, ScriptBlock
    dot: bool = False
    node: Node | None = None
    merge_errors: bool = False
    discard: set[str] = field(default_factory=set)  # streams sent to $null: "output", "error", "all"
    value: Any = None  # for "expression" stages: the first element's value

    def common(self, name: str) -> Any:
        for arg in self.args:
            if arg.name is not None and COMMON.get(arg.name.lower()) == name:
                return arg.value
        return None


def run_pipeline(evaluator: Any, nodes: list[Node], initial: list[Any] | None = None) -> list[Any]:
    """Run one pipeline; `initial` is input for its first command (a steppable pipeline's Process)."""
    session = evaluator.session
    stages = [_stage(evaluator, node, first=i == 0) for i, node in enumerate(nodes)]
    _resolve_first(evaluator, stages)
    session.ok = True  # $? of this statement: False once any of its stages writes an error
    output: list[Any] | None = initial
    i = 0
    while i < len(stages):
        stage = stages[i]
        if stage.kind == "simulated":
            j = i
            while j + 1 < len(stages) and stages[j + 1].kind == "simulated":
                j += 1
            output = _run_simulated(evaluator, stages[i:j + 1], output)
            i = j + 1
            continue
        output = _run_stage(evaluator, stage, output)
        i += 1
    return output or []


def _resolve_first(evaluator: Any, stages: list[Stage]) -> None:
    """PowerShell resolves every command before a pipeline runs: a name no table knows, in a pipeline
    the engine splits across the Executor and itself, fails the whole pipeline here. (A pipeline the
    Executor runs whole is resolved by the Executor, which may be a host with commands of its own.)"""
    segments = sum(1 for i, s in enumerate(stages) if s.kind != "simulated" or i == 0 or stages[i - 1].kind != "simulated")
    if segments <= 1:
        return
    for stage in stages:
        if stage.kind == "simulated" and stage.target is None:
            raise evaluator.fail(ScriptError(sim_powershell.command_not_found(stage.name)), stage.node)


def _stage(evaluator: Any, node: Node, *, first: bool) -> Stage:
    session = evaluator.session
    node = evaluator.unwrap(node)
    literal = _literal(evaluator, node)
    if literal is not None:
        node = literal
    if node.type not in ("command", "command_name") or literal is not None:
        if not first:
            raise evaluator.fail(runtime("Expressions are only allowed as the first element of a pipeline.",
                                         "ExpressionsMustBeFirstInPipeline", "ParserError"), node)
        value = _range_or_number(evaluator.text(node)) if node.type == "command_name" else evaluator.expr(node)
        return Stage("expression", "", node=node, value=value)
    operator = next((c for c in node.children if c.type == "command_invokation_operator"), None)
    name_node = node.child_by_field_name("command_name") if node.type == "command" else node
    if name_node is None:
        name_node = next(c for c in node.named_children if c.type != "command_invokation_operator")
    if name_node.type == "command_name_expr" and name_node.named_child_count == 1:
        name_node = name_node.named_children[0]
    elements = node.child_by_field_name("command_elements") if node.type == "command" else None
    stage = Stage("simulated", "", node=node, dot=operator is not None and evaluator.text(operator).strip() == ".")
    if elements is not None:
        stage.args = _arguments(evaluator, elements, stage)
    if name_node.type == "command_name" and operator is None or (name_node.type == "command_name" and
                                                                  not evaluator.text(name_node).startswith("$")):
        name = evaluator.text(name_node)
    else:
        target = evaluator.expr(name_node)
        if isinstance(target, ScriptBlock):
            stage.kind, stage.target, stage.name = "block", target, "<scriptblock>"
            return stage
        if isinstance(target, Callable_):
            stage.kind, stage.target, stage.name = "function", target, target.name
            return stage
        name = to_str(target)
    return _resolve(session, evaluator, stage, name, node)


def _range_or_number(text: str) -> Any:
    from nestlab.simulator.pwsh.values import parse_number

    if RANGE.match(text):
        a, b = (int(x) for x in re.split(r"(?<=\d)\.\.", text))
        return list(range(a, b + (1 if b >= a else -1), 1 if b >= a else -1))
    return parse_number(text)


def _literal(evaluator: Any, node: Node) -> Node | None:
    """`1..3 | …` and `4gb` read as a command name by the grammar: they are expressions (a range, a number)."""
    name = node if node.type == "command_name" else (node.child_by_field_name("command_name") if node.type == "command" else None)
    elements = node.child_by_field_name("command_elements") if node.type == "command" else None
    if name is None or (elements is not None and any(c.type != "command_argument_sep" for c in elements.children)
                        and elements.type != "command_argument_sep"):
        return None
    text = evaluator.text(name)
    if RANGE.match(text) or NUMBER.match(text):
        return name
    return None


def _resolve(session: Any, evaluator: Any, stage: Stage, name: str, node: Node) -> Stage:
    stage.name = name
    low = name.lower()
    if low in session.functions:
        stage.kind, stage.target = "function", session.functions[low]
        return stage
    real = ALIASES.get(low, name)
    stage.name = real
    builtin = builtins.find(real)
    if builtin is not None:
        stage.kind, stage.target = "builtin", builtin
        return stage
    entry = TABLE.get(real.lower())
    if entry is not None:
        stage.kind, stage.target = "simulated", entry
        return stage
    if low.endswith(".ps1") or "\\" in name or "/" in name:
        text = session.files(name) if session.files is not None else None
        if text is None:  # a script file on the simulated host (copied there by a client)
            from nestlab.simulator.pwsh import dotnet_io

            data = dotnet_io.read(session, dotnet_io.full_path(name, dotnet_io.LOCATION))
            text = dotnet_io.script_text(data) if data is not None else None
        if text is not None:
            stage.kind, stage.target = "file", text
            return stage
    stage.kind = "simulated"  # not in this table: the Executor's own host decides (CommandNotFound there)
    return stage


def _arguments(evaluator: Any, elements: Node, stage: Stage) -> list[Arg]:
    args: list[Arg] = []
    pending: Arg | None = None
    colon = False
    children = [c for c in elements.children if c.type != "comment"]
    for index, child in enumerate(children):
        kind = child.type
        if kind == "command_argument_sep":
            if evaluator.text(child).strip() == ":" and pending is not None:
                colon = True
            continue
        if kind == "command_parameter":
            text = evaluator.text(child)
            name = text[1:]
            if name.endswith(":"):
                name, colon = name[:-1], True
            else:
                colon = False
            pending = Arg(name, True, False, child)
            args.append(pending)
            if name.lower() in SWITCHES and not colon:
                pending = None
            continue
        if kind == "merging_redirection_operator":
            text = evaluator.text(child).strip()
            if text in ("2>&1", "*>&1"):
                stage.merge_errors = True
                continue
            if text.endswith(">&1"):
                continue
            raise evaluator.fail(not_supported(f"the redirection '{text}'"), child)
        if kind == "redirection":
            op = evaluator.text(child.children[0]).strip()
            target = evaluator.text(child.children[-1]).strip()
            if target.lower() == "$null":
                stage.discard.add({"2>": "error", "*>": "all", "3>": "warning", "4>": "verbose"}.get(op, "output"))
                continue
            raise evaluator.fail(not_supported(f"redirecting to a file ('{op} {target}'): the simulated host has no "
                                               "file system"), child)
        if kind == "argument_list" and index > 0 and evaluator.unwrap(children[index - 1]).type == "member_access" \
                and children[index - 1].end_byte == child.start_byte and args and args[-1].source == children[index - 1]:
            args[-1].value = _method_call(evaluator, evaluator.unwrap(children[index - 1]), child)  # `-P $c.Get()`
            continue
        if kind == "stop_parsing":
            raise evaluator.fail(not_supported("the stop-parsing token --%"), child)
        value = _argument_value(evaluator, child)
        splat = evaluator.unwrap(child).type == "variable" and evaluator.text(child).startswith("@")
        if splat:
            if isinstance(value, Hashtable):
                for key, v in value.items():
                    args.append(Arg(to_str(key), v, True, child))
            else:
                args.extend(Arg(None, v, False, child) for v in enumerate_value(value))
            pending = None
            continue
        if pending is not None and not pending.explicit and (colon or _takes_value(pending)):
            pending.value, pending.explicit, pending.colon, pending.source = value, True, colon, child
            pending, colon = None, False
            continue
        args.append(Arg(None, value, False, child, source=child))
        pending, colon = None, False
    return args


def _method_call(evaluator: Any, member: Node, arg_list: Node) -> Any:
    from nestlab.simulator.pwsh import members
    from nestlab.simulator.pwsh.values import collect

    target = evaluator.expr(member.children[0])
    values = [evaluator.expr(c) for c in arg_list.named_children if c.type != "comment"]
    if len(values) == 1 and arg_list.named_children[0].type == "argument_expression_list":
        inner = arg_list.named_children[0]
        values = [evaluator.expr(c) for c in inner.named_children if c.type != "comment"]
    session = evaluator.session
    return members.call(target, evaluator.member_name(member), values,
                        lambda block, a, *item: collect(session.invoke_block(block, a, **({"dollar_under": item[0]} if item else {}))))


def _takes_value(arg: Arg) -> bool:
    return arg.name is not None and arg.name.lower() not in SWITCHES


def _argument_value(evaluator: Any, node: Node) -> Any:
    inner = evaluator.unwrap(node)
    if inner.type == "argument_list":  # `New-Object Type($x)`: the parenthesised part is one more argument
        values = [evaluator.expr(c) for c in inner.named_children if c.type != "comment"]
        return values[0] if len(values) == 1 else values
    if inner.type == "generic_token":
        text = evaluator.text(inner)
        if inner.named_child_count:  # a bareword with $var or $(…) inside expands like a string
            return evaluator.expand(inner, 0, len(text.encode()))
        return evaluator.e_generic_token(inner)
    if inner.type == "command_name":
        return evaluator.text(inner)
    return evaluator.expr(node)


# -- running stages --------------------------------------------------------------------------------

def _run_stage(evaluator: Any, stage: Stage, input_: list[Any] | None) -> list[Any]:
    session = evaluator.session
    if stage.kind == "expression":
        return enumerate_value(stage.value) if stage.value is not None else []
    mark = len(session.errors)
    action = _action(session, stage)
    try:
        if stage.kind == "builtin":
            out = stage.target.run(session, evaluator, stage, input_, action)
        elif stage.kind in ("function", "block"):
            named, positional = _split(stage)
            function = stage.target
            if stage.kind == "block":
                out = session.invoke_block(function, positional, named=named, pipeline_input=input_, dot=stage.dot)
            else:
                out = session.call(function, positional, named, input_, dot=stage.dot)
        elif stage.kind == "file":
            out = _dot_source(evaluator, stage, input_)
        else:
            raise not_supported(f"the command '{stage.name}'")
    except ScriptError as error:
        evaluator.fail(error, stage.node)
        if action.lower() == "stop":
            error.script_terminating = True
        raise
    return _redirect(session, stage, out, mark)


def _dot_source(evaluator: Any, stage: Stage, input_: list[Any] | None) -> list[Any]:
    from nestlab.simulator.pwsh.evaluator import Evaluator
    from nestlab.simulator.pwsh.functions import from_node
    from nestlab.simulator.pwsh.parse import parse

    script = parse(stage.target)
    function = from_node(stage.name, script.root, script)
    named, positional = _split(stage)
    return evaluator.session.call(function, positional, named, input_, dot=stage.dot)


def _split(stage: Stage) -> tuple[Hashtable, list[Any]]:
    """A function's arguments, common parameters included: an advanced function takes them (Session._bind),
    a simple one with parameters rejects them, as PowerShell does."""
    named, positional = Hashtable(), []
    for arg in stage.args:
        if arg.name is None:
            positional.append(arg.value)
        else:
            named[arg.name] = arg.value
    return named, positional


def _action(session: Any, stage: Stage) -> str:
    explicit = stage.common("ErrorAction")
    if explicit is not None:
        return to_str(explicit)
    return to_str(session.variable("ErrorActionPreference") or "Continue")


def _redirect(session: Any, stage: Stage, out: list[Any], mark: int) -> list[Any]:
    if stage.merge_errors and len(session.errors) > mark:
        moved = session.errors[mark:]
        del session.errors[mark:]
        del session.positions[mark:]
        out = [*out, *moved]
    if "error" in stage.discard or "all" in stage.discard:
        del session.errors[mark:]
        del session.positions[mark:]
    if "output" in stage.discard or "all" in stage.discard:
        return []
    return out


def _run_simulated(evaluator: Any, stages: list[Stage], input_: list[Any] | None) -> list[Any]:
    """One structured pipeline through the Executor: the fast path the diagnosis also uses."""
    session = evaluator.session
    commands: list[Command] = []
    if input_ is not None:
        commands.append(Command("Write-Output", (("InputObject", list(input_)),)))
    for stage in stages:
        commands.append(_command(stage))
    mark = len(session.errors)
    try:
        result = session.execute(session.context, tuple(commands))
    except BadInput:
        raise
    except Exception as exc:  # a simulator bug: this statement fails, as the endpoint reports it, the script goes on
        raise ScriptError(ErrorRecord(f"The served simulator failed: {type(exc).__name__}: {exc}",
                                      "SimulatorInternalError", "NotSpecified",
                                      exception_type="System.InvalidOperationException"),
                          evaluator.script.position(stages[0].node)) from exc
    errors = list(result.errors)
    terminating = errors.pop() if result.failed and errors else None
    by_name = {s.name.lower(): s for s in stages}
    for record in errors:
        stage = by_name.get((record.activity or "").lower(), stages[-1])
        session.write_error(record, _action(session, stage), evaluator.script.position(stage.node))
    native = [s for s in stages if s.target is not None and getattr(s.target.func, "__module__", "").endswith(".native")]
    if result.failed and terminating is not None and terminating.fully_qualified_error_id == "CommandNotFoundException":
        stage = by_name.get(terminating.target_name.lower(), stages[0])
        raise ScriptError(terminating, evaluator.script.position(stage.node))
    if native:  # the code the program ends with after what it printed (cmdlets.native.exit_code), as on WinRS
        from nestlab.simulator.cmdlets.native import exit_code as native_exit_code
        session.last_exit_code = native_exit_code(native[-1].name, result.output) or (1 if result.errors else 0)
    if terminating is not None:
        stage = by_name.get((terminating.activity or "").lower(), stages[-1])
        error = ScriptError(terminating, evaluator.script.position(stage.node),
                            script_terminating=_action(session, stage).lower() == "stop")
        raise error
    if result.errors:
        session.ok = False
    out = list(result.output)
    last = stages[-1]
    merged = Stage(last.kind, last.name, merge_errors=any(s.merge_errors for s in stages),
                   discard=set().union(*(s.discard for s in stages)))
    return _redirect(session, merged, out, mark)


def _command(stage: Stage) -> Command:
    params: list[tuple[str, Any]] = []
    positional: list[Any] = []
    for arg in stage.args:
        value = _wire(arg.value)
        if arg.name is None:
            positional.append(value)
        elif arg.name.lower() in COMMON:
            continue  # the engine applies common parameters itself
        else:
            params.append((arg.name, value))
    return Command(stage.name, tuple(params), tuple(positional))


def _wire(value: Any) -> Any:
    if isinstance(value, ScriptBlock):
        return SimScriptBlock(value.text.strip())
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


__all__ = ["run_pipeline", "ALIASES", "Stage", "Arg"]
