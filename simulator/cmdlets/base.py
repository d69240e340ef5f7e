"""The cmdlet table and what every cmdlet gets: a context (where it runs) and a bound call.

A cmdlet is a plain function `(ctx, call) -> iterable of output`; it registers itself with
`@cmdlet(...)` under its real name, its positional parameters and its parameter names (so a
misspelt parameter gives PowerShell's own NamedParameterNotFound error, and unambiguous prefixes
such as `-Expose` work as in PowerShell). Errors: `raise Terminating(record)` stops the pipeline
(ThrowTerminatingError); `ctx.error(record)` reports and carries on (WriteError).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Iterable

from nestlab.simulator.kept import Kept, KeptByIdentity
from nestlab.simulator.model import Lab, Platform, stable_guid
from nestlab.simulator.psdata import Command, ErrorRecord, PSObject, SharedIndex
from nestlab.simulator.shared_dict import SharedDict

COMMON = ("ErrorAction", "WarningAction", "Verbose", "Debug", "ErrorVariable", "OutVariable", "Confirm", "WhatIf",
          "InformationAction", "PipelineVariable")


class Terminating(Exception):
    """A terminating error: the pipeline stops (PSRP state Failed)."""

    def __init__(self, record: ErrorRecord) -> None:
        super().__init__(record.message)
        self.record = record


@dataclass(frozen=True)
class Cmdlet:
    name: str
    func: Callable[["Ctx", "Call"], Iterable[Any] | None]
    positional: tuple[str, ...] = ()
    params: tuple[str, ...] | None = None  # None: accept any parameter
    aliases: dict[str, str] = field(default_factory=dict)
    cls: str = ""  # the .NET cmdlet class, for FullyQualifiedErrorIds

    @cached_property
    def class_name(self) -> str:
        """The .NET class (FullyQualifiedErrorIds end with it): worked out once per cmdlet."""
        return self.cls or default_class(self.name)


TABLE: dict[str, Cmdlet] = {}


def default_class(name: str) -> str:
    verb, _, noun = name.partition("-")
    if noun.upper().startswith("VHD"):
        # Only Get-VHD's class is spelt upper case: GetVHD, but TestVhd, MergeVhd, SetVhd, ConvertVhd,
        # MountVhd (FullyQualifiedErrorIds in PS-AutoLab-Env#159, openzfsonwindows#381; docs/fidelity.md).
        return f"Microsoft.Vhd.PowerShell.Cmdlets.{verb}{'VHD' if verb == 'Get' else 'Vhd'}{noun[3:]}"
    if noun.startswith("VM"):
        return f"Microsoft.HyperV.PowerShell.Commands.{verb}{noun}"
    return f"Microsoft.PowerShell.Commands.{verb}{noun}Command"


def cmdlet(name: str, *, positional: tuple[str, ...] = (), params: tuple[str, ...] | None = None,
           aliases: dict[str, str] | None = None, cls: str = "") -> Callable:
    def register(func: Callable) -> Callable:
        TABLE[name.lower()] = Cmdlet(name, func, positional, params, aliases or {}, cls)
        return func
    return register


@dataclass(slots=True)
class Call:
    """A command bound to its cmdlet: named parameters (canonical names) and pipeline input.

    Slotted: every stage of every pipeline makes one (~6,000 per diagnosis of 200 VMs), and an
    object with a __dict__ costs about three times as much to make and free."""

    cmdlet: Cmdlet
    named: dict[str, Any]
    arguments: tuple[Any, ...]
    input: list[Any]

    def get(self, name: str, default: Any = None) -> Any:
        return self.named.get(name.lower(), default)

    def has(self, name: str) -> bool:
        return name.lower() in self.named

    def flag(self, name: str) -> bool:
        return bool(self.named.get(name.lower(), False))

    def names(self, *params: str) -> list[str] | None:
        """The first of `params` given, as a list of strings (PowerShell's string[] parameters)."""
        for p in params:
            if self.has(p):
                return as_list(self.get(p))
        return None


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def bind(entry: Cmdlet, command: Command, pipeline_input: list[Any]) -> Call:
    """The call of `command` to its cmdlet, with `pipeline_input`.

    Bound once per command: a collection sends the same Command objects (diagnosis.probes'
    constants) tens of thousands of times, and what a command binds to does not depend on the
    input. Each call gets its own dict of the named values (cmdlets may add to it)."""
    bound = binding(entry, command)
    return Call(entry, dict(bound[0]), bound[1], pipeline_input)


def binding(entry: Cmdlet, command: Command, *, kept: bool = True) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """(named values, arguments left) that `command` binds to, worked out once per command (see
    `bind`); raises Terminating, every time, for a command that does not bind. Callers must not
    change the dict: `bind` hands each call its own copy. `kept=False`: worked out, not kept, for
    a caller that keeps it itself (powershell's plan per pipeline: a command made per file path
    is bound once and never again)."""
    if not kept:
        return _bind_names(entry, command)
    bindings = entry.__dict__.get("_bindings")
    if bindings is None:
        bindings = _bindings(entry)
    bound = bindings.get(command)
    if bound is None:
        bound = bindings.keep(command, _bind_names(entry, command))
    return bound


def _bind_names(entry: Cmdlet, command: Command) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """(named values by canonical lower-case name, positional arguments left unbound) of a command."""
    named: dict[str, Any] = {}
    known = _bound_names(entry)
    for key, value in command.parameters:
        low = key.lower()
        name = known.get(low)
        if name is None:
            name = known[low] = _canonical(entry, key, command.name)  # raises for an unknown or ambiguous name
        named[name] = value
    args = tuple(command.arguments)
    if entry.positional and args:
        free = [p for p in entry.positional if p.lower() not in named]
        for i, arg in enumerate(args):
            if i >= len(free):
                raise Terminating(ErrorRecord(
                    f"A positional parameter cannot be found that accepts argument '{arg}'.",
                    f"PositionalParameterNotFound,{entry.class_name}", "InvalidArgument",
                    activity=entry.name, reason="ParameterBindingException",
                    exception_type="System.Management.Automation.ParameterBindingException"))
            named[free[i].lower()] = arg
        args = ()
    return named, args


_BINDINGS_KEPT = 1024  # commands per cmdlet


def _bindings(entry: Cmdlet) -> KeptByIdentity[tuple[dict[str, Any], tuple[Any, ...]]]:
    """command -> (named, arguments) bound for this cmdlet (kept as `_bound_names` is)."""
    try:
        return entry.__dict__["_bindings"]
    except KeyError:
        bindings: KeptByIdentity[tuple[dict[str, Any], tuple[Any, ...]]] = KeptByIdentity(_BINDINGS_KEPT)
        object.__setattr__(entry, "_bindings", bindings)
        return bindings


def _bound_names(entry: Cmdlet) -> dict[str, str]:
    """The lower-case names (and prefixes) already resolved for this cmdlet -> the canonical name.

    Kept on the entry, outside its fields: a diagnosis binds the same few parameter names of
    the same cmdlets tens of thousands of times, and `_canonical` scans every parameter name."""
    try:
        return entry.__dict__["_bound"]
    except KeyError:
        bound: dict[str, str] = {}
        object.__setattr__(entry, "_bound", bound)  # a frozen dataclass: not one of its fields
        return bound


def _canonical(entry: Cmdlet, key: str, typed: str) -> str:
    low = key.lower()
    if low in {a.lower(): a for a in entry.aliases}:
        return {a.lower(): v for a, v in entry.aliases.items()}[low].lower()
    if entry.params is None:
        return low
    known = [p for p in (*entry.params, *COMMON)]
    exact = [p for p in known if p.lower() == low]
    if exact:
        return exact[0].lower()
    prefixed = [p for p in known if p.lower().startswith(low)]
    if len(prefixed) == 1:
        return prefixed[0].lower()
    if len(prefixed) > 1:
        raise Terminating(ErrorRecord(
            f"Parameter cannot be processed because the parameter name '{key}' is ambiguous. "
            f"Possible matches include: {' '.join('-' + p for p in prefixed)}.",
            f"AmbiguousParameter,{entry.class_name}", "InvalidArgument", activity=entry.name,
            reason="ParameterBindingException", exception_type="System.Management.Automation.ParameterBindingException"))
    raise Terminating(ErrorRecord(
        f"A parameter cannot be found that matches parameter name '{key}'.",
        f"NamedParameterNotFound,{entry.class_name}", "InvalidArgument", activity=entry.name,
        reason="ParameterBindingException", exception_type="System.Management.Automation.ParameterBindingException"))


def quiet_without_input(entry: Cmdlet, named: dict[str, Any]) -> bool:
    """Whether the cmdlet, bound to `named`, writes nothing and reports nothing when it stands
    after another stage that wrote nothing: its work is all in its Process block, which
    PowerShell calls once per input object, so with no input nothing of it runs (`powershell.run`
    then skips it). Not so for a cmdlet whose Begin or End block writes or fails on its own
    (ForEach-Object -Begin/-End, Measure-Object's count of 0), nor for a binding where the
    simulator does something before it reads its input (Where-Object refusing a script block,
    Get-VHD reading a -Path given). Declared per cmdlet here (`_QUIET`); tests/test_speed_plumbing.py
    runs each declared cmdlet over no input and checks it gives nothing."""
    quiet = _QUIET.get(entry.name.lower())
    return quiet is not None and quiet(named)


def _where_quiet(named: dict[str, Any]) -> bool:
    from nestlab.simulator.psparse import ScriptBlock

    prop = named.get("property")
    return prop is not None and not isinstance(prop, ScriptBlock)


_QUIET: dict[str, Callable[[dict[str, Any]], bool]] = {
    # Where-Object -Property X …: filters its input; the simulator refuses a script block (or no
    # property) before it looks at any input
    "where-object": _where_quiet,
    # Select-Object: a part of its input (-First/-Last/-Skip taken as whole numbers)
    "select-object": lambda named: all(type(named.get(n, 0)) is int for n in ("first", "last", "skip")),
    # Get-VHD: the disks of the paths piped in (a path given as a parameter is read without input)
    "get-vhd": lambda named: not any(n in named for n in ("path", "literalpath", "disknumber", "vmid")),
}


def command_not_found(name: str) -> ErrorRecord:
    return ErrorRecord(
        f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable program. "
        "Check the spelling of the name, or if a path was included, verify that the path is correct and try again.",
        "CommandNotFoundException", "ObjectNotFound", target_name=name, target_type="String", activity=name,
        reason="CommandNotFoundException", exception_type="System.Management.Automation.CommandNotFoundException")


class Ctx:
    """Where a pipeline runs: a host, or a VM's guest ('HV01/L1'), and the errors it reported."""

    __slots__ = ("lab", "owner", "errors", "_nested", "_runner")

    def __init__(self, lab: Lab, owner: str, run_nested: Callable[[str, tuple[Command, ...]], Any] | None = None,
                 runner: Callable[[Lab, str, tuple[Command, ...]], Any] | None = None) -> None:
        self.lab = lab
        self.owner = owner
        self.errors: list[ErrorRecord] = []
        # how Invoke-Command runs a pipeline elsewhere: `run_nested(where, commands)`, or
        # `runner(lab, where, commands)` (powershell.run itself: no closure made per pipeline)
        self._nested = run_nested
        self._runner = runner

    def run_nested(self, where: str, commands: tuple[Command, ...]) -> Any:
        """Run `commands` at `where` in this lab (powershell.run, for Invoke-Command and jobs)."""
        if self._nested is not None:
            return self._nested(where, commands)
        return self._runner(self.lab, where, commands)  # type: ignore[misc]

    @property
    def platform(self) -> Platform:
        return self.lab.platform(self.owner)

    @property
    def is_guest(self) -> bool:
        return self.lab.kind(self.owner) == "vm"

    @property
    def computer_name(self) -> str:
        record = self.lab[self.owner]
        return record.name

    def error(self, record: ErrorRecord) -> None:
        self.errors.append(record)

    def pending_boot(self) -> dict[str, Any]:
        """Settings written now that apply at the next Restart-Computer (bcdedit /set, Credential Guard and
        HVCI registry switches). Kept on the graph node: the lab file holds the booted state only."""
        return dict(self.lab.graph.nodes[self.owner].get("pending_boot", {}))

    def set_pending_boot(self, key: str, value: Any) -> None:
        # a new dict each time: Lab.copy() shares node attribute values between copies
        self.lab.graph.nodes[self.owner]["pending_boot"] = {**self.pending_boot(), key: value}

    def take_pending_boot(self) -> dict[str, Any]:
        return dict(self.lab.graph.nodes[self.owner].pop("pending_boot", {}))

    # -- VMs this context runs ------------------------------------------------------------------

    def vms(self) -> list[str]:
        return self.lab.vms(self.owner)

    def find_vms(self, call: Call, *, params: tuple[str, ...] = ("VMName", "Name", "VM")) -> list[str]:
        """VMs named by the call (wildcards allowed) or piped in; a name with no VM is an error."""
        found: list[str] = []
        names = call.names(*params)
        if names is None:
            piped = [o for o in call.input if isinstance(o, PSObject)]
            if piped:
                names = [_vm_name_of(o) for o in piped]
            elif call.cmdlet.name.lower() in ("get-vm",) or not _requires_vm(call):
                return self.vms()
            else:
                names = []
        vms, by_name = self._vm_names()
        taken: set[str] = set()
        for name in names:
            if isinstance(name, PSObject):
                name = _vm_name_of(name)
            name = str(name)
            if name == "*":  # what fnmatch("*") matches: every VM, in order (the collector's -VMName *)
                matches = [vm for vm, _ in vms]
            elif any(c in name for c in "*?["):
                pattern = name.lower()
                matches = [vm for vm, low in vms if fnmatch.fnmatchcase(low, pattern)]
            else:
                matches = by_name.get(name.lower(), [])
                if not matches:
                    self.error(vm_not_found(call.cmdlet, name))
            found.extend(m for m in matches if m not in taken)
            taken.update(matches)
        return found


    def _vm_names(self) -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
        """This place's VMs with their lower-case names, in order, and the VMs by lower-case name:
        an index of the lab kept while it stands still (`Lab.memo`), not rebuilt per call (a
        plain name is a lookup, not a scan: VMs are piped in one by one)."""
        table = self.lab.memo(_VM_NAMES, dict)  # one table of places, not a memo entry and key per place
        names = table.get(self.owner)
        if names is None:
            names = table[self.owner] = self._index_vm_names()
        return names

    def _index_vm_names(self) -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
        vms = [(vm, self.lab[vm].name.lower()) for vm in self.vms()]
        if not vms:
            return _NO_VM_NAMES  # most places (every plain guest) run no VM: one shared, read-only answer
        by_name: dict[str, list[str]] = {}
        for vm, low in vms:
            by_name.setdefault(low, []).append(vm)
        return vms, by_name


_VM_NAMES = ("cmdlets.base: VM names by place",)  # Lab.memo key: place -> `Ctx._index_vm_names`
_NO_VM_NAMES: tuple[Any, Any] = ((), SharedDict())  # a place without VMs (read only: `find_vms` never writes it)


def _requires_vm(call: Call) -> bool:
    return not call.cmdlet.name.lower().startswith("get-")


def _vm_name_of(obj: PSObject) -> str:
    for key in ("VMName", "Name"):
        if key in obj:
            return str(obj[key])
    return str(obj)


def vm_not_found(entry: Cmdlet, name: str) -> ErrorRecord:
    # Real text and id: 'Hyper-V was unable to find a virtual machine with name "X".' with
    # InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM, InvalidArgument (X:String)
    # — as matched verbatim by a public Hyper-V automation script (find_string in public code).
    return ErrorRecord(
        f'Hyper-V was unable to find a virtual machine with name "{name}".',
        f"InvalidParameter,{entry.class_name}", "InvalidArgument", target_name=name, target_type="String",
        activity=entry.name, reason="VirtualizationException",
        exception_type="Microsoft.HyperV.PowerShell.VirtualizationException", terminating=False)


def platform_missing(ctx: "Ctx", entry: Cmdlet) -> ErrorRecord | None:
    """The Hyper-V module on a Windows without the Hyper-V platform (no role): VERBATIM text, id and
    category (AutomatedLab#571, New-VMSwitch; minishift#1719, Get-VM). None where the role is installed."""
    if ctx.platform.hyperv_installed:
        return None
    return hv_error(entry, f"The Hyper-V Management Tools could not access an expected WMI class on computer "
                           f"'{ctx.computer_name.upper()}'. This may indicate that the Hyper-V Platform is not installed "
                           "on the computer or that the version of the Hyper-V Platform is incompatible with these "
                           "management tools.", "Unspecified", "NotSpecified")


def hv_error(entry: Cmdlet, message: str, fqid: str, category: str = "InvalidOperation", *,
             target: str = "", target_type: str = "", terminating: bool = False) -> ErrorRecord:
    """A Hyper-V module error (VirtualizationException) as the module writes it."""
    return ErrorRecord(message, f"{fqid},{entry.class_name}", category, target_name=target, target_type=target_type,
                       activity=entry.name, reason="VirtualizationException",
                       exception_type="Microsoft.HyperV.PowerShell.VirtualizationException", terminating=terminating)


def obj(type_name: str | tuple[str, ...], props: list[tuple[str, Any]] | dict[str, Any], to_string: str | None = None) -> PSObject:
    """An output object with its .NET type name first, as remoting sends it.

    The same as `PSObject((*names, "System.Object"), props, to_string)`, but the case-insensitive
    index of property names is built once per shape (the tuple of names) and shared (psdata.SharedIndex:
    no lower() per name, no copy): cmdlets make tens of thousands of objects of a few dozen shapes."""
    names = (type_name, "System.Object") if isinstance(type_name, str) else (*type_name, "System.Object")
    values = dict(props.items() if isinstance(props, dict) else props)
    shape = tuple(values)
    index = _INDEXES.get(shape)
    if index is None:
        index = _INDEXES.keep(shape, SharedIndex({k.lower(): k for k in values}))
    made = PSObject.__new__(PSObject)
    made.type_names, made._props, made._index = names, values, index  # shared until a script adds a name (SharedIndex)
    made.to_string = to_string if to_string is not None else names[0]
    return made


_INDEXES: Kept[dict[str, str]] = Kept(4096)  # shapes are few; names made of data (registry values) must not grow it


def guid(*parts: str) -> str:
    return stable_guid(*parts).lower()


GIB = 1 << 30
