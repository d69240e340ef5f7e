"""`nestlab up --swarm`: a lab's hosts as Docker Swarm services on a single-node swarm.

The swarm is made on an engine of the test's own (tests/helpers_dockerd.py: a second dockerd with
its own data root, socket, bridge and address pools), never on the machine's engine, which other
work shares: `docker swarm init` changes an engine for everyone using it, and a swarm left behind
by a killed test run would stay. The image is built on the machine's engine as the other docker
tests build it and copied over (`docker save | docker load`), as no registry holds it.

Without an engine, root or dockerd these tests skip with the reason; the parts that need no
engine are tested in tests/test_fleet.py and tests/test_fleet_imports.py.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from helpers_dockerd import NoPrivateEngine, copy_image, free_port, init_swarm, private_engine
from test_fleet import assert_served_findings_are_the_labs, engine  # noqa: F401  (engine: a fixture)
from nestlab.lab import fleet, image, swarm
from nestlab.lab.cli import cli
from nestlab.lab.targets import read_inventory
from nestlab.simulator import labfile
from nestlab.simulator.generate import generate_with_faults

PASSWORD = "Swarm-test-pa55"
pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def manager(engine: Any) -> Iterator[tuple[Any, str]]:
    """(client, base URL) of a private single-node swarm manager holding the fleet image, which the
    machine's engine (test_fleet's `engine`: skips where none answers) built."""
    try:
        with private_engine() as private:
            client = fleet.connect(private.url)
            init_swarm(client, private)
            copy_image(engine, client, image.IMAGE)
            yield client, private.url
    except NoPrivateEngine as exc:
        pytest.skip(str(exc))


class SwarmFleet:
    def __init__(self, folder: Path, url: str) -> None:
        lab, _ = generate_with_faults(faults=1, seed=5, hosts=2, depth=2)
        self.lab_file = folder / f"pytest-swarm-{uuid.uuid4().hex[:6]}.yaml"
        labfile.save(lab, self.lab_file)
        self.name = fleet.fleet_name(str(self.lab_file))
        self.inventory = folder / "inventory.yaml"
        self.url, self.port_base = url, free_port()

    def run(self, *argv: str) -> Any:
        result = CliRunner().invoke(cli, list(argv), env={"NESTLAB_PASSWORD": PASSWORD, "DOCKER_HOST": self.url})
        assert result.exit_code == 0, result.output
        return result

    def up(self) -> Any:
        return self.run("up", str(self.lab_file), "--swarm", "--port-base", str(self.port_base), "-o", str(self.inventory))


@pytest.fixture(scope="module")
def two_services(manager: tuple[Any, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwarmFleet]:
    client, url = manager
    up = SwarmFleet(tmp_path_factory.mktemp("swarm"), url)
    try:
        up.up()
        yield up
    finally:
        swarm.down(client, up.name)


def test_each_host_is_one_service_answering_on_its_published_port(manager: tuple[Any, str], two_services: SwarmFleet) -> None:
    client, _ = manager
    hosts = labfile.load(two_services.lab_file).hosts()
    services = client.services.list(filters={"label": f"{fleet.LABEL_LAB}={two_services.name}"})
    assert sorted(s.name for s in services) == sorted(fleet.container_name(two_services.name, h) for h in hosts)
    inventory = read_inventory(two_services.inventory)
    assert sorted(h.name for h in inventory) == sorted(hosts)
    assert {(h.server, h.effective_port) for h in inventory} == {("127.0.0.1", two_services.port_base + i) for i in range(len(hosts))}
    for service in services:  # the password is in the task's environment only
        spec = service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]
        assert f"NESTLAB_PASSWORD={PASSWORD}" in spec["Env"]
        assert PASSWORD not in " ".join(spec.get("Args") or []) + " ".join(f"{k}={v}" for k, v in service.attrs["Spec"]["Labels"].items())


def test_diagnosis_through_the_services_finds_what_the_simulator_finds(two_services: SwarmFleet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NESTLAB_PASSWORD", PASSWORD)
    assert_served_findings_are_the_labs(two_services.lab_file, two_services.inventory)


def test_fleet_lists_the_services_and_prints_the_same_inventory(two_services: SwarmFleet, tmp_path: Path) -> None:
    listed = tmp_path / "listed.yaml"
    listed.write_text(two_services.run("fleet", str(two_services.lab_file), "--inventory").output)
    def entries(path: Path) -> set[tuple[str, str, int, str]]:
        return {(h.name, h.server, h.effective_port, h.user) for h in read_inventory(path)}

    assert entries(listed) == entries(two_services.inventory) and len(entries(listed)) == 2
    table = two_services.run("fleet", str(two_services.lab_file)).output
    assert all(f"127.0.0.1:{h.effective_port}" in table for h in read_inventory(listed))


def test_up_again_keeps_the_running_services(manager: tuple[Any, str], two_services: SwarmFleet) -> None:
    client, _ = manager
    label = {"label": f"{fleet.LABEL_LAB}={two_services.name}"}
    before = {s.name: s.id for s in client.services.list(filters=label)}
    two_services.up()
    assert {s.name: s.id for s in client.services.list(filters=label)} == before


def test_down_removes_the_services_configs_and_network_and_nothing_else(manager: tuple[Any, str], two_services: SwarmFleet) -> None:
    client, _ = manager
    decoy = client.configs.create(name=f"nestlab-{two_services.name}-decoy", data=b"not the fleet's")
    try:
        result = two_services.run("down", str(two_services.lab_file))
        assert "removed service" in result.output and "removed config" in result.output and "removed network" in result.output
        label = {"label": f"{fleet.LABEL_LAB}={two_services.name}"}
        assert client.services.list(filters=label) == []
        assert client.configs.list(filters=label) == []
        assert client.networks.list(filters=label) == []
        assert client.containers.list(all=True) == []  # the tasks' containers are gone too
        assert client.configs.get(decoy.id).name == decoy.name
    finally:
        decoy.remove()
