"""One script run's state: streams, scopes, functions, $?, $LASTEXITCODE, $Error, the clock.

The evaluator walks the tree; the Session is what the walk changes. It knows where the script
runs (`context`) and reaches the simulated host only through the Executor, never the lab.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable, Sequence

from nestlab.simulator.psdata import ErrorRecord, PSObject
from nestlab.simulator.pwsh import automatic, dotnet, dotnet_compile, dotnet_io, members, nested  # noqa: F401 (registers types)
from nestlab.simulator.pwsh.errors import Exit, Return, ScriptError, runtime
from nestlab.simulator.pwsh.functions import (Callable_, from_node, missing_mandatory, ordered_positionals,
                                              positional_not_found, unknown_parameter)
from nestlab.simulator.pwsh.ops import cast, resolve_type
from nestlab.simulator.pwsh.scope import MISSING, Scope
from nestlab.simulator.pwsh.values import DotNet, Enumerator, Hashtable, ScriptBlock, TypeRef, enumerate_value, to_number, to_str

START = datetime(2026, 11, 20, 9, 0, 0)  # the simulated hosts' clock (simulator.cmdlets.system.NOW)
LOOP_LIMIT = 10_000
SLEEP_LIMIT = 600.0  # simulated seconds a single loop may wait (heartbeat waits take far less)
PREFERENCES = {"ErrorActionPreference": "Continue", "WarningPreference": "Continue", "VerbosePreference": "SilentlyContinue",
               "DebugPreference": "SilentlyContinue", "InformationPreference": "SilentlyContinue",
               "ProgressPreference": "Continue", "ConfirmPreference": "High", "WhatIfPreference": False}


def _switch_preference(value: Any) -> str:
    return "Continue" if value is True or (value is not False and str(value).lower() not in ("false", "0")) else "SilentlyContinue"


# The common parameters an advanced function or script takes: each sets its preference variable in the call's scope.
COMMON_PREFERENCES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "verbose": ("VerbosePreference", _switch_preference), "vb": ("VerbosePreference", _switch_preference),
    "debug": ("DebugPreference", _switch_preference), "db": ("DebugPreference", _switch_preference),
    "erroraction": ("ErrorActionPreference", to_str), "ea": ("ErrorActionPreference", to_str),
    "warningaction": ("WarningPreference", to_str), "wa": ("WarningPreference", to_str),
    "informationaction": ("InformationPreference", to_str), "infa": ("InformationPreference", to_str),
}


class Stream(list):
    """A stream's records; each append is logged so a console can print every stream in order."""

    def __init__(self, kind: str, events: list[tuple[str, int]]) -> None:
        super().__init__()
        self.kind = kind
        self.events = events

    def append(self, item: Any) -> None:
        super().append(item)
        self.events.append((self.kind, len(self) - 1))

    def extend(self, items: Any) -> None:
        for item in items:
            self.append(item)


