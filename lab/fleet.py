"""A lab as a fleet of containers: each host of a lab served by its own `nestlab serve` on port
5985 of its own address on a private Docker bridge network (issue 7).

What a fleet owns is found by labels, never by names alone: every container and the network
that `up` creates carry `nestlab.lab=<lab>`, so `down` removes exactly those and nothing else
(a network that existed before `up` is used, but not labelled, and so never removed).

Re-running `up` is idempotent: a container whose configuration (lab file, image, user,
network, password) is unchanged is left running with the state it has; one that differs is
replaced; a stopped one is started; one for a host the lab no longer has is removed.

Secrets: the password travels only in the container's environment (NESTLAB_PASSWORD), never
in argv or labels; the user too is passed as NESTLAB_USER. Each container gets its own copy
of the lab file, so a change made through one host's endpoint is invisible to the others,
as on separate machines.
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from nestlab.simulator.errors import BadInput
from nestlab.lab.image import IMAGE
from nestlab.lab.docker_engine import DOCKER_TIMEOUT, connect  # noqa: F401  (re-exported: `fleet.connect`)
from nestlab.lab.serve_env import PASSWORD_ENV, USER_ENV

LABEL_LAB = "nestlab.lab"
LABEL_HOST = "nestlab.host"
LABEL_CONFIG = "nestlab.config"  # digest of what the container was made from (no secret in it)
PORT = 5985
LAB_DIR = "/tmp"
LAB_FILE = f"{LAB_DIR}/lab.yaml"
READY_TIMEOUT = 60.0
PARALLEL = 16  # containers created, started, checked or removed at once (the engine queues the rest)
READY_PROBE = ("Get-CimInstance", {"ClassName": "Win32_ComputerSystem"})  # what "answers" means: a real PSRP pipeline

Log = Callable[[str], None]
Progress = Callable[[str, str], None]  # (event, host): "created" when its container exists (not yet started),
                                       # "started" when it runs, "ready" when it answers PSRP


@dataclass(frozen=True)
class FleetSpec:
    """What `up` is asked to bring up."""

    lab: str  # the fleet's name: builtin:NAME → NAME, a lab file → its stem
    lab_file: Path
    hosts: tuple[str, ...]
    network: str
    subnet: str | None = None
    image: str = IMAGE
    user: str = "nestlab"


@dataclass(frozen=True)
class Member:
    """One running (or stopped) host of a fleet, as Docker reports it."""

    lab: str
    host: str
    container: str
    status: str
    address: str | None
    user: str
    port: int = PORT  # a container's own address listens on 5985; a swarm service is reached on its published port


def slug(text: str) -> str:
    """A name Docker accepts for containers and networks, lowercase."""
    cleaned = re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-.")
    return cleaned or "lab"


def fleet_name(target: str) -> str:
    """The fleet of `builtin:NAME` is NAME; of a lab file, its stem (the file need not exist for `down`)."""
    if target.startswith("builtin:"):
        return slug(target.split(":", 1)[1])
    return slug(Path(target).stem)


def container_name(lab: str, host: str) -> str:
    return f"nestlab-{slug(lab)}-{slug(host)}"


def spec_for(target: str, lab_path: Path, *, network: str | None = None, subnet: str | None = None, image: str = IMAGE,
             user: str = "nestlab") -> FleetSpec:
    """What `up` needs for LAB, read from `lab_path` (the caller resolves the target: the fleet does
    not know the target registry, which knows the fleet)."""
    from nestlab.simulator import labfile

    lab = labfile.load(lab_path)
    name = fleet_name(target)
    return FleetSpec(name, lab_path, tuple(lab.hosts()), network or f"nestlab-{name}", subnet, image, user)


def up(client: Any, spec: FleetSpec, password: str, *, log: Log = lambda _: None, timeout: float = READY_TIMEOUT,
       progress: Progress = lambda event, host: None) -> list[Member]:
    """Bring the fleet to `spec` (creating, replacing or starting what differs) and wait until every
    host answers a PSRP pipeline. Every container is made, started and checked at once, a thread
    each: the time of `up` is that of the slowest host, not the sum of them."""
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    image = _image(client, spec.image)
    network = _ensure_network(client, spec, log)
    lab_bytes = spec.lab_file.read_bytes()
    config = hashlib.sha256(b"\0".join([lab_bytes, image.id.encode(), spec.user.encode(), network.name.encode()])).hexdigest()[:32]
    wanted = {container_name(spec.lab, host): host for host in spec.hosts}
    stale = [c for c in _containers(client, spec.lab) if c.name not in wanted]
    deadline = time.monotonic() + timeout

    def bring_up(item: tuple[str, str]) -> Member:
        name, host = item
        _ensure_container(client, spec, name, host, config, password, lab_bytes, log, lambda: progress("created", host))
        progress("started", host)
        member = _wait_ready(client, spec, host, password, deadline, timeout)
        progress("ready", host)
        return member

    with ThreadPoolExecutor(PARALLEL) as pool:
        for container in stale:
            log(f"up: removing {container.name} (its host is no longer in the lab)")
        list(pool.map(lambda c: c.remove(force=True, v=True), stale))
        return list(pool.map(bring_up, wanted.items()))


def down(client: Any, lab: str, *, progress: Callable[[str], None] = lambda what: None) -> list[str]:
    """Remove every container and network labelled with this fleet, containers at once; return what was removed."""
    from concurrent.futures import ThreadPoolExecutor

    import docker.errors

    containers = _containers(client, lab)

    def remove(container: Any) -> str:
        container.remove(force=True, v=True)
        progress(f"container {container.name}")
        return f"container {container.name}"

    with ThreadPoolExecutor(PARALLEL) as pool:
        removed = list(pool.map(remove, containers))
    for network in _networks(client, lab):
        try:
            network.remove()
        except docker.errors.NotFound:
            continue
        removed.append(f"network {network.name}")
        progress(f"network {network.name}")
    return removed


def planned_removals(client: Any, lab: str) -> int:
    """How many containers and networks `down` would remove (for a progress bar's total)."""
    return len(_containers(client, lab)) + len(_networks(client, lab))


def members(client: Any, lab: str | None = None) -> list[Member]:
    """Every container of every fleet (or of one), sorted by lab then host."""
    found = [_member(container) for container in _containers(client, lab)]
    return sorted(found, key=lambda m: (m.lab, m.host))


def inventory(fleet: list[Member]) -> dict[str, Any]:
    """The fleet as an inventory file of lab/targets.py (for `nestlab diagnose inventory:PATH`)."""
    return {"hosts": [
        {"name": m.host, "address": m.address, "port": m.port, "transport": "http", "auth": "basic", "user": m.user}
        for m in fleet
    ]}


def running(client: Any, lab: str) -> list[Member]:
    """The members of a fleet that answer now, or BadInput when none runs (for inventories)."""
    found = [m for m in members(client, lab) if m.status == "running" and m.address]
    if not found:
        raise BadInput(f"fleet: no running host of {lab} (nestlab up LAB first; nestlab fleet lists what runs)")
    return found


def ansible_inventory(fleet: list[Member]) -> dict[str, Any]:
    """The fleet as Ansible's YAML inventory, reached with the psrp connection plugin."""
    groups: dict[str, Any] = {}
    for m in fleet:
        group = groups.setdefault(f"nestlab_{m.lab.replace('-', '_').replace('.', '_')}", {"hosts": {}, "vars": _ansible_vars(m.user)})
        group["hosts"][m.host] = {"ansible_host": m.address, "ansible_port": m.port}
    return {"all": {"children": groups}}


def _ansible_vars(user: str) -> dict[str, str]:
    return {
        "ansible_connection": "psrp",
        "ansible_psrp_protocol": "http",
        "ansible_psrp_auth": "basic",
        "ansible_psrp_message_encryption": "never",
        "ansible_user": user,
        "ansible_password": "{{ lookup('env', '" + PASSWORD_ENV + "') }}",
    }


def _image(client: Any, tag: str) -> Any:
    import docker.errors

    try:
        return client.images.get(tag)
    except docker.errors.ImageNotFound:
        raise BadInput(f"up: no image {tag}: run `make image` (or, where Docker can pull, `docker build -t {tag} .`)") from None


def _ensure_network(client: Any, spec: FleetSpec, log: Log) -> Any:
    import docker.errors
    from docker.types import IPAMConfig, IPAMPool

    try:
        network = client.networks.get(spec.network)
    except docker.errors.NotFound:
        ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=spec.subnet)]) if spec.subnet else None
        log(f"up: creating network {spec.network}" + (f" ({spec.subnet})" if spec.subnet else ""))
        try:
            return client.networks.create(spec.network, driver="bridge", ipam=ipam, labels={LABEL_LAB: spec.lab}, check_duplicate=True)
        except docker.errors.APIError as exc:
            raise BadInput(f"up: cannot create network {spec.network}: {exc.explanation or exc}") from None
    subnets = [c.get("Subnet") for c in (network.attrs.get("IPAM") or {}).get("Config") or []]
    if spec.subnet and spec.subnet not in subnets:
        raise BadInput(f"up: network {spec.network} exists with subnet {', '.join(filter(None, subnets)) or 'unknown'}, not {spec.subnet}")
    if network.attrs.get("Driver") != "bridge":
        raise BadInput(f"up: network {spec.network} exists but is a {network.attrs.get('Driver')} network, not a bridge")
    return network


