"""Guide section "Nested VM can't start Hyper-V role or install other hypervisors" (category hyperv-role).

The VM-side prerequisites of a VM that must run Hyper-V: exposed extensions, generation, guest
OS, vCPUs and memory. Which VMs must is diagnosis.intent's decision (stated, or shown); on those
each check has its full severity. A VM nothing says is meant to nest, but which might be (a lone
Running VM on a host with no nested host yet, diagnosis.intent.readiness_candidates), gets the
same checks at info: "L1 is not ready to host nested VMs: …" (docs/severity.md).
"""

from __future__ import annotations

import math
from typing import Iterator

from nestlab.diagnosis import intent, views
from nestlab.diagnosis.evidence import Evidence
from nestlab.diagnosis.intent import nested_hosts
from nestlab.diagnosis.rules.checklist import os_problem
from nestlab.diagnosis.rules.common import (
    GUIDE,
    Hit,
    Manual,
    Run,
    cmd,
    count_item,
    gb_text,
    gb_to_bytes,
    get_vm,
    get_vmprocessor,
    name_of,
    on_parent,
    os_items,
    ps,
    q,
    rule,
    running,
    shown,
    startup_item,
    stranded,
    while_off,
)
from nestlab.simulator.model import Lab

REFERENCE = GUIDE + "Nested VM can't start Hyper-V role"

MIN_VCPUS = 2
MIN_NESTED_HOST_MEMORY_GB = 4
OS_RESERVE_GB = 2  # what a nested host keeps for its own OS (performance section)

ROLE_SYMPTOMS = ("hyperv-role-install-fails", "hypervisor-not-running", "vm-start-fails")


def launch_failures(ev: Evidence, vm: str) -> tuple:
    """What the guest logged because its hypervisor could not start (Hyper-V-Hypervisor 41/42, Worker 3112), once each."""
    seen_ids: dict[int, object] = {}
    for event in ev.of(vm).events_with_id(41, 42, 3112):
        seen_ids.setdefault(event.id, event)
    return tuple(item for event in seen_ids.values() for item in event.items())


def not_ready(vm: str, blocker: str) -> str:
    return f"{name_of(vm)} is not ready to host nested VMs: {blocker} (nothing says it is meant to; "\
           f"if it is, say so with --nested-host {name_of(vm)})"


def judged(ev: Evidence) -> Iterator[tuple[str, bool]]:
    """(vm, meant to nest?) for every VM the first section's checks apply to: the VMs meant to
    host nested VMs (full severity), then the lone readiness candidates (info)."""
    for vm in nested_hosts(ev):
        yield vm, True
    for vm in intent.sole_candidates(ev):
        yield vm, False


@rule("extensions-not-exposed", category="hyperv-role", severity="error", reference=REFERENCE)
def extensions_not_exposed(ev: Evidence) -> Iterator[Hit]:
    for vm, meant in judged(ev):
        if ev.lab[vm].processor.expose_virtualization_extensions:
            continue
        name = name_of(vm)
        why = intent.intent_of(ev, vm)
        # Evidence beats rules (issue 11 item 4): a machine observed Running inside a non-Windows
        # guest that exposes no extensions runs without hardware virtualization (an emulator,
        # SIMH in simh #1078), so nothing there fails for want of them: info, not an error. (In a
        # Windows guest the VMs are Hyper-V's, which cannot run without them: no such reading.)
        emulating = "windows" not in ev.lab[vm].guest.os.caption.lower()
        runs = [c for c in ev.lab.vms(vm) if emulating and running(ev.lab, c)]
        summary = (f"{name} does not expose virtualization extensions, so Hyper-V cannot run inside it{stranded(ev.lab, vm)}"
                   + (f" ({why.why})" if why and not ev.lab.vms(vm) else "")) if meant \
            else not_ready(vm, "ExposeVirtualizationExtensions is off")
        if runs:
            summary = (f"{name} does not expose virtualization extensions, yet {', '.join(map(name_of, runs))} runs inside it, so what "
                       "runs there needs no hardware virtualization (an emulator); expose them if Hyper-V or KVM should run in it")
        yield Hit(
            subject=vm,
            summary=summary,
            evidence=(shown(ev, vm, get_vmprocessor(vm), "ExposeVirtualizationExtensions", False), *launch_failures(ev, vm),
                      *(why.evidence if why and not ev.lab.vms(vm) else ()),
                      *(shown(ev, c, cmd("Get-VM", Name=name_of(c)), "State", "Running", probe="vms") for c in runs)),
            resolution=_expose(ev.lab, vm),
            explains=ROLE_SYMPTOMS,
            severity=None if meant and not runs else "info",
        )
    for host, vms in intent.readiness_candidates(ev).items():
        if len(vms) < 2:
            continue
        names = ", ".join(name_of(vm) for vm in vms)
        yield Hit(
            subject=host,
            summary=f"No VM on {host} is set up to host nested VMs ({names} expose no virtualization extensions); "
                    "if one is meant to, say which with --nested-host, or expose the extensions to it",
            evidence=tuple(shown(ev, vm, get_vmprocessor(vm), "ExposeVirtualizationExtensions", False) for vm in vms),
            resolution=(Manual("Stop-VM -Name <vm>; Set-VMProcessor -VMName <vm> -ExposeVirtualizationExtensions $true; "
                               "Start-VM -Name <vm>"),),  # a template: which VM is the person's choice
            severity="info",
        )


