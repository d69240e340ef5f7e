"""An overall deadline for talking to real hosts: no host can hold a command longer than it.

pypsrp on its own can wait a very long time: a Receive that gets no answer is retried five times
with a 30 s read timeout each (326 s for a host that stalls after Create), and a host that
keeps answering the WS-Man TimedOut fault is polled forever (`PowerShell.end_invoke` loops on
fault 2150858793). A `Deadline` is started when a command opens its session; `guard` wraps the
one method every WS-Man request of a pypsrp `WSMan` goes through (`_TransportHTTP.send`) so
that each request waits at most what is left; a read timeout is retried once, not five times (a
Windows host answers every Receive within its OperationTimeout, so a read that outlasts it by
10 s twice is a stalled host, not a slow one: it fails in about a minute, or --timeout if less);
a TimedOut answered at once is not re-polled faster than once a second; and once the time is up
the next request raises `DeadlineExceeded`, which pypsrp does not catch: the call unwinds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

TIMED_OUT_FAULT = "2150858793"  # ERROR_WSMAN_OPERATION_TIMEDOUT, the code pypsrp retries on
MIN_POLL_INTERVAL = 1.0  # seconds between Receives when a host answers TimedOut at once
STALL_RETRIES = 1  # read timeouts retried per request (pypsrp: 5 for a Receive)
DEFAULT_TIMEOUT = 300.0  # the CLI's --timeout: a whole collection of a healthy host takes far less


class DeadlineExceeded(Exception):
    """The command's --timeout passed while a host was still being waited for."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"no answer within the {seconds:g} s deadline (--timeout)")


@dataclass
class Deadline:
    """A point in time (monotonic) after which no request may start or go on waiting."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    started: float | None = None

    def start(self) -> "Deadline":
        if self.started is None:
            self.started = self.clock()
        return self

    def remaining(self) -> float:
        self.start()
        return self.seconds - (self.clock() - self.started)

    def check(self) -> float:
        """What is left, or DeadlineExceeded when nothing is."""
        left = self.remaining()
        if left <= 0:
            raise DeadlineExceeded(self.seconds)
        return left


def guard(transport: Any, deadline: Deadline, *, connect_timeout: float, read_timeout: float,
          sleep: Callable[[float], None] = time.sleep) -> None:
    """Bound every request `transport` (a pypsrp `_TransportHTTP`) sends by `deadline`."""
    import requests  # with pypsrp, only when a real host is reached (CLI start-up, issue 17)
    from pypsrp.exceptions import WinRMTransportError

    send = transport.send

    def bounded(message: bytes, *, retries_on_read_timeout: int = 0, timeout: Any = None) -> bytes:
        read = timeout if isinstance(timeout, (int, float)) and timeout else read_timeout
        retries_on_read_timeout = min(retries_on_read_timeout, STALL_RETRIES)
        while True:
            left = deadline.check()
            began = time.monotonic()
            try:
                return send(message, retries_on_read_timeout=0,
                            timeout=(min(connect_timeout, left), min(read, left)))
            except (requests.ReadTimeout, requests.ConnectTimeout):
                transport.encryption = None  # as pypsrp does before a retry: the connection is gone
                if deadline.remaining() <= 0:
                    raise DeadlineExceeded(deadline.seconds) from None
                if retries_on_read_timeout <= 0:
                    raise
                retries_on_read_timeout -= 1
            except WinRMTransportError as exc:
                quick = time.monotonic() - began < MIN_POLL_INTERVAL
                if quick and TIMED_OUT_FAULT in str(exc.response_text):
                    sleep(max(0.0, min(MIN_POLL_INTERVAL, deadline.remaining())))
                raise

    transport.send = bounded
