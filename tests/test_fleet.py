"""`nestlab up / down / fleet`: a lab's hosts as containers, each serving PSRP on its own address.

The tests marked `docker` run real containers: they build the image once per session (cached
by its key, so a second session finds it), bring up a two-host lab, talk to it only through
the addresses of the containers they created, and take it down. Where no Docker engine answers
they are skipped with the engine's own reason. The others check the parts that need no engine.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from nestlab.lab import fleet, image
from nestlab.lab.cli import cli
from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import SimSession
from nestlab.lab.targets import open_target, read_inventory
from nestlab.simulator import labfile
from nestlab.simulator.errors import BadInput
from nestlab.simulator.generate import generate_with_faults
from nestlab.simulator.psdata import Command

PASSWORD = "Fleet-test-pa55"
docker = pytest.mark.docker


# --- without an engine -----------------------------------------------------------------------

def _member(host: str, address: str) -> fleet.Member:
    return fleet.Member("ref", host, fleet.container_name("ref", host), "running", address, "labadmin")


def test_inventory_is_read_back_as_http_basic_hosts_at_the_container_addresses(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(fleet.yaml_text(fleet.inventory([_member("HV01", "172.30.0.2"), _member("HV02", "172.30.0.3")])))
    hosts = read_inventory(path)
    assert [(h.name, h.server, h.effective_port, h.transport, h.auth, h.user) for h in hosts] == [
        ("HV01", "172.30.0.2", 5985, "http", "basic", "labadmin"),
        ("HV02", "172.30.0.3", 5985, "http", "basic", "labadmin"),
    ]


def test_ansible_inventory_uses_psrp_and_takes_the_password_from_the_environment() -> None:
    data = fleet.ansible_inventory([_member("HV01", "172.30.0.2")])
    group = data["all"]["children"]["nestlab_ref"]
    assert group["hosts"] == {"HV01": {"ansible_host": "172.30.0.2", "ansible_port": 5985}}
    assert group["vars"]["ansible_connection"] == "psrp"
    assert group["vars"]["ansible_user"] == "labadmin"
    assert group["vars"]["ansible_password"] == "{{ lookup('env', 'NESTLAB_PASSWORD') }}"


def test_names_are_lowercase_docker_names_derived_from_lab_and_host() -> None:
    assert fleet.fleet_name("builtin:reference") == "reference"
    assert fleet.fleet_name("labs/My Lab.yaml") == "my-lab"
    assert fleet.container_name("reference", "HV01") == "nestlab-reference-hv01"
    assert re.fullmatch(r"[a-z0-9][a-z0-9_.-]+", fleet.container_name("Lab 1", "SEA HV/07"))


def test_the_build_context_holds_every_source_the_dockerfile_copies() -> None:
    names = {str(p.relative_to(image.PROJECT_ROOT)) for p in image.context_files()}
    sources = []
    for line in (image.PROJECT_ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and not line.startswith("COPY --from="):  # --from copies from a stage, not the context
            sources += [s for s in line.split()[1:-1] if "[" not in s and s != "."]  # wheelhous[e]: optional
    assert sources
    for source in sources:
        assert source in names or any(n.startswith(source + "/") for n in names), source
    assert not any("__pycache__" in n or n.startswith((".venv", "tests/", ".git/")) for n in names)
    assert {"simulator/model.py", "lab/cli.py", "diagnosis/engine.py"} <= names  # what `nestlab serve` imports
    assert "container/slim.sh" in names  # the build stage runs it


def test_the_base_image_key_changes_with_each_of_its_inputs() -> None:
    base = image.BaseRecipe()
    variants = [dataclasses.replace(base, suite="trixie"), dataclasses.replace(base, variant="buildd"),
                dataclasses.replace(base, include=("python3",)), dataclasses.replace(base, mirror="http://mirror.invalid/debian")]
    keys = {base.key, *(v.key for v in variants)}
    assert len(keys) == 1 + len(variants)
    assert base.key == image.BaseRecipe().key  # and is stable for the same inputs


def test_serve_refuses_a_host_the_lab_does_not_have() -> None:
    result = CliRunner().invoke(cli, ["serve", "builtin:reference", "--host", "NOPE", "--port", "0"], env={"NESTLAB_PASSWORD": PASSWORD})
    assert result.exit_code == 2
    assert "no host 'NOPE'" in result.output


def test_up_needs_the_password_in_the_environment() -> None:
    result = CliRunner().invoke(cli, ["up", "builtin:reference"], env={"NESTLAB_PASSWORD": ""})
    assert result.exit_code == 2
    assert "NESTLAB_PASSWORD" in result.output


class _PlainEngine:
    """An engine that is no swarm member, as `docker info` reports it."""

    def info(self) -> dict[str, Any]:
        return {"Swarm": {"LocalNodeState": "inactive", "ControlAvailable": False}}


def test_up_swarm_on_an_engine_that_is_no_swarm_manager_says_so(tmp_path: Path) -> None:
    from nestlab.lab import swarm

    lab_file = tmp_path / "plain.yaml"
    labfile.save(labfile.load("builtin:reference"), lab_file)
    with pytest.raises(BadInput, match="not a swarm manager"):
        swarm.up(_PlainEngine(), fleet.spec_for(str(lab_file), lab_file), PASSWORD)
    assert swarm.down(_PlainEngine(), "plain") == [] and swarm.members(_PlainEngine()) == []  # down/fleet still work there


# --- with an engine --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def engine() -> Any:
    pytest.importorskip("docker", reason="the docker package is not installed (pip install 'nestlab[docker]')")
    try:
        client = fleet.connect()
    except BadInput as exc:
        pytest.skip(str(exc))
    image.build_image(client, log=lambda line: None)
    return client


@dataclasses.dataclass(frozen=True)
class UpFleet:
    lab_file: Path
    inventory: Path
    name: str
    volumes_before: frozenset[str]


def _up(lab_file: Path, inventory: Path) -> None:
    result = CliRunner().invoke(cli, ["up", str(lab_file), "-o", str(inventory)], env={"NESTLAB_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def two_hosts(engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpFleet]:
    folder = tmp_path_factory.mktemp("fleet")
    lab, _ = generate_with_faults(faults=1, seed=3, hosts=2, depth=2)
    assert len(lab.hosts()) == 2
    lab_file = folder / f"pytest-{uuid.uuid4().hex[:8]}.yaml"
    labfile.save(lab, lab_file)
    up = UpFleet(lab_file, folder / "inventory.yaml", fleet.fleet_name(str(lab_file)), frozenset(v.id for v in engine.volumes.list()))
    try:
        _up(up.lab_file, up.inventory)
        yield up
    finally:
        fleet.down(engine, up.name)


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NESTLAB_PASSWORD", PASSWORD)


@docker
def test_each_host_of_a_two_host_lab_is_a_container_on_its_own_address(engine: Any, two_hosts: UpFleet) -> None:
    members = fleet.members(engine, two_hosts.name)
    hosts = labfile.load(two_hosts.lab_file).hosts()
    assert sorted(m.host for m in members) == sorted(hosts)
    assert [m.container for m in members] == [fleet.container_name(two_hosts.name, m.host) for m in members]
    assert all(m.status == "running" for m in members)
    assert len({m.address for m in members}) == 2 and all(m.address for m in members)
    assert {h.server for h in read_inventory(two_hosts.inventory)} == {m.address for m in members}


@docker
def test_the_password_is_in_the_container_environment_only(engine: Any, two_hosts: UpFleet) -> None:
    for member in fleet.members(engine, two_hosts.name):
        config = engine.containers.get(member.container).attrs["Config"]
        assert f"NESTLAB_PASSWORD={PASSWORD}" in config["Env"]
        assert PASSWORD not in " ".join(config["Cmd"] or []) + " ".join(config["Entrypoint"] or [])
        assert PASSWORD not in " ".join(f"{k}={v}" for k, v in (config["Labels"] or {}).items())


def assert_served_findings_are_the_labs(lab_file: Path, inventory: Path) -> None:
    """Diagnosing the hosts an inventory names finds what diagnosing their lab file in process finds."""
    in_process = diagnose_session(SimSession(labfile.load(lab_file))).report
    session = open_target(f"inventory:{inventory}")
    try:
        served = diagnose_session(session).report
    finally:
        session.close()
    assert in_process.findings, "the generated lab should have a finding to compare"
    assert served.to_dict()["findings"] == in_process.to_dict()["findings"]


@docker
def test_diagnosis_through_the_containers_finds_what_the_simulator_finds(two_hosts: UpFleet, password: None) -> None:
    assert_served_findings_are_the_labs(two_hosts.lab_file, two_hosts.inventory)


def _snapshot(session: Any, host: str) -> dict[str, tuple[Any, Any]]:
    """Each VM of `host`: (State, ExposeVirtualizationExtensions), read over PSRP."""
    vms = session.run(host, [Command.of("Get-VM")]).output
    processors = session.run(host, [Command.of("Get-VMProcessor", VMName=[vm["Name"] for vm in vms])]).output
    exposed = {p["VMName"]: p["ExposeVirtualizationExtensions"] for p in processors}
    return {vm["Name"]: (str(vm["State"]), exposed[vm["Name"]]) for vm in vms}


@docker
def test_a_fault_injected_through_one_container_leaves_the_other_untouched(two_hosts: UpFleet, password: None) -> None:
    session = open_target(f"inventory:{two_hosts.inventory}")
    try:
        target, other = session.hosts()
        before = {host: _snapshot(session, host) for host in (target, other)}
        vm = next(name for name, (_, exposed) in before[target].items() if exposed is True)
        session.run(target, [Command.of("Stop-VM", Name=vm, Force=True)])
        session.run(target, [Command.of("Set-VMProcessor", VMName=vm, ExposeVirtualizationExtensions=False)])
        after = {host: _snapshot(session, host) for host in (target, other)}
        assert after[target][vm][1] is False
        assert after[other] == before[other]
        session.run(target, [Command.of("Set-VMProcessor", VMName=vm, ExposeVirtualizationExtensions=True)])
        session.run(target, [Command.of("Start-VM", Name=vm)])
        assert _snapshot(session, target) == before[target]
    finally:
        session.close()


@docker
def test_up_again_keeps_the_running_containers(engine: Any, two_hosts: UpFleet) -> None:
    ids = {m.container: engine.containers.get(m.container).id for m in fleet.members(engine, two_hosts.name)}
    _up(two_hosts.lab_file, two_hosts.inventory)
    assert {m.container: engine.containers.get(m.container).id for m in fleet.members(engine, two_hosts.name)} == ids


@docker
def test_down_leaves_no_container_network_or_volume_and_nothing_else_is_removed(engine: Any, two_hosts: UpFleet) -> None:
    decoy = engine.networks.create(f"nestlab-{two_hosts.name}-decoy", driver="bridge")
    try:
        result = CliRunner().invoke(cli, ["down", str(two_hosts.lab_file)])
        assert result.exit_code == 0, result.output
        assert "removed network" in result.output
        assert engine.containers.list(all=True, filters={"label": f"{fleet.LABEL_LAB}={two_hosts.name}"}) == []
        assert engine.networks.list(filters={"label": f"{fleet.LABEL_LAB}={two_hosts.name}"}) == []
        assert frozenset(v.id for v in engine.volumes.list()) <= two_hosts.volumes_before
        assert engine.networks.get(decoy.id).name == decoy.name
    finally:
        decoy.remove()
