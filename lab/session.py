"""The Sessions of the harness: SimSession over an in-process lab, and `address`.

The protocol itself (`Request`, `Session.send`, the `run`/`run_batch` helpers, FunctionSession)
is `simulator.session_protocol`, re-exported here. Everything that reaches a host goes through
`send`: the diagnosis, the BDD steps, `nestlab fix`. SimSession runs the simulated cmdlets in
process; PsrpSession (pypsrp) runs the same structured commands on a real or served host. A
pipeline is structured (`Command` objects), never PowerShell text built from strings.

A request's place is a node id: `HV01` is the host, `HV01/L1` runs inside L1's guest,
`HV01/L1/L2-web` inside L2-web, reached through L1, as `Invoke-Command -VMName` does.
"""

from __future__ import annotations

from typing import Sequence

from nestlab.simulator import repeated_reads
from nestlab.simulator.clixml import roundtrip_result, wire_copy_result
from nestlab.simulator.errors import BadInput
from nestlab.simulator.model import Lab, NodeId
from nestlab.simulator.psdata import Result
from nestlab.simulator.session_protocol import Request, Runs, Session, answered

__all__ = ["Request", "Session", "SimSession", "address"]


def address(context: str) -> tuple[str, tuple[str, ...]]:
    """'HV01/L1/L2' → ('HV01', ('L1', 'L2')): the host, and the PowerShell Direct path below it
    (the inverse of a node id; how a Session addresses a place the lab names). An item's id
    (`HV01/L1:nat:NestedNAT`) is addressed where its owner runs commands."""
    node = NodeId.parse(context)
    if node.host is None:
        raise BadInput(f"{context}: a physical network runs no commands")
    return node.host, node.guest_path


class SimSession(Runs):
    """A Session over an in-process Lab: the simulator's cmdlets act on the lab's state.

    Every answer is what a client reads after the wire: by default `clixml.wire_copy_result`, the
    CLIXML serialize → deserialize round trip without the text (the objects it would give, built
    directly; tests/test_speed_wire.py keeps it identical to the real one), or with
    `exact_wire=True` the real round trip through CLIXML text, as over PSRP. Either way the
    diagnosis receives identical objects in process, through the endpoint and from a real host.
    """

    def __init__(self, lab: Lab, *, exact_wire: bool = False) -> None:
        self.lab = lab
        self.round_trips = 0
        self.wire = roundtrip_result if exact_wire else wire_copy_result
        repeated_reads.forget(lab)  # nothing kept from an earlier session's reads: each starts cold

    def hosts(self) -> list[str]:
        return list(self.lab.hosts())

    def send(self, requests: Sequence[Request]) -> list[Result]:
        """Each request run on the lab in its place, as one round trip."""
        from nestlab.simulator import powershell

        self.round_trips += 1
        guests: dict[tuple[NodeId, int], list[tuple[tuple[str, ...], str]]] = {}
        run, lab, wire = powershell.run, self.lab, self.wire
        out = []
        for request in requests:
            if not request.guest_levels:
                out.append(wire(run(lab, str(request.where), request.pipeline, request=request)))
                continue
            key = (request.where, request.guest_levels)
            if key not in guests:  # found once for all the requests that fan out from the same place
                guests[key] = [(path, str(place)) for path, place in self._running_below(*key)]
            pipeline = request.pipeline
            plan = powershell.plan_of(pipeline)  # once for all the guests it runs in
            out.append(Result(guests=tuple((path, wire(run(lab, place, pipeline, plan=plan)))
                                           for path, place in guests[key]), request=request))
        return answered(requests, out)

    def _running_below(self, where: NodeId, levels: int) -> list[tuple[tuple[str, ...], NodeId]]:
        """Every Running guest below `where`, to `levels` levels, parents first: what a fan-out
        request (Request.guest_levels) enters, found as PsrpSession's host-side script finds them
        (endpoint.direct.FANOUT: Get-VM where it runs, the Running ones), from the lab itself
        (`running_guests_at`), without building Get-VM's objects."""
        found: list[tuple[tuple[str, ...], NodeId]] = []
        level: list[tuple[tuple[str, ...], NodeId]] = [((), where)]
        for _ in range(levels):
            below = []
            for path, place in level:
                for name in running_guests_at(self.lab, str(place)):
                    below.append(((*path, name), place.child(name)))
            found += below
            level = below
        return found


def running_guests_at(lab: Lab, place: str) -> list[str]:
    """`running_guests(powershell.run(lab, place, RUNNING_GUESTS))`, read from the lab: the names
    of the VMs Get-VM lists at `place` whose State reads Running, in its order.

    Get-VM with no name lists every VM of the place (`Ctx.vms`, the lab's order) where the place
    runs commands and has the Hyper-V platform (else an error and no VM), and its State is
    `behaviour.effective_state`. A fan-out asks this of every host and nested host, and Get-VM's
    objects have 77 properties each, of which two were read. tests/test_speed_plumbing.py keeps
    the two equal, VM states, stopped parents and hosts without Hyper-V included."""
    from nestlab.simulator import behaviour, powershell

    if not powershell.runs_commands(lab, place) or not lab.platform(place).hyperv_installed:
        return []
    return [lab[vm].name for vm in lab.vms(place) if behaviour.effective_state(lab, vm) == "Running"]
