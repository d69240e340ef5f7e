"""The journal of a destructive run: every fault put into a real host, with how to take it out again.

A fault is injected on a real (or served) host with the catalog's PowerShell lines
(`Fault.inject_script`). Before the first line runs, the journal file holds, for that step: the
host, the lines to inject, the lines that undo them (`Fault.undo_script`, computed on the lab
before injection), and read-back checks with the value each one showed *before* the change. The
file is rewritten atomically (temp file, fsync, os.replace) at every change of a step's status, so
whatever kills the run — a failed scenario, Ctrl-C, SIGTERM, kill -9 — leaves a journal that says
exactly what may still be changed on which host.

Undo runs the steps in reverse order. A step is *undone* only when every read-back shows its
before value again; when they already do, nothing is run (so undoing twice is harmless, and a step
that crashed before changing anything costs nothing). `nestlab restore JOURNAL` is the same undo,
started from the file.

A read-back is the Get-* command that shows what a line changes, and the properties to compare
(`READ_BACKS`, by cmdlet). A line whose effect no read-back can show is refused before anything is
written: a change to a real host that cannot be verified is not made.

The other changes a scenario makes (an engineer's `Stop-VM`, a resolution's `Set-VMProcessor`)
are journalled the same way by `run_journaled`, one command per step, with an undo computed from
what its read-backs showed before it (`INVERSES`, by cmdlet: Stop-VM → Start-VM when it ran,
Set-X -P v → Set-X -P <before> …); a command with no known undo is refused, unrun (NoUndo).
A reboot's undo is nothing: what it applied is checked by the other steps, and the baseline
capture (lab.capture.settle) starts the VMs it left off.

The journal never holds a password: hosts are stored as addresses (server, port, transport, auth,
user), errors are the hosts' own messages or PsrpSession's (which scrubs the password).
"""

from __future__ import annotations

import json
import os
import signal
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from lab.psrp_session import HostAddress
from lab.session import Session, address
from simulator.errors import BadInput
from simulator.labfile import write_atomic
from simulator.model import Lab
from simulator.psdata import Command, PSEnum, PSObject, Result
from simulator.psparse import parse

FORMAT = "nestlab-journal"
VERSION = 1
WRITTEN, APPLIED, APPLY_FAILED, UNDONE, UNDO_FAILED = "written", "applied", "apply-failed", "undone", "undo-failed"
STATUSES = (WRITTEN, APPLIED, APPLY_FAILED, UNDONE, UNDO_FAILED)
Line = tuple[str, str]  # (context, PowerShell line), as the fault catalog writes scripts


# ----------------------------------------------------------------------------------------------
# read-backs
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """A value a step changes, as a host shows it: run `command` in `context`, keep `properties`.

    `properties` empty means the output itself (text lines of a native command, a Test-Path bool).
    `before` is what it showed before the step was applied; `after` what it showed after the undo.
    """

    context: str
    command: str
    properties: tuple[str, ...] = ()
    before: Any = None
    after: Any = None

    def read(self, session: Session) -> Any:
        host, vm = address(self.context)
        result = session.run(host, parse(self.command), vm=vm)
        return shown(result, self.properties)

    @property
    def same(self) -> bool:
        return self.after == self.before

    def describe(self) -> str:
        props = f" ({', '.join(self.properties)})" if self.properties else ""
        return f"[{self.context}] {self.command}{props}"


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


