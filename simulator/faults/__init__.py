"""The fault catalog: one fault per id of spec/root-causes.md, one module per section of the guide.

    CATALOG            id -> Fault, in the spec's order
    get(id)            the fault, or BadInput naming `nestlab faults`
    inject_random(...) k faults that can be told apart, each on its own natural subject
"""

from __future__ import annotations

import random
from dataclasses import replace

from nestlab.simulator.errors import BadInput
from nestlab.simulator.faults import checklist, hyperv_role, nat, network, performance, resources, security, storage
from nestlab.simulator.faults.base import Fault, Symptom, check_symptom
from nestlab.simulator.faults.where import anchor, in_nested_scope, related
from nestlab.simulator.model import Lab

__all__ = ["CATALOG", "Fault", "Symptom", "check_symptom", "get", "inject_random", "compatible"]

# The order of spec/root-causes.md.
ORDER = (
    "host-os-unsupported", "host-cpu-no-virtualization", "virtualization-disabled-in-firmware",
    "hypervisor-launch-disabled", "guest-os-unsupported", "vm-generation-1", "extensions-not-exposed",
    "insufficient-vcpu", "insufficient-memory", "dynamic-memory-enabled", "outdated-integration-services",
    "antivirus-blocking-hyperv",
    "switch-internal", "switch-private", "mac-spoofing-disabled", "nat-prefix-mismatch", "portproxy-missing",
    "firewall-blocking",
    "under-provisioned", "host-memory-low", "host-overcommitted", "dynamic-vhd", "slow-storage", "bandwidth-limited",
    "noisy-neighbor",
    "vbs-enabled", "credential-guard-enabled", "device-guard-enabled", "deviceguard-registry-policy",
    "group-policy-blocking",
    "nat-static-mapping-wrong", "nat-conflict", "winnat-locked",
    "vhd-parent-missing", "vhd-parent-moved", "vhd-chain-broken", "vhd-corrupt",
    "memory-change-pending", "hot-add-unsupported",
)

_ALL = {
    f.id: f
    for module in (checklist, hyperv_role, network, performance, security, nat, storage, resources)
    for f in module.FAULTS
}


def _in_nested_scope(fault: Fault) -> Fault:
    """The guide's network and performance faults, put only on the nested chain (where.in_nested_scope):
    the diagnosis does not judge a file server's backup switch or data disk (docs/severity.md)."""
    find = fault.find
    return replace(fault, find=lambda lab: [s for s in find(lab) if in_nested_scope(lab, s)])


SCOPED_CATEGORIES = ("network", "performance")
CATALOG: dict[str, Fault] = {
    fault_id: _in_nested_scope(_ALL[fault_id]) if _ALL[fault_id].category in SCOPED_CATEGORIES else _ALL[fault_id]
    for fault_id in ORDER
}


def get(fault_id: str) -> Fault:
    try:
        return CATALOG[fault_id]
    except KeyError:
        raise BadInput(f"unknown fault '{fault_id}' (see nestlab faults)") from None


def compatible(lab: Lab, a: tuple[Fault, str], b: tuple[Fault, str]) -> bool:
    """Two injections can share a lab when each one's symptom still shows beside the other: they are
    on unrelated nodes, or on related ones but touching different aspects and neither stops
    everything below it (a hypervisor that cannot run hides every symptom under it)."""
    (fa, sa), (fb, sb) = a, b
    if sa == sb and fa.aspect == fb.aspect:
        return False
    if _same_chain(lab, sa, sb):
        return False
    if not related(lab, anchor(lab, sa), anchor(lab, sb)):
        return True
    return not (fa.blocking or fb.blocking or fa.aspect == fb.aspect)


def _same_chain(lab: Lab, a: str, b: str) -> bool:
    """Two disks of one chain: Get-VHD cannot read past a damaged file, so a fault on a parent of
    it would not show; one broken link at a time."""
    if a not in lab or b not in lab or lab.kind(a) != "vhd" or lab.kind(b) != "vhd":
        return False
    return a in lab.chain(b) or b in lab.chain(a)


def inject_random(lab: Lab, k: int, rng: random.Random) -> list[tuple[str, str]]:
    """Inject up to k compatible faults (in place); returns (id, subject) of each, in injection order.

    Faults are tried in an order drawn from `rng`; each takes a random subject among its current
    candidates that is compatible with what is already injected (candidates are recomputed after
    every injection, so a subject an earlier fault removed is never used). A first pass takes only
    subjects no earlier fault took; a second pass allows shared ones. A fault with no compatible
    subject is skipped, so a small lab may take fewer than k.
    """
    chosen: list[tuple[Fault, str]] = []
    order = list(CATALOG.values())
    rng.shuffle(order)
    for fresh_only in (True, False):
        for fault in order:
            if len(chosen) >= k:
                break
            if any(f is fault for f, _ in chosen):
                continue
            taken = {s for _, s in chosen}
            subjects = [
                s for s in fault.candidates(lab)
                if all(compatible(lab, (fault, s), c) for c in chosen) and not (fresh_only and s in taken)
            ]
            if subjects:
                chosen.append((fault, fault.inject(lab, rng.choice(subjects))))
    return [(f.id, s) for f, s in chosen]
