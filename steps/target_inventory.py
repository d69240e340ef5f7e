"""`pytest --lab=inventory:PATH` (and `psrp://…`, `fleet:LAB`): the scenarios against real hosts.

A real lab cannot be built from a scenario's lab file: the hosts are what they are. A scenario runs
when its lab's hosts are hosts of the inventory and every VM of its lab is on them (its node ids
then name real hosts and VMs), and is skipped otherwise, saying why. Everything goes through PsrpSession, and everything is read-only
(`lab.inventory.GuardedSession`) unless the run says `--allow-destructive` and the host's entry
says `destructive: true`; a fault is then injected as on the endpoint (the catalog's inject
script), computed on what the host shows now (a fresh collection), and journalled with its undo
first (`lab.journal`). The testbed's close undoes every step, newest first, and verifies each by
reading back, then puts VMs back in the power state (and memory) the baseline capture shows, each
move a journalled step too; so does an interpreter exit (atexit) and SIGTERM (turned into
KeyboardInterrupt). A step that could not be undone, or a host that still differs from the
baseline, fails the scenario with the journal's path and `nestlab restore`.

Physical changes (`inject: state`) and reachability traces need the simulator: skipped here.
"""

from __future__ import annotations

import atexit
import signal
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from nestlab.lab import journal as journaling
from nestlab.lab import readback
from nestlab.lab.capture import Capture
from nestlab.lab.capture import write as write_capture
from nestlab.lab import target_table
from nestlab.lab.inventory import GuardedSession, InventoryHost, Permission, ReadOnly, changes_state, read_hosts
from nestlab.lab.psrp_session import HostAddress, PsrpSession
from nestlab.simulator.errors import BadInput
from nestlab.simulator.model import NodeId
from nestlab.steps.target import PHYSICAL_SKIP_REASON, fault

TRACE_SKIP_REASON = "hop-by-hop reachability traces need the simulator's model (not a real host)"
JOURNAL_DIR = journaling.JOURNAL_DIR


class ScenarioSession(GuardedSession):
    """The guard, for a scenario. On a host the run may not change, a command that would change it
    skips the scenario (saying which and why) instead of failing it; nothing is sent. On a host it
    may change, each such command is journalled with its undo first (`journal.run_journaled`), and
    one whose undo is not known skips the scenario, unrun."""

    def __init__(self, session: PsrpSession, permission: Permission, journal: journaling.Journal) -> None:
        super().__init__(session, permission)
        self.journal = journal

    def run(self, host: str, pipeline: Any, *, vm: Any = ()) -> Any:
        if self.permission.may_change(host) and changes_state(pipeline):
            pipeline, vm = into_guest(pipeline, tuple(vm))
            context = "/".join((host, *vm))
            try:
                return journaling.run_journaled(self.inner, self.journal, context, pipeline,
                                                allowed=self.permission.may_change)
            except readback.NoUndo as exc:
                pytest.skip(str(exc))
        return super().run(host, pipeline, vm=vm)

    def _check(self, host: str, pipelines: Any) -> None:
        if self.permission.may_change(host) and any(changes_state(p) for p in pipelines):
            pytest.skip(f"{host}: a batch that changes a host is not journalled; send its commands one by one")
        try:
            super()._check(host, pipelines)
        except ReadOnly as exc:
            pytest.skip(str(exc))


