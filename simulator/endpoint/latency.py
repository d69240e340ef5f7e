"""A served endpoint that answers as a host across a WAN would: every HTTP request waits first.

`nestlab serve --latency MS` (and the benches) wrap each host's `HostEndpoint.handle` — the one
call every authenticated request reaches — so the endpoint's own code is untouched. The delay is
per request, as a round trip to a far host costs: a collection that needs fewer requests, or
talks to several hosts at once, hides it; one that talks to hosts one after another pays it
again for each.
"""

from __future__ import annotations

import time
from typing import Any, Callable


def add_latency(server: Any, seconds: float) -> None:
    """Delay every request that each endpoint of `server` (a LabServer) handles by `seconds`."""
    if seconds <= 0:
        return
    for host_server in server.servers.values():
        host_server.endpoint.handle = delayed(host_server.endpoint.handle, seconds)


def delayed(handle: Callable[[bytes, str], tuple[int, bytes]], seconds: float) -> Callable[[bytes, str], tuple[int, bytes]]:
    def handle_later(data: bytes, client_ip: str) -> tuple[int, bytes]:
        time.sleep(seconds)  # in the request's own thread: concurrent requests wait side by side
        return handle(data, client_ip)

    return handle_later