def _q(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _vm_state(context: str, c: Command) -> list[Check]:
    return [Check(context, f"Get-VM -Name {_q(c.param('Name'))}", ("State",))]


def _settings(getter: str, identity: tuple[str, ...], renamed: dict[str, str] | None = None) -> ReadBack:
    """Set-X -Id … -Setting value: Get-X -Id …, comparing the settings the line names."""

    def read_back(context: str, c: Command) -> list[Check]:
        ids = " ".join(f"-{name} {_q(c.param(name))}" for name in identity if c.has(name))
        changed = tuple((renamed or {}).get(name, name) for name, _ in c.parameters if name not in identity)
        return [Check(context, f"{getter} {ids}".strip(), changed)]

    return read_back


def _table(getter: str, *properties: str) -> ReadBack:
    """New-X / Remove-X: the whole table, by the properties that tell its rows apart."""
    return lambda context, c: [Check(context, getter, properties)]


def _adapter_ids(c: Command) -> str:
    """-VMName V [-Name A]: without -Name, Set-VMNetworkAdapter means every adapter of the VM."""
    return f"-VMName {_q(c.param('VMName'))}" + (f" -Name {_q(c.param('Name'))}" if c.has("Name") else "")


def _adapter(context: str, c: Command) -> list[Check]:
    ids = _adapter_ids(c)
    checks = []
    if c.has("MaximumBandwidth"):
        checks.append(Check(context, f"Get-VMNetworkAdapter {ids} | Select-Object -ExpandProperty BandwidthSetting",
                            ("MaximumBandwidth",)))
    others = tuple(name for name, _ in c.parameters if name not in ("VMName", "Name", "MaximumBandwidth"))
    if others:
        checks.append(Check(context, f"Get-VMNetworkAdapter {ids}", others))
    return checks


def _registry(context: str, c: Command) -> list[Check]:
    """reg add|delete KEY /v NAME …: Get-ItemProperty of the key, the one value."""
    args = [str(a) for a in c.arguments]
    key = args[1].replace("HKLM\\", "HKLM:\\", 1) if len(args) > 1 else ""
    value = args[args.index("/v") + 1] if "/v" in args else "(default)"
    return [Check(context, f"Get-ItemProperty -Path {_q(key)}", (value,))]


def _path_exists(parameter: str) -> ReadBack:
    return lambda context, c: [Check(context, f"Test-Path -Path {_q(c.param(parameter))}")]


def _guest_jobs(context: str, c: Command) -> list[Check]:
    """Invoke-Command -VMName X { … Start-Job … }: the guest's running jobs (the load it makes)."""
    return [Check(f"{context}/{c.param('VMName')}", "Get-Job -State Running", ("Name",))]


def _boot(context: str, c: Command) -> list[Check]:
    """Restart-Computer: what a boot applies — whether the hypervisor runs, and what VBS runs."""
    return [
        Check(context, "Get-CimInstance -ClassName Win32_ComputerSystem", ("HypervisorPresent",)),
        Check(context, r"Get-CimInstance -Namespace root\Microsoft\Windows\DeviceGuard -ClassName Win32_DeviceGuard",
              ("SecurityServicesRunning", "VirtualizationBasedSecurityStatus")),
    ]


READ_BACKS: dict[str, ReadBack] = {
    "start-vm": _vm_state,
    "stop-vm": _vm_state,
    "set-vmprocessor": _settings("Get-VMProcessor", ("VMName",)),
    "set-vmmemory": _settings("Get-VMMemory", ("VMName",), {"StartupBytes": "Startup"}),
    "set-vmnetworkadapter": _adapter,
    "connect-vmnetworkadapter": _settings("Get-VMNetworkAdapter", ("VMName", "Name")),
    "set-vmharddiskdrive": lambda context, c: [Check(
        context, f"Get-VMHardDiskDrive -VMName {_q(c.param('VMName'))}",
        ("ControllerType", "ControllerNumber", "ControllerLocation", "Path"))],
    "set-vhd": _settings("Get-VHD", ("Path",)),
    "convert-vhd": _path_exists("DestinationPath"),
    "remove-item": _path_exists("Path"),
    "new-vmswitch": _table("Get-VMSwitch", "Name", "SwitchType"),
    "remove-vmswitch": _table("Get-VMSwitch", "Name", "SwitchType"),
    "new-netnat": _table("Get-NetNat", "Name", "InternalIPInterfaceAddressPrefix"),
    "remove-netnat": _table("Get-NetNat", "Name", "InternalIPInterfaceAddressPrefix"),
    "new-netfirewallrule": _table("Get-NetFirewallRule", "Name", "Enabled", "Direction", "Action"),
    "remove-netfirewallrule": _table("Get-NetFirewallRule", "Name", "Enabled", "Direction", "Action"),
    "netsh": _table("netsh interface portproxy show all"),
    "bcdedit": _table("bcdedit /enum {current}"),
    "reg": _registry,
    "invoke-command": _guest_jobs,
    "restart-computer": _boot,
    "restart-vm": _vm_state,
    "set-netfirewallrule": _table("Get-NetFirewallRule", "Name", "Enabled", "Direction", "Action"),
}


def checks_for(lines: Sequence[Line]) -> list[Check]:
    """The read-backs of every line (inject and undo), each once; BadInput for a line without one."""
    return checks_of([(context, command, line) for context, line in lines for command in parse(line)])


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
        if check.command.startswith(getter) and prop in check.properties and isinstance(check.before, list):
            rows = [dict(zip(check.properties, r)) for r in check.before if isinstance(r, list)]
            matching = [r for r in rows if row(r)]
            if len(matching) == 1:
                return matching[0][prop]
            raise NoUndo(f"{check.describe()}: {len(matching)} rows where one was expected")
    raise NoUndo(f"no read-back of {prop} by {getter}")


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "$true" if value else "$false"
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        return "$null"
    return _q(value)  # enum values too: PowerShell binds 'On' to an enum parameter


def _vm_state_inverse(context: str, c: Command, checks: Sequence[Check]) -> list[Line]:
    name = c.param("Name")
    state = _before(checks, "Get-VM -Name", "State")
    if c.name.lower() == "restart-vm":
        return []  # it comes back as it was: its read-back says so
    if state == "Running":
        return [(context, f"Start-VM -Name {_q(name)}")]
    if state == "Off":
        return [(context, f"Stop-VM -Name {_q(name)} -TurnOff")]
    raise NoUndo(f"[{context}] {c}: {name} was {state}; only Running and Off are put back")


def _settings_inverse(getter: str, identity: tuple[str, ...], renamed: dict[str, str] | None = None) -> Inverse:
    def inverse(context: str, c: Command, checks: Sequence[Check]) -> list[Line]:
        ids = " ".join(f"-{n} {_q(c.param(n))}" for n in identity if c.has(n))
        values = [f"-{n} {_literal(_before(checks, getter, (renamed or {}).get(n, n)))}"
                  for n, _ in c.parameters if n not in identity]
        return [(context, " ".join([c.name, ids, *values]))]

    return inverse


def _adapter_inverse(context: str, c: Command, checks: Sequence[Check]) -> list[Line]:
    ids = _adapter_ids(c)
    values = []
    for name, _ in c.parameters:
        if name in ("VMName", "Name"):
            continue
        if name == "MaximumBandwidth":
            bandwidth = next((ch.before for ch in checks if "BandwidthSetting" in ch.command), [])
            values.append(f"-MaximumBandwidth {bandwidth[0][0] if bandwidth else 0}")
        else:
            values.append(f"-{name} {_literal(_before(checks, 'Get-VMNetworkAdapter', name))}")
    return [(context, f"{c.name} {ids} {' '.join(values)}")]


def _registry_inverse(context: str, c: Command, checks: Sequence[Check]) -> list[Line]:
    args = [str(a) for a in c.arguments]
    if len(args) < 2 or "/v" not in args:
        raise NoUndo(f"[{context}] reg {' '.join(args)}: only `reg add|delete KEY /v NAME …` is put back")
    key, value = args[1], args[args.index("/v") + 1]
    check = checks[0]
    before = check.before[0][0] if isinstance(check.before, list) and check.before else None
    if before is None:
        return [(context, f"reg delete {key} /v {value} /f")]
    kind = "REG_DWORD" if isinstance(before, int) else "REG_SZ"
    return [(context, f"reg add {key} /v {value} /t {kind} /d {before} /f")]


def _bcdedit_inverse(context: str, c: Command, checks: Sequence[Check]) -> list[Line]:
    args = [str(a) for a in c.arguments]
    if len(args) != 3 or args[0].lower() != "/set":
        raise NoUndo(f"[{context}] bcdedit {' '.join(args)}: only `bcdedit /set NAME VALUE` is put back")
    lines = [line for line in checks[0].before or [] if isinstance(line, str) and line.split()[:1] == [args[1]]]
    if not lines:
        return [(context, f"bcdedit /deletevalue {args[1]}")]
    return [(context, f"bcdedit /set {args[1]} {lines[0].split(None, 1)[1].strip().lower()}")]


def _portproxy_inverse(context: str, c: Command, checks: Sequence[Check]) -> list[Line]:
    args = [str(a) for a in c.arguments]
    options = dict(a.split("=", 1) for a in args if "=" in a)
    if args[:2] != ["interface", "portproxy"] or "listenport" not in options or "listenaddress" not in options:
        raise NoUndo(f"[{context}] netsh {' '.join(args)}: only portproxy rules with a listen address are put back")
    listen = (options["listenaddress"], options["listenport"])
    rows = [line.split() for line in checks[0].before or [] if isinstance(line, str)]
    was = [r for r in rows if len(r) == 4 and (r[0], r[1]) == listen]
    where_ = f"v4tov4 listenport={listen[1]} listenaddress={listen[0]}"
    if not was:
        return [(context, f"netsh interface portproxy delete {where_}")]
    return [(context, f"netsh interface portproxy add {where_} connectport={was[0][3]} connectaddress={was[0][2]}")]


def _named(remove: str, add: Callable[[dict], str] | None = None) -> Inverse:
    """New-X -Name N: remove it if it was not there; Remove-X -Name N: add it back as it was (its
    table's read-back row), when `add` knows how."""

    def inverse(context: str, c: Command, checks: Sequence[Check]) -> list[Line]:
        name = str(c.param("Name"))
        rows = [dict(zip(checks[0].properties, r)) for r in checks[0].before or [] if isinstance(r, list)]
        was = [r for r in rows if str(r.get("Name")) == name]
        if c.name.lower().startswith("new-"):
            if was:
                raise NoUndo(f"[{context}] {c}: {name} existed already")
            return [(context, remove.format(name=_q(name)))]
        if not was or add is None:
            raise NoUndo(f"[{context}] {c}: what it removes cannot be put back from its read-back")
        return [(context, add(was[0]))]

    return inverse


def _path_inverse(context: str, c: Command, checks: Sequence[Check]) -> list[Line]:
    if checks[0].before != [False]:
        raise NoUndo(f"[{context}] {c}: its destination existed already")
    return [(context, f"Remove-Item -Path {_q(c.param('DestinationPath'))}")]


def _drive_inverse(context: str, c: Command, checks: Sequence[Check]) -> list[Line]:
    slot = {k: c.param(k) for k in ("ControllerType", "ControllerNumber", "ControllerLocation")}
    path = _before(checks, "Get-VMHardDiskDrive", "Path",
                   lambda r: all(str(r[k]) == str(v) for k, v in slot.items()))
    where_ = " ".join(f"-{k} {v}" for k, v in slot.items())
    return [(context, f"Set-VMHardDiskDrive -VMName {_q(c.param('VMName'))} {where_} -Path {_q(path)}")]


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
    "new-netnat": _named("Remove-NetNat -Name {name} -Confirm:$false"),
    "remove-netnat": _named("", lambda r: (
        f"New-NetNat -Name {_q(r['Name'])} -InternalIPInterfaceAddressPrefix {r['InternalIPInterfaceAddressPrefix']}")),
    "new-vmswitch": _named("Remove-VMSwitch -Name {name} -Force"),
    "new-netfirewallrule": _named("Remove-NetFirewallRule -Name {name}"),
    "set-netfirewallrule": _settings_inverse("Get-NetFirewallRule", ("Name",)),
    "restart-computer": lambda context, c, checks: [],  # a boot applies what the other steps' read-backs check
}


