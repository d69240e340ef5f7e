"""The one seam between the harness and a target: a Session runs pipelines on a host.

Like httpx's BaseTransport.handle_request, everything that reaches a host goes through `run`:
the diagnosis, the BDD steps, `nestlab fix`. SimSession runs the simulated cmdlets in process;
PsrpSession (pypsrp) runs the same structured commands on a real or served host. A pipeline is
structured (`Command` objects), never PowerShell text built from strings.

`vm` addresses a guest through PowerShell Direct, outermost first: ("L1",) runs inside L1's
guest, ("L1", "L2-web") inside L2-web, reached through L1 — as `Invoke-Command -VMName` does.
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

from nestlab.simulator.clixml import roundtrip_result, wire_copy_result
from nestlab.simulator.errors import BadInput
from nestlab.simulator.model import Lab, NodeId
from nestlab.simulator.psdata import Command, Result


@runtime_checkable
class Session(Protocol):
    """A connection to one or more hosts of a target."""

    def hosts(self) -> list[str]:
        """The names of the hosts this session reaches (top level: physical or cloud)."""
        ...

    def run(self, host: str, pipeline: Sequence[Command], *, vm: Sequence[str] = ()) -> Result:
        """Run one pipeline on `host` (or inside the guest `vm` below it) and return its result."""
        ...

    def run_batch(
        self, host: str, pipelines: Sequence[Sequence[Command]], *, vm: Sequence[str] = (),
        vms: Sequence[Sequence[str]] | None = None,
    ) -> list[Result]:
        """Run several pipelines in one round trip where the transport allows it; one Result each.

        All of them go to `vm` (a guest path, () for the host), or with `vms` each to its own.
        """
        ...

    def close(self) -> None:
        ...


def _context(host: str, vm: Sequence[str]) -> str:
    """'HV01', ('L1', 'L2') → 'HV01/L1/L2': the node id of a host or of a guest below it."""
    return str(NodeId.of_host(host, tuple(vm)))


def address(context: str) -> tuple[str, tuple[str, ...]]:
    """'HV01/L1/L2' → ('HV01', ('L1', 'L2')): the host, and the PowerShell Direct path below it
    (the inverse of a node id; how a Session addresses a place the lab names). An item's id
    (`HV01/L1:nat:NestedNAT`) is addressed where its owner runs commands."""
    node = NodeId.parse(context)
    if node.host is None:
        raise BadInput(f"{context}: a physical network runs no commands")
    return node.host, node.guest_path


class SimSession:
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

    def hosts(self) -> list[str]:
        return list(self.lab.hosts())

    def run(self, host: str, pipeline: Sequence[Command], *, vm: Sequence[str] = ()) -> Result:
        from nestlab.simulator import powershell

        self.round_trips += 1
        return self.wire(powershell.run(self.lab, _context(host, vm), tuple(pipeline)))

    def run_batch(
        self, host: str, pipelines: Sequence[Sequence[Command]], *, vm: Sequence[str] = (),
        vms: Sequence[Sequence[str]] | None = None,
    ) -> list[Result]:
        from nestlab.simulator import powershell

        self.round_trips += 1
        paths = vms if vms is not None else [vm] * len(pipelines)
        return [self.wire(powershell.run(self.lab, _context(host, v), tuple(p)))
                for v, p in zip(paths, pipelines)]

    def close(self) -> None:
        pass

    def __enter__(self) -> "SimSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
