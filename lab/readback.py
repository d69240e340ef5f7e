"""What a command changes on a host, how to read it back, and how to put it back.

A read-back is the Get-* command that shows what a line changes, and the properties to compare
(`READ_BACKS`, by cmdlet). An inverse is the undo of one command, worked out from what its
read-backs showed before it (`INVERSES`, by cmdlet: Stop-VM → Start-VM when it ran, Set-X -P v →
Set-X -P <before> …); a command with no known undo is refused, unrun (NoUndo). `lab.journal`
writes both into a journal before a change is made, and uses them to undo and verify it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from nestlab.lab.session import Session, address
from nestlab.simulator.actions import Run, cmd, pipeline_text, render, run
from nestlab.simulator.errors import BadInput
from nestlab.simulator.psdata import Command, PSEnum, PSObject, Result

Line = Run  # a command of a script, an undo or a repair (simulator.actions)


# ----------------------------------------------------------------------------------------------
# read-backs
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """A value a step changes, as a host shows it: run `command` (a pipeline, structured) in
    `context`, keep `properties`.

    `properties` empty means the output itself (text lines of a native command, a Test-Path bool).
    `before` is what it showed before the step was applied; `after` what it showed after the undo.
    """

    context: str
    command: tuple[Command, ...]
    properties: tuple[str, ...] = ()
    before: Any = None
    after: Any = None

    @property
    def text(self) -> str:
        """The read-back as a person types it (simulator.actions renders it)."""
        return pipeline_text(self.command)

    def read(self, session: Session) -> Any:
        host, vm = address(self.context)
        result = session.run(host, self.command, vm=vm)
        return shown(result, self.properties)

    @property
    def same(self) -> bool:
        return self.after == self.before

    def describe(self) -> str:
        props = f" ({', '.join(self.properties)})" if self.properties else ""
        return f"[{self.context}] {self.text}{props}"


def shown(result: Result, properties: Sequence[str]) -> Any:
    """What a read-back shows, as JSON-able data that compares equal when the host's state does.

    Rows are sorted (a re-added rule lands elsewhere in its table; order means nothing there).
    A failed read (no such key, no such object) is shown as its error id, so "absent" is a value.
    """
    if result.errors and not result.output:
        return {"error": result.errors[0].fully_qualified_error_id or result.errors[0].message}
    rows = []
    for item in result.output:
        if isinstance(item, PSObject):
            rows.append([_plain(item.get(name)) for name in properties] if properties else str(item))
        elif isinstance(item, str):
            if item.strip():
                rows.append(item.strip())
        else:
            rows.append(_plain(item))
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))


def _plain(value: Any) -> Any:
    if isinstance(value, PSEnum):
        return value.name
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


ReadBack = Callable[[str, Command], "list[Check]"]


def _vm_state(context: str, c: Command) -> list[Check]:
    """Start/Stop/Restart-VM: the VM's state and the memory it runs with (a start applies a pending
    Startup), and the VMs inside its guest (they stop with it, and may not start with it)."""
    name = c.param("Name")
    return [_power(context, name), Check(f"{context}/{name}", (cmd("Get-VM"),), ("Name", "State"))]


def _power(context: str, name: Any) -> Check:
    """Get-VM MemoryAssigned, not only Get-VMMemory Startup: a Startup set while the VM runs is
    configured but not applied, and only the running value says what the guest has."""
    return Check(context, (cmd("Get-VM", Name=name),), ("State", "MemoryAssigned"))


def _memory(context: str, c: Command) -> list[Check]:
    return [*_settings("Get-VMMemory", ("VMName",), {"StartupBytes": "Startup"})(context, c),
            _power(context, c.param("VMName"))]


def _settings(getter: str, identity: tuple[str, ...], renamed: dict[str, str] | None = None) -> ReadBack:
    """Set-X -Id … -Setting value: Get-X -Id …, comparing the settings the line names."""

    def read_back(context: str, c: Command) -> list[Check]:
        ids = tuple((name, c.param(name)) for name in identity if c.has(name))
        changed = tuple((renamed or {}).get(name, name) for name, _ in c.parameters if name not in identity)
        return [Check(context, (Command(getter, ids),), changed)]

    return read_back


def _table(getter: Command, *properties: str) -> ReadBack:
    """New-X / Remove-X: the whole table, by the properties that tell its rows apart."""
    return lambda context, c: [Check(context, (getter,), properties)]


def _adapter_ids(c: Command) -> Command:
    """-VMName V [-Name A]: without -Name, Set-VMNetworkAdapter means every adapter of the VM."""
    return Command("Get-VMNetworkAdapter", tuple((n, c.param(n)) for n in ("VMName", "Name") if c.has(n)))


def _adapter(context: str, c: Command) -> list[Check]:
    get = _adapter_ids(c)
    checks = []
    if c.has("MaximumBandwidth"):
        checks.append(Check(context, (get, cmd("Select-Object", ExpandProperty="BandwidthSetting")),
                            ("MaximumBandwidth",)))
    others = tuple(name for name, _ in c.parameters if name not in ("VMName", "Name", "MaximumBandwidth"))
    if others:
        checks.append(Check(context, (get,), others))
    return checks


def _registry(context: str, c: Command) -> list[Check]:
    """reg add|delete KEY /v NAME …: Get-ItemProperty of the key, the one value."""
    args = [str(a) for a in c.arguments]
    key = args[1].replace("HKLM\\", "HKLM:\\", 1) if len(args) > 1 else ""
    value = args[args.index("/v") + 1] if "/v" in args else "(default)"
    return [Check(context, (cmd("Get-ItemProperty", Path=key),), (value,))]


def _path_exists(parameter: str) -> ReadBack:
    return lambda context, c: [Check(context, (cmd("Test-Path", Path=c.param(parameter)),))]


def _guest_jobs(context: str, c: Command) -> list[Check]:
    """Invoke-Command -VMName X { … Start-Job … }: the guest's running jobs (the load it makes)."""
    return [Check(f"{context}/{c.param('VMName')}", (cmd("Get-Job", State="Running"),), ("Name",))]


