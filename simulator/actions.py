"""Actions as data: what a resolution, a fault injection or an undo asks for, before it is text.

A finding's resolution, a fault's inject and undo scripts and a journal's lines are tuples of
`Action`s:

- `Run(where, pipeline)`: structured `psdata.Command`s executed at the node `where` (a host, or a
  VM's guest). They go to a Session as they are: nothing is ever parsed back from text.
- `Manual(text)`: something only a person can do (enable VT-x in firmware, add RAM).
- `Note(text)`: guidance after the commands (verify in Msinfo32); nothing to do.

PowerShell text is made here only, by `render`: for display (table, Markdown, HTML), for the
`resolution` strings of `--json` (spec/cli.md) and wherever a Session needs text on the wire.

**Invoke-Command.** A command for a guest can be typed in two places, so a `Run` says which:
inside the guest (`from_parent=False`: a person signed in to it types the bare pipeline), or on
the guest's parent through PowerShell Direct (`from_parent=True`: rendered as the line a person
types there, `Invoke-Command -VMName 'L1' -ScriptBlock { … }`). Either way `where` is the guest,
because that is where the pipeline executes, and that is what a Session is asked for (it enters
the guest itself); only the display differs. `typed_on` is where the text is typed: `where`, or
its parent. A script block that is a script rather than a pipeline (the guest-jobs load) is an
explicit `Invoke-Command` command with a `ScriptBlock` value, run on the parent.

**Rendering style** follows how people write these cmdlets (and how the catalog always wrote them):
strings single-quoted (`q`), except the enum- and address-valued parameters in `BARE`; booleans as
`-Name $true` except the switches in `SWITCHES` (`-Force`, `-Confirm:$false`); byte counts of
`…Bytes` parameters with PowerShell's size suffix (`size_text`: 8GB, 512MB); positional arguments
(native commands: netsh, bcdedit, reg) as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Union

from nestlab.simulator.errors import BadInput
from nestlab.simulator.model import NodeId
from nestlab.simulator.psdata import Command

# -- PowerShell literals ------------------------------------------------------------------------

# Parameters whose values are written bare: enum names and addresses (PowerShell binds either form).
BARE = frozenset({
    "action", "direction", "protocol", "switchtype", "vhdtype", "controllertype", "macaddressspoofing",
    "externalipaddress", "internalipaddress", "enabled", "profile", "localport", "remoteport",
    "expandproperty", "property", "state", "classname", "namespace",  # read-backs: names, not text
})
BARE_BY_COMMAND = frozenset({("start-service", "name"), ("stop-service", "name"), ("restart-service", "name")})
# Switch parameters: True is the bare switch, False the colon form (`-Confirm:$false`).
SWITCHES = frozenset({"force", "confirm", "whatif", "passthru", "turnoff", "ignoreidmismatch", "asjob", "recurse"})

KB, MB, GB = 1 << 10, 1 << 20, 1 << 30


def q(text: Any) -> str:
    """A PowerShell single-quoted string literal (a quote inside is doubled)."""
    return "'" + str(text).replace("'", "''") + "'"


def size_text(size: int | float) -> str:
    """A byte count as PowerShell's size literal: 4GB, 512MB, else the bytes (the one formatter)."""
    count = int(round(size))
    for unit, suffix in ((GB, "GB"), (MB, "MB")):
        if count and count % unit == 0:
            return f"{count // unit}{suffix}"
    return str(count)


def gb_text(gb: float) -> str:
    """A size in GB as PowerShell writes it (for summaries and commands alike): 4GB, 512MB."""
    return size_text(gb * GB)


def gb_bytes(gb: float) -> int:
    return int(round(gb * GB))


def _value(command: str, name: str, value: Any) -> str:
    if _is_script_block(value):
        return "{ " + str(value).strip() + " }"
    if isinstance(value, bool):
        return "$true" if value else "$false"
    if value is None:
        return "$null"
    if isinstance(value, (list, tuple)):
        return ",".join(_value(command, name, v) for v in value)
    if isinstance(value, int) and name.lower().endswith("bytes"):
        return size_text(value)
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if name.lower() in BARE or (command.lower(), name.lower()) in BARE_BY_COMMAND:
        return text
    return q(text)


def _is_script_block(value: Any) -> bool:
    return isinstance(value, str) and type(value).__name__ == "ScriptBlock"  # psparse.ScriptBlock


def _parameter(command: str, name: str, value: Any) -> str:
    if isinstance(value, bool) and name.lower() in SWITCHES:
        return f"-{name}" if value else f"-{name}:$false"
    return f"-{name} {_value(command, name, value)}"


def _argument(value: Any) -> str:
    if _is_script_block(value):
        return "{ " + str(value).strip() + " }"
    if isinstance(value, bool):
        return "$true" if value else "$false"
    return str(value)


def command_text(command: Command) -> str:
    """One command as a person types it: name, positional arguments, then named parameters."""
    return " ".join([command.name, *map(_argument, command.arguments),
                     *(_parameter(command.name, k, v) for k, v in command.parameters)])


def pipeline_text(pipeline: Iterable[Command]) -> str:
    return " | ".join(command_text(c) for c in pipeline)


