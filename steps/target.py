"""Where the scenarios run: the target table behind `pytest --lab=…`.

A *target* is a place a scenario's lab lives: the in-process simulator (`sim`), the simulator
served over PSRP (`endpoint`), containers (`fleet:LAB`), or real hosts (`inventory:PATH`). Steps
never see which one: a scenario opens a `Testbed` on the target and talks to it only through

- `testbed.session` — a `lab.session.Session` (PowerShell pipelines, host or guest context);
- `testbed.inject(fault_id, subject)` — the fault catalog's injection, done the way the target
  can (state change in process; the catalog's `inject_script` through PowerShell on a real host);
- `testbed.physical_change(root_cause, subject)` — the manual action a person would take for a
  root cause that no command fixes (firmware switch, restore from backup): the catalog's `heal`,
  which only a simulated target can do;
- `testbed.trace(...)` — the simulator's hop-by-hop reachability trace.

Like pytest-testinfra's backends, every target kind is one row of a table: `lab.target_table`,
the same one `nestlab diagnose TARGET` reads (`TARGETS` here is its `--lab` rows). An unknown kind
is a usage error that lists them. This module holds the simulated ones (`sim`, `endpoint`);
`steps.target_inventory` the real hosts' (`inventory:`, `psrp://`, `fleet:`), which import this
module and never the reverse.
"""

from __future__ import annotations

import importlib
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest

from nestlab.lab import target_table
from nestlab.lab.session import Session
from nestlab.lab.target_table import Scheme
from nestlab.simulator.errors import BadInput

PHYSICAL_SKIP_REASON = "needs a physical change (inject: state)"


class Testbed(Protocol):
    """One scenario's lab on a target."""

    name: str
    session: Session

    def inject(self, fault_id: str, subject: str | None) -> str: ...

    def physical_change(self, root_cause: str, subject: str) -> None: ...

    def trace(self, source: str, destination: str, port: int, protocol: str) -> Any: ...

    def close(self) -> None: ...


class Target(Protocol):
    """A place to open testbeds; built once per pytest run from the `--lab` option."""

    name: str
    can_make_physical_changes: bool
    can_change_state: bool

    def open(self, lab_file: Path) -> Testbed: ...

    def close(self) -> None: ...


def fault_catalog() -> Any:
    """The fault catalog (`simulator.faults`): ids, inject kinds, injections and heals.

    Imported late so that a missing catalog fails the scenarios that need it, and not the
    collection of the whole suite.
    """
    return importlib.import_module("nestlab.simulator.faults")


def fault(fault_id: str) -> Any:
    return fault_catalog().get(fault_id)


# ------------------------------------------------------------------------------------------------
# sim: the in-process simulator
# ------------------------------------------------------------------------------------------------


@dataclass
class SimTestbed:
    """A lab loaded in process; the session runs the simulated cmdlets on it."""

    name: str
    lab: Any
    session: Session
    lock: Any = field(default_factory=nullcontext)  # held while the lab changes behind the session

    def inject(self, fault_id: str, subject: str | None) -> str:
        with self.lock:
            return fault(fault_id).inject(self.lab, subject)

    def physical_change(self, root_cause: str, subject: str) -> None:
        with self.lock:
            fault(root_cause).heal(self.lab, subject)

    def trace(self, source: str, destination: str, port: int, protocol: str) -> Any:
        from nestlab.simulator import network

        with self.lock:
            return network.trace(self.lab, self._endpoint(source), self._endpoint(destination), port, protocol)

    def _endpoint(self, name: str) -> str:
        """A node id or an address as given; a physical network by its name (`corp-lan`)."""
        from nestlab.simulator.model import network_id

        return network_id(name) if name not in self.lab and network_id(name) in self.lab else name

    def close(self) -> None:
        self.session.close()


@dataclass
class SimTarget:
    """`--lab=sim` (the default): every scenario gets a fresh lab in process."""

    name: str = "sim"
    can_make_physical_changes: bool | None = None  # None: what the target table's row says
    can_change_state: bool | None = None

    def __post_init__(self) -> None:
        can = target_table.BY_NAME[self.name].capabilities
        self.can_make_physical_changes = can.state_faults if self.can_make_physical_changes is None else self.can_make_physical_changes
        self.can_change_state = can.destructive if self.can_change_state is None else self.can_change_state

    def open(self, lab_file: Path) -> SimTestbed:
        from nestlab.lab.session import SimSession
        from nestlab.simulator import labfile

        lab = labfile.load(lab_file)
        return SimTestbed(name=lab.name, lab=lab, session=SimSession(lab))

    def close(self) -> None:
        pass


