"""Guide section "Nested VM can't start Hyper-V role or install other hypervisors": the VM that must run Hyper-V."""

from __future__ import annotations

from dataclasses import replace

from nestlab.simulator.actions import Run, cmd, gb_bytes
from nestlab.simulator.faults.base import Fault, run_all
from nestlab.simulator.faults.checklist import OLD_OS
from nestlab.simulator.faults.symptoms import nested_hypervisor_down, property_of, role_prerequisite
from nestlab.simulator.faults.where import children_memory, name, nested_hosts, os_supported, q, whole_gb, while_off
from nestlab.simulator.model import Lab, OSInfo

SECTION = "Nested VM can't start Hyper-V role or install other hypervisors"


def _processor(lab: Lab, vm: str, **changes: object) -> None:
    lab.update(vm, processor=replace(lab[vm].processor, **changes))


def _memory(lab: Lab, vm: str, **changes: object) -> None:
    lab.update(vm, memory=replace(lab[vm].memory, **changes))


# -- guest-os-unsupported ------------------------------------------------------------------------

guest_os_unsupported = Fault(
    id="guest-os-unsupported",
    category="hyperv-role",
    kind="state",
    section=SECTION,
    description="the VM that must run Hyper-V runs an OS without nested support",
    find=lambda lab: [vm for vm in nested_hosts(lab) if os_supported(lab[vm].guest.os.caption, lab[vm].guest.os.build)],
    apply=lambda lab, vm: lab.update_platform(vm, os=OLD_OS),
    shows=nested_hypervisor_down,
    mend=lambda lab, vm: lab.update_platform(vm, os=OSInfo()),  # reinstalled with Windows Server 2022
    aspect="os",
    blocking=True,
)

# -- vm-generation-1 -----------------------------------------------------------------------------

vm_generation_1 = Fault(
    id="vm-generation-1",
    category="hyperv-role",
    kind="state",
    section=SECTION,
    description="VM meant to host nested VMs is Generation 1",
    find=lambda lab: [vm for vm in nested_hosts(lab) if lab[vm].generation == 2],
    apply=lambda lab, vm: lab.update(vm, generation=1),
    shows=lambda lab, vm: property_of(lab.parent(vm), f"Get-VM -Name {q(name(lab, vm))}", "Generation", 1),
    mend=lambda lab, vm: lab.update(vm, generation=2),  # recreated as Generation 2 on the same disks
    aspect="generation",
)

# -- extensions-not-exposed ----------------------------------------------------------------------


def _expose(flag: bool):
    return lambda lab, vm: while_off(lab, vm, [cmd("Set-VMProcessor", VMName=name(lab, vm), ExposeVirtualizationExtensions=flag)])


extensions_not_exposed = Fault(
    id="extensions-not-exposed",
    category="hyperv-role",
    kind="cmd",
    section=SECTION,
    description="ExposeVirtualizationExtensions is false on the VM that hosts nested VMs",
    find=lambda lab: [vm for vm in nested_hosts(lab) if lab[vm].processor.expose_virtualization_extensions],
    apply=lambda lab, vm: _processor(lab, vm, expose_virtualization_extensions=False),
    shows=nested_hypervisor_down,
    mend=lambda lab, vm: run_all(lab, _expose(True)(lab, vm)),
    script=_expose(False),
    unscript=_expose(True),
    aspect="expose",
    blocking=True,
)

# -- insufficient-vcpu ---------------------------------------------------------------------------


def _count(value: int | None):
    def lines(lab: Lab, vm: str) -> tuple[Run, ...]:
        count = value if value is not None else _enough_vcpus(lab, vm)
        return while_off(lab, vm, [cmd("Set-VMProcessor", VMName=name(lab, vm), Count=count)])

    return lines


def _enough_vcpus(lab: Lab, vm: str) -> int:
    """Two, the guide's minimum; four when the VM runs heavy work (so it is not under-provisioned)."""
    return max(lab[vm].processor.count, 4 if lab[vm].workload == "heavy" else 2)


insufficient_vcpu = Fault(
    id="insufficient-vcpu",
    category="hyperv-role",
    kind="cmd",
    section=SECTION,
    description="fewer than 2 virtual processors on the VM hosting nested VMs",
    find=lambda lab: [vm for vm in nested_hosts(lab) if lab[vm].processor.count >= 2],
    apply=lambda lab, vm: _processor(lab, vm, count=1),
    shows=lambda lab, vm: role_prerequisite(lab, vm, "vcpu"),
    mend=lambda lab, vm: run_all(lab, _count(None)(lab, vm)),
    script=lambda lab, vm: _count(1)(lab, vm),
    unscript=lambda lab, vm: _count(lab[vm].processor.count)(lab, vm),
    aspect="processor",
    blocking=True,
)

# -- insufficient-memory -------------------------------------------------------------------------

TOO_LITTLE_GB = 2


def _startup(value_gb: float | None):
    def lines(lab: Lab, vm: str) -> tuple[Run, ...]:
        startup = value_gb if value_gb is not None else enough_memory(lab, vm)
        return while_off(lab, vm, [cmd("Set-VMMemory", VMName=name(lab, vm), StartupBytes=gb_bytes(startup))])

    return lines


def enough_memory(lab: Lab, vm: str) -> int:
    """The guide's 4 GB, or its nested VMs' memory plus 2 GB for its own OS when that is more."""
    return max(4, whole_gb(children_memory(lab, vm) + 2))


insufficient_memory = Fault(
    id="insufficient-memory",
    category="hyperv-role",
    kind="cmd",
    section=SECTION,
    description="less than 4 GB startup memory on the VM hosting nested VMs",
    find=lambda lab: [vm for vm in nested_hosts(lab) if lab[vm].memory.startup_gb >= 4 and not lab[vm].memory.pending_startup_gb],
    apply=lambda lab, vm: _memory(lab, vm, startup_gb=TOO_LITTLE_GB),
    shows=lambda lab, vm: role_prerequisite(lab, vm, "memory"),
    mend=lambda lab, vm: run_all(lab, _startup(None)(lab, vm)),
    script=lambda lab, vm: _startup(TOO_LITTLE_GB)(lab, vm),
    unscript=lambda lab, vm: _startup(lab[vm].memory.startup_gb)(lab, vm),
    aspect="memory",
    blocking=True,
)

FAULTS = (guest_os_unsupported, vm_generation_1, extensions_not_exposed, insufficient_vcpu, insufficient_memory)