def _boot(context: str, c: Command) -> list[Check]:
    """Restart-Computer: what a boot applies — whether the hypervisor runs, and what VBS runs —
    and the VMs on the machine (a VM without an automatic start stays off after it)."""
    return [
        Check(context, (cmd("Get-VM"),), ("Name", "State")),
        Check(context, (cmd("Get-CimInstance", ClassName="Win32_ComputerSystem"),), ("HypervisorPresent",)),
        Check(context, (cmd("Get-CimInstance", Namespace="root\\Microsoft\\Windows\\DeviceGuard", ClassName="Win32_DeviceGuard"),),
              ("SecurityServicesRunning", "VirtualizationBasedSecurityStatus")),
    ]


READ_BACKS: dict[str, ReadBack] = {
    "start-vm": _vm_state,
    "stop-vm": _vm_state,
    "set-vmprocessor": _settings("Get-VMProcessor", ("VMName",)),
    "set-vmmemory": _memory,
    "set-vmnetworkadapter": _adapter,
    "connect-vmnetworkadapter": _settings("Get-VMNetworkAdapter", ("VMName", "Name")),
    "set-vmharddiskdrive": lambda context, c: [Check(
        context, (cmd("Get-VMHardDiskDrive", VMName=c.param("VMName")),),
        ("ControllerType", "ControllerNumber", "ControllerLocation", "Path"))],
    "set-vhd": _settings("Get-VHD", ("Path",)),
    "convert-vhd": _path_exists("DestinationPath"),
    "remove-item": _path_exists("Path"),
    "new-vmswitch": _table(cmd("Get-VMSwitch"), "Name", "SwitchType"),
    "remove-vmswitch": _table(cmd("Get-VMSwitch"), "Name", "SwitchType"),
    "new-netnat": _table(cmd("Get-NetNat"), "Name", "InternalIPInterfaceAddressPrefix"),
    "remove-netnat": _table(cmd("Get-NetNat"), "Name", "InternalIPInterfaceAddressPrefix"),
    "new-netfirewallrule": _table(cmd("Get-NetFirewallRule"), "Name", "Enabled", "Direction", "Action"),
    "remove-netfirewallrule": _table(cmd("Get-NetFirewallRule"), "Name", "Enabled", "Direction", "Action"),
    "netsh": _table(cmd("netsh", "interface", "portproxy", "show", "all")),
    "bcdedit": _table(cmd("bcdedit", "/enum", "{current}")),
    "reg": _registry,
    "invoke-command": _guest_jobs,
    "restart-computer": _boot,
    "restart-vm": _vm_state,
    "set-netfirewallrule": _table(cmd("Get-NetFirewallRule"), "Name", "Enabled", "Direction", "Action"),
}