def into_guest(pipeline: Any, vm: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
    """A command an engineer typed as `Invoke-Command -VMName X -ScriptBlock { … }` is its script
    block run in X's guest, which is how a session addresses a guest, so it is journalled as that
    (its read-backs run there too). Typed text only: actions arrive with their guest already."""
    from nestlab.simulator.psparse import parse

    if len(pipeline) == 1 and pipeline[0].name.lower() == "invoke-command":
        name, block = pipeline[0].param("VMName"), pipeline[0].param("ScriptBlock")
        if isinstance(name, str) and block is not None and len(pipeline[0].parameters) == 2:
            return into_guest(parse(str(block)), (*vm, name))
    return pipeline, vm


@dataclass
class InventoryTestbed:
    """One scenario on the inventory's hosts: a guarded session, and a journal of what it changed."""

    name: str
    session: GuardedSession
    journal: journaling.Journal
    permission: Permission
    raw: PsrpSession = field(repr=False)
    baseline: Any = field(default=None, repr=False)  # what the hosts showed when the scenario began
    settled: Any = field(default=None, repr=False)  # the last comparison with the baseline (journal.Settled)

    def inject(self, fault_id: str, subject: str | None) -> str:
        from nestlab.diagnosis.collect import collect

        chosen = fault(fault_id)
        if chosen.kind != "cmd":
            pytest.skip(PHYSICAL_SKIP_REASON)
        shown = collect(self.session).lab  # what the hosts show now: the catalog's scripts are computed on it
        subject = subject or next(iter(chosen.candidates(shown)), None)
        if subject is None:
            pytest.skip(f"{fault_id}: nothing on these hosts it applies to")
        host = NodeId.parse(subject).host or ""
        why = self.permission.why_not(host, subject)
        if why:
            pytest.skip(why)
        step = journaling.inject(self.raw, self.journal, shown, fault_id, subject, allowed=self.permission.may_change)
        return step.subject

    def physical_change(self, root_cause: str, subject: str) -> None:
        pytest.skip(PHYSICAL_SKIP_REASON)

    def trace(self, source: str, destination: str, port: int, protocol: str) -> Any:
        pytest.skip(TRACE_SKIP_REASON)

    def restore(self) -> list[journaling.Outcome]:
        """Undo every pending step, then put VMs back as the baseline shows them, each move journalled
        (idempotent; atexit calls it too if close never ran)."""
        with journaling.interrupts_held():
            outcomes = journaling.undo_all(self.raw, self.journal)
            self.settled = journaling.Settled((), ())
            if self.journal.steps and self.baseline is not None:
                self.settled = journaling.settle(self.raw, self.journal, self.baseline,
                                                 allowed=self.permission.may_change)
            return [*outcomes, *self.settled.outcomes]

    def close(self) -> None:
        """Undo the journal, then compare a fresh collection with the baseline: VMs a reboot left off
        are started again (journalled), and anything else that still differs fails the scenario."""
        atexit.unregister(self.restore)
        try:
            outcomes = self.restore()
        finally:
            self.raw.close()
        settled = self.settled
        failed = ([str(o) for o in outcomes if not o.undone] + list(settled.unreachable)
                  + [f"differs from before the scenario: {d}" for d in settled.differences])
        if failed:
            pytest.fail(f"not restored ({'; '.join(failed)}); journal {self.journal.path}: "
                        f"run `nestlab restore {self.journal.path}`", pytrace=False)


@dataclass
class InventoryTarget:
    """Real hosts (an inventory file's, one psrp:// host, a fleet's containers), read-only unless
    `--allow-destructive` and the host's entry allow. Give `path` (an inventory file) or `hosts`."""

    path: Path | None = None
    allow_destructive: bool = False
    journal_dir: Path = JOURNAL_DIR
    name: str = ""
    hosts: dict[str, InventoryHost] = field(default_factory=dict)
    scheme: str = "inventory"  # its row of lab.target_table: what this kind can do at all
    _previous_sigterm: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.path is not None and not self.hosts:
            self.hosts = {h.name: h for h in read_hosts(Path(self.path))}
        self.name = self.name or f"inventory:{self.path}"
        if threading.current_thread() is threading.main_thread():
            self._previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)

    @property
    def capabilities(self) -> target_table.Capabilities:
        return target_table.BY_NAME[self.scheme].capabilities

    @property
    def can_make_physical_changes(self) -> bool:
        return self.capabilities.state_faults

    @property
    def can_change_state(self) -> bool:
        return (self.capabilities.destructive and self.allow_destructive
                and any(h.destructive for h in self.hosts.values()))

    def open(self, lab_file: Path) -> InventoryTestbed:
        from nestlab.diagnosis.collect import collect
        from nestlab.simulator import labfile

        wanted = labfile.load(lab_file)
        missing = sorted(set(wanted.hosts()) - set(self.hosts))
        if missing:
            pytest.skip(f"the scenario's lab {wanted.name!r} needs hosts {', '.join(missing)}, "
                        f"which {self.name} does not list ({', '.join(self.hosts)})")
        names = list(wanted.hosts())
        permission = Permission({n: self.hosts[n] for n in names}, self.allow_destructive)
        raw = PsrpSession([self.hosts[n].address for n in names])
        baseline = collect(GuardedSession(raw, Permission({}))).lab  # read-only, whatever the flags say
        absent = [vm for vm in wanted.all_vms() if vm not in baseline]
        if absent:
            raw.close()
            pytest.skip(f"the scenario's lab {wanted.name!r} has VMs these hosts do not show: {', '.join(absent[:5])}")
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        self.journal_dir.mkdir(parents=True, exist_ok=True)
        before = self.journal_dir / f"{stamp}-{wanted.name}.before.yaml"
        write_capture(Capture(baseline, self.name, stamp, ()), before)  # for `nestlab restore` to settle against
        journal = journaling.Journal.create(self.journal_dir / f"{stamp}-{wanted.name}.json",
                                            [self.hosts[n].address for n in names], target=self.name,
                                            baseline=str(before.resolve()))
        testbed = InventoryTestbed(wanted.name, ScenarioSession(raw, permission, journal), journal, permission, raw, baseline)
        atexit.register(testbed.restore)
        return testbed

    def close(self) -> None:
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}: the scenario's changes are undone on the way out")


