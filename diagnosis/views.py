"""Views of an evidence lab that many rules read: each computed once per lab state, not per rule.

A diagnosis runs some forty rules over one evidence lab that does not change meanwhile. Sixteen of
them walk every platform (a host, a Running VM's guest) and seven every VM, and each walk used to
ask the graph again: the VMs below each host, level by level, and each VM's record for its state.
Here each walk is made once and kept through `Lab.memo`, so it is forgotten the moment the lab
changes (a rule never changes it; a test or a `fix` does). A lab's first diagnosis pays for each
view once: a pre-order walk of the nesting.

Views that depend on the evidence's facts or statements too (intent, the nested chain) live with
their concept (diagnosis.intent) and are kept in `Evidence.memo`.
"""

from __future__ import annotations

from nestlab.simulator.model import Lab

_ALL_VMS = ("diagnosis.views", "all_vms")
_PLATFORMS = ("diagnosis.views", "platforms")
_BELOW = "diagnosis.views.below"


def below(lab: Lab, owner: str) -> tuple[str, ...]:
    """Every VM below a host or VM at any depth, pre-order (`Lab.vms(owner, recursive=True)`)."""
    return lab.memo((_BELOW, owner), lambda: tuple(_walk(lab, owner, [])))


def _walk(lab: Lab, owner: str, found: list[str]) -> list[str]:
    """`found` extended by the VMs below `owner`, pre-order: one walk, no list per level."""
    for vm in lab.vms(owner):
        found.append(vm)
        _walk(lab, vm, found)
    return found


def all_vms(lab: Lab) -> tuple[str, ...]:
    """Every VM of the lab, host by host, pre-order (`Lab.all_vms()`)."""
    return lab.memo(_ALL_VMS, lambda: tuple(vm for host in lab.hosts() for vm in below(lab, host)))


def platforms(lab: Lab) -> tuple[str, ...]:
    """Every Windows installation whose answers we have: each host, then each Running VM below it
    (pre-order), host by host."""
    return lab.memo(_PLATFORMS, lambda: tuple(_platforms(lab)))


def _platforms(lab: Lab) -> list[str]:
    found: list[str] = []
    for host in lab.hosts():
        found.append(host)
        found.extend(vm for vm in below(lab, host) if lab[vm].state == "Running")
    return found
