"""The engine's own cmdlets: the language's (Where-Object, Write-Host …), not the simulated host's.

Each is `func(call) -> list` registered with `@builtin(name, positional=…, params=…, switches=…)`;
parameter names bind as PowerShell binds them (exact name, alias, or an unambiguous prefix; a
misspelt one is NamedParameterNotFound). One module per area: streams (Write-*, Out-*, Read-Host),
objects (New-Object, Add-Member, Select/Sort/Where/ForEach/Measure/Group-Object), text
(Select-String, ConvertTo-Json, Format-*, Out-String), session (Get-Command, Start-Sleep,
Get-Date, Invoke-Command, Invoke-Expression, Get-WmiObject, variables).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from nestlab.simulator.pwsh.errors import ScriptError, record
from nestlab.simulator.pwsh.values import Hashtable, to_bool, to_str

COMMON = ("ErrorAction", "WarningAction", "Verbose", "Debug", "ErrorVariable", "OutVariable", "WarningVariable",
          "InformationAction", "InformationVariable", "OutBuffer", "PipelineVariable", "ea", "wa", "ev", "ov", "vb",
          "db", "infa", "iv", "wv", "ob", "pv")


@dataclass
class BuiltinCall:
    """An engine cmdlet's view of its invocation."""

    name: str
    session: Any
    evaluator: Any
    named: Hashtable
    positional: list[Any]
    input: list[Any] | None
    action: str
    stage: Any

    def get(self, name: str, default: Any = None) -> Any:
        return self.named.get(name, default)

    def has(self, name: str) -> bool:
        return name in self.named

    def flag(self, name: str) -> bool:
        return to_bool(self.named.get(name, False))

    @property
    def items(self) -> list[Any]:
        return list(self.input) if self.input is not None else []

    def error(self, message: str, fqid: str, category: str = "InvalidOperation", *, target: str = "",
              exception: str = "System.Management.Automation.RuntimeException") -> None:
        rec = record(message, f"{fqid},{class_name(self.name)}", category, activity=self.name,
                     reason=exception.rsplit(".", 1)[-1], exception_type=exception, target=target)
        self.session.write_error(rec, self.action, self.evaluator.script.position(self.stage.node))

    def fail(self, message: str, fqid: str, category: str = "InvalidOperation") -> ScriptError:
        return ScriptError(record(message, f"{fqid},{class_name(self.name)}", category, activity=self.name))

    def invoke(self, block: Any, item: Any, args: list[Any] | None = None) -> list[Any]:
        """A script block argument, run for one pipeline object in the caller's scope ($_ = item)."""
        return self.session.invoke_block(block, args or [], dollar_under=item, dot=True)


def class_name(name: str) -> str:
    verb, _, noun = name.partition("-")
    return f"Microsoft.PowerShell.Commands.{verb}{noun}Command"


@dataclass(frozen=True)
class Builtin:
    name: str
    func: Callable[[BuiltinCall], list[Any]]
    positional: tuple[str, ...] = ()
    params: tuple[str, ...] | None = None
    switches: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)
    remaining: bool = False  # ValueFromRemainingArguments: extra positional arguments are kept

    def run(self, session: Any, evaluator: Any, stage: Any, input_: list[Any] | None, action: str) -> list[Any]:
        named, positional = self.bind(stage)
        call = BuiltinCall(self.name, session, evaluator, named, positional, input_, action, stage)
        out = self.func(call)
        return list(out or [])

    def bind(self, stage: Any) -> tuple[Hashtable, list[Any]]:
        named = Hashtable()
        positional: list[Any] = []
        known = (*(self.params or ()), *self.switches)
        for arg in stage.args:
            if arg.name is None:
                positional.append(arg.value)
                continue
            name = self._canonical(arg.name, known)
            if name is None:
                continue
            is_switch = name.lower() in (s.lower() for s in self.switches)
            if is_switch and arg.explicit and not arg.colon:
                named[name] = True  # `-Switch value`: the value is the next positional argument
                positional.append(arg.value)
            elif is_switch:
                named[name] = to_bool(arg.value) if arg.colon else True
            else:
                named[name] = arg.value
        free = [p for p in self.positional if p not in named]
        rest: list[Any] = []
        for value in positional:
            if free:
                named[free.pop(0)] = value
            else:
                rest.append(value)
        if rest and not self.remaining:
            raise ScriptError(record(f"A positional parameter cannot be found that accepts argument '{to_str(rest[0])}'.",
                                     f"PositionalParameterNotFound,{class_name(self.name)}", "InvalidArgument",
                                     activity=self.name, reason="ParameterBindingException",
                                     exception_type="System.Management.Automation.ParameterBindingException"))
        return named, rest

    def _canonical(self, typed: str, known: tuple[str, ...]) -> str | None:
        low = typed.lower()
        if low in (c.lower() for c in COMMON):
            return None
        for alias, real in self.aliases.items():
            if alias.lower() == low:
                return real
        if self.params is None:
            return typed
        exact = [k for k in known if k.lower() == low]
        if exact:
            return exact[0]
        prefixed = [k for k in known if k.lower().startswith(low)]
        if len(prefixed) == 1:
            return prefixed[0]
        if len(prefixed) > 1:
            raise ScriptError(record(f"Parameter cannot be processed because the parameter name '{typed}' is ambiguous. "
                                     f"Possible matches include: {' '.join('-' + p for p in prefixed)}.",
                                     f"AmbiguousParameter,{class_name(self.name)}", "InvalidArgument", activity=self.name,
                                     reason="ParameterBindingException",
                                     exception_type="System.Management.Automation.ParameterBindingException"))
        raise ScriptError(record(f"A parameter cannot be found that matches parameter name '{typed}'.",
                                 f"NamedParameterNotFound,{class_name(self.name)}", "InvalidArgument", activity=self.name,
                                 reason="ParameterBindingException",
                                 exception_type="System.Management.Automation.ParameterBindingException"))


REGISTRY: dict[str, Builtin] = {}


def builtin(name: str, *, positional: tuple[str, ...] = (), params: tuple[str, ...] | None = (),
            switches: tuple[str, ...] = (), aliases: dict[str, str] | None = None, remaining: bool = False) -> Callable:
    def register(func: Callable[[BuiltinCall], list[Any]]) -> Callable:
        REGISTRY[name.lower()] = Builtin(name, func, positional, params, switches, aliases or {}, remaining)
        return func
    return register


def find(name: str) -> Builtin | None:
    _load()
    return REGISTRY.get(name.lower())


def names() -> list[str]:
    _load()
    return [b.name for b in REGISTRY.values()]


_loaded = False


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        from nestlab.simulator.pwsh.builtins import json_in, modules, objects, registry, session_cmds, streams, text  # noqa: F401
