"""Intent: which VMs are meant to host nested VMs, and which belong to the nested chain.

The one place that decides it (issue 11, item 2; docs/severity.md). A VM is meant to host nested
VMs when someone says so (`nestlab diagnose --nested-host VM`, the BDD step "L1 is meant to host
nested VMs") or when what its parent and its guest show says so:

- it exposes virtualization extensions (Get-VMProcessor ExposeVirtualizationExtensions True:
  nobody turns that on by accident, it is off by default);
- its guest has the Hyper-V role, or its install is pending (Get-WindowsFeature InstallState
  InstallPending / Get-WindowsOptionalFeature State EnablePending);
- its Windows guest has Hyper-V switches or VMs of its own (Get-VMSwitch, Get-VM inside it);
- its guest logged a hypervisor launch (System log, Microsoft-Windows-Hyper-V-Hypervisor 1, 41,
  42, 5) or a VM it could not start (Worker-Admin 3112);
- an error text someone saw there names a nesting failure (a ticket line, `--symptom`:
  diagnosis.symptoms attaches it to the VM it was seen on).

With intent every check of the guide's first section applies with its full severity; without it,
what would block nesting is an info-level readiness finding (diagnosis.rules.readiness).

The nested chain is every VM meant to host nested VMs and every VM inside one: the network and
performance sections of the guide are about these, not about a file server beside them.

Evidence beats rules: a nested VM observed Running (Get-VM State inside a VM's guest) proves its
parent's hypervisor runs, so nothing above it blocks nesting (`nesting_proven`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from nestlab.diagnosis import views
from nestlab.diagnosis.evidence import Evidence, Observed
from nestlab.diagnosis.findings import STATED, EvidenceItem
from nestlab.simulator.model import Lab

HYPERVISOR_PROVIDER = "Microsoft-Windows-Hyper-V-Hypervisor"
HYPERVISOR_EVENTS = (1, 5, 41, 42)  # started; launch off; VMX / SVM not present
WORKER_CANNOT_START = 3112
PENDING_STATES = ("InstallPending", "EnablePending")
# Symptoms (diagnosis.triage ids) that say the platform they were seen on tried to run Hyper-V.
NESTING_SYMPTOMS = frozenset({
    "hyperv-role-install-fails", "slat-missing", "hypervisor-not-running", "hypervisor-launch-failed",
    "hypervisor-launch-off", "platform-no-nesting", "processor-settings-locked", "vbs-blocks-nesting",
})


@dataclass(frozen=True)
class Intent:
    """Why a VM is meant to host nested VMs: each reason in words, with what showed it."""

    vm: str
    reasons: tuple[str, ...]
    evidence: tuple[EvidenceItem, ...]
    stated: bool = False

    @property
    def why(self) -> str:
        return "; ".join(self.reasons)


def resolve(lab: Lab, name: str) -> list[str]:
    """The VMs a person means by `name`: a node id (`HV01/L1`), or a VM name at any depth."""
    if name in lab and lab.kind(name) == "vm":
        return [name]
    return [vm for vm in views.all_vms(lab) if lab[vm].name.lower() == name.lower()]


def intent_of(ev: Evidence, vm: str) -> Intent | None:
    """Why `vm` is meant to host nested VMs, or None when nothing says so."""
    if vm not in _intents(ev):
        return None
    return _intent(ev, vm, _stated(ev))


def meant_to_nest(ev: Evidence, vm: str) -> bool:
    return vm in _intents(ev)


def nested_hosts(ev: Evidence) -> list[str]:
    """Every VM meant to host nested VMs, outermost first (the lab's order)."""
    return list(_intents(ev))


def in_chain(ev: Evidence, vm: str) -> bool:
    """A VM meant to host nested VMs, or a VM inside one (at any depth); every VM of an Azure VM
    host is nested already (the host is a VM in Azure)."""
    return vm in _chain(ev)


def chain_owner(ev: Evidence, owner: str) -> bool:
    """A host or guest whose VMs are in the nested chain: a host that runs a nested host (or is an
    Azure VM), or a guest in the chain (network and performance rules about what an owner holds)."""
    lab = ev.lab
    if lab.kind(owner) == "host":
        return lab[owner].kind == "azure-vm" or any(meant_to_nest(ev, vm) for vm in lab.vms(owner))
    return in_chain(ev, owner)


def hyperv_platform(ev: Evidence, owner: str) -> bool:
    """A host, or a VM meant to run Hyper-V: where VBS, launch type and services matter."""
    return ev.lab.kind(owner) == "host" or meant_to_nest(ev, owner)


def nesting_proven(ev: Evidence, node: str) -> bool:
    """A VM observed Running inside a VM below `node` (a grandchild at least): the VM between them
    got virtualization extensions from `node` and its hypervisor runs, so nothing on `node` (or
    above it) keeps nesting below it from working."""
    lab = ev.lab
    if node not in lab:
        return False
    for child in lab.vms(node):
        if any(lab[vm].state == "Running" and views.parent(lab, vm) != node for vm in views.below(lab, child)):
            return True
    return False


# -- the reasons -------------------------------------------------------------------------------


def _intents(ev: Evidence) -> dict[str, tuple[str, ...]]:
    """VM -> the reasons it is meant to host nested VMs, in the lab's order (so its keys are
    `nested_hosts`); once per evidence. Only the reasons: what showed them is cited when a rule
    asks (`intent_of`), for a nested host's citations read the answers of each VM and switch it
    holds, and nearly all the rules ask only whether a VM is meant to nest."""
    cached = ev.memo.get("intent")
    if cached is None:
        stated = _stated(ev)
        seen = _nesting_seen(ev)
        cached = {vm: tuple(reason for reason, _ in found) for vm in views.all_vms(ev.lab)
                  if (found := _reasons(ev, vm, stated, seen))}
        ev.memo["intent"] = cached
    return cached


def chain_vms(ev: Evidence) -> tuple[str, ...]:
    """The VMs of the nested chain (`in_chain`) in the lab's order (`views.all_vms`): four rules
    walk them, and would otherwise ask `in_chain` of every VM of the lab each; once per evidence."""
    cached = ev.memo.get("chain vms")
    if cached is None:
        chain = _chain(ev)
        cached = ev.memo["chain vms"] = tuple(vm for vm in views.all_vms(ev.lab) if vm in chain)
    return cached


def _chain(ev: Evidence) -> frozenset[str]:
    """The nested chain (`in_chain`): every VM below an Azure VM host, and each VM meant to nest
    with every VM below it, read as runs of the walked nesting (`views.below`) rather than by
    looking up each VM's ancestors for every rule that asks, or walking every VM again; once per
    evidence."""
    cached = ev.memo.get("chain")
    if cached is None:
        lab = ev.lab
        found: set[str] = set()
        for host in views.hosts(lab):
            if lab[host].kind == "azure-vm":
                found.update(views.below(lab, host))
        for vm in _intents(ev):
            found.add(vm)
            found.update(views.below(lab, vm))
        cached = ev.memo["chain"] = frozenset(found)
    return cached


def _stated(ev: Evidence) -> frozenset[str]:
    """The VMs stated to host nested VMs (`--nested-host`), resolved once per evidence: a name
    resolves by a look at every VM, and `intent_of` asks again for each VM it explains."""
    cached = ev.memo.get("stated nested hosts")
    if cached is None:
        cached = ev.memo["stated nested hosts"] = frozenset(
            vm for name in ev.stated.nested_hosts for vm in resolve(ev.lab, name))
    return cached


def _intent(ev: Evidence, vm: str, stated_vms: frozenset[str]) -> Intent | None:
    found = _reasons(ev, vm, stated_vms, _nesting_seen(ev))
    if not found:
        return None
    return Intent(vm, tuple(reason for reason, _ in found), tuple(item for _, items in found for item in items()),
                  vm in stated_vms)


Cited = Callable[[], list[EvidenceItem]]


def _reasons(ev: Evidence, vm: str, stated_vms: frozenset[str],
             nesting_seen: dict[str, Observed]) -> list[tuple[str, Cited]]:
    """Each reason `vm` is meant to host nested VMs, with how to cite what showed it (called by
    `_intent` and `_intents` only: the list is dropped, so nothing kept refers back to the
    evidence). `nesting_seen` is `_nesting_seen(ev)`, looked up once by the caller of each VM."""
    lab = ev.lab
    record = lab[vm]
    name = record.name
    found: list[tuple[str, Cited]] = []
    if vm in stated_vms:
        found.append((f"stated: {name} is meant to host nested VMs",
                      lambda: [EvidenceItem("--nested-host", "VM", name, STATED)]))
    if record.processor.expose_virtualization_extensions:
        found.append((f"{name} exposes virtualization extensions",
                      lambda: [ev.cite(vm, "ExposeVirtualizationExtensions")
                               or EvidenceItem(f"Get-VMProcessor -VMName '{name}'", "ExposeVirtualizationExtensions", True)]))
    facts = ev.of(vm)
    state = facts.hyperv_install_state
    if record.guest.hyperv_installed:
        found.append((f"{name}'s guest has the Hyper-V role",
                      lambda: [state.item() if state else EvidenceItem("Get-WindowsFeature -Name Hyper-V", "InstallState", "Installed")]))
    elif state is not None and state.value in PENDING_STATES:
        found.append((f"the Hyper-V role's install in {name} waits for a restart", lambda: [state.item()]))
    # Hyper-V switches and VMs exist only in a Windows guest: what a Linux guest holds (a tap
    # bridge, an emulated machine: SIMH in simh #1078) says nothing about hardware virtualization,
    # so a Linux L1's intent comes from a statement, its exposed extensions or a ticket's text.
    windows_guest = "windows" in record.guest.os.caption.lower()
    if windows_guest and (lab.owned(vm, "switch") or lab.vms(vm)):
        found.append((f"{name}'s guest has Hyper-V switches or VMs of its own", lambda: _own_hyperv(ev, vm)))
    launches = [e for e in facts.events
                if (e.provider == HYPERVISOR_PROVIDER and e.id in HYPERVISOR_EVENTS) or e.id == WORKER_CANNOT_START]
    if launches:
        found.append((f"{name}'s guest logged a hypervisor launch (event {launches[0].id})", lambda: list(launches[0].items())))
    seen = nesting_seen.get(vm)
    if seen is not None:
        found.append((f"an error seen in {name} names a nesting failure", lambda: [seen.item()]))
    return found


def _nesting_seen(ev: Evidence) -> dict[str, Observed]:
    """Node -> the first error text seen on it that names a nesting failure; once per evidence,
    not a look at every text for each VM (a ticket of many lines on a lab of many VMs)."""
    cached = ev.memo.get("nesting symptoms")
    if cached is None:
        cached = ev.memo["nesting symptoms"] = {}
        for observed in ev.stated.symptoms:
            if NESTING_SYMPTOMS & set(observed.symptoms):
                cached.setdefault(observed.node, observed)
    return cached


def _own_hyperv(ev: Evidence, vm: str) -> list[EvidenceItem]:
    """The Get-VMSwitch / Get-VM answers in `vm` that showed each switch and VM it holds."""
    lab = ev.lab
    owned = (*lab.owned(vm, "switch"), *lab.vms(vm))
    cited = [ev.cite(n, "Name", probe="switches" if lab.kind(n) == "switch" else "vms") for n in owned]
    return [c for c in cited if c] if all(cited) else [EvidenceItem("Get-VMSwitch; Get-VM", "Name", [lab[n].name for n in owned])]


# -- readiness: VMs nothing says are meant to nest, but which might be -----------------------------


def readiness_candidates(ev: Evidence) -> dict[str, list[str]]:
    """Host -> its VMs that might be meant to host nested VMs though nothing says so.

    A candidate runs directly on a physical host (the first level, where a nested lab starts; an
    Azure VM's VMs are nested already), is Running
    with a Windows guest that answered, and sits on a host where no VM is meant to nest yet
    (once one is, the others are ordinary VMs beside it). What would keep a candidate from
    nesting is reported at info (readiness), so a fresh L1 is never met with silence, and a
    file server next to a working nested host never with noise.
    """
    cached = ev.memo.get("readiness")
    if cached is None:
        cached = ev.memo["readiness"] = _readiness_candidates(ev)
    return {host: list(vms) for host, vms in cached.items()}  # five rules ask: found once per evidence


def _readiness_candidates(ev: Evidence) -> dict[str, list[str]]:
    lab = ev.lab
    found: dict[str, list[str]] = {}
    for host in views.hosts(lab):
        vms = lab.vms(host)
        if lab[host].kind != "physical" or any(meant_to_nest(ev, vm) for vm in vms):
            continue
        here = [vm for vm in vms if lab[vm].state == "Running" and "windows" in lab[vm].guest.os.caption.lower()
                and ev.of(vm).hyperv_install_state is not None]
        if here:
            found[host] = here
    return found


def sole_candidates(ev: Evidence) -> list[str]:
    """Candidates alone on their host: each blocker of theirs is its own readiness finding."""
    return [vms[0] for vms in readiness_candidates(ev).values() if len(vms) == 1]
