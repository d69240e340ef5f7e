"""Guide section "VM resource changes not recognized" (category resources).

A memory change made while the VM ran shows as a configured Startup (Get-VMMemory) that differs
from what the VM was given (Get-VM MemoryAssigned). On a VM that runs Hyper-V or is clustered,
runtime resize is not supported at all, which explains the pending change.
"""

from __future__ import annotations

from typing import Iterator

from nestlab.diagnosis.evidence import Evidence
from nestlab.diagnosis.intent import meant_to_nest
from nestlab.diagnosis.rules.common import (
    GUIDE,
    Hit,
    Note,
    Run,
    all_vms,
    cmd,
    gb_text,
    gb_to_bytes,
    get_vm,
    get_vmmemory,
    name_of,
    ps,
    rule,
    shown,
    while_off,
)
from nestlab.simulator.model import Lab

REFERENCE = GUIDE + "VM resource changes not recognized"


def pending(lab: Lab) -> tuple[tuple[str, float], ...]:
    """(vm, configured startup GB) of every VM whose memory change waits; both rules here read
    them: kept per lab state (Lab.memo)."""
    return lab.memo(("rules.resources.pending",), lambda: tuple(_pending(lab)))


def _pending(lab: Lab) -> Iterator[tuple[str, float]]:
    for vm in all_vms(lab):
        value = lab[vm].memory.pending_startup_gb
        if value is not None:
            yield vm, value


def _items(ev: Evidence, vm: str, value: float) -> tuple:
    assigned = ev.of(vm).memory_assigned
    return (
        shown(ev, vm, get_vmmemory(vm), "Startup", gb_to_bytes(value), probe="memory"),
        assigned.item() if assigned else shown(ev, vm, get_vm(vm), "MemoryAssigned",
                                               gb_to_bytes(ev.lab[vm].memory.startup_gb)),
    )


def _apply(lab: Lab, vm: str, value: float) -> tuple[Run | Note, ...]:
    return (*while_off(lab, vm, [ps("Set-VMMemory", VMName=name_of(vm), StartupBytes=gb_to_bytes(value))]),
            Note(f"Verify inside {name_of(vm)} that it sees {gb_text(value)}"))


@rule("memory-change-pending", category="resources", severity="warning", reference=REFERENCE)
def memory_change_pending(ev: Evidence) -> Iterator[Hit]:
    for vm, value in pending(ev.lab):
        yield Hit(
            subject=vm,
            summary=f"{name_of(vm)} is configured for {gb_text(value)} but still runs with "
                    f"{gb_text(ev.lab[vm].memory.startup_gb)}: the change was made while it ran and never applied",
            evidence=_items(ev, vm, value),
            resolution=_apply(ev.lab, vm, value),
            explains=("memory-not-recognized",),
        )


@rule("hot-add-unsupported", category="resources", severity="warning", reference=REFERENCE)
def hot_add_unsupported(ev: Evidence) -> Iterator[Hit]:
    for vm, value in pending(ev.lab):
        record = ev.lab[vm]
        nested = meant_to_nest(ev, vm)
        if not nested and not record.clustered:
            continue
        why = "runs Hyper-V itself" if nested else "is clustered"
        reason = (shown(ev, vm, cmd("Get-WindowsFeature", Name="Hyper-V"), "InstallState", "Installed", probe="feature")
                  if nested else shown(ev, vm, get_vm(vm), "IsClustered", True, probe="vms"))
        yield Hit(
            subject=vm,
            summary=f"{name_of(vm)} {why}, so its memory cannot be resized while it runs; "
                    f"the change to {gb_text(value)} waits for a restart",
            evidence=(*_items(ev, vm, value), reason),
            resolution=_apply(ev.lab, vm, value),
            explains=("memory-change-pending", "memory-not-recognized"),
        )


RULES = (memory_change_pending, hot_add_unsupported)
