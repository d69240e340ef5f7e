"""Slowing password guessing: each client's wrong credentials cost it more and more time.

The first few wrong attempts in a window are answered at once (a typo costs nothing); after
that each 401 is held back, doubling up to a ceiling. The delay is per client address and the
same whatever was wrong (user, password or token), so it adds no signal telling one from the
other. A right credential is never delayed. With the connection cap this bounds guesses per
second to about max_connections / max_failure_delay (64 / 4 s = 16/s) instead of thousands.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from typing import Callable

from nestlab.simulator.endpoint.limits import Limits


class AuthThrottle:
    """Counts wrong credentials per client address within a sliding window."""

    def __init__(self, limits: Limits, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def delay_for(self, client: str) -> float:
        """Record one failure of `client` and return how long its answer must wait."""
        now = self._clock()
        with self._lock:
            failures = self._failures[client]
            while failures and now - failures[0] > self.limits.failure_window:
                failures.popleft()
            failures.append(now)
            excess = len(failures) - self.limits.free_failures
            if len(self._failures) > 10_000:  # forget quiet clients rather than grow without end
                for quiet in [c for c, f in self._failures.items() if not f or now - f[-1] > self.limits.failure_window]:
                    del self._failures[quiet]
        if excess <= 0:
            return 0.0
        return min(self.limits.failure_delay * 2 ** (excess - 1), self.limits.max_failure_delay)

    def failed(self, client: str) -> None:
        """Record a failure and hold the calling (connection) thread for its delay."""
        delay = self.delay_for(client)
        if delay > 0:
            self._sleep(delay)
