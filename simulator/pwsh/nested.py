"""`[PowerShell]::Create()`: a second runspace inside a script, built with AddCommand/AddScript and
run with Invoke(), as Ansible's module_wrapper.ps1 runs every module and script.

The new runspace is a fresh engine Session on the same simulated host (same Executor, context
and client host): its own variables, functions and streams. AddCommand runs a function the
runspace defines, Set-Variable, or a simulated cmdlet; AddScript runs script text with its
parameters and arguments. `exit N` inside ends the invocation and leaves N in the runspace's
$LASTEXITCODE (what `SessionStateProxy.GetVariable('LASTEXITCODE')` reads). A terminating error
is thrown from Invoke() as a MethodInvocationException whose InnerException carries the
ErrorRecord; non-terminating ones are in `.Streams.Error`.
"""

from __future__ import annotations

from typing import Any

from nestlab.simulator.psdata import Command
from nestlab.simulator.pwsh.dotnet import DotNetType, method_error, register
from nestlab.simulator.pwsh.errors import Exit, ScriptError
from nestlab.simulator.pwsh.values import DotNet, Hashtable, enumerate_value, to_bool, to_str


def create(session: Any) -> DotNet:
    from nestlab.simulator.pwsh.session import Session

    inner = Session(session.execute, session.context, host=session.host, files=session.files)
    inner.clock = session.clock
    statements: list[list[dict[str, Any]]] = [[]]
    errors: list[Any] = []
    shell: DotNet

    def current() -> dict[str, Any]:
        return statements[-1][-1]

    def add_command(name: Any, local: Any = True) -> DotNet:
        statements[-1].append({"kind": "command", "name": to_str(name), "named": Hashtable(), "args": [],
                               "local": to_bool(local)})
        return shell

    def add_script(text: Any, local: Any = False) -> DotNet:
        statements[-1].append({"kind": "script", "text": to_str(text), "named": Hashtable(), "args": [],
                               "local": to_bool(local)})
        return shell

    def add_parameter(name: Any, value: Any = True) -> DotNet:
        current()["named"][to_str(name)] = value
        return shell

    def add_parameters(values: Any) -> DotNet:
        if isinstance(values, Hashtable) or isinstance(values, dict):
            for k, v in values.items():
                current()["named"][to_str(k)] = v
        else:
            current()["args"].extend(enumerate_value(values))
        return shell

    def add_argument(value: Any) -> DotNet:
        current()["args"].append(value)
        return shell

    def add_statement() -> DotNet:
        statements.append([])
        return shell

    def invoke(*_: Any) -> list[Any]:
        out: list[Any] = []
        try:
            for statement in statements:
                for index, step in enumerate(statement):  # each command gets the previous one's output
                    out = _run(inner, step, out if index else None)
                results.extend(out)
                out = []
        except Exit as stop:
            results.extend(getattr(stop, "partial", []))
            inner.last_exit_code = stop.code
        except ScriptError as error:
            errors.extend(inner.errors)
            raise _thrown(inner, error) from None
        finally:
            session.clock = inner.clock
        errors.extend(inner.error_object(ScriptError(r)) for r in inner.errors)
        done = list(results)
        results.clear()
        return done

    results: list[Any] = []
    proxy = DotNet("System.Management.Automation.Runspaces.SessionStateProxy", {}, {
        "SetVariable": lambda name, value: inner.set_variable(to_str(name), value),
        "GetVariable": lambda name: inner.variable(to_str(name)),
    })
    runspace = DotNet("System.Management.Automation.Runspaces.LocalRunspace", {"SessionStateProxy": proxy,
                                                                               "Debugger": None})
    shell = DotNet("System.Management.Automation.PowerShell", {
        "Runspace": runspace, "Streams": DotNet("System.Management.Automation.PSDataStreams", {"Error": errors}),
        "HadErrors": False}, {
        "AddCommand": add_command, "AddScript": add_script, "AddParameter": add_parameter,
        "AddParameters": add_parameters, "AddArgument": add_argument, "AddStatement": add_statement,
        "Invoke": invoke, "Dispose": lambda: None, "Stop": lambda: None})
    return shell


def _run(inner: Any, step: dict[str, Any], input_: list[Any] | None) -> list[Any]:
    from nestlab.simulator.pwsh.functions import from_node
    from nestlab.simulator.pwsh.parse import parse

    if step["kind"] == "script":
        script = parse(step["text"])
        program = from_node("", script.root, script)
        return inner.call(program, list(step["args"]), step["named"], input_, dot=not step["local"])
    name = step["name"]
    function = inner.functions.get(name.lower())
    if function is not None:
        return inner.call(function, list(step["args"]), step["named"], input_)
    if name.lower() == "set-variable":
        named = step["named"]
        target = named.get("Name")
        scope = to_str(named.get("Scope") or "Local").lower()
        (inner.global_scope if scope == "global" else inner.scope).set(to_str(target), named.get("Value"))
        return []
    command = Command(name, tuple(step["named"].items()), tuple(step["args"]))
    result = inner.execute(inner.context, (command,))
    inner.errors.extend(result.errors)
    return list(result.output)


def _thrown(inner: Any, error: ScriptError) -> ScriptError:
    record = error.record
    thrown = method_error("Invoke", [], record.message, record.reason or "RuntimeException")
    thrown.inner_record = inner.error_object(error)
    return thrown


register(DotNetType("System.Management.Automation.PowerShell", aliases=("powershell",),
                    statics={"create": lambda s, *a: create(s)}))