def checks_for(lines: Sequence[Run]) -> list[Check]:
    """The read-backs of every command (inject and undo), each once, where the command executes
    (inside the guest for one typed through Invoke-Command); BadInput for a command without one."""
    return checks_of([(str(a.where), command, render(a)) for a in lines for command in a.pipeline])


def checks_of(commands: Sequence[tuple[str, Command, str]]) -> list[Check]:
    """The read-backs of (context, command, line as written), each once, properties merged."""
    found: dict[tuple[str, str], set[str]] = {}
    order: list[tuple[str, str]] = []
    for context, command, line in commands:
        read_back = READ_BACKS.get(command.name.lower())
        if read_back is None:
            raise BadInput(f"[{context}] {line}: no read-back is known for {command.name}, so its undo "
                           "could not be verified; refusing to run it on a real host")
        for check in read_back(context, command):
            key = (check.context, check.command)
            if key not in found:
                found[key] = set()
                order.append(key)
            found[key].update(check.properties)
    return [Check(context, command, tuple(sorted(found[(context, command)]))) for context, command in order]


# ----------------------------------------------------------------------------------------------
# inverses: the undo of one command a scenario runs, from what the read-backs showed before it
# ----------------------------------------------------------------------------------------------


class NoUndo(BadInput):
    """A command whose undo is not known: it is not run on a real host."""


Inverse = Callable[[str, Command, Sequence[Check]], "list[Line]"]


def _before(checks: Sequence[Check], getter: str, prop: str, row: Callable[[dict], bool] = lambda r: True) -> Any:
    """The value `prop` had, read by the check whose command starts with `getter` (one matching row)."""
    for check in checks:
        if check.text.startswith(getter) and prop in check.properties and isinstance(check.before, list):
            rows = [dict(zip(check.properties, r)) for r in check.before if isinstance(r, list)]
            matching = [r for r in rows if row(r)]
            if len(matching) == 1:
                return matching[0][prop]
            raise NoUndo(f"{check.describe()}: {len(matching)} rows where one was expected")
    raise NoUndo(f"no read-back of {prop} by {getter}")


def _vm_state_inverse(context: str, c: Command, checks: Sequence[Check]) -> list[Run]:
    name = c.param("Name")
    state = _before(checks, "Get-VM -Name", "State")
    if c.name.lower() == "restart-vm":
        return []  # it comes back as it was: its read-back says so
    if state == "Running":
        return [run(context, cmd("Start-VM", Name=name))]
    if state == "Off":
        return [run(context, cmd("Stop-VM", Name=name, TurnOff=True))]
    raise NoUndo(f"[{context}] {c}: {name} was {state}; only Running and Off are put back")


def _settings_inverse(getter: str, identity: tuple[str, ...], renamed: dict[str, str] | None = None) -> Inverse:
    def inverse(context: str, c: Command, checks: Sequence[Check]) -> list[Run]:
        ids = [(n, c.param(n)) for n in identity if c.has(n)]
        values = [(n, _before(checks, getter, (renamed or {}).get(n, n))) for n, _ in c.parameters if n not in identity]
        return [run(context, Command(c.name, (*ids, *values)))]

    return inverse


def _adapter_inverse(context: str, c: Command, checks: Sequence[Check]) -> list[Run]:
    values = []
    for name, _ in c.parameters:
        if name in ("VMName", "Name"):
            continue
        if name == "MaximumBandwidth":
            bandwidth = next((ch.before for ch in checks if "BandwidthSetting" in ch.text), [])
            values.append((name, bandwidth[0][0] if bandwidth else 0))
        else:
            values.append((name, _before(checks, "Get-VMNetworkAdapter", name)))
    ids = [(n, c.param(n)) for n in ("VMName", "Name") if c.has(n)]
    return [run(context, Command(c.name, (*ids, *values)))]


def _registry_inverse(context: str, c: Command, checks: Sequence[Check]) -> list[Run]:
    args = [str(a) for a in c.arguments]
    if len(args) < 2 or "/v" not in args:
        raise NoUndo(f"[{context}] reg {' '.join(args)}: only `reg add|delete KEY /v NAME …` is put back")
    key, value = args[1], args[args.index("/v") + 1]
    check = checks[0]
    before = check.before[0][0] if isinstance(check.before, list) and check.before else None
    if before is None:
        return [run(context, cmd("reg", "delete", key, "/v", value, "/f"))]
    kind = "REG_DWORD" if isinstance(before, int) else "REG_SZ"
    return [run(context, cmd("reg", "add", key, "/v", value, "/t", kind, "/d", str(before), "/f"))]


