"""The one seam between the harness and a target: a Session sends requests and gets results.

A `Request` is a place (a `NodeId`: a host, or a guest below it reached by PowerShell Direct)
and a structured pipeline; `Session.send(requests)` is the one primitive every session
implements, answering one `Result` per request, in order, each carrying its request. Like
httpx's `BaseTransport.handle_request`, nothing reaches a host any other way: the collector,
the BDD steps and `nestlab fix` all end in `send`, so a wrapper (read-only guard, renamed
hosts) or a test double (`FunctionSession`) sees all the traffic.

`run` and `run_batch` are helpers on top (`Runs`), for callers that send one pipeline or a
batch to one place. A session may carry a batch in one round trip (PsrpSession: one PSRP
pipeline per host); that is its business, not the caller's.

This module sits beside `psdata` so that the diagnosis may import it (it may import only the
shared records, the wire shapes, the errors and this protocol: tests/test_diagnosis_imports.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Protocol, Sequence, runtime_checkable

from nestlab.simulator.model import NodeId
from nestlab.simulator.psdata import Command, Pipeline, Result


@dataclass(frozen=True)
class Request:
    """One pipeline for one place.

    `guest_levels` > 0 asks for the pipeline not at `where` but inside every Running guest below
    it, down to that many levels (PowerShell Direct, one hop per level, the whole fan-out in one
    round trip where the transport allows): the answer's `Result.guests` holds one Result per
    guest entered, keyed by its path below `where`. It is how the collector reads a whole host in
    one round trip instead of one per level of nesting; a guest found no other way is still
    addressed by its own Request.
    """

    where: NodeId
    pipeline: Pipeline
    guest_levels: int = 0

    @classmethod
    def at(cls, host: str, pipeline: Sequence[Command], vm: Sequence[str] = (), *, guest_levels: int = 0) -> "Request":
        """`host`, or the guest `vm` below it (outermost first), as `run(host, pipeline, vm=…)` names it."""
        return cls(NodeId.of_host(host, tuple(vm)), tuple(pipeline), guest_levels)

    @property
    def host(self) -> str:
        """The top-level host whose endpoint carries the request."""
        host = self.where.host
        if host is None or self.where.kind is not None:
            from nestlab.simulator.errors import BadInput

            raise BadInput(f"{self.where}: only a host or a guest runs commands")
        return host

    @property
    def vm(self) -> tuple[str, ...]:
        """The PowerShell Direct path below the host, outermost first; () on the host itself."""
        return self.where.guest_path

    def __str__(self) -> str:
        return f"{self.where}: " + " | ".join(map(str, self.pipeline))


@runtime_checkable
class Session(Protocol):
    """A connection to the hosts of a target. `send` is the primitive; `run`/`run_batch` are `Runs`'s helpers."""

    def hosts(self) -> list[str]:
        """The names of the hosts this session reaches (top level: physical or cloud)."""
        ...

    def send(self, requests: Sequence[Request]) -> list[Result]:
        """One Result per request, in order, each with its `request`."""
        ...

    def run(self, host: str, pipeline: Sequence[Command], *, vm: Sequence[str] = ()) -> Result:
        ...

    def run_batch(
        self, host: str, pipelines: Sequence[Sequence[Command]], *, vm: Sequence[str] = (),
        vms: Sequence[Sequence[str]] | None = None,
    ) -> list[Result]:
        ...

    def close(self) -> None:
        ...


def run(session: "Session", host: str, pipeline: Sequence[Command], *, vm: Sequence[str] = ()) -> Result:
    """One pipeline on `host` (or inside the guest `vm` below it): a one-request `send`."""
    return session.send([Request.at(host, pipeline, vm)])[0]


def run_batch(
    session: "Session", host: str, pipelines: Sequence[Sequence[Command]], *, vm: Sequence[str] = (),
    vms: Sequence[Sequence[str]] | None = None,
) -> list[Result]:
    """Several pipelines to `host`: all to `vm`, or with `vms` each to its own guest path."""
    if vms is not None and len(vms) != len(pipelines):
        raise ValueError("vms needs one guest path per pipeline")
    paths = vms if vms is not None else [vm] * len(pipelines)
    return session.send([Request.at(host, p, v) for v, p in zip(paths, pipelines)])


