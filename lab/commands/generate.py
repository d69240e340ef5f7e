"""`nestlab generate`: a realistic random lab file, optionally with faults and their ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import click

from nestlab.simulator.errors import BadInput


@click.command(name="generate")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed: same arguments, same file.")
@click.option("--hosts", type=int, default=1, show_default=True, help="Physical or Azure hosts.")
@click.option("--depth", type=int, default=2, show_default=True, help="Nesting depth (1 = VMs on the host).")
@click.option("--vms", "vms", type=int, default=None, help="VMs per host at all depths (>= depth; default random).")
@click.option("--faults", type=int, default=0, show_default=True, help="Random compatible faults to inject.")
@click.option("--world", type=click.Choice(["realistic", "minimal"]), default="realistic", show_default=True,
              help="realistic: ordinary VMs beside the nested chain, each Windows with its edition's background; "
                   "minimal: only the nested chain, no background.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None, help="Write the lab here.")
@click.option("--json", "as_json", is_flag=True, help='Print {"lab": OUT, "injected": [...]} (the ground truth).')
def command(seed: int, hosts: int, depth: int, vms: int | None, faults: int, world: str, output: str | None,
            as_json: bool) -> None:
    """Write a realistic random lab (Faker names, addresses, Windows paths).

    Generated labs are healthy unless --faults K asks for K faults; the faults
    injected are never written into the lab file: --json prints them.

    \b
    Examples:
      nestlab generate --seed 7                       a small healthy lab on stdout
      nestlab generate --hosts 3 --depth 3 -o lab.yaml
      nestlab generate --seed 4 --faults 2 -o broken.yaml --json
      nestlab generate --world minimal                only the nested chain, no background
    """
    from nestlab.simulator.generate import generate_with_faults
    from nestlab.simulator.labfile import dumps, save

    if as_json and output is None:
        raise BadInput("--json: needs -o OUT (stdout carries the JSON, the lab goes to the file)")
    lab, injected = generate_with_faults(faults=faults, seed=seed, hosts=hosts, depth=depth, vms_per_host=vms,
                                         world=world)
    if output is None:
        click.echo(dumps(lab), nl=False)
    else:
        target = Path(output)
        if not target.parent.is_dir():
            raise BadInput(f"-o {output}: folder {target.parent} does not exist")
        save(lab, target)  # atomic: temp file + os.replace
    if as_json:
        truth = [{"root_cause": root_cause, "subject": subject} for root_cause, subject in injected]
        click.echo(json.dumps({"lab": output, "injected": truth}))