def _bcdedit_inverse(context: str, c: Command, checks: Sequence[Check]) -> list[Run]:
    args = [str(a) for a in c.arguments]
    if len(args) != 3 or args[0].lower() != "/set":
        raise NoUndo(f"[{context}] bcdedit {' '.join(args)}: only `bcdedit /set NAME VALUE` is put back")
    lines = [line for line in checks[0].before or [] if isinstance(line, str) and line.split()[:1] == [args[1]]]
    if not lines:
        return [run(context, cmd("bcdedit", "/deletevalue", args[1]))]
    return [run(context, cmd("bcdedit", "/set", args[1], lines[0].split(None, 1)[1].strip().lower()))]


def _portproxy_inverse(context: str, c: Command, checks: Sequence[Check]) -> list[Run]:
    args = [str(a) for a in c.arguments]
    options = dict(a.split("=", 1) for a in args if "=" in a)
    if args[:2] != ["interface", "portproxy"] or "listenport" not in options or "listenaddress" not in options:
        raise NoUndo(f"[{context}] netsh {' '.join(args)}: only portproxy rules with a listen address are put back")
    listen = (options["listenaddress"], options["listenport"])
    rows = [line.split() for line in checks[0].before or [] if isinstance(line, str)]
    was = [r for r in rows if len(r) == 4 and (r[0], r[1]) == listen]
    where_ = ("v4tov4", f"listenport={listen[1]}", f"listenaddress={listen[0]}")
    if not was:
        return [run(context, cmd("netsh", "interface", "portproxy", "delete", *where_))]
    return [run(context, cmd("netsh", "interface", "portproxy", "add", *where_,
                             f"connectport={was[0][3]}", f"connectaddress={was[0][2]}"))]


def _named(remove: Callable[[str], Command], add: Callable[[dict], Command] | None = None) -> Inverse:
    """New-X -Name N: remove it if it was not there; Remove-X -Name N: add it back as it was (its
    table's read-back row), when `add` knows how."""

    def inverse(context: str, c: Command, checks: Sequence[Check]) -> list[Run]:
        name = str(c.param("Name"))
        rows = [dict(zip(checks[0].properties, r)) for r in checks[0].before or [] if isinstance(r, list)]
        was = [r for r in rows if str(r.get("Name")) == name]
        if c.name.lower().startswith("new-"):
            if was:
                raise NoUndo(f"[{context}] {c}: {name} existed already")
            return [run(context, remove(name))]
        if not was or add is None:
            raise NoUndo(f"[{context}] {c}: what it removes cannot be put back from its read-back")
        return [run(context, add(was[0]))]

    return inverse


def _path_inverse(context: str, c: Command, checks: Sequence[Check]) -> list[Run]:
    if checks[0].before != [False]:
        raise NoUndo(f"[{context}] {c}: its destination existed already")
    return [run(context, cmd("Remove-Item", Path=c.param("DestinationPath")))]


def _drive_inverse(context: str, c: Command, checks: Sequence[Check]) -> list[Run]:
    slot = {k: c.param(k) for k in ("ControllerType", "ControllerNumber", "ControllerLocation")}
    path = _before(checks, "Get-VMHardDiskDrive", "Path",
                   lambda r: all(str(r[k]) == str(v) for k, v in slot.items()))
    return [run(context, cmd("Set-VMHardDiskDrive", VMName=c.param("VMName"), **slot, Path=path))]