class Runs:
    """`run`, `run_batch` and the context manager for a class that implements `send`, `hosts`, `close`."""

    def send(self, requests: Sequence[Request]) -> list[Result]:  # pragma: no cover - the subclass's
        raise NotImplementedError

    def run(self, host: str, pipeline: Sequence[Command], *, vm: Sequence[str] = ()) -> Result:
        return run(self, host, pipeline, vm=vm)  # type: ignore[arg-type]

    def run_batch(
        self, host: str, pipelines: Sequence[Sequence[Command]], *, vm: Sequence[str] = (),
        vms: Sequence[Sequence[str]] | None = None,
    ) -> list[Result]:
        return run_batch(self, host, pipelines, vm=vm, vms=vms)  # type: ignore[arg-type]

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def answered(requests: Sequence[Request], results: Sequence[Result]) -> list[Result]:
    """`results` each stamped with its request (a session's last step in `send`)."""
    if len(results) != len(requests):
        raise ValueError(f"{len(requests)} requests came back as {len(results)} results")
    return [r if r.request is q else replace(r, request=q) for q, r in zip(requests, results)]


RUNNING_GUESTS: Pipeline = (Command.of("Get-VM"),)
"""How a fan-out finds the guests it enters: the place's VMs whose State is Running (the
collector's own rule, diagnosis.parse.vm_states)."""


def running_guests(vms: Result) -> list[str]:
    """The names of the Running VMs in a Get-VM answer, in its order."""
    return [str(vm["Name"]) for vm in vms.output if _state(vm) == "Running"]


def _state(vm: object) -> str:
    try:
        state = vm["State"]  # type: ignore[index]
    except (KeyError, TypeError):
        return ""
    return str(state) if state is not None else ""


Handler = Callable[[Request], Result]
BatchHandler = Callable[[Sequence[Request]], Sequence[Result]]


class FunctionSession(Runs):
    """A Session whose answers come from a function: the one test double, and the one way to wrap
    a session (record, refuse, fail after N requests) without re-implementing the protocol.

    `handler(request) -> Result` is called once per request; or `batches(requests) -> results`
    once per `send`, for a double that must see batches as they travel. `hosts` are the hosts it
    claims; `concurrent_hosts` says whether the collector may walk them at once (separate machines).
    """

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        batches: BatchHandler | None = None,
        hosts: Sequence[str] = ("HV01",),
        concurrent_hosts: bool = False,
        close: Callable[[], None] | None = None,
    ) -> None:
        if (handler is None) == (batches is None):
            raise ValueError("give a handler (per request) or batches (per send), not both")
        self._handler = handler
        self._batches = batches
        self._hosts = list(hosts)
        self._close = close
        self.concurrent_hosts = concurrent_hosts

    @classmethod
    def around(cls, inner: "Session", handler: Callable[[Request, "Session"], Result] | None = None, *,
               batches: Callable[[Sequence[Request], "Session"], Sequence[Result]] | None = None,
               concurrent_hosts: bool = False) -> "FunctionSession":
        """A double in front of a real session: the handler sees each request and the inner session."""
        return cls(
            (lambda request: handler(request, inner)) if handler else None,
            batches=(lambda requests: batches(requests, inner)) if batches else None,
            hosts=inner.hosts(), concurrent_hosts=concurrent_hosts, close=inner.close,
        )

    def hosts(self) -> list[str]:
        return list(self._hosts)

    def send(self, requests: Sequence[Request]) -> list[Result]:
        if self._batches is not None:
            return answered(requests, list(self._batches(requests)))
        assert self._handler is not None
        return answered(requests, [self._handler(request) for request in requests])

    def close(self) -> None:
        if self._close is not None:
            self._close()