def _ensure_container(client: Any, spec: FleetSpec, name: str, host: str, config: str, password: str, lab_bytes: bytes, log: Log,
                      created: Callable[[], None] = lambda: None) -> None:
    import docker.errors

    try:
        existing = client.containers.get(name)
    except docker.errors.NotFound:
        existing = None
    if existing is not None:
        labels = existing.labels or {}
        if labels.get(LABEL_LAB) != spec.lab:
            raise BadInput(f"up: a container named {name} exists and is not part of fleet {spec.lab}; remove or rename it")
        if labels.get(LABEL_CONFIG) == config and _env(existing).get(PASSWORD_ENV) == password:
            created()
            if existing.status != "running":
                log(f"up: starting {name}")
                existing.start()
            return
        log(f"up: replacing {name} (its lab, image, user, network or password changed)")
        existing.remove(force=True, v=True)
    log(f"up: creating {name}")
    try:
        container = client.containers.create(
            spec.image,
            command=["serve", LAB_FILE, "--host", host, "--port", str(PORT), "--bind", "0.0.0.0"],
            name=name,
            hostname=slug(host),
            environment={PASSWORD_ENV: password, USER_ENV: spec.user},
            labels={LABEL_LAB: spec.lab, LABEL_HOST: host, LABEL_CONFIG: config},
            network=spec.network,
        )
        container.put_archive(LAB_DIR, _single_file_tar("lab.yaml", lab_bytes))
        created()
        container.start()
    except docker.errors.APIError as exc:
        raise BadInput(f"up: cannot run {name}: {exc.explanation or exc}") from None