# ------------------------------------------------------------------------------------------------
# The openers lab.target_table names for `--lab`
# ------------------------------------------------------------------------------------------------


def inventory_target(path: str, *, allow_destructive: bool = False) -> InventoryTarget:
    """`--lab=inventory:PATH`."""
    return InventoryTarget(Path(path), allow_destructive=allow_destructive)


def fleet_target(lab: str, *, allow_destructive: bool = False) -> InventoryTarget:
    """`--lab=fleet:LAB`: the containers `nestlab up LAB` runs, from Docker's listing."""
    from nestlab.lab.target_fleet import fleet_hosts

    hosts = {h.name: h for h in fleet_hosts(lab)}
    return InventoryTarget(allow_destructive=allow_destructive, name=f"fleet:{lab}", hosts=hosts, scheme="fleet")


def psrp_target(url: str, *, allow_destructive: bool = False) -> InventoryTarget:
    """`--lab=psrp://…`: one host, always read-only (a URL cannot say `destructive: true`).

    A scenario's lab names its host (`HV01`), a URL names a server (`hv01.contoso.com`,
    `127.0.0.1`): the host is called what it calls itself (its computer name, as the collector
    and `nestlab fix` name it), so
    the scenarios whose lab is that host run and the others are skipped saying so.
    """
    from nestlab.lab.targets import parse_psrp_url

    address = parse_psrp_url(url)
    address = replace(address, name=computer_name(address))
    return InventoryTarget(allow_destructive=allow_destructive, name=url,
                           hosts={address.name: InventoryHost(address)}, scheme="psrp")


def computer_name(address: HostAddress) -> str:
    """What the host calls itself, by the collector's own probe and rule (`lab.named`); read-only.
    Unlike `named.own_name`, a host that does not answer is an error here: a run named after its
    address would skip every scenario for the wrong reason."""
    from nestlab.diagnosis.parse import computer_name as own_name
    from nestlab.lab.named import NAME_PROBE
    from nestlab.simulator.psparse import parse

    session = GuardedSession(PsrpSession([address]), Permission({}))
    try:
        result = session.run(address.name, parse(NAME_PROBE))
    finally:
        session.close()
    name = own_name({"cs": result})
    if not name:
        raise BadInput(f"{address.where}: {NAME_PROBE} gave no computer name")
    return name
