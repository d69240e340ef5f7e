"""A lab served on loopback for someone else's tool: what the `nestlab_host` fixture yields.

A diagnostic author tests their own script or module against a simulated Hyper-V host: the
fixture starts `nestlab serve`'s LabServer on free loopback ports with a fresh random password,
hands over where and how to connect, and stops the server when the test ends. The password is
in no repr, log or argv (`target` is a psrp:// URL without it; pass it as NESTLAB_PASSWORD).
"""

from __future__ import annotations

import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from nestlab.simulator.model import Lab

USER = "labadmin"


@dataclass(frozen=True)
class Endpoint:
    """One served host of the lab: its WS-Management URL and port."""

    name: str
    url: str
    port: int


@dataclass(frozen=True)
class ServedHost:
    """The first host of a served lab (and every host in `hosts`), with credentials.

    `url` is `http://127.0.0.1:PORT/wsman`; the endpoint accepts Basic auth over HTTP for
    `username`/`password`, as `nestlab serve` does. `pypsrp_options()` are keyword arguments
    for `pypsrp.wsman.WSMan(server, **options)`; `target` is what `nestlab diagnose` takes.
    """

    name: str
    server: str
    port: int
    url: str
    username: str
    password: str = field(repr=False)
    transport: str = "http"
    auth: str = "basic"
    hosts: tuple[Endpoint, ...] = ()
    lab: Lab | None = field(default=None, repr=False, compare=False)

    @property
    def target(self) -> str:
        return f"psrp://{self.username}@{self.server}:{self.port}?transport={self.transport}&auth={self.auth}"

    def pypsrp_options(self) -> dict[str, Any]:
        return {
            "port": self.port, "username": self.username, "password": self.password, "ssl": False,
            "auth": self.auth, "encryption": "never", "cert_validation": False, "no_proxy": True,
        }


@contextmanager
def serve(lab: Lab, *, lock: Any = None, user: str = USER) -> Iterator[ServedHost]:
    """Serve every host of `lab` on loopback until the block ends.

    `lock` (a threading lock) serialises the served pipelines with changes made to the same lab
    in the test's own thread (`inject`), so a probe never sees a half-made change."""
    from nestlab.simulator.endpoint.auth import Credentials
    from nestlab.simulator.endpoint.server import LabExecutor, LabServer

    password = secrets.token_urlsafe(18)
    executor = LabExecutor(lab)
    executor.lock = lock if lock is not None else threading.Lock()
    server = LabServer(lab, Credentials(user, password), execute=executor).start()
    try:
        hosts = tuple(Endpoint(name, s.url, s.port) for name, s in server.servers.items())
        first = hosts[0]
        yield ServedHost(first.name, "127.0.0.1", first.port, first.url, user, password, hosts=hosts, lab=lab)
    finally:
        server.stop()