class Session:
    def __init__(self, execute: Callable, context: str, *, host: Any = None, computer: str = "", user: str = "",
                 build: int = 17763, files: Callable[[str], str | None] | None = None, script_text: str = "") -> None:
        self.execute = execute
        self.context = context
        self.host = host
        self.files = files
        self.events: list[tuple[str, int]] = []  # (stream, index) in the order things were written
        self.errors: list[ErrorRecord] = Stream("error", self.events)
        self.positions: list[str] = []
        self.warnings: list[str] = Stream("warning", self.events)
        self.verbose: list[str] = Stream("verbose", self.events)
        self.debug: list[str] = Stream("debug", self.events)
        self.information: list[str] = Stream("information", self.events)
        self.top_block: Any = None  # the script's own statement list: its output is logged as it is written
        self.error_list: list[Any] = []  # $Error, newest first
        self.functions: dict[str, Callable_] = {}
        self.ok = True
        self.last_exit_code: Any = None
        self.clock = 0.0
        self.loop_clock = 0.0
        self.in_try = 0
        self.returned: list[Any] = []
        self.global_scope = Scope(kind="global")
        for name, value in PREFERENCES.items():
            self.global_scope.set(name, value)
        self.scope = Scope(self.global_scope, kind="script")
        self.env = automatic.environment(computer or context.rsplit("/", 1)[-1], user or "Administrator")
        self.user = user or f"{(computer or context).upper()}\\Administrator"
        self.build = build
        self._host = automatic.host(self._read_line if host is not None else None, self.write_host_text)
        self.should_exit: int | None = None  # $Host.SetShouldExit(n): the exit code a remote host reports
        self._host.methods.setdefault("SetShouldExit", self._set_should_exit)
        self.invocation = DotNet("System.Management.Automation.InvocationInfo", {
            "MyCommand": DotNet("System.Management.Automation.ScriptInfo", {"Definition": script_text, "Path": None,
                                                                            "Name": ""}),
            "ScriptName": "", "Line": "", "PSScriptRoot": "", "PSCommandPath": None})

    # -- streams ---------------------------------------------------------------------------------

    def _set_should_exit(self, code: Any) -> None:
        self.should_exit = int(to_number(code))

    def write_host_text(self, text: str) -> None:
        self.information.append(text)

    def _read_line(self, prompt: str) -> str:
        return self.host.read_line(prompt)

    def report(self, error: ScriptError) -> None:
        """A statement-terminating or non-terminating error that reached the error stream."""
        self.errors.append(error.record)
        self.positions.append(error.position.render() if error.position else "")
        self.error_list.insert(0, self.error_object(error))
        self.ok = False

    def write_error(self, record: ErrorRecord, action: str, position: Any = None) -> None:
        """A non-terminating error under an -ErrorAction: Stop makes it terminating (catchable)."""
        action = (action or "Continue").lower()
        error = ScriptError(record, position)
        if action == "stop":
            error.script_terminating = True
            raise error
        self.ok = False
        if action == "ignore":
            return
        self.error_list.insert(0, self.error_object(error))
        if action == "silentlycontinue":
            return
        self.errors.append(record)
        self.positions.append(position.render() if position is not None else "")

    def succeeded(self) -> None:
        self.ok = True

    def tick(self, guard: int) -> int:
        """One more loop iteration. A simulated lab changes only when a cmdlet changes it, never while a
        script waits: a loop still going after LOOP_LIMIT turns, or after SLEEP_LIMIT seconds of
        Start-Sleep, would wait forever — it is stopped with an error instead of hanging the host."""
        if guard >= LOOP_LIMIT or (guard and self.clock - self.loop_clock >= SLEEP_LIMIT):
            raise runtime(f"The simulated host stopped a loop after {guard} iterations and {self.clock - self.loop_clock:.0f} "
                          "seconds of simulated waiting: nothing in the lab changes while a script waits.",
                          "LoopLimit", "LimitsExceeded")
        if guard == 0:
            self.loop_clock = self.clock
        return guard + 1

    def error_object(self, error: ScriptError) -> DotNet:
        """$_ in catch, an entry of $Error: an ErrorRecord with .Exception.Message, FullyQualifiedErrorId …"""
        rec = error.record
        exception = DotNet(rec.exception_type, {"Message": rec.message, "InnerException": None,
                                                "ErrorRecord": None}, text=rec.message)
        info = DotNet("System.Management.Automation.ErrorCategoryInfo", {
            "Category": rec.category, "Activity": rec.activity, "Reason": rec.reason, "TargetName": rec.target_name,
            "TargetType": rec.target_type}, text=rec.category_info)
        position = error.position.render() if error.position else ""
        invocation = DotNet("System.Management.Automation.InvocationInfo", {
            "ScriptLineNumber": error.position.line if error.position else 0,
            "OffsetInLine": error.position.column if error.position else 0,
            "Line": error.position.text if error.position else "", "PositionMessage": position,
            "MyCommand": rec.activity})
        return DotNet("System.Management.Automation.ErrorRecord", {
            "Exception": exception, "FullyQualifiedErrorId": rec.fully_qualified_error_id, "CategoryInfo": info,
            "TargetObject": error.thrown if error.thrown is not None else (rec.target_name or None),
            "InvocationInfo": invocation, "ErrorDetails": None, "ScriptStackTrace": position,
            "__record__": rec,
        }, text=rec.message)

    # -- variables ---------------------------------------------------------------------------------

    def variable(self, name: str) -> Any:
        prefix, _, rest = name.partition(":")
        if rest and len(prefix) > 1:
            low = prefix.lower()
            if low == "env":
                return self.env.get(rest)
            if low == "global":
                return self.global_scope.get(rest)
            if low == "script":
                return self.scope.find("script").get(rest)
            if low in ("local", "private"):
                return self.scope.vars.get(rest)
            if low == "using":
                return self.variable(rest)
            if low == "variable":
                return self.variable(rest)
            if low == "function":
                return self.functions.get(rest.lower())
            return None  # a provider path this host has no drive for reads as $null
        low = name.lower()
        automatic_value = self._automatic(low)
        if automatic_value is not MISSING:
            return automatic_value
        return self.scope.get(name)

    def _automatic(self, low: str) -> Any:
        if low == "true":
            return True
        if low == "false":
            return False
        if low == "null":
            return None
        if low == "?":
            return self.ok
        if low == "lastexitcode":
            return self.last_exit_code
        if low == "error":
            return self.error_list
        if low == "host":
            return self._host
        if low == "psversiontable":
            return automatic.ps_version_table(self.build)
        if low == "myinvocation":
            found = self.scope.lookup("MyInvocation")
            return self.invocation if found is MISSING else found
        if low in ("psscriptroot", "pscommandpath"):
            found = self.scope.lookup(low)
            return "" if found is MISSING else found
        if low == "pid":
            return 4242
        if low == "home":
            return self.env.get("USERPROFILE")
        if low == "pwd":
            return "C:\\Users\\Administrator\\Documents"
        if low == "shellid":
            return "Microsoft.PowerShell"
        if low == "psitem":
            return self.scope.get("_")
        if low == "executioncontext":
            return DotNet("System.Management.Automation.EngineIntrinsics", {"SessionState": dotnet_io.session_state(self)})
        return MISSING

    def set_variable(self, name: str, value: Any) -> None:
        prefix, _, rest = name.partition(":")
        if rest and len(prefix) > 1:
            low = prefix.lower()
            if low == "env":
                self.env[rest] = None if value is None else to_str(value)
                return
            if low == "global":
                self.global_scope.set(rest, value)
                return
            if low == "script":
                self.scope.find("script").set(rest, value)
                return
            if low in ("local", "private", "variable"):
                self.scope.set(rest, value)
                return
            if low == "function" and isinstance(value, ScriptBlock):  # ${function:Name} = { … }
                self.functions[rest.lower()] = from_node(rest, value.node, value.script)
                return
            raise runtime(f"Cannot find drive. A drive with the name '{prefix}' does not exist.", "DriveNotFound",
                          "ObjectNotFound")
        low = name.lower()
        if low == "null":
            return
        if low in ("true", "false", "host", "psversiontable", "?", "error"):
            raise runtime(f"Cannot overwrite variable {name} because it is read-only or constant.", "VariableNotWritable",
                          "WriteError")
        if low == "lastexitcode":
            self.last_exit_code = value
            return
        self.scope.set(name, value)

    def run_pipeline(self, evaluator: Any, nodes: list[Any]) -> list[Any]:
        from nestlab.simulator.pwsh.invoke import run_pipeline

        return run_pipeline(evaluator, nodes)

    # -- functions and script blocks -----------------------------------------------------------------

    def define_function(self, name: str, node: Any, script: Any, *, is_filter: bool = False) -> None:
        self.functions[name.lower()] = from_node(name, node, script, is_filter=is_filter)

    def invoke_block(self, block: ScriptBlock, args: Sequence[Any] = (), *, dollar_under: Any = MISSING,
                     pipeline_input: Sequence[Any] | None = None, dot: bool = False, named: Hashtable | None = None) -> list[Any]:
        """Run a script block: a new scope (or the current one when dot-sourced), $_ and $args set."""
        function = from_node("", block.node, block.script)
        return self.call(function, list(args), named or Hashtable(), pipeline_input, dot=dot, dollar_under=dollar_under)

    def call(self, function: Callable_, positional: list[Any], named: Hashtable, pipeline_input: Sequence[Any] | None,
             *, dot: bool = False, dollar_under: Any = MISSING) -> list[Any]:
        from nestlab.simulator.pwsh.evaluator import Evaluator

        evaluator = Evaluator(self, function.script)
        saved = self.scope
        if not dot:
            self.scope = Scope(saved, kind="function")
        try:
            pipeline_param = self._bind(evaluator, function, positional, named)
            pipeline_type = _qualified(next((p.type_name for p in function.parameters if p.name == pipeline_param), ""),
                                       function)
            if dollar_under is not MISSING:
                self.scope.set("_", dollar_under)
            out: list[Any] = []
            items = list(pipeline_input) if pipeline_input is not None else None
            if function is getattr(self, "program", None):
                self.invocation.properties["UnboundArguments"] = list(self.scope.get("args") or [])
            # $input: empty in begin; the current item in process; what is left in end (all of it
            # when there is no process block), one enumerator that reading consumes
            self.scope.set("input", Enumerator(() if function.process is not None else (items or ())))
            try:
                return self._blocks(evaluator, function, items, pipeline_param, pipeline_type, dollar_under, out)
            except (Exit, ScriptError) as stop:  # what the earlier blocks wrote stays written
                stop.partial = out + getattr(stop, "partial", [])
                raise
        finally:
            self.scope = saved

    def _blocks(self, evaluator: Any, function: Callable_, items: list[Any] | None, pipeline_param: str | None,
                pipeline_type: str, dollar_under: Any, out: list[Any]) -> list[Any]:
        """Run begin, process (once per item) and end; `out` collects what each has written."""
        out.extend(self._named_block(evaluator, function.begin))
        if function.process is not None:
            for item in items if items is not None else [dollar_under if dollar_under is not MISSING else None]:
                self.scope.set("_", item)
                self.scope.set("input", Enumerator([item] if items is not None else ()))
                if pipeline_param is not None and items is not None:
                    self.scope.set(pipeline_param, _as_parameter(pipeline_type, item))
                out.extend(self._named_block(evaluator, function.process))
            self.scope.set("input", Enumerator())
        out.extend(self._named_block(evaluator, function.end))
        return out

    def _named_block(self, evaluator: Any, block: Any) -> list[Any]:
        if block is None:
            return []
        try:
            if block.type == "statement_block":
                return evaluator.block(block)
            return evaluator.run_block(block)
        except Return as stop:  # `return`: what the block wrote so far, then the returned value
            out, self.returned = [*getattr(stop, "partial", []), *self.returned], []
            return out

    def _bind(self, evaluator: Any, function: Callable_, positional: list[Any], named: Hashtable) -> str | None:
        params = function.parameters
        bound: dict[str, Any] = {}
        label = function.name or "<scriptblock>"
        for key, value in named.items():
            preference = COMMON_PREFERENCES.get(str(key).lower())
            if preference is not None and function.advanced and not any(p.name.lower() == str(key).lower() for p in params):
                self.scope.set(preference[0], preference[1](value))  # -Verbose, -ErrorAction … of [CmdletBinding()]
                continue
            matches = [p for p in params if p.name.lower() == str(key).lower()] or \
                [p for p in params if p.name.lower().startswith(str(key).lower())]
            if len(matches) != 1:
                if not params and not function.advanced:
                    positional.append(f"-{key}")
                    if value is not True:
                        positional.append(value)
                    continue
                raise unknown_parameter(label, str(key))
            bound[matches[0].name] = value
        rest: list[Any] = []
        free = [p for p in ordered_positionals(params) if p.name not in bound]
        for value in positional:
            if free:
                bound[free.pop(0).name] = value
            elif function.advanced:
                raise positional_not_found(label, to_str(value))
            else:
                rest.append(value)
        self.scope.set("args", rest)
        self.scope.set("PSBoundParameters", Hashtable((k, v) for k, v in bound.items()))
        missing = [p.name for p in params if p.mandatory and p.name not in bound and not p.from_pipeline]
        if missing:
            raise missing_mandatory(label, missing)
        pipeline_param = None
        for p in params:
            if p.from_pipeline and pipeline_param is None:
                pipeline_param = p.name
            if p.name in bound:
                value = bound[p.name]
            elif p.default is not None:
                value = evaluator.value_of(p.default)
            elif p.is_switch:
                value = False
            else:
                value = None
            if p.type_name and value is not None or p.type_name.lower() in ("string", "switch", "bool", "int"):
                try:
                    value = cast(TypeRef(_qualified(p.type_name, function)), value) if p.type_name else value
                except ScriptError:
                    raise
            self.scope.set(p.name, value)
        return pipeline_param

    # -- .NET statics --------------------------------------------------------------------------------

    def static_member(self, type_ref: Any, name: str) -> Any:
        if not isinstance(type_ref, TypeRef):
            return members.get(type_ref, name)
        full = resolve_type(type_ref.name)
        known = dotnet.static_member(self, full, name)
        if known is not dotnet.NOT_HERE:
            return known
        if full == "System.DateTime" and name.lower() in ("now", "utcnow", "today"):
            now = self.now()
            return now.replace(hour=0, minute=0, second=0) if name.lower() == "today" else now
        return members.static(type_ref, name)

    def static_call(self, type_ref: Any, name: str, args: list[Any]) -> Any:
        if not isinstance(type_ref, TypeRef):
            return members.call(type_ref, name, args, lambda b, a, *item: self.invoke_block(b, a, **({'dollar_under': item[0]} if item else {})))
        if name.lower() == "new":  # [Type]::new(args), PowerShell 5's constructor syntax
            return self.new_object(type_ref.name, list(args), None)
        full = resolve_type(type_ref.name)
        known = dotnet.static_call(self, full, name, list(args))
        if known is not dotnet.NOT_HERE:
            return known
        if full == "System.Security.Principal.WindowsIdentity" and name.lower() == "getcurrent":
            return automatic.identity(self.user)
        if full == "System.Environment" and name.lower() == "getenvironmentvariable":
            return self.env.get(to_str(args[0]))
        return members.static_call(type_ref, name, args)

    def now(self) -> datetime:
        return START + timedelta(seconds=self.clock)

    def new_object(self, type_name: str, args: list[Any], properties: Hashtable | None) -> Any:
        full = resolve_type(type_name) if type_name.lower() not in ("psobject", "pscustomobject") else "PSObject"
        made = dotnet.new_object(self, full, list(args))
        if made is not dotnet.NOT_HERE:
            return made
        if full == "System.Security.Principal.WindowsPrincipal":
            return automatic.principal(args[0] if args else None, admin=True)
        if full in ("PSObject", "System.Management.Automation.PSObject", "System.Object"):
            from nestlab.simulator.pwsh.values import new_custom
            return new_custom((to_str(k), v) for k, v in (properties or Hashtable()).items())
        if full == "System.Collections.Hashtable":
            return Hashtable()
        if full == "System.Collections.ArrayList" or full.startswith("System.Collections.Generic.List"):
            from nestlab.simulator.pwsh.values import ArrayList, GenericList
            kind = ArrayList if full == "System.Collections.ArrayList" else GenericList
            return kind(enumerate_value(args[0]) if args and not isinstance(args[0], int) else [])
        raise runtime(f"Cannot find type [{type_name}]: verify that the assembly containing this type is loaded.",
                      "TypeNotFound,Microsoft.PowerShell.Commands.NewObjectCommand", "InvalidType")

    def enumerate(self, value: Any) -> list[Any]:
        return enumerate_value(value)


def _qualified(type_name: str, function: Callable_) -> str:
    """A parameter's type as its script's `using namespace` lines name it."""
    from nestlab.simulator.pwsh.evaluator import qualified

    return qualified(type_name, getattr(function.script, "namespaces", ())) if type_name else type_name


def _as_parameter(type_name: str, item: Any) -> Any:
    """A piped item bound to a typed parameter ([string]$InputObject gets a string); a type the engine
    cannot name keeps the item as it is."""
    if not type_name:
        return item
    try:
        resolve_type(type_name)
    except ScriptError:
        return item
    return cast(TypeRef(type_name), item)


def is_object(value: Any) -> bool:
    return isinstance(value, PSObject)
