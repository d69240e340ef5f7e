"""`nestlab collect`: the troubleshooting guide's data-collection bundle, from any target.

What the guide's "Data collection" section asks for (OS versions and builds, CPU and RAM, every
VM's configuration, switches, NAT, disks, event logs, the PowerShell outputs it names), for each
host and, through PowerShell Direct, each Running guest at any depth; plus the few outputs
docs/evidence.md needs to show the rest of a lab's state. One text file per command, printed as
PowerShell prints it (lab/bundle_format.py), and manifest.json saying what ran where, when, and
how it ended. The `netsh trace` captures are listed and run only when asked (`trace=True`).

A host that stops answering (a SessionError, a dropped connection) does not lose the bundle:
its remaining commands are listed as not run, with the reason, and the other hosts go on.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from nestlab.diagnosis import probes as diagnosis_probes
from nestlab.lab import bundle_format
from nestlab.simulator.errors import SessionError
from nestlab.lab.session import Session
from nestlab.simulator.errors import BadInput
from nestlab.simulator.psdata import Command, PSObject, Result

FORMAT = "nestlab-bundle/1"
EVENTS_PER_LOG = 1000
HYPERV_LOGS = ("Microsoft-Windows-Hyper-V-VMMS-Admin", "Microsoft-Windows-Hyper-V-Worker-Admin")
TRACE_COMMANDS = (  # the guide's network traces, verbatim
    "netsh trace start capture=yes scenario=Virtualization,NetConnection tracefile={path}",
    "netsh trace start capture=yes scenario=NetConnection level=5 maxsize=1024 tracefile={path}",
)
NATIVE_COMMANDS = ("systeminfo", "bcdedit", "netsh", "fltmc")
# Probes of diagnosis.probes that the guide's per-VM and per-disk commands replace here.
PER_VM_KEYS = ("processors", "memory", "vmadapters", "bandwidth", "drives", "vhds")
# File names a support engineer recognises, for the diagnosis's probe keys (others keep their key).
FILE_NAMES = {
    "os": "win32-operatingsystem", "cs": "win32-computersystem", "cpu": "win32-processor",
    "bcd": "bcdedit-enum-current", "feature": "get-windowsfeature-hyperv",
    "optionalfeature": "get-windowsoptionalfeature-hyperv", "deviceguard": "win32-deviceguard",
    "dg_registry": "deviceguard-registry", "dg_policy": "deviceguard-policy-registry",
    "antivirus": "antivirusproduct", "filters": "fltmc-filters", "services": "get-service", "events:System": "eventlog-system",
    "volumes": "get-volume", "partitions": "get-partition", "physicaldisks": "get-physicaldisk",
    "portproxy": "netsh-portproxy-show-all", "firewall": "get-netfirewallrule",
    "portfilters": "get-netfirewallportfilter", "netadapters": "get-netadapter", "ipaddresses": "get-netipaddress",
    "switches": "get-vmswitch", "nat": "get-netnat", "natmappings": "get-netnatstaticmapping", "vms": "get-vm",
    "hotfix": "get-hotfix", "routes": "get-netroute-default", "profiles": "get-netconnectionprofile",
    "imds": "azure-instance-metadata", "tcplisteners": "get-nettcpconnection-listen",
    "udplisteners": "get-netudpendpoint",
}
LIST = "list"
TABLE = "table"
NATIVE = "native"


@dataclass(frozen=True)
class Probe:
    """One command of the bundle: where its output goes and how PowerShell prints it."""

    file: str
    pipeline: tuple[Command, ...]
    view: str = LIST  # list (fl *) | table (the cmdlet's default view) | native (text lines)

    @property
    def command(self) -> str:
        text = bundle_format.command_line(self.pipeline)
        return text + (" | Format-List *" if self.view == LIST else "")


@dataclass
class Entry:
    """A manifest line: what ran (or was only listed), where, when, and how it ended."""

    command: str
    host: str
    vm: list[str]
    file: str | None
    status: str  # ok | error | failed | unreachable | not-run
    started: str | None = None
    finished: str | None = None
    errors: list[str] = field(default_factory=list)


def platform_probes(days: int, now: datetime, *, guest: bool) -> list[Probe]:
    """What every Windows installation shows about itself (a host, or a guest).

    The diagnosis's own probe plan (diagnosis.probes) is the core, so a bundle shows everything a
    diagnosis would see; its per-VM and per-disk probes are replaced by the guide's per-VM
    commands below, and the guide adds systeminfo and the Hyper-V logs of the last `days` days.
    """
    start = now - timedelta(days=days)
    probes = [Probe("systeminfo.txt", (Command.of("systeminfo"),), NATIVE)]
    for p in diagnosis_probes.first_batch(guest=guest):
        if p.key in PER_VM_KEYS or p.key.startswith(("events:Microsoft-Windows-Hyper-V", "vhd:")):  # vhd:*: disk chains
            continue
        name = FILE_NAMES.get(p.key, _slug(p.key.replace(":", "-")))
        probes.append(Probe(f"{name}.txt", p.pipeline, _view(p.pipeline)))
    since = start.strftime("%Y-%m-%dT%H:%M:%S")
    for log in HYPERV_LOGS:
        # "the last N days" as a Where-Object on TimeCreated: plain values only, so the same pipeline
        # crosses PSRP and PowerShell Direct (a -FilterHashtable literal does not render for Direct).
        probes.append(Probe(f"eventlog-{log.removeprefix('Microsoft-Windows-').lower()}.txt", (
            Command.of("Get-WinEvent", LogName=log, MaxEvents=EVENTS_PER_LOG),
            Command.of("Where-Object", Property="TimeCreated", GE=True, Value=since),
        )))
    return probes


def _view(pipeline: tuple[Command, ...]) -> str:
    return NATIVE if pipeline[0].name.lower() in NATIVE_COMMANDS else LIST


def trace_probes(host: str) -> list[Probe]:
    return [
        Probe(f"netsh-trace-{i}.txt",
              (Command.of("netsh", *template.format(path=f"C:\\Windows\\Temp\\nestlab-{_slug(host)}-{i}.etl").split()[1:]),),
              NATIVE)
        for i, template in enumerate(TRACE_COMMANDS, start=1)
    ]


def vm_probes(name: str) -> list[Probe]:
    """What the parent shows about one VM (the guide's `Get-VM -Name <vm> | fl *` and kin)."""
    slug = _slug(name)
    return [
        Probe(f"get-vm-{slug}.txt", (Command.of("Get-VM", Name=name),)),
        Probe(f"get-vmprocessor-{slug}.txt", (Command.of("Get-VMProcessor", VMName=name),)),
        Probe(f"get-vmmemory-{slug}.txt", (Command.of("Get-VMMemory", VMName=name),), TABLE),
        Probe(f"get-vmnetworkadapter-{slug}.txt", (Command.of("Get-VMNetworkAdapter", VMName=name),)),
        Probe(f"get-vmharddiskdrive-{slug}.txt", (Command.of("Get-VMHardDiskDrive", VMName=name),)),
        Probe(f"get-vmnetworkadapter-bandwidth-{slug}.txt", (
            Command.of("Get-VMNetworkAdapter", VMName=name), Command.of("Select-Object", ExpandProperty="BandwidthSetting"))),
    ]


def vhd_probe(path: str, index: int) -> Probe:
    return Probe(f"get-vhd-{index:02d}-{_slug(Path(path.replace(chr(92), '/')).name)}.txt", (Command.of("Get-VHD", Path=path),))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


# ----------------------------------------------------------------------------------------------


class Collector:
    """Runs the probes of one target into a folder, keeping the manifest as it goes."""

    def __init__(self, session: Session, root: Path, *, days: int, trace: bool,
                 on_step: Callable[[str, int, int], None] | None = None) -> None:
        self.session = session
        self.root = root
        self.days = days
        self.trace = trace
        self.on_step = on_step or (lambda text, planned, done: None)  # progress: planned / done counts
        self.entries: list[Entry] = []
        self.down: dict[str, str] = {}  # host -> why it stopped answering
        self.searches = 0
        self.now = datetime.now(timezone.utc)

    def collect(self) -> list[Entry]:
        for host in self.session.hosts():
            self.context(host, ())
            self.traces(host)
        return self.entries

    def traces(self, host: str) -> None:
        """The guide's `netsh trace` captures: run (each then stopped) with --trace, else only listed."""
        for i, probe in enumerate(trace_probes(host), start=1):
            if self.trace:
                self.run(host, (), Path(host), probe)
                self.run(host, (), Path(host), Probe(f"netsh-trace-stop-{i}.txt", (Command.of("netsh", "trace", "stop"),), NATIVE))
            else:
                self.entries.append(Entry(probe.command, host, [], None, "not-run",
                                          errors=["listed only: runs with --trace"]))

    def context(self, host: str, vm: tuple[str, ...]) -> None:
        where = "/".join((host, *vm))
        folder = Path(host, *vm)
        probes = platform_probes(self.days, self.now, guest=bool(vm))
        self.on_step(f"{where}: platform", len(probes), 0)
        answers = {p.file: self.run(host, vm, folder, p) for p in probes}
        listed = answers.get("get-vm.txt")
        vms = [o for o in (listed.output if listed else ()) if isinstance(o, PSObject)]
        disks: list[str] = []
        for obj in vms:
            name = str(obj.get("Name"))
            probes = vm_probes(name)
            self.on_step(f"{where}: VM {name}", len(probes), 0)
            for probe in probes:
                result = self.run(host, vm, folder, probe)
                if probe.file.startswith("get-vmharddiskdrive") and result is not None:
                    disks += [str(d.get("Path")) for d in result.output if isinstance(d, PSObject) and d.get("Path")]
        volumes = answers.get("get-volume.txt")
        drives = [f"{o.get('DriveLetter')}:" for o in (volumes.output if volumes else ()) if isinstance(o, PSObject) and o.get("DriveLetter")]
        self.vhds(host, vm, folder, disks, drives)
        for obj in vms:
            if str(obj.get("State")) == "Running" and host not in self.down:
                self.context(host, (*vm, str(obj.get("Name"))))

    def vhds(self, host: str, vm: tuple[str, ...], folder: Path, paths: list[str], drives: list[str]) -> None:
        """Get-VHD and Test-VHD on each disk and, up the chain, Get-VHD and Test-Path on each
        ParentPath; a file that is gone is looked for on every volume (as the diagnosis does), and
        the chain of what that finds is walked the same way."""
        where = "/".join((host, *vm))
        seen: dict[str, str] = {}
        missing: list[str] = []
        searched: set[str] = set()
        queue = [(p, False) for p in paths]
        while queue:
            path, is_parent = queue.pop(0)
            if path.lower() not in seen:
                seen[path.lower()] = path
                n = len(seen)
                probes = [vhd_probe(path, n), Probe(f"test-vhd-{n:02d}.txt", (Command.of("Test-VHD", Path=path),))]
                if is_parent:
                    probes.append(Probe(f"test-path-{n:02d}.txt", (Command.of("Test-Path", Path=path),)))
                self.on_step(f"{where}: {path}", len(probes), 0)
                results = [self.run(host, vm, folder, p) for p in probes]
                if results[0] is not None and results[0].errors and not results[0].output:
                    missing.append(path)
                for obj in results[0].output if results[0] else ():
                    parent = obj.get("ParentPath") if isinstance(obj, PSObject) else None
                    if parent:
                        queue.append((str(parent), True))
            if not queue and drives:
                queue = [(found, False) for found in self.search(host, vm, folder, [m for m in missing if m not in searched], drives)]
                searched.update(missing)

    def search(self, host: str, vm: tuple[str, ...], folder: Path, missing: list[str], drives: list[str]) -> list[str]:
        """Get-ChildItem -Recurse -Filter <file name> on every volume, for each file that is gone."""
        found: list[str] = []
        for p in diagnosis_probes.search_batch(missing, drives):
            self.searches += 1
            result = self.run(host, vm, folder, Probe(f"search-parent-{self.searches:02d}.txt", p.pipeline))
            found += [str(hit.get("FullName")) for hit in (result.output if result else ())
                      if isinstance(hit, PSObject) and hit.get("FullName")]
        return found

    def answer(self, host: str, vm: tuple[str, ...], pipeline: tuple[Command, ...]) -> Result | None:
        if host in self.down:
            return None
        try:
            return self.session.run(host, pipeline, vm=vm)
        except (SessionError, OSError, TimeoutError) as exc:
            self.down[host] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return None

    def run(self, host: str, vm: tuple[str, ...], folder: Path, probe: Probe) -> Result | None:
        started = _stamp()
        result = self.answer(host, vm, probe.pipeline)
        self.on_step(f"{'/'.join((host, *vm))}: {probe.command}", 0, 1)
        file = (folder / probe.file).as_posix()
        if result is None:
            self.entries.append(Entry(probe.command, host, list(vm), None, "unreachable", started, _stamp(),
                                      [f"{host} stopped answering: {self.down[host]}"]))
            return None
        text = render(probe, result)
        target = self.root / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", newline="\n")
        status = "failed" if result.failed else ("error" if result.errors else "ok")
        self.entries.append(Entry(probe.command, host, list(vm), file, status, started, _stamp(),
                                  [f"{e.fully_qualified_error_id}: {e.message}" for e in result.errors]))
        return result


def render(probe: Probe, result: Result) -> str:
    """The file: what PowerShell prints for the output, then for each error."""
    if probe.view == NATIVE:
        text = "".join(f"{line}\n" for line in result.output)
    else:
        text = bundle_format.format_output(result.output, as_list=probe.view == LIST)
    return text + "".join(bundle_format.format_error(e, probe.pipeline) for e in result.errors)


def _stamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Collected:
    path: Path
    entries: tuple[Entry, ...]
    down: dict[str, str]

    @property
    def failures(self) -> list[Entry]:
        return [e for e in self.entries if e.status == "unreachable"]


def collect(session: Session, out: str | Path, *, target: str = "", lab_name: str | None = None, days: int = 7,
            trace: bool = False, on_step: Callable[[str, int, int], None] | None = None) -> Collected:
    """Collect the bundle into folder `out`, or into a zip when `out` ends in .zip (written atomically)."""
    out = Path(out)
    if not out.parent.is_dir():
        raise BadInput(f"{out}: folder {out.parent} does not exist")
    if out.suffix.lower() != ".zip" and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BadInput(f"{out}: exists and is not an empty folder; give a new folder or a .zip")
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        collector = Collector(session, work, days=days, trace=trace, on_step=on_step)
        entries = collector.collect()
        manifest = {
            "format": FORMAT,
            "lab": lab_name,
            "target": target,
            "created": collector.now.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "days": days,
            "hosts": session.hosts(),
            "failures": [f"{h}: stopped answering: {why}" for h, why in collector.down.items()],
            "entries": [asdict(e) for e in entries],
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _publish(work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Collected(out, tuple(entries), dict(collector.down))


def _publish(work: Path, out: Path) -> None:
    """Move the finished bundle into place in one step (a zip via temp file + os.replace)."""
    if out.suffix.lower() == ".zip":
        fd, temp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        os.close(fd)
        try:
            with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as zf:
                for p in sorted(work.rglob("*")):
                    if p.is_file():
                        zf.write(p, p.relative_to(work).as_posix())
            os.replace(temp, out)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BadInput(f"{out}: exists and is not an empty folder; give a new folder or a .zip")
    os.replace(work, out)
