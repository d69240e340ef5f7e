"""`nestlab up` brings every host up at once and calls a host up only when a PSRP pipeline answers
(issue 17), with progress events for the bars; `down` removes the containers at once.

No engine needed: a fake Docker client stands in for the engine, and each "container" is a real
served host on its own loopback address (127.0.0.N, all on one port, as containers each have their
own address and port 5985), so the readiness check is a real PSRP exchange."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from nestlab.lab import fleet
from nestlab.simulator import labfile
from nestlab.simulator.endpoint.auth import Credentials
from nestlab.simulator.endpoint.server import HostEndpoint, HostServer, LabExecutor
from nestlab.simulator.errors import BadInput
from nestlab.simulator.generate import generate

PASSWORD = "fleet-speed-pa55"
docker_errors = pytest.importorskip("docker.errors", reason="the docker package is not installed (pip install 'nestlab[docker]')")


class FakeContainer:
    def __init__(self, engine: "FakeEngine", name: str, labels: dict, environment: dict, address: str) -> None:
        self.engine, self.name, self.labels, self.status = engine, name, labels, "created"
        self.attrs = {"NetworkSettings": {"Networks": {"net": {"IPAddress": address}}},
                      "Config": {"Env": [f"{k}={v}" for k, v in environment.items()]}}

    def put_archive(self, path: str, data: bytes) -> None:
        pass

    def start(self) -> None:
        self.engine.started.wait()  # every container is created before any of them starts
        self.status = "running"
        self.engine.serve(self.labels[fleet.LABEL_HOST], self.attrs["NetworkSettings"]["Networks"]["net"]["IPAddress"])

    def remove(self, force: bool = False, v: bool = False) -> None:
        self.engine.removing.wait()  # every removal is under way before any finishes
        self.engine.containers.pop(self.name, None)


class FakeEngine:
    """images, networks and containers as docker-py shows them; each container a served host."""

    def __init__(self, lab, port: int) -> None:
        self.lab, self.port = lab, port
        self.containers: dict[str, FakeContainer] = {}
        self.networks_made: list[str] = []
        self.servers: list[HostServer] = []
        self.lock = threading.Lock()
        count = len(lab.hosts())
        self.started = threading.Barrier(count, timeout=30)
        self.removing = threading.Barrier(count, timeout=30)
        self.images = self
        self.networks = _Networks(self)

    # images
    def get(self, tag: str) -> Any:
        return type("Image", (), {"id": "sha256:fake"})()

    def serve(self, host: str, address: str) -> None:
        endpoint = HostEndpoint(host, LabExecutor(self.lab), Credentials("nestlab", PASSWORD))
        with self.lock:
            self.servers.append(HostServer(endpoint, address, self.port).start())

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


class _Networks:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def get(self, name: str) -> Any:
        raise docker_errors.NotFound("no network")

    def create(self, name: str, **kwargs: Any) -> Any:
        self.engine.networks_made.append(name)
        return type("Network", (), {"name": name, "attrs": {}, "remove": lambda self: None})()

    def list(self, filters: dict) -> list:
        return []


class _Containers:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.addresses = iter(f"127.0.0.{n}" for n in range(2, 250))

    def get(self, name: str) -> FakeContainer:
        try:
            return self.engine.containers[name]
        except KeyError:
            raise docker_errors.NotFound(name) from None

    def create(self, image: str, *, name: str, labels: dict, environment: dict, **kwargs: Any) -> FakeContainer:
        with self.engine.lock:
            container = FakeContainer(self.engine, name, labels, environment, next(self.addresses))
            self.engine.containers[name] = container
        return container

    def list(self, all: bool, filters: dict) -> list:
        return list(self.engine.containers.values())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.2", 0))
        return probe.getsockname()[1]


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch):
    lab = generate(seed=5, hosts=4, depth=1)
    port = _free_port()
    monkeypatch.setattr(fleet, "PORT", port)
    fake = FakeEngine(lab, port)
    fake.containers_api = _Containers(fake)
    yield fake
    fake.stop()


def _client(engine: FakeEngine) -> Any:
    return type("Client", (), {"images": engine, "networks": engine.networks, "containers": engine.containers_api})()


def test_up_starts_every_host_at_once_and_waits_for_a_psrp_answer(engine, tmp_path: Path):
    lab_file = tmp_path / "speed-fleet.yaml"
    labfile.save(engine.lab, lab_file)
    spec = fleet.spec_for(str(lab_file), lab_file, image="nestlab-speed:test")
    events: list[tuple[str, str]] = []
    members = fleet.up(_client(engine), spec, PASSWORD, progress=lambda event, host: events.append((event, host)), timeout=60)
    assert [m.host for m in members] == engine.lab.hosts()
    assert {e for e, _ in events} == {"created", "started", "ready"}
    for host in engine.lab.hosts():
        assert events.index(("created", host)) < events.index(("started", host)) < events.index(("ready", host))
    assert len(engine.servers) == len(engine.lab.hosts())  # each ready host was served, and answered


def test_a_host_that_never_answers_psrp_is_named(engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    lab_file = tmp_path / "speed-fleet.yaml"
    labfile.save(engine.lab, lab_file)
    spec = fleet.spec_for(str(lab_file), lab_file, image="nestlab-speed:test")
    with pytest.raises(BadInput, match="did not answer a PSRP pipeline"):
        fleet.up(_client(engine), spec, "a-wrong-password", timeout=1)


def test_down_removes_every_container_at_once(engine, tmp_path: Path):
    lab_file = tmp_path / "speed-fleet.yaml"
    labfile.save(engine.lab, lab_file)
    client = _client(engine)
    fleet.up(client, fleet.spec_for(str(lab_file), lab_file, image="nestlab-speed:test"), PASSWORD, timeout=60)
    done: list[str] = []
    removed = fleet.down(client, "speed-fleet", progress=done.append)
    assert sorted(removed) == sorted(done) and len(removed) == len(engine.lab.hosts())
    assert engine.containers == {}
