"""What the served endpoint allows one client: sizes, times and counts, each with its reason.

Windows' WinRM service bounds the same things (winrm/config/service MaxConnections 300,
MaxEnvelopeSizekb 500; http.sys IdleConnectionTimeout 120 s, HeaderWaitTimeout 120 s:
learn.microsoft.com "Installation and configuration for Windows Remote Management" and
"Http.sys registry settings for Windows"). The simulator serves one thread per connection, so
its connection cap is lower; everything else follows Windows' defaults. Tests shrink them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Per-host-endpoint limits. Every one is enforced before the request can cost much."""

    max_body: int = 512_000 + 64 * 1024  # MaxEnvelopeSizekb 500, plus room for the encryption framing
    drain_limit: int = 64 * 1024  # a refused request's body up to this size is read and dropped (keep-alive)
    linger_bytes: int = 1024 * 1024  # after a refusal that closes: what is still read and dropped, at most …
    linger_time: float = 1.0  # … and for how long a read may wait, so the client gets the answer, not an RST
    idle_timeout: float = 120.0  # seconds a connection may send nothing (http.sys IdleConnectionTimeout)
    handshake_timeout: float = 10.0  # seconds a TLS handshake may take, in the connection's own thread
    max_connections: int = 64  # open connections (= serving threads) per host endpoint
    free_failures: int = 3  # wrong credentials per client checked at once, within the window
    failure_window: float = 60.0  # seconds a wrong credential counts against its client
    failure_delay: float = 0.5  # then the spacing between the client's checks; doubled per further failure …
    max_failure_delay: float = 4.0  # … up to this (throttle.py)