def undo_of(context: str, pipeline: Sequence[Command]) -> tuple[list[Check], Callable[[Sequence[Check]], list[Line]]]:
    """The read-backs of one command, and how to compute its undo once they have been read."""
    if len(pipeline) != 1:
        raise NoUndo(f"[{context}] {' | '.join(map(str, pipeline))}: only single commands are journalled on a real host")
    (command,) = pipeline
    inverse = INVERSES.get(command.name.lower())
    if inverse is None:
        raise NoUndo(f"[{context}] {command}: no undo is known for {command.name}: not run on a real host")
    return checks_of([(context, command, str(command))]), lambda checks: inverse(context, command, checks)


# ----------------------------------------------------------------------------------------------
# the journal file
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One injected fault: what went in, how it comes out, how to tell, and how far it got."""

    index: int
    fault: str
    subject: str
    host: str
    inject: tuple[Line, ...]
    undo: tuple[Line, ...]
    checks: tuple[Check, ...]
    status: str = WRITTEN
    error: str = ""

    @property
    def pending(self) -> bool:
        """Whether the host may still carry this step's change."""
        return self.status != UNDONE

    @property
    def what(self) -> str:
        """`extensions-not-exposed on HV01/L1` for a fault; `[HV01] Stop-VM -Name L1` for a command."""
        return f"{self.fault} on {self.subject}" if self.fault else f"[{self.subject}] {self.inject[0][1]}"


