"""`fleet:LAB`: the running containers of `nestlab up LAB`, as the hosts of an inventory.

Read from Docker's listing of the fleet's labelled containers (`lab.fleet`) and, on a swarm
manager, services (`lab.swarm`), never from a file:
the inventory `nestlab up -o` prints is the same data, but the listing is what runs now. The
entries go through the one inventory reader (`lab.inventory.hosts_from_data`). The containers
are the lab owner's own disposable hosts, so each entry consents to changes (`destructive: true`);
a run still changes nothing without `--allow-destructive`.
"""

from __future__ import annotations

from dataclasses import replace

from nestlab.lab.inventory import InventoryHost, hosts_from_data


def fleet_hosts(lab: str) -> list[InventoryHost]:
    """The running members of fleet LAB (`builtin:NAME`, a lab file, or the fleet's name)."""
    from nestlab.lab import fleet, swarm

    name = fleet.fleet_name(lab)
    members = swarm.running(fleet.connect(), name)
    return [replace(host, destructive=True) for host in hosts_from_data(fleet.inventory(members), f"fleet:{name}")]