# The VM configuration version nesting needs (notes §1.1; Microsoft's nested virtualization page:
# Intel 8.0+, AMD 9.3+). A VM created on an older host (2012 R2: 5.0) keeps its version when the
# host is upgraded, and Hyper-V will not start it with the extensions exposed until it is updated
# (docker/for-win #4470; itpro-docs PR #11721 added the step).
NESTING_CONFIGURATION_VERSION = {"Intel": (8, 0), "AMD": (9, 3)}


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in str(text).split("."))
    except ValueError:
        return (0,)


def _expose(lab: Lab, vm: str) -> tuple[Run, ...]:
    """Set-VMProcessor -ExposeVirtualizationExtensions, with the VM off; preceded by
    Update-VMVersion when its configuration version is below what nesting needs. Update-VMVersion
    needs the VM off, and a VM that shows Off because its host could not run it (a 2012 R2 host
    before its upgrade) runs again once the host is fixed, so the Stop-VM comes first whatever
    the state shown (Stop-VM on a VM that is off does nothing)."""
    name = name_of(vm)
    need = NESTING_CONFIGURATION_VERSION.get(lab[lab.root_host(vm)].cpu.vendor, (8, 0))
    expose = ps("Set-VMProcessor", VMName=name, ExposeVirtualizationExtensions=True)
    if _version(lab[vm].version) >= need:
        return while_off(lab, vm, [expose])
    update = [ps("Update-VMVersion", Name=name, Force=True), expose]
    start = [ps("Start-VM", Name=name)] if running(lab, vm) else []
    return on_parent(vm, ps("Stop-VM", Name=name), *update, *start)


@rule("vm-generation-1", category="hyperv-role", severity="warning", reference=REFERENCE)
def vm_generation_1(ev: Evidence) -> Iterator[Hit]:
    # Warning, not error: the guide requires Generation 2, but Hyper-V itself runs in Generation 1
    # VMs too (notes §1.1: the product docs do not require it), so it degrades support, not function.
    for vm, meant in judged(ev):
        if ev.lab[vm].generation != 1:
            continue
        name = name_of(vm)
        yield Hit(
            severity=None if meant else "info",
            subject=vm,
            summary=f"{name} is a Generation 1 VM; the guide requires Generation 2 for a VM hosting nested VMs"
            if meant else not_ready(vm, "it is a Generation 1 VM (the guide asks for Generation 2)"),
            evidence=(shown(ev, vm, get_vm(vm), "Generation", 1, probe="vms"),),
            resolution=(Manual(f"Recreate {name} as a Generation 2 VM (New-VM -Name {q(name)} -Generation 2 …) and move "
                               "its disks and workload to it: a VM's generation cannot be changed"),),
        )