@dataclass
class Journal:
    """A journal file and its steps; every change is written through to the file at once."""

    path: Path
    addresses: dict[str, HostAddress]
    target: str = ""
    created: str = ""
    steps: list[Step] = field(default_factory=list)
    baseline: str = ""  # a capture (lab file) of the hosts before the run, when one was taken

    @classmethod
    def create(cls, path: Path, addresses: Sequence[HostAddress], *, target: str = "", baseline: str = "") -> "Journal":
        created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        journal = cls(Path(path), {a.name: a for a in addresses}, target, created, baseline=baseline)
        journal.save()
        return journal

    @classmethod
    def load(cls, path: Path) -> "Journal":
        return from_data(Path(path), _read(Path(path)))

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        self.save()
        return step

    def update(self, step: Step, **changes: Any) -> Step:
        changed = replace(step, **changes)
        self.steps[self.steps.index(step)] = changed
        self.save()
        return changed

    def pending(self) -> list[Step]:
        return [s for s in self.steps if s.pending]

    def save(self) -> None:
        write_atomic(self.path, json.dumps(to_data(self), indent=2) + "\n")
        _fsync_directory(self.path.parent)


def _fsync_directory(folder: Path) -> None:
    """os.replace is durable only once the folder's entry is on disk too (POSIX)."""
    try:
        fd = os.open(folder or Path("."), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def to_data(journal: Journal) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "target": journal.target,
        "created": journal.created,
        "baseline": journal.baseline,
        "hosts": [_address_data(a) for a in journal.addresses.values()],
        "steps": [
            {**{k: v for k, v in asdict(s).items() if k not in ("inject", "undo", "checks")},
             "inject": [list(line) for line in s.inject],
             "undo": [list(line) for line in s.undo],
             "checks": [{**asdict(c), "properties": list(c.properties)} for c in s.checks]}
            for s in journal.steps
        ],
    }