# ------------------------------------------------------------------------------------------------
# endpoint: the simulator served over WS-Management/PSRP on loopback, reached with pypsrp
# ------------------------------------------------------------------------------------------------

ENDPOINT_USER = "nestlab"


@dataclass
class EndpointTestbed(SimTestbed):
    """The scenario's lab served on loopback; every command goes through pypsrp (PsrpSession).

    A `cmd` fault is injected the way it would be on a real host: the catalog's inject script,
    line by line, through the session. The lab also lives in this process, so the physical
    changes of `state` faults and reachability traces are still possible (under the server's lock).
    """

    server: Any = None

    def inject(self, fault_id: str, subject: str | None) -> str:
        chosen = fault(fault_id)
        if chosen.kind != "cmd":
            return super().inject(fault_id, subject)
        with self.lock:
            subject = subject or chosen.candidates(self.lab)[0]
            script = chosen.inject_script(self.lab, subject)
        for action in script:
            run_script_line(self.session, action)
        return subject

    def close(self) -> None:
        try:
            self.session.close()
        finally:
            self.server.stop()


def run_script_line(session: Session, action: Any) -> None:
    """One action (`simulator.actions.Run`) of a fault script, through the session, where it executes.

    Errors are not fatal: breaking a host may make a later line complain (a reboot whose VMs no
    longer start); whether the fault took is what the scenario's symptom step checks."""
    session.run(action.where.host, action.pipeline, vm=action.where.guest_path)


@dataclass
class EndpointTarget(SimTarget):
    """`--lab=endpoint`: each scenario's lab served by `nestlab serve`'s LabServer on free ports."""

    name: str = "endpoint"
    served: list[Path] = field(default_factory=list)  # the lab files served, in order (steps/fidelity_replay.py)

    def open(self, lab_file: Path) -> EndpointTestbed:
        import secrets

        from nestlab.lab.psrp_session import HostAddress, PsrpSession
        from nestlab.simulator import labfile
        from nestlab.simulator.endpoint.auth import Credentials
        from nestlab.simulator.endpoint.server import LabServer

        lab = labfile.load(lab_file)
        self.served.append(Path(lab_file))
        password = secrets.token_urlsafe(16)
        server = LabServer(lab, Credentials(ENDPOINT_USER, password)).start()
        addresses = [
            HostAddress(host, "127.0.0.1", served.port, ENDPOINT_USER, "http", "basic")
            for host, served in server.servers.items()
        ]
        session = PsrpSession(addresses, passwords=lambda address: password)
        return EndpointTestbed(name=lab.name, lab=lab, session=session, lock=server.execute.lock, server=server)



# ------------------------------------------------------------------------------------------------
# The table of what exists: lab.target_table, shared with the CLI
# ------------------------------------------------------------------------------------------------


def sim_target(argument: str = "", *, allow_destructive: bool = False) -> SimTarget:
    return SimTarget()


def endpoint_target(argument: str = "", *, allow_destructive: bool = False) -> EndpointTarget:
    return EndpointTarget()


TARGETS: dict[str, Scheme] = {s.name: s for s in target_table.schemes("bdd")}


def parse_lab_option(value: str) -> tuple[Scheme, str]:
    """`sim`, `endpoint`, `psrp://…`, `fleet:LAB`, `inventory:PATH` → (row, argument); else UsageError."""
    try:
        return target_table.lookup(value, "bdd")
    except BadInput as exc:
        raise pytest.UsageError(str(exc)) from None


def build_target(value: str, config: pytest.Config) -> Target:
    """The `--lab` target, opened with the run's `--allow-destructive`; what cannot be opened
    (no running fleet, an unreachable psrp host) is a usage error, not a failure of each scenario."""
    scheme, argument = parse_lab_option(value)
    try:
        return scheme.opener("bdd")(argument, allow_destructive=bool(config.getoption("--allow-destructive")))
    except BadInput as exc:
        raise pytest.UsageError(f"--lab={value}: {exc}") from None


def cannot_run(target: Target, tags: set[str]) -> str | None:
    """Why a scenario with these tags cannot run on this target (a skip reason), or None."""
    if "state" in tags and not target.can_make_physical_changes:
        return PHYSICAL_SKIP_REASON
    if "destructive" in tags and not target.can_change_state:
        return f"changes its target; --lab={target.name} is read-only (see --allow-destructive)"
    return None


def describe_targets() -> str:
    """The `--lab` help text, from the table."""
    return target_table.describe("bdd")
