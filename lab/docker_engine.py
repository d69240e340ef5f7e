"""The one way nestlab reaches a Docker engine: `connect()`, used by the fleet, the swarm fleet and
the image build alike. It lives apart from all three so none of them imports another to get an
engine (the `fleet` ↔ `image` cycle of issue 16).

The docker SDK is imported here, when a command really needs an engine: `nestlab up --help`
must not pay for it (issue 17, start-up).
"""

from __future__ import annotations

from typing import Any

from nestlab.simulator.errors import BadInput

DOCKER_TIMEOUT = 600  # seconds per engine call: on vfs, creating a container copies the whole image, and
                      # several at once on a busy disk took over a minute each (docker-py's default is 60)


def connect(base_url: str | None = None) -> Any:
    """A docker client whose engine answered a ping, or BadInput saying why there is none.

    `base_url` (e.g. `unix:///tmp/x.sock`) names an engine; without it DOCKER_HOST or the
    default socket is used, as the docker CLI does."""
    try:
        import docker
    except ImportError:
        raise BadInput("fleet: the docker package is missing: pip install 'nestlab[docker]'") from None
    try:
        client = docker.DockerClient(base_url=base_url, timeout=DOCKER_TIMEOUT) if base_url else docker.from_env(timeout=DOCKER_TIMEOUT)
        client.ping()
    except Exception as exc:
        raise BadInput(f"fleet: no Docker engine answers ({' '.join(str(exc).split())[:160]})") from None
    return client