ADDRESS_FIELDS = ("name", "server", "port", "user", "transport", "auth", "cert_validation")


def _address_data(address: HostAddress) -> dict[str, Any]:
    return {name: getattr(address, name) for name in ADDRESS_FIELDS}


def _read(path: Path) -> Any:
    if not path.is_file():
        raise BadInput(f"{path}: no such journal")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{path}: not a nestlab journal (not JSON: {exc})") from None


def from_data(path: Path, data: Any) -> Journal:
    """A journal read back; anything malformed is one BadInput line naming the file and the place."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BadInput(f"{path}: not a nestlab journal (no \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise BadInput(f"{path}: journal version {data.get('version')!r} is not {VERSION}")
    try:
        addresses = [HostAddress(**{k: h[k] for k in ADDRESS_FIELDS if k in h}) for h in data["hosts"]]
        steps = [_step(s) for s in data["steps"]]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise BadInput(f"{path}: malformed journal: {type(exc).__name__}: {exc}") from None
    except BadInput as exc:
        raise BadInput(f"{path}: malformed journal: {exc}") from None
    hosts = {a.name: a for a in addresses}
    for step in steps:
        if step.host not in hosts:
            raise BadInput(f"{path}: steps[{step.index}]: host {step.host!r} is not in the journal's hosts")
    return Journal(path, hosts, str(data.get("target", "")), str(data.get("created", "")), steps,
                   baseline=str(data.get("baseline") or ""))


def _step(d: dict[str, Any]) -> Step:
    if d["status"] not in STATUSES:
        raise ValueError(f"unknown status {d['status']!r}")
    return Step(
        index=int(d["index"]),
        fault=str(d["fault"]),
        subject=str(d["subject"]),
        host=str(d["host"]),
        inject=tuple((str(c), str(line)) for c, line in d["inject"]),
        undo=tuple((str(c), str(line)) for c, line in d["undo"]),
        checks=tuple(Check(str(c["context"]), str(c["command"]), tuple(c["properties"]), c.get("before"), c.get("after"))
                     for c in d["checks"]),
        status=d["status"],
        error=str(d.get("error", "")),
    )


# ----------------------------------------------------------------------------------------------
# injecting and undoing
# ----------------------------------------------------------------------------------------------


class LineFailed(RuntimeError):
    """A line of a script failed on the host; its message is the host's own error text."""


