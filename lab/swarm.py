"""A lab as Docker Swarm services (`nestlab up --swarm`): one service per host, placed by the
swarm's own scheduler, for fleets that one engine cannot hold (issue 17 item 6).

Same image, same command and the same inventories as the container fleet (lab/fleet.py); what
differs is how a host is reached and where its lab file comes from:

- **Reached on a published port of its node.** Each service publishes its 5985 in `host` mode on
  a port of its own (`port_base` + its index in the lab), so the inventory says `node address:port`
  and needs no route into the swarm's networks; its tasks sit on a swarm-scoped bridge network
  (`nestlab-<lab>`), a bridge local to each node.
- **The lab file is a swarm config** (`nestlab-<lab>-lab-<digest>`), mounted read-only where the
  container fleet copies it; every task still has its own copy of the lab in memory.
- **Placement is the swarm's**: its default spread strategy puts each new task on the node with
  the fewest tasks, so the hosts of a lab spread across the nodes; `constraints` (e.g.
  `node.role==worker`) narrow the nodes. No scheduling here.

What a swarm fleet owns is found by the `nestlab.lab` label on services, configs and the network,
so `down` removes exactly that. The password travels as the container fleet's does: in the
task's environment, never in argv or labels.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, Callable

from nestlab.lab.fleet import (LAB_FILE, LABEL_CONFIG, LABEL_HOST, LABEL_LAB, PARALLEL, PORT, Backoff, FleetSpec, Log, Member, Progress,
                               answers_psrp, container_name, listens, slug)
from nestlab.lab.fleet import members as container_members
from nestlab.lab.serve_env import PASSWORD_ENV, USER_ENV
from nestlab.simulator.errors import BadInput

PORT_BASE = 55985  # the first host's published port on its node; the next hosts take the ports after it
LABEL_PORT = "nestlab.port"


def is_manager(client: Any) -> bool:
    """Whether the engine can run services: a swarm manager (`docker swarm init` made it one)."""
    swarm = client.info().get("Swarm") or {}
    return swarm.get("LocalNodeState") == "active" and bool(swarm.get("ControlAvailable"))


def up(client: Any, spec: FleetSpec, password: str, *, log: Log = lambda _: None, timeout: float = 60.0,
       progress: Progress = lambda event, host: None, port_base: int = PORT_BASE, constraints: tuple[str, ...] = ()) -> list[Member]:
    """Bring the lab's hosts up as services (a service whose spec is unchanged is left alone) and wait
    until each answers a PSRP pipeline on its published port; every host at once, a thread each."""
    from concurrent.futures import ThreadPoolExecutor

    if not is_manager(client):
        raise BadInput("up --swarm: this engine is not a swarm manager (docker swarm init, or DOCKER_HOST naming a manager)")
    image = client.images.get(spec.image) if _has_image(client, spec.image) else None
    if image is None:
        raise BadInput(f"up --swarm: no image {spec.image} on this node: run `make image` (and make it available to every node)")
    network = _ensure_network(client, spec, log)
    lab_bytes = spec.lab_file.read_bytes()
    config = _ensure_config(client, spec.lab, lab_bytes)
    digest = hashlib.sha256(b"\0".join([lab_bytes, image.id.encode(), spec.user.encode(), network.encode(),
                                         password.encode(), ",".join(constraints).encode()])).hexdigest()[:32]
    wanted = {container_name(spec.lab, host): (host, port_base + index) for index, host in enumerate(spec.hosts)}
    stale = [s for s in _services(client, spec.lab) if s.name not in wanted]
    deadline = time.monotonic() + timeout

    def bring_up(item: tuple[str, tuple[str, int]]) -> Member:
        name, (host, port) = item
        _ensure_service(client, spec, name, host, port, digest, password, config, network, constraints, log)
        progress("created", host)
        member = _wait_running(client, spec, name, deadline, timeout)
        progress("started", host)
        backoff = Backoff()
        while not (listens(member) and answers_psrp(member, password)):
            if time.monotonic() > deadline:
                raise BadInput(f"up --swarm: {host} did not answer a PSRP pipeline on {member.address}:{port} within {timeout:.0f} s")
            backoff.sleep()
        progress("ready", host)
        return member

    with ThreadPoolExecutor(PARALLEL) as pool:
        for service in stale:
            log(f"up --swarm: removing {service.name} (its host is no longer in the lab)")
        list(pool.map(lambda s: s.remove(), stale))
        found = list(pool.map(bring_up, wanted.items()))
    _remove_unused_configs(client, spec.lab, keep=config.id)
    return found


def down(client: Any, lab: str, *, progress: Callable[[str], None] = lambda what: None, timeout: float = 60.0) -> list[str]:
    """Remove the fleet's services, then its configs and network once their tasks are gone."""
    if not is_manager(client):
        return []
    removed = []
    services = _services(client, lab)
    for service in services:
        service.remove()
        removed.append(f"service {service.name}")
        progress(f"service {service.name}")
    deadline = time.monotonic() + timeout
    _wait_tasks_gone(client, [service.name for service in services], deadline)
    for kind, listing in (("config", client.configs.list), ("network", client.networks.list)):
        for item in listing(filters={"label": f"{LABEL_LAB}={lab}"}):
            _remove_when_unused(item, deadline)
            removed.append(f"{kind} {item.name}")
            progress(f"{kind} {item.name}")
    return removed