def _wait_ready(client: Any, spec: FleetSpec, host: str, password: str, deadline: float, timeout: float) -> Member:
    """The host's member once it answers a PSRP pipeline, or BadInput saying why it did not.

    Checks get dearer step by step, each retried with a short backoff: the container's state (one
    engine call), then a TCP connect to its port, and only once that is accepted the PSRP
    exchange. Ten hosts starting on two cores are CPU-bound; a client that opened a PSRP session
    every 0.1 s per host took a good part of that CPU from them."""
    name = container_name(spec.lab, host)
    backoff = Backoff()
    while True:
        member = _member(client.containers.get(name))
        if member.status == "exited":
            raise BadInput(f"up: {name} stopped: {_last_log_line(client, name)}")
        if member.address and listens(member) and answers_psrp(member, password):
            return member
        if time.monotonic() > deadline:
            raise BadInput(f"up: {host} did not answer a PSRP pipeline on port {member.port} within {timeout:.0f} s")
        backoff.sleep()


class Backoff:
    """Sleeps of 0.05 s doubling up to 0.5 s: a host that answers at once costs no wait, a slow one few checks."""

    def __init__(self, first: float = 0.05, most: float = 0.5) -> None:
        self.next, self.most = first, most

    def sleep(self) -> None:
        time.sleep(self.next)
        self.next = min(self.next * 2, self.most)


def listens(member: Member) -> bool:
    """Whether the host's port accepts a TCP connection (cheap; PSRP is tried only after it does)."""
    import socket

    try:
        socket.create_connection((member.address or "", member.port), timeout=1.0).close()
    except OSError:
        return False
    return True


def answers_psrp(member: Member, password: str) -> bool:
    """A real PSRP exchange: open a runspace pool on the host and run READY_PROBE there."""
    from nestlab.lab.psrp_session import HostAddress, PsrpSession
    from nestlab.simulator.psdata import Command

    address = HostAddress(member.host, member.address or "", member.port, member.user, "http", "basic",
                          connect_timeout=1.0, operation_timeout=5)
    cmdlet, parameters = READY_PROBE
    try:
        with PsrpSession([address], passwords=lambda _: password) as session:
            return session.run(member.host, (Command.of(cmdlet, **parameters),)).ok
    except BadInput:  # not listening yet, or not yet ready to open a pool
        return False


def _last_log_line(client: Any, name: str) -> str:
    try:
        lines = client.containers.get(name).logs(tail=3).decode(errors="replace").strip().splitlines()
    except Exception:
        return "no log"
    return lines[-1] if lines else "no log"


def _containers(client: Any, lab: str | None) -> list[Any]:
    label = f"{LABEL_LAB}={lab}" if lab else LABEL_LAB
    return client.containers.list(all=True, filters={"label": label})


def _networks(client: Any, lab: str) -> list[Any]:
    """The fleet's own bridge networks; a swarm-scoped one is `up --swarm`'s (lab/swarm.py removes it)."""
    return [n for n in client.networks.list(filters={"label": f"{LABEL_LAB}={lab}"}) if n.attrs.get("Scope") != "swarm"]


def _member(container: Any) -> Member:
    labels = container.labels or {}
    networks = (container.attrs.get("NetworkSettings") or {}).get("Networks") or {}
    address = next((n.get("IPAddress") for n in networks.values() if n.get("IPAddress")), None)
    user = _env(container).get(USER_ENV, "nestlab")
    return Member(labels.get(LABEL_LAB, ""), labels.get(LABEL_HOST, container.name), container.name, container.status, address, user, PORT)


def _env(container: Any) -> dict[str, str]:
    pairs = (container.attrs.get("Config") or {}).get("Env") or []
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def _single_file_tar(name: str, data: bytes) -> bytes:
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def yaml_text(data: dict[str, Any]) -> str:
    """An inventory as block YAML, the way people write them by hand."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # name first, as people write them
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()
