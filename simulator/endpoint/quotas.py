"""WinRM's quotas and idle expiry: what keeps one user from holding a host's memory forever.

Windows enforces, per user (winrm/config; MS-WSMV 3.1.4.5.2.1 wsman:QuotaLimit):
* `winrs/MaxShellsPerUser` (30 on Server 2012 and later): the next Create is refused with
  Code 2150859173, "… This user is allowed a maximum number of 30 concurrent shells …";
* `service/MaxConcurrentOperationsPerUser` (1500): the next Command is refused with Code
  2150859174, "… maximum number of 1500 concurrent operations …";
* `winrs/IdleTimeout` (7,200,000 ms): a shell nobody used for that long is deleted with
  everything in it; a later request for it gets the "shell was not found" fault. A command
  whose output nobody received for that long goes the same way.

The texts are the ones Windows sends (seen in masterzen/winrm#129, dmitry-zaets/
vagrantfile-windows-iis-mssql#7, test-kitchen/test-kitchen#656). The endpoint serves one
account, so "per user" is per served host. The clock is injectable so tests need not sleep.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from nestlab.simulator.endpoint.wsman import WSManFault

SHELLS_EXCEEDED = 2150859173  # 0x803381A5
OPERATIONS_EXCEEDED = 2150859174  # 0x803381A6


@dataclass(frozen=True)
class Quotas:
    max_shells_per_user: int = 30
    max_operations_per_user: int = 1500
    idle_timeout: float = 7200.0  # seconds
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

    def admit_shell(self, open_shells: int) -> None:
        """Raise the QuotaLimit fault when a new shell would exceed MaxShellsPerUser."""
        if open_shells >= self.max_shells_per_user:
            text = (f"The WS-Management service cannot process the request. This user is allowed a maximum number of "
                    f"{self.max_shells_per_user} concurrent shells, which has been exceeded. Close existing shells or "
                    "raise the quota for this user. ")
            raise WSManFault(SHELLS_EXCEEDED, text, "w:QuotaLimit")

    def admit_operation(self, open_operations: int) -> None:
        """Raise the QuotaLimit fault when a new command would exceed MaxConcurrentOperationsPerUser."""
        if open_operations >= self.max_operations_per_user:
            text = (f"The WS-Management service cannot process the request. This user is allowed a maximum number of "
                    f"{self.max_operations_per_user} concurrent operations, which has been exceeded. Close existing "
                    "operations for this user, or raise the quota for this user. ")
            raise WSManFault(OPERATIONS_EXCEEDED, text, "w:QuotaLimit")


class Activity:
    """When each shell, and each command in it, was last used; which have idled past IdleTimeout."""

    def __init__(self, quotas: Quotas) -> None:
        self.quotas = quotas
        self._seen: dict[tuple[str, str | None], float] = {}
        self._timeouts: dict[str, float] = {}  # a shell's own IdleTimeOut, asked for in its Create
        self._lock = threading.Lock()

    def set_idle_timeout(self, shell_id: str, seconds: float) -> None:
        """A shell created with rsp:IdleTimeOut idles out after that, never later than the quota allows."""
        with self._lock:
            self._timeouts[shell_id.upper()] = min(seconds, self.quotas.idle_timeout)

    def touch(self, shell_id: str | None, command_id: str | None = None) -> None:
        if not shell_id:
            return
        now = self.quotas.clock()
        with self._lock:
            self._seen[(shell_id.upper(), None)] = now
            if command_id:
                self._seen[(shell_id.upper(), command_id.upper())] = now

    def forget(self, shell_id: str, command_id: str | None = None) -> None:
        with self._lock:
            if command_id:
                self._seen.pop((shell_id.upper(), command_id.upper()), None)
                return
            for key in [k for k in self._seen if k[0] == shell_id.upper()]:
                del self._seen[key]
            self._timeouts.pop(shell_id.upper(), None)

    def expired(self) -> list[tuple[str, str | None]]:
        """(shell, None) for idle shells, (shell, command) for idle commands of live shells; forgotten at once."""
        now = self.quotas.clock()
        with self._lock:
            idle = [key for key, seen in self._seen.items()
                    if seen <= now - self._timeouts.get(key[0], self.quotas.idle_timeout)]
            dead_shells = {shell for shell, command in idle if command is None}
            for key in [k for k in self._seen if k[0] in dead_shells or k in idle]:
                del self._seen[key]
            for shell in dead_shells:
                self._timeouts.pop(shell, None)
        return [(shell, command) for shell, command in idle if command is None or shell not in dead_shells]