def planned_removals(client: Any, lab: str) -> int:
    if not is_manager(client):
        return 0
    label = {"label": f"{LABEL_LAB}={lab}"}
    return len(_services(client, lab)) + len(client.configs.list(filters=label)) + len(client.networks.list(filters=label))


def members(client: Any, lab: str | None = None) -> list[Member]:
    """Every host of every swarm fleet (or of one): its service, the state of its task, and where it answers."""
    if not is_manager(client):
        return []
    found = [_member(client, service) for service in _services(client, lab)]
    return sorted(found, key=lambda m: (m.lab, m.host))


def running(client: Any, lab: str) -> list[Member]:
    """The hosts of fleet LAB that answer now, containers and services alike, or BadInput when none runs."""
    found = [m for m in members(client, lab) if m.status == "running" and m.address] + \
        [m for m in container_members(client, lab) if m.status == "running" and m.address]
    if not found:
        raise BadInput(f"fleet: no running host of {lab} (nestlab up LAB first; nestlab fleet lists what runs)")
    return sorted(found, key=lambda m: m.host)


def _has_image(client: Any, tag: str) -> bool:
    import docker.errors

    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def _ensure_network(client: Any, spec: FleetSpec, log: Log) -> str:
    """A swarm-scoped bridge: local to each node, attachable by services (a plain bridge is not)."""
    from docker.types import IPAMConfig, IPAMPool

    existing = [n for n in client.networks.list(names=[spec.network]) if n.name == spec.network]
    if existing:
        return existing[0].name
    log(f"up --swarm: creating network {spec.network}")
    ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=spec.subnet)]) if spec.subnet else None
    try:
        client.networks.create(spec.network, driver="bridge", scope="swarm", ipam=ipam, labels={LABEL_LAB: spec.lab}, check_duplicate=True)
    except Exception as exc:
        raise BadInput(f"up --swarm: cannot create network {spec.network}: {getattr(exc, 'explanation', None) or exc}") from None
    return spec.network


def _ensure_config(client: Any, lab: str, lab_bytes: bytes) -> Any:
    """The lab file as a swarm config, named by its digest (configs cannot change; a new lab is a new config)."""
    name = f"nestlab-{lab}-lab-{hashlib.sha256(lab_bytes).hexdigest()[:12]}"
    existing = [c for c in client.configs.list(filters={"name": name}) if c.name == name]
    if existing:
        return existing[0]
    return client.configs.get(client.configs.create(name=name, data=lab_bytes, labels={LABEL_LAB: lab}).id)