# -- the actions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """Commands executed at `where` (see the module docstring for guests and Invoke-Command)."""

    where: NodeId
    pipeline: tuple[Command, ...]
    from_parent: bool = False  # typed on the guest's parent, through Invoke-Command -VMName

    def __post_init__(self) -> None:
        if not isinstance(self.where, NodeId):
            object.__setattr__(self, "where", NodeId.parse(str(self.where)))
        if self.where.kind is not None:
            raise BadInput(f"{self.where}: a command runs on a host or in a VM's guest, not on a {self.where.kind}")
        if self.from_parent and not self.where.is_vm:
            raise BadInput(f"{self.where}: only a VM's guest is entered from its parent")
        object.__setattr__(self, "pipeline", tuple(self.pipeline))

    @property
    def typed_on(self) -> NodeId:
        """Where a person types the rendered line: `where`, or its parent for Invoke-Command."""
        return self.where.owner if self.from_parent else self.where

    def __str__(self) -> str:
        return render(self)


@dataclass(frozen=True)
class _Words:
    """An action that is words for a person; `str()` is the words."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Manual(_Words):
    """A change only a person can make (firmware, hardware, a rebuild); nothing to send."""


@dataclass(frozen=True)
class Note(_Words):
    """Guidance that follows the commands (how to verify); nothing to do."""


Action = Union[Run, Manual, Note]


def render(action: Action) -> str:
    """The one place an action becomes PowerShell text (or a person's instruction)."""
    if isinstance(action, Run):
        body = pipeline_text(action.pipeline)
        if action.from_parent:
            return f"Invoke-Command -VMName {q(action.where.name)} -ScriptBlock {{ {body} }}"
        return body
    return action.text


def texts(actions: Iterable[Action]) -> tuple[str, ...]:
    """The actions as the lines a person reads (the JSON `resolution` strings)."""
    return tuple(render(a) for a in actions)


def shown(action: Action) -> str:
    """`[HV01] Set-VMProcessor …` for a command (where it is typed), the text for the others."""
    return f"[{action.typed_on}] {render(action)}" if isinstance(action, Run) else render(action)


# -- building -----------------------------------------------------------------------------------


def cmd(name: str, *arguments: Any, **parameters: Any) -> Command:
    """A command with named parameters in the order given (`Command.of`)."""
    return Command.of(name, *arguments, **parameters)


def run(where: NodeId | str, *pipeline: Command, from_parent: bool = False) -> Run:
    return Run(where if isinstance(where, NodeId) else NodeId.parse(where), tuple(pipeline), from_parent)


def on_platform(owner: NodeId | str, commands: Iterable[Command | tuple[Command, ...]]) -> tuple[Run, ...]:
    """Commands for a platform itself: run on a host, or in a VM's guest entered from its parent."""
    where = owner if isinstance(owner, NodeId) else NodeId.parse(owner)
    return tuple(Run(where, c if isinstance(c, tuple) else (c,), from_parent=where.is_vm) for c in commands)


def while_off(lab: Any, vm: str, commands: Iterable[Command | tuple[Command, ...]]) -> tuple[Run, ...]:
    """Commands (or pipelines) that change a VM's settings, on its parent; wrapped in Stop-VM /
    Start-VM when it runs, as Hyper-V needs (`lab` is any model.Lab: the simulator's or the evidence's)."""
    node = NodeId.parse(vm)
    body = [*commands]
    if lab[vm].state == "Running":
        body = [cmd("Stop-VM", Name=node.name), *body, cmd("Start-VM", Name=node.name)]
    return tuple(Run(node.owner, c if isinstance(c, tuple) else (c,)) for c in body)


# -- as data (journal files) --------------------------------------------------------------------


def to_data(action: Action) -> dict[str, Any]:
    """JSON-able form that `from_data` reads back exactly; `text` is for people reading the file."""
    if isinstance(action, Run):
        return {"run": str(action.where), "from_parent": action.from_parent, "text": render(action),
                "pipeline": pipeline_data(action.pipeline)}
    return {type(action).__name__.lower(): action.text}


def pipeline_data(pipeline: Iterable[Command]) -> list[dict[str, Any]]:
    return [{"name": c.name, "parameters": [[k, _data(v)] for k, v in c.parameters],
             "arguments": [_data(a) for a in c.arguments]} for c in pipeline]


def pipeline_from_data(data: Any) -> tuple[Command, ...]:
    if not isinstance(data, list):
        raise BadInput(f"not a pipeline: {data!r}")
    return tuple(Command(str(c["name"]), tuple((str(k), _undata(v)) for k, v in c.get("parameters", ())),
                         tuple(_undata(a) for a in c.get("arguments", ()))) for c in data)


def from_data(data: Any) -> Action:
    if not isinstance(data, dict):
        raise BadInput(f"not an action: {data!r}")
    if "manual" in data:
        return Manual(str(data["manual"]))
    if "note" in data:
        return Note(str(data["note"]))
    if "run" not in data or not isinstance(data.get("pipeline"), list):
        raise BadInput(f"not an action (no run/manual/note): {data!r}")
    return Run(NodeId.parse(str(data["run"])), pipeline_from_data(data["pipeline"]), bool(data.get("from_parent", False)))


def _data(value: Any) -> Any:
    if _is_script_block(value):
        return {"scriptblock": str(value)}
    if isinstance(value, (list, tuple)):
        return [_data(v) for v in value]
    return value


def _undata(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"scriptblock"}:
        from nestlab.simulator.psparse import ScriptBlock

        return ScriptBlock(value["scriptblock"])
    if isinstance(value, list):
        return [_undata(v) for v in value]
    return value