def run_line(session: Session, context: str, line: str) -> None:
    host, vm = address(context)
    result = session.run(host, parse(line), vm=vm)
    if not result.ok:
        error = result.first_error()
        raise LineFailed(f"[{context}] {line}: {error.message if error else 'failed'}")


def inject(
    session: Session, journal: Journal, lab: Lab, fault_id: str, subject: str | None = None,
    *, allowed: Callable[[str], bool] = lambda host: False,
) -> Step:
    """Journal, then inject, one `cmd` fault through the session; `lab` is what the host shows now.

    `allowed(host)` is the safety gate (`--allow-destructive` and the inventory's `destructive:`);
    a host it refuses gets nothing, not even a read. The step is on disk before the first line runs.
    """
    from simulator import faults

    fault = faults.get(fault_id)
    if fault.kind != "cmd":
        raise BadInput(f"fault '{fault_id}' needs a physical change (inject: state): it cannot be injected on a real host")
    subject = subject or (fault.candidates(lab) or [None])[0]
    script = [tuple(line) for line in fault.inject_script(lab, subject)]
    undo = [tuple(line) for line in fault.undo_script(lab, subject)]
    hosts = {address(context)[0] for context, _ in [*script, *undo]}
    refused = sorted(h for h in hosts if not allowed(h))
    if refused:
        raise BadInput(f"{', '.join(refused)}: read-only (a fault is injected only with --allow-destructive "
                       "on a host whose inventory entry says destructive: true)")
    host = address(script[0][0])[0]  # the catalog's scripts each run on one host
    checks = tuple(replace(c, before=c.read(session)) for c in checks_for([*script, *undo]))
    step = journal.add(Step(len(journal.steps), fault_id, str(subject), host, tuple(script), tuple(undo), checks))
    try:
        for context, line in script:
            run_line(session, context, line)
    except BaseException as exc:
        journal.update(step, status=APPLY_FAILED, error=_one_line(exc))
        raise
    return journal.update(step, status=APPLIED)