INVERSES: dict[str, Inverse] = {
    "start-vm": _vm_state_inverse,
    "stop-vm": _vm_state_inverse,
    "restart-vm": _vm_state_inverse,
    "set-vmprocessor": _settings_inverse("Get-VMProcessor", ("VMName",)),
    "set-vmmemory": _settings_inverse("Get-VMMemory", ("VMName",), {"StartupBytes": "Startup"}),
    "set-vmnetworkadapter": _adapter_inverse,
    "connect-vmnetworkadapter": _settings_inverse("Get-VMNetworkAdapter", ("VMName", "Name")),
    "set-vhd": _settings_inverse("Get-VHD", ("Path",)),
    "set-vmharddiskdrive": _drive_inverse,
    "convert-vhd": _path_inverse,
    "reg": _registry_inverse,
    "bcdedit": _bcdedit_inverse,
    "netsh": _portproxy_inverse,
    "new-netnat": _named(lambda name: cmd("Remove-NetNat", Name=name, Confirm=False)),
    "remove-netnat": _named(lambda name: cmd("Remove-NetNat", Name=name, Confirm=False), lambda r: cmd(
        "New-NetNat", Name=r["Name"], InternalIPInterfaceAddressPrefix=r["InternalIPInterfaceAddressPrefix"])),
    "new-vmswitch": _named(lambda name: cmd("Remove-VMSwitch", Name=name, Force=True)),
    "new-netfirewallrule": _named(lambda name: cmd("Remove-NetFirewallRule", Name=name)),
    "set-netfirewallrule": _settings_inverse("Get-NetFirewallRule", ("Name",)),
    "restart-computer": lambda context, c, checks: [],  # a boot applies what the other steps' read-backs check
}


def undo_of(context: str, pipeline: Sequence[Command]) -> tuple[list[Check], Callable[[Sequence[Check]], list[Run]]]:
    """The read-backs of one command, and how to compute its undo once they have been read."""
    if len(pipeline) != 1:
        raise NoUndo(f"[{context}] {' | '.join(map(str, pipeline))}: only single commands are journalled on a real host")
    (command,) = pipeline
    inverse = INVERSES.get(command.name.lower())
    if inverse is None:
        raise NoUndo(f"[{context}] {command}: no undo is known for {command.name}: not run on a real host")
    return checks_of([(context, command, str(command))]), lambda checks: inverse(context, command, checks)


# ----------------------------------------------------------------------------------------------
# repairs: VM power states an undo's own lines cannot promise
# ----------------------------------------------------------------------------------------------


def repairs(checks: Sequence[Check], cycled: set[tuple[str, str]] | None = None) -> list[Run]:
    """The Start-VM / Stop-VM lines that bring VMs back to the state their read-backs showed before.

    An undo's lines put settings back, but power is a consequence: a reboot in the undo leaves VMs
    off that were running, a VM started before its Startup was put back runs with the wrong memory
    (MemoryAssigned only changes with a power cycle). So, from each Get-VM read-back that differs
    (its `after` freshly read): a VM that ran and is off is started; one that was off and runs is
    turned off; one that runs with other memory than before is stopped and started again (which
    applies its configured Startup) — once per VM in `cycled`: when one cycle did not give it the
    memory it had, another will not (its Startup is not the one it had yet; an older step's undo
    puts that back). A VM that is gone gets nothing: no power switch brings it back.
    """
    cycled = set() if cycled is None else cycled
    lines: list[Run] = []
    for check in checks:
        if check.command[0].name != "Get-VM" or "State" not in check.properties or check.same:
            continue
        before, after = _rows_by_name(check, check.before), _rows_by_name(check, check.after)
        for name, was in before.items():
            now = after.get(name)
            if now is None:
                continue
            power = _power_lines(check.context, name, was, now)
            if len(power) == 2:  # a power cycle
                if (check.context, name) in cycled:
                    continue
                cycled.add((check.context, name))
            lines += power
    return lines


def _rows_by_name(check: Check, shown_value: Any) -> dict[str, dict[str, Any]]:
    """A Get-VM read-back's rows by VM name: `Get-VM -Name X` names its VM, a table has a Name column."""
    if not isinstance(shown_value, list):
        return {}  # an error (the guest is off, or has no Hyper-V): nothing to compare row by row
    rows = [dict(zip(check.properties, r)) for r in shown_value if isinstance(r, list)]
    if "Name" in check.properties:
        return {str(r["Name"]): r for r in rows}
    return {str(check.command[0].param("Name")): rows[0]} if len(rows) == 1 else {}


def _power_lines(context: str, name: str, was: dict[str, Any], now: dict[str, Any]) -> list[Run]:
    if was["State"] == "Running" and now["State"] != "Running":
        return [run(context, cmd("Start-VM", Name=name))]
    if was["State"] == "Off" and now["State"] != "Off":
        return [run(context, cmd("Stop-VM", Name=name, TurnOff=True))]
    if was["State"] == now["State"] == "Running" and was.get("MemoryAssigned") != now.get("MemoryAssigned"):
        return [run(context, cmd("Stop-VM", Name=name)), run(context, cmd("Start-VM", Name=name))]
    return []
