"""`nestlab up LAB`: each host of a lab as a container serving PSRP on its own address."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from nestlab.lab.completion import complete_lab
from nestlab.simulator.errors import BadInput
from nestlab.lab import fleet
from nestlab.lab.image import IMAGE
from nestlab.lab.serve_env import PASSWORD_ENV


@click.command(name="up")
@click.argument("lab_target", metavar="LAB", shell_complete=complete_lab)
@click.option("--network", default=None, metavar="NAME", help="Bridge network to put the hosts on (default: nestlab-<lab>; created if missing).")
@click.option("--subnet", default=None, metavar="CIDR", help="Subnet of the network when it is created (default: Docker picks one).")
@click.option("--image", default=IMAGE, show_default=True, help="Image that runs `nestlab serve` (make image builds it).")
@click.option("--user", default="nestlab", show_default=True, help=f"The account clients log in with (its password: ${PASSWORD_ENV}).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the inventory here instead of printing it.")
@click.option("--ansible", "ansible_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also write Ansible's YAML inventory (psrp connection) here.")
@click.option("--timeout", type=click.FloatRange(1, 600), default=fleet.READY_TIMEOUT, show_default=True, help="Seconds to wait for every host to answer.")
@click.option("--swarm", is_flag=True, help="Run the hosts as Docker Swarm services (one per host, placed by the swarm) on a swarm manager.")
@click.option("--port-base", type=click.IntRange(1, 65535), default=55985, show_default=True, metavar="PORT",
              help="With --swarm: the first host's published port on its node; the next hosts take the ports after it.")
@click.option("--constraint", "constraints", multiple=True, metavar="EXPR", help="With --swarm: a placement constraint, e.g. node.role==worker (repeatable).")
def command(lab_target: str, network: str | None, subnet: str | None, image: str, user: str, output: Path | None, ansible_path: Path | None, timeout: float,
            swarm: bool, port_base: int, constraints: tuple[str, ...]) -> None:
    """Run each host of LAB as a container serving WS-Management/PSRP on port 5985 of its own address.

    One container per host (nestlab-<lab>-<host>) on a private bridge network; then the
    inventory that reaches them (for `nestlab diagnose inventory:FILE`). Running it again
    changes only what differs. `nestlab down LAB` removes it all.

    \b
    Examples:
      export NESTLAB_PASSWORD=secret
      nestlab up builtin:reference -o fleet.yaml --ansible hosts.yml
      nestlab diagnose inventory:fleet.yaml
      nestlab up lab.yaml --network lab-net --subnet 172.30.0.0/24
      DOCKER_HOST=ssh://manager nestlab up builtin:reference --swarm -o fleet.yaml
    """
    from nestlab.lab.progress import fleet_progress
    from nestlab.simulator.labfile import write_atomic

    password = os.environ.get(PASSWORD_ENV)
    if not password:
        raise BadInput(f"up: set {PASSWORD_ENV} to the password the hosts will ask of --user {user}")
    spec = fleet.spec_for(lab_target, lab_path(lab_target), network=network, subnet=subnet, image=image, user=user)
    started = time.monotonic()
    client = fleet.connect()
    with fleet_progress({"created": "containers created", "started": "containers running", "ready": "hosts answering PSRP"}, len(spec.hosts)) as (log, step):
        if swarm:
            from nestlab.lab import swarm as swarm_fleet

            members = swarm_fleet.up(client, spec, password, log=log, timeout=timeout, progress=step, port_base=port_base, constraints=constraints)
        else:
            members = fleet.up(client, spec, password, log=log, timeout=timeout, progress=step)
    click.echo(f"up: {len(members)} host(s) of {spec.lab} answer on {spec.network} ({time.monotonic() - started:.1f} s)", err=True)
    text = fleet.yaml_text(fleet.inventory(members))
    if ansible_path is not None:
        write_atomic(ansible_path, fleet.yaml_text(fleet.ansible_inventory(members)))
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomic(output, text)


def lab_path(target: str) -> Path:
    """The lab file of LAB (a lab file or builtin:NAME), or BadInput for any other kind of target."""
    from nestlab.lab.targets import parse_target

    parsed = parse_target(target)
    if parsed.kind not in ("lab", "builtin") or parsed.lab_path is None:
        raise BadInput(f"{target}: up needs a lab file or builtin:NAME, not a {parsed.kind} target")
    return parsed.lab_path