@rule("guest-os-unsupported", category="hyperv-role", severity="error", reference=REFERENCE)
def guest_os_unsupported(ev: Evidence) -> Iterator[Hit]:
    for vm, meant in judged(ev):
        if not running(ev.lab, vm):
            continue
        if "windows" not in ev.lab[vm].guest.os.caption.lower():
            # os_problem judges Windows builds and editions (the Hyper-V role); the guide counts
            # "select Linux with Hyper-V support" among compatible guests, and a Linux L1 hosts
            # nested guests with KVM or an emulator (multipass #2795, simh #1078).
            continue
        problem = os_problem(ev.lab[vm].guest.os)
        if problem is None:
            continue
        proven = intent.nesting_proven(ev, views.parent(ev.lab, vm)) and any(
            ev.lab[child].state == "Running" for child in ev.lab.vms(vm))  # evidence beats rules
        if proven:
            problem += ", yet its own VMs run, so Hyper-V works in it"
        yield Hit(
            severity=None if meant and not proven else "info",
            subject=vm,
            summary=f"{name_of(vm)} must run Hyper-V but its guest OS cannot: {problem}" if meant
            else not_ready(vm, problem),
            evidence=os_items(ev, vm),
            resolution=(Manual(f"Install Windows Server 2016 or later (or Windows 10/11 Pro/Enterprise) in {name_of(vm)}"),),
            explains=ROLE_SYMPTOMS,
        )


@rule("insufficient-vcpu", category="hyperv-role", severity="error", reference=REFERENCE)
def insufficient_vcpu(ev: Evidence) -> Iterator[Hit]:
    for vm, meant in judged(ev):
        count = ev.lab[vm].processor.count
        if count >= MIN_VCPUS:
            continue
        yield Hit(
            subject=vm,
            summary=f"{name_of(vm)} has {count} virtual processor; the guide asks for at least {MIN_VCPUS} on a VM "
                    "hosting nested VMs" if meant else not_ready(vm, f"it has {count} virtual processor (at least {MIN_VCPUS})"),
            evidence=(count_item(ev, vm),),
            resolution=while_off(ev.lab, vm, [ps("Set-VMProcessor", VMName=name_of(vm), Count=needed_vcpus(ev.lab, vm))]),
            explains=("under-provisioned", "host-overcommitted"),
            severity=None if meant else "info",
        )


def needed_vcpus(lab: Lab, vm: str) -> int:
    """At least 2, and no fewer than its running nested VMs use (else it is overcommitted)."""
    nested = sum(lab[child].processor.count for child in lab.vms(vm) if lab[child].state == "Running")
    return max(MIN_VCPUS, nested)


def needed_memory_gb(lab: Lab, vm: str) -> int:
    """Enough startup memory for a nested host: 4 GB, and room for its VMs plus 2 GB for its OS."""
    nested = sum(lab[child].memory.startup_gb for child in lab.vms(vm))
    return max(MIN_NESTED_HOST_MEMORY_GB, math.ceil(nested + OS_RESERVE_GB))


def memory_severity(ev: Evidence, vm: str) -> str:
    """Error when something fails for it: the role's install (its prerequisite check refuses less
    than 4 GB) or its nested VMs, which do not fit; a warning when the role runs and its VMs fit
    (the guide's "recommended"), e.g. a VM with the role and no VMs of its own (docs/severity.md)."""
    lab = ev.lab
    if not lab[vm].guest.hyperv_installed and running(lab, vm):
        return "error"
    nested = sum(lab[c].memory.startup_gb for c in lab.vms(vm))
    return "error" if nested and nested > lab[vm].memory.startup_gb - OS_RESERVE_GB else "warning"


@rule("insufficient-memory", category="hyperv-role", severity="error", reference=REFERENCE)
def insufficient_memory(ev: Evidence) -> Iterator[Hit]:
    for vm, meant in judged(ev):
        startup = ev.lab[vm].memory.startup_gb
        if startup >= MIN_NESTED_HOST_MEMORY_GB:
            continue
        target = needed_memory_gb(ev.lab, vm)
        yield Hit(
            subject=vm,
            summary=f"{name_of(vm)} hosts nested VMs with {gb_text(startup)} startup memory; "
                    f"the guide asks for at least {MIN_NESTED_HOST_MEMORY_GB}GB" if meant
            else not_ready(vm, f"it has {gb_text(startup)} startup memory (the guide asks for {MIN_NESTED_HOST_MEMORY_GB}GB)"),
            evidence=(startup_item(ev, vm),),
            resolution=while_off(ev.lab, vm, [ps("Set-VMMemory", VMName=name_of(vm), StartupBytes=gb_to_bytes(target))]),
            explains=("under-provisioned", "host-overcommitted"),
            severity=memory_severity(ev, vm) if meant else "info",
        )


RULES = (extensions_not_exposed, vm_generation_1, guest_os_unsupported, insufficient_vcpu, insufficient_memory)
