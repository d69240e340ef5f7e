"""The fidelity report of a BDD replay against real or served hosts (issue 11 item 6).

When the guide's scenarios run against hosts that are not the in-process simulator
(`pytest --lab=psrp://…`, `inventory:…`, `fleet:…`, `endpoint`), the end of the run says where
the simulator would have predicted those hosts' answers otherwise (`nestlab.lab.fidelity`): what
passed against a real host may pass for the wrong reason in the simulator, and the other way round.
The plugin prints it in the terminal summary and, with `--nestlab-fidelity-report PATH`, writes it
beside the JUnit file (JSON when PATH ends in .json, else the text).

Which hosts:
- real hosts (an inventory, a psrp:// host, a fleet): all of the target's hosts, read-only
  (`GuardedSession` with no permission, whatever `--allow-destructive` says);
- `endpoint`: each scenario's lab was served and is gone; the first lab file the run served is
  served once more and compared (the wire, pypsrp and the served endpoint against in-process);
- `sim`: nothing to compare (the simulator against itself, in process).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nestlab.lab.fidelity import FidelityReport

SECTION = "nestlab fidelity: where the simulator would have predicted otherwise"


def replay_fidelity(target: Any) -> FidelityReport | None:
    """The fidelity report for the hosts a run's target reached; None for the in-process simulator."""
    from nestlab.steps.target import EndpointTarget
    from nestlab.steps.target_inventory import InventoryTarget

    if isinstance(target, InventoryTarget):
        return _real_hosts(target)
    if isinstance(target, EndpointTarget):
        return _served(target)
    return None


def _real_hosts(target: Any) -> FidelityReport:
    from nestlab.lab.fidelity import fidelity
    from nestlab.lab.inventory import GuardedSession, Permission
    from nestlab.lab.psrp_session import PsrpSession

    session = GuardedSession(PsrpSession([h.address for h in target.hosts.values()]), Permission({}))
    try:
        return fidelity(session, target=target.name)
    finally:
        session.close()


def _served(target: Any) -> FidelityReport | None:
    if not target.served:
        return None
    from nestlab.lab.fidelity import fidelity

    testbed = target.open(target.served[0])
    try:
        return fidelity(testbed.session, target=f"endpoint ({target.served[0]})")
    finally:
        testbed.close()


def write_report(report: FidelityReport, path: Path) -> None:
    """The report as JSON (PATH ends in .json) or as its text, written atomically."""
    from nestlab.simulator.labfile import write_atomic

    text = json.dumps(report.as_dict(), indent=2) + "\n" if path.suffix.lower() == ".json" else report.text()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
