"""Guide section "VM resource changes not recognized (for example, RAM increase)": memory set but never applied.

Both faults leave the same kind of state — a startup value waiting for a power cycle
(`memory.pending_startup_gb` on a Running VM) — and differ in why: an ordinary VM was changed while
it ran (memory-change-pending), or the VM is one whose platform cannot add memory at runtime, a
nested Hyper-V host or a clustered VM (hot-add-unsupported). Since Windows Server 2016 a running
Windows Server 2016 / Windows 10 guest with static memory takes the change at once
(behaviour.runtime_resize), so memory-change-pending is real only on an older guest (Windows
Server 2012 R2, as L3 of builtin:legacy) and is injected only there. The symptom is the guide's: "no error,
but resource remains at previous allocation" — Get-VM MemoryAssigned still shows the old value.
"""

from __future__ import annotations

from dataclasses import replace

from nestlab.simulator import behaviour
from nestlab.simulator.actions import cmd, gb_bytes, run
from nestlab.simulator.faults.base import Fault, Script, run_all
from nestlab.simulator.faults.symptoms import memory_not_applied
from nestlab.simulator.faults.where import name, while_off
from nestlab.simulator.model import Lab

SECTION = "VM resource changes not recognized (for example, RAM increase)"
RAISE_GB = 2


def _platform_refuses(lab: Lab, vm: str) -> bool:
    """Nested Hyper-V host or cluster: runtime memory resize is not supported (notes §1.3)."""
    return lab[vm].clustered or behaviour.hypervisor_status(lab, vm).running


def _resizable(lab: Lab, refused: bool) -> list[str]:
    return [
        vm for vm in lab.all_vms()
        if behaviour.is_running(lab, vm) and lab[vm].memory.pending_startup_gb is None
        and not lab[vm].memory.dynamic and _platform_refuses(lab, vm) == refused
        and (refused or not behaviour.runtime_resize(lab, vm))
        and _raised(lab, vm) <= behaviour.free_memory_gb(lab, lab.parent(vm), excluding=vm)  # room to apply it
    ]


def _raised(lab: Lab, vm: str) -> float:
    return lab[vm].memory.startup_gb + RAISE_GB


def _ask(lab: Lab, vm: str) -> None:
    lab.update(vm, memory=replace(lab[vm].memory, pending_startup_gb=_raised(lab, vm)))


def _apply_offline(lab: Lab, vm: str) -> None:
    """The guide's resolution: power off, resize, start (then the guest sees the memory)."""
    wanted = lab[vm].memory.pending_startup_gb
    run_all(lab, while_off(lab, vm, [cmd("Set-VMMemory", VMName=name(lab, vm), StartupBytes=gb_bytes(wanted))]))


def _set_running(value_of):
    def lines(lab: Lab, vm: str) -> Script:
        return (run(lab.parent(vm), cmd("Set-VMMemory", VMName=name(lab, vm), StartupBytes=gb_bytes(value_of(lab, vm)))),)

    return lines


memory_change_pending = Fault(
    id="memory-change-pending",
    category="resources",
    kind="cmd",
    section=SECTION,
    description="memory was raised while the VM ran, so it was never applied",
    find=lambda lab: _resizable(lab, refused=False),
    apply=_ask,
    shows=memory_not_applied,
    mend=_apply_offline,
    script=_set_running(_raised),
    unscript=_set_running(lambda lab, vm: lab[vm].memory.startup_gb),
    aspect="memory",
)

hot_add_unsupported = Fault(
    id="hot-add-unsupported",
    category="resources",
    kind="state",
    section=SECTION,
    description="runtime resize asked of a VM where the platform does not support hot-add (nested host, cluster)",
    find=lambda lab: _resizable(lab, refused=True),
    apply=_ask,
    shows=memory_not_applied,
    mend=_apply_offline,
    aspect="memory",
)

FAULTS = (memory_change_pending, hot_add_unsupported)
