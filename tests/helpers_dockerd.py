"""A Docker engine of the test's own: a second dockerd beside whatever engine the machine runs, so a
test may make it a swarm manager (`docker swarm init`) without touching the shared engine.

Everything it could share with the machine's engine is its own: data root, exec root, pid file,
socket, its default bridge (an interface it is given, never `docker0`: a dockerd started with
`--bridge=none` deletes `docker0`, the other engine's bridge), the swarm's `docker_gwbridge`
(made beforehand with an interface name of its own), address pools (10.212–10.215.x, which
Docker's defaults never use), the swarm's ports. It runs with `--iptables=false`, as
.ci/docker.sh runs the CI engine. On the way out: the swarm is left, the engine stopped, its
interfaces and folders removed. Needs root and dockerd; the caller skips with the reason otherwise.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

START_TIMEOUT = 60.0


@dataclass(frozen=True)
class PrivateEngine:
    url: str  # unix:///tmp/nl-<tag>/docker.sock
    tag: str  # in the names of its interfaces
    driver: str


class NoPrivateEngine(Exception):
    """Why no private engine could be had (the test skips with it)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True)


@contextmanager
def private_engine(storage_drivers: tuple[str, ...] = ("overlay2", "vfs")) -> Iterator[PrivateEngine]:
    """A fresh dockerd of our own (the first of `storage_drivers` that starts)."""
    if os.geteuid() != 0 or shutil.which("dockerd") is None or shutil.which("ip") is None:
        raise NoPrivateEngine("a private dockerd needs root, dockerd and ip (iproute2)")
    tag = secrets.token_hex(3)
    root = Path(f"/tmp/nl-{tag}")  # short: the socket path must stay under 108 bytes
    bridge, third = f"nlbr{tag}", secrets.randbelow(250) + 1
    root.mkdir(mode=0o700)
    process: subprocess.Popen | None = None
    try:
        _ip("link", "add", bridge, "type", "bridge")
        _ip("addr", "add", f"10.212.{third}.1/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for driver in storage_drivers:
            process = _start(root, bridge, driver)
            if process is not None:
                break
        if process is None:
            raise NoPrivateEngine(f"no private dockerd started with {', '.join(storage_drivers)}: {_tail(root)}")
        yield PrivateEngine(f"unix://{root}/docker.sock", tag, driver)
    finally:
        if process is not None:
            _stop(process, root)
        for interface in (bridge, f"nlgw{tag}"):
            subprocess.run(["ip", "link", "del", interface], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def init_swarm(client: Any, engine: PrivateEngine) -> None:
    """Make the private engine a single-node swarm manager on 127.0.0.1, on ports and networks of its own."""
    tag = engine.tag
    third = secrets.randbelow(250) + 1
    client.networks.create("docker_gwbridge", driver="bridge", options={
        "com.docker.network.bridge.name": f"nlgw{tag}",
        "com.docker.network.bridge.enable_icc": "false",
        "com.docker.network.bridge.enable_ip_masquerade": "false",
    }, ipam=_ipam(f"10.214.{third}.0/24"))
    port = free_port()
    client.swarm.init(advertise_addr=f"127.0.0.1:{port}", listen_addr=f"127.0.0.1:{port}",
                      default_addr_pool=[f"10.215.{third}.0/24"], subnet_size=26, data_path_port=10000 + secrets.randbelow(30000))


def _ipam(subnet: str) -> Any:
    from docker.types import IPAMConfig, IPAMPool

    return IPAMConfig(pool_configs=[IPAMPool(subnet=subnet)])


def _start(root: Path, bridge: str, driver: str) -> subprocess.Popen | None:
    data = root / f"data-{driver}"
    argv = ["dockerd", f"--data-root={data}", f"--exec-root={root}/exec", f"--pidfile={root}/docker.pid",
            f"--host=unix://{root}/docker.sock", f"--storage-driver={driver}", "--iptables=false", "--ip-masq=false",
            f"--bridge={bridge}", "--default-address-pool", f"base=10.213.0.0/16,size=24"]
    log = (root / "dockerd.log").open("ab")
    process = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return None
        if _answers(root):
            return process
        time.sleep(0.3)
    _stop(process, root)
    return None


def _answers(root: Path) -> bool:
    import docker

    try:
        docker.DockerClient(base_url=f"unix://{root}/docker.sock", timeout=5).ping()
    except Exception:
        return False
    return True


def _stop(process: subprocess.Popen, root: Path) -> None:
    """Leave the swarm, then stop the engine (SIGTERM, as dockerd shuts down cleanly on it; SIGKILL if it hangs)."""
    import docker

    try:
        client = docker.DockerClient(base_url=f"unix://{root}/docker.sock", timeout=30)
        if (client.info().get("Swarm") or {}).get("LocalNodeState") == "active":
            client.swarm.leave(force=True)
        for container in client.containers.list(all=True):
            container.remove(force=True)
    except Exception:
        pass
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _tail(root: Path) -> str:
    try:
        return (root / "dockerd.log").read_text(errors="replace").strip().splitlines()[-1][:200]
    except (OSError, IndexError):
        return "no log"


def copy_image(source: Any, target: Any, tag: str) -> None:
    """`docker save | docker load` between two engines, for an image no registry holds."""
    # named=tag: with named=True the SDK keeps only the image's *first* tag, and another test may
    # have tagged the same image first (tests/test_endpoint_fleet_clients.py)
    target.images.load(b"".join(source.images.get(tag).save(named=tag)))
