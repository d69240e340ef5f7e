"""Test doubles, all one kind: a FunctionSession in front of a SimSession (issue 16 item 2).

Every double sees each request the code under test sends, batches included, because `send` is
the only way into a session; none re-implements the protocol.
"""

from __future__ import annotations

from typing import Callable

from nestlab.lab.session import SimSession
from nestlab.simulator.errors import HostUnreachable
from nestlab.simulator.model import Lab
from nestlab.simulator.session_protocol import FunctionSession, Request


def pipeline_text(request: Request) -> str:
    return " | ".join(map(str, request.pipeline))


def recording(lab: Lab, on_run: Callable[[str], object] | None = None) -> FunctionSession:
    """A SimSession over `lab` that remembers the text of every pipeline sent (`.ran`) and calls
    `on_run(text)` before each is run (to look at a journal as it is written)."""
    ran: list[str] = []

    def handler(request: Request, inner) -> object:
        text = pipeline_text(request)
        ran.append(text)
        if on_run:
            on_run(text)
        return inner.send([request])[0]

    session = FunctionSession.around(SimSession(lab), handler)
    session.ran = ran  # type: ignore[attr-defined]
    return session


def stops_answering(lab: Lab, after: int) -> FunctionSession:
    """A SimSession whose host drops after `after` pipelines, as a real host that reboots or loses its network."""
    left = [after]

    def handler(request: Request, inner) -> object:
        left[0] -= 1
        if left[0] < 0:
            raise HostUnreachable(request.host, "connection reset")
        return inner.send([request])[0]

    return FunctionSession.around(SimSession(lab), handler)