def run_journaled(
    session: Session, journal: Journal, context: str, pipeline: Sequence[Command],
    *, allowed: Callable[[str], bool] = lambda host: False,
) -> Result:
    """One state-changing command a scenario runs (an engineer's command, a resolution line), journalled
    with the undo its read-backs allow; NoUndo (nothing run) when none is known. Its Result is returned
    whether it succeeded or not: a scenario may expect it to fail."""
    host, vm = address(context)
    if not allowed(host):
        raise BadInput(f"{host}: read-only (a change is made only with --allow-destructive "
                       "on a host whose inventory entry says destructive: true)")
    checks, undo = undo_of(context, pipeline)
    checks = [replace(c, before=c.read(session)) for c in checks]
    lines = undo(checks)
    line = " | ".join(map(str, pipeline))
    step = journal.add(Step(len(journal.steps), "", context, host, ((context, line),), tuple(lines),
                            tuple(checks) if lines else ()))
    try:
        result = session.run(host, pipeline, vm=vm)
    except BaseException as exc:
        journal.update(step, status=APPLY_FAILED, error=_one_line(exc))
        raise
    journal.update(step, status=APPLIED if result.ok else APPLY_FAILED,
                   error="" if result.ok else "; ".join(e.message for e in result.errors)[:300])
    return result


@dataclass(frozen=True)
class Outcome:
    """What undoing one step did: ran its lines or found it already undone; each check's verdict."""

    step: Step
    ran: bool
    errors: tuple[str, ...] = ()
    unreachable: bool = False  # the host could not be reached: nothing was read or run

    @property
    def undone(self) -> bool:
        return self.step.status == UNDONE

    def __str__(self) -> str:
        s = self.step
        head = f"step {s.index}: {s.what}"
        if self.undone:
            how = "undone" if self.ran else "already undone (read-backs show the values from before)"
            return f"{head}: {how}; {len(s.checks)} read-back(s) equal"
        wrong = [f"{c.describe()} shows {c.after!r}, was {c.before!r}" for c in s.checks if not c.same]
        return f"{head}: NOT undone: " + "; ".join([*self.errors, *wrong])


def undo_step(session: Session, journal: Journal, step: Step) -> Outcome:
    """Idempotent: when the read-backs already show the before values, nothing is run."""
    if step.status == UNDONE:
        return Outcome(step, ran=False)
    if _verify(session, step):
        return Outcome(journal.update(step, status=UNDONE, checks=_read_all(session, step)), ran=False)
    errors = []
    for context, line in step.undo:
        try:
            run_line(session, context, line)
        except LineFailed as exc:  # go on: later lines may still put the rest back; the checks judge
            errors.append(str(exc))
    checks = _read_all(session, step)
    status = UNDONE if all(c.same for c in checks) else UNDO_FAILED
    error = "" if status == UNDONE else "; ".join(errors) or "read-backs differ from the values before"
    return Outcome(journal.update(step, status=status, checks=checks, error=error), ran=True, errors=tuple(errors))


def _read_all(session: Session, step: Step) -> tuple[Check, ...]:
    return tuple(replace(c, after=c.read(session)) for c in step.checks)


def _verify(session: Session, step: Step) -> bool:
    return all(c.same for c in _read_all(session, step))


def undo_all(session: Session, journal: Journal) -> list[Outcome]:
    """Every pending step, newest first; a host that is gone stops only its own steps."""
    from lab.psrp_session import HostUnreachable

    outcomes = []
    for step in reversed(journal.pending()):
        try:
            outcomes.append(undo_step(session, journal, step))
        except HostUnreachable as exc:
            step = journal.update(step, status=UNDO_FAILED, error=str(exc))
            outcomes.append(Outcome(step, ran=False, errors=(str(exc),), unreachable=True))
    return outcomes


@contextmanager
def undone_on_exit(session: Session, journal: Journal) -> Iterator[Journal]:
    """Run a scenario; whatever happens (failure, Ctrl-C, SIGTERM), undo its steps afterwards.

    SIGTERM is turned into KeyboardInterrupt so the `finally` runs; while undoing, Ctrl-C is held
    back until the undo is done (a second Ctrl-C must not leave a host half restored).
    """
    with _sigterm_interrupts():
        try:
            yield journal
        finally:
            with interrupts_held():
                undo_all(session, journal)


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def interrupts_held() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: held.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if held:
            raise KeyboardInterrupt(f"signal {held[0]} (held back until the undo finished)")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