def _ensure_service(client: Any, spec: FleetSpec, name: str, host: str, port: int, digest: str, password: str, config: Any,
                    network: str, constraints: tuple[str, ...], log: Log) -> None:
    from docker.types import ConfigReference, EndpointSpec, RestartPolicy

    existing = [s for s in client.services.list(filters={"name": name}) if s.name == name]
    if existing:
        labels = existing[0].attrs["Spec"].get("Labels") or {}
        if labels.get(LABEL_LAB) != spec.lab:
            raise BadInput(f"up --swarm: a service named {name} exists and is not part of fleet {spec.lab}; remove or rename it")
        if labels.get(LABEL_CONFIG) == digest and labels.get(LABEL_PORT) == str(port):
            return
        log(f"up --swarm: replacing {name} (its lab, image, user, network, password or placement changed)")
        existing[0].remove()
    log(f"up --swarm: creating {name}")
    try:
        client.services.create(
            spec.image,
            args=["serve", LAB_FILE, "--host", host, "--port", str(PORT), "--bind", "0.0.0.0"],
            name=name,
            hostname=slug(host),
            env=[f"{PASSWORD_ENV}={password}", f"{USER_ENV}={spec.user}"],
            labels={LABEL_LAB: spec.lab, LABEL_HOST: host, LABEL_CONFIG: digest, LABEL_PORT: str(port)},
            networks=[network],
            endpoint_spec=EndpointSpec(ports={port: (PORT, "tcp", "host")}),
            configs=[ConfigReference(config.id, config.name, filename=LAB_FILE, mode=0o444)],
            constraints=list(constraints) or None,
            restart_policy=RestartPolicy(condition="on-failure", max_attempts=3),
        )
    except Exception as exc:
        raise BadInput(f"up --swarm: cannot create service {name}: {getattr(exc, 'explanation', None) or exc}") from None


def _wait_running(client: Any, spec: FleetSpec, name: str, deadline: float, timeout: float) -> Member:
    """The host's member once a task of its service runs, or BadInput with the swarm's reason why not."""
    while True:
        service = client.services.get(name)
        member = _member(client, service)
        if member.status == "running" and member.address:
            return member
        if time.monotonic() > deadline:  # a failed task is retried by the swarm (restart policy): wait for it till then
            raise BadInput(f"up --swarm: no task of {name} runs within {timeout:.0f} s (last: {member.status}, {_task_error(service)})")
        time.sleep(0.2)


def _member(client: Any, service: Any) -> Member:
    labels = service.attrs["Spec"].get("Labels") or {}
    env = service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"].get("Env") or []
    user = next((pair.split("=", 1)[1] for pair in env if pair.startswith(f"{USER_ENV}=")), "nestlab")
    task = _current_task(service)
    status = task["Status"]["State"] if task else "pending"
    address = _node_address(client, task["NodeID"]) if task and task.get("NodeID") and status == "running" else None
    return Member(labels.get(LABEL_LAB, ""), labels.get(LABEL_HOST, service.name), service.name, status, address, user,
                  int(labels.get(LABEL_PORT, PORT)))


def _current_task(service: Any) -> dict[str, Any] | None:
    """The newest task of the service (the one the swarm wants running, or the last that failed)."""
    tasks = sorted(service.tasks(), key=lambda t: t.get("CreatedAt", ""))
    running = [t for t in tasks if t.get("DesiredState") == "running"]
    return (running or tasks or [None])[-1]


def _node_address(client: Any, node_id: str) -> str | None:
    return (client.nodes.get(node_id).attrs.get("Status") or {}).get("Addr")


def _task_error(service: Any) -> str:
    task = _current_task(service)
    return ((task or {}).get("Status") or {}).get("Err") or "no error reported"


def _services(client: Any, lab: str | None) -> list[Any]:
    label = f"{LABEL_LAB}={lab}" if lab else LABEL_LAB
    return client.services.list(filters={"label": label})


def _remove_unused_configs(client: Any, lab: str, *, keep: str) -> None:
    """Configs of earlier versions of the lab, once no service mounts them."""
    import docker.errors

    for config in client.configs.list(filters={"label": f"{LABEL_LAB}={lab}"}):
        if config.id != keep:
            try:
                config.remove()
            except docker.errors.APIError:  # still mounted by a task being replaced: the next up or down removes it
                continue


def _wait_tasks_gone(client: Any, names: list[str], deadline: float) -> None:
    """Until this node runs no container of the removed services: the swarm removes a service at
    once and its tasks' containers after (other nodes' containers are their engines' to remove)."""
    for name in names:
        while client.containers.list(all=True, filters={"label": f"com.docker.swarm.service.name={name}"}):
            if time.monotonic() > deadline:
                raise BadInput(f"down: the containers of {name} are still there after its service was removed")
            time.sleep(0.2)


def _remove_when_unused(item: Any, deadline: float) -> None:
    """Remove a config or network; the swarm refuses while a task of a removed service still holds it."""
    import docker.errors

    while True:
        try:
            item.remove()
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError:
            if time.monotonic() > deadline:
                raise BadInput(f"down: {item.name} is still in use after its services were removed") from None
            time.sleep(0.2)
