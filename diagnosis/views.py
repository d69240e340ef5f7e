"""Views of an evidence lab that many rules read: each computed once per lab state, not per rule.

A diagnosis runs some forty rules over one evidence lab that does not change meanwhile. Sixteen of
them walk every platform (a host, a Running VM's guest) and seven every VM, and each walk used to
ask the graph again: the VMs below each host, level by level, and each VM's record for its state.
Here the nesting is walked once (`Nesting`) and kept through `Lab.memo`, so it is forgotten the
moment the lab changes (a rule never changes it; a test or a `fix` does). A lab's first diagnosis
pays for one pre-order walk of the nesting; every VM's parent, the VMs below any node and the
platforms are read from it.

Views that depend on the evidence's facts or statements too (intent, the nested chain) live with
their concept (diagnosis.intent) and are kept in `Evidence.memo`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Hashable, TypeVar

from nestlab.simulator.model import Lab

T = TypeVar("T")
_MISSING: Any = object()

_NESTING = ("diagnosis.views", "nesting")


@dataclass(frozen=True)
class Nesting:
    """The lab's VMs in one pre-order walk, host by host (`Lab.all_vms()`'s order).

    The VMs below a node are a contiguous run of that order, right after the node itself, so
    `span` keeps each host's and VM's run as (start, end) rather than a tuple per node."""

    hosts: tuple[str, ...]  # `Lab.hosts()`
    order: tuple[str, ...]
    parent: dict[str, str]  # VM -> the host or VM whose hypervisor runs it (`Lab.parent`)
    span: dict[str, tuple[int, int]]  # host or VM -> the VMs below it: order[start:end]
    running: dict[str, tuple[str, ...]]  # host or VM -> the VMs it runs that are Running, in order
    platforms: tuple[str, ...]  # each host, then each Running VM below it (pre-order)


def per_node(lab: Lab, question: str, node: Hashable, compute: Callable[[], T]) -> T:
    """`compute()` for one node, kept per lab state in one table per question (`Lab.memo`). The
    rules ask such questions of every platform or VM (its forwards, its firewall rules by port):
    the first asking of each node is a look-up in the question's table, where a `Lab.memo` key per
    node raised and caught a KeyError every time."""
    table: dict[Hashable, Any] = lab.memo(question, dict)
    found = table.get(node, _MISSING)
    if found is _MISSING:
        found = table[node] = compute()
    return found


def nesting(lab: Lab) -> Nesting:
    return lab.memo(_NESTING, lambda: _nesting(lab))


def _nesting(lab: Lab) -> Nesting:
    lab.index_owners()  # every host's and VM's VMs and holdings in one pass: the walk and intent ask them all
    found = Nesting(tuple(lab.hosts()), (), {}, {}, {}, ())
    order: list[str] = []
    platforms: list[str] = []
    for host in found.hosts:
        platforms.append(host)
        _descend(lab, host, order, platforms, found)
    return Nesting(found.hosts, tuple(order), found.parent, found.span, found.running, tuple(platforms))


def _descend(lab: Lab, owner: str, order: list[str], platforms: list[str], found: Nesting) -> None:
    """`order` and `platforms` extended by the VMs below `owner`, pre-order, with each VM's parent,
    each node's run and its Running VMs noted on the way (each VM's record read once): one walk,
    no list per level (a module function, not a closure: nothing kept refers back to the lab)."""
    start = len(order)
    up = []
    for vm in lab.vms(owner):
        order.append(vm)
        found.parent[vm] = owner
        if lab[vm].state == "Running":
            up.append(vm)
            platforms.append(vm)
        _descend(lab, vm, order, platforms, found)
    found.span[owner] = (start, len(order))
    found.running[owner] = tuple(up)


def hosts(lab: Lab) -> tuple[str, ...]:
    """The lab's hosts (`Lab.hosts()`), found by the walk's one pass (`Lab.index_owners`) rather than
    by a scan of every node of its own."""
    return nesting(lab).hosts


def below(lab: Lab, owner: str) -> tuple[str, ...]:
    """Every VM below a host or VM at any depth, pre-order (`Lab.vms(owner, recursive=True)`)."""
    found = nesting(lab)
    run = found.span.get(owner)
    if run is None:  # a node no host reaches (or no host or VM at all): walked on its own
        return tuple(lab.vms(owner, recursive=True))
    return found.order[run[0]:run[1]]


def parent(lab: Lab, vm: str) -> str:
    """The host or VM whose hypervisor runs `vm` (`Lab.parent`), read from the walk."""
    found = nesting(lab).parent.get(vm)
    return lab.parent(vm) if found is None else found


def running_vms(lab: Lab, owner: str) -> tuple[str, ...]:
    """The VMs a host or VM runs (not below them) that are Running, in order, read from the walk."""
    found = nesting(lab).running.get(owner)
    return tuple(vm for vm in lab.vms(owner) if lab[vm].state == "Running") if found is None else found


def all_vms(lab: Lab) -> tuple[str, ...]:
    """Every VM of the lab, host by host, pre-order (`Lab.all_vms()`)."""
    return nesting(lab).order


def platforms(lab: Lab) -> tuple[str, ...]:
    """Every Windows installation whose answers we have: each host, then each Running VM below it
    (pre-order), host by host."""
    return nesting(lab).platforms
