"""What a collection can see of a lab, and how two labs differ on it: shared by the collector's
tests (in process) and the capture's (through the served endpoint).

A VM that is not Running cannot be entered by PowerShell Direct, so its guest (OS, security,
listeners, the VMs it runs) and its adapters' addresses are not visible: `visible` projects a lab
onto what a collection can see, and an evidence lab must equal that projection exactly.
"""

from __future__ import annotations

from dataclasses import replace

from nestlab.simulator.model import VM, Guest, Lab


def visible(lab: Lab) -> Lab:
    """The lab as a collection sees it: nothing inside a guest that is not Running."""
    seen = lab.copy()
    for vm in lab.all_vms():
        if vm not in seen or lab[vm].state == "Running":
            continue
        record: VM = seen[vm]
        hidden = Guest(integration_services_current=record.guest.integration_services_current)
        seen.set(vm, replace(record, guest=hidden, services=()))
        for adapter in seen.adapters(vm):
            seen.set(adapter, replace(seen[adapter], ip=None))
        for node in [n for n in seen.graph if n.startswith(vm + "/") or n.startswith(vm + ":")]:
            if seen.kind(node) != "adapter" or not node.startswith(vm + ":"):
                seen.remove(node)
    return seen


def canonical(record: object) -> object:
    """Listeners are a set on a host (Get-NetTCPConnection, then Get-NetUDPEndpoint)."""
    if isinstance(record, VM):
        return replace(record, services=tuple(sorted(record.services, key=lambda x: (x.protocol, x.port))))
    return record


def differences(expected: Lab, got: Lab) -> list[str]:
    out = [f"missing {n}" for n in expected if n not in got]
    out += [f"extra {n}" for n in got if n not in expected]
    out += [f"differs {n}: {expected[n]!r} != {got[n]!r}"
            for n in expected if n in got and canonical(expected[n]) != canonical(got[n])]
    edges = set(expected.graph.edges(keys=True)) ^ set(got.graph.edges(keys=True))
    out += [f"edge {e}" for e in sorted(edges)]
    return out
