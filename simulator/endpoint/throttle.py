"""Slowing password guessing: a client with recent wrong credentials must wait before the next check.

The first few wrong attempts in a window cost nothing (a typo is not an attack). After that the
client's next attempt is only *checked* once a delay has passed since its previous one; the delay
doubles with each further failure, up to a ceiling. The wait comes before the check, not after
it, so a guesser gains nothing by giving up on a slow answer, and the wait is reserved per client
address, so guessing on many connections at once is no faster than on one: after the first few,
one guess per `max_failure_delay` (4 s) per address, whatever the connection count. The delay is
the same whatever was wrong (user, password or token), so it tells nothing about which. A right
credential clears the client's record, as a successful logon clears Windows' bad-password count.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from nestlab.simulator.endpoint.limits import Limits


@dataclass
class _Record:
    failures: deque[float] = field(default_factory=deque)  # when each recent failure happened
    last_start: float = 0.0  # when the client's latest attempt was (or will be) checked


class AuthThrottle:
    """Per client address: recent failures, and when its next attempt may be checked."""

    def __init__(self, limits: Limits, *, clock: Callable[[], float] = time.monotonic,
                 wait: Callable[[threading.Event, float], bool] | None = None) -> None:
        self.limits = limits
        self._clock = clock
        self._wait = wait or (lambda cancelled, seconds: cancelled.wait(seconds))
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def reserve(self, client: str) -> float:
        """How long this attempt must wait before it is checked (its turn is taken now)."""
        now = self._clock()
        with self._lock:
            record = self._records.get(client)
            if record is None:
                return 0.0
            while record.failures and now - record.failures[0] > self.limits.failure_window:
                record.failures.popleft()
            if not record.failures:
                del self._records[client]
                return 0.0
            start = max(now, record.last_start + self.delay(len(record.failures)))
            record.last_start = start  # the next attempt queues behind this one, on any connection
            return start - now

    def delay(self, failures: int) -> float:
        """The spacing between checks for a client with this many recent failures."""
        excess = failures - self.limits.free_failures
        if excess < 0:
            return 0.0
        return min(self.limits.failure_delay * 2**excess, self.limits.max_failure_delay)

    def sleep_on(self, cancelled: threading.Event, seconds: float) -> bool:
        """Wait `seconds` unless `cancelled` is set first (the connection was closed); True if it was."""
        return bool(self._wait(cancelled, seconds))

    def failed(self, client: str) -> None:
        now = self._clock()
        with self._lock:
            record = self._records.setdefault(client, _Record(last_start=now))
            record.failures.append(now)
            if len(self._records) > 10_000:  # forget quiet clients rather than grow without end
                for quiet in [c for c, r in self._records.items()
                              if not r.failures or now - r.failures[-1] > self.limits.failure_window]:
                    del self._records[quiet]

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._records.pop(client, None)
