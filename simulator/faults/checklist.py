"""Guide section "Troubleshooting checklist": host prerequisites, patching, memory mode, blocking software."""

from __future__ import annotations

import re
from dataclasses import replace

from nestlab.simulator import behaviour
from nestlab.simulator.actions import cmd, run
from nestlab.simulator.faults.base import Fault, run_all
from nestlab.simulator.faults.symptoms import COMPONENTS_NOT_RUNNING, hypervisor_down, property_of
from nestlab.simulator.faults.where import is_nested_host, name, nested_hosts, os_supported, q, while_off
from nestlab.simulator.model import Lab, OSInfo

SECTION = "Troubleshooting checklist"
OLD_OS = OSInfo(caption="Microsoft Windows Server 2012 R2 Datacenter", build=9600)
BLOCKER = "ContosoAV 9.1"  # a made-up security product that blocks vmms/vmwp


def _cpu(lab: Lab, host: str, **changes: object) -> None:
    lab.update(host, cpu=replace(lab[host].cpu, **changes))


# -- host-os-unsupported -------------------------------------------------------------------------


def _os_candidates(lab: Lab) -> list[str]:
    return [h for h in lab.hosts() if os_supported(lab[h].os.caption, lab[h].os.build)]


def _upgraded(os_info: OSInfo) -> OSInfo:
    """The in-place upgrade a person makes: a server to Windows Server 2022, a client to Windows 11
    of its edition family (Home to Pro, which has Hyper-V) — a workstation stays a workstation, so
    what it has as a client (the Default Switch, real case NanaBox #17) stays true after the heal."""
    caption = os_info.caption.lower()
    if "server" in caption:
        return OSInfo()
    edition = next((e for e in ("Enterprise", "Education") if e.lower() in caption), "Pro")
    return OSInfo(caption=f"Microsoft Windows 11 {edition}", build=22631)


host_os_unsupported = Fault(
    id="host-os-unsupported",
    category="prerequisites",
    kind="state",
    section=SECTION,
    description="host OS older than Windows Server 2016 / Windows 10, or an edition without Hyper-V (Home)",
    find=_os_candidates,
    apply=lambda lab, host: lab.update(host, os=OLD_OS),
    shows=lambda lab, host: property_of(
        host, "Get-CimInstance -ClassName Win32_OperatingSystem", "BuildNumber", str(lab[host].os.build)
    ),
    mend=lambda lab, host: lab.update(host, os=_upgraded(lab[host].os)),
    aspect="os",
    blocking=True,
)

# -- host-cpu-no-virtualization ------------------------------------------------------------------

# What an Azure VM is resized to when its size passes no virtualization through (a size of the
# ACU table's `***` families, notes §1.7); the diagnosis reads the size from IMDS.
NESTING_AZURE_SIZE = "Standard_D8s_v5"
_NESTING_SIZE = re.compile(r"^Standard_(D|DS|E|ES)\d+[a-z-]*_v[345]$|^Standard_F\d+s_v2$", re.I)


def _new_cpu(lab: Lab, host: str) -> None:
    """A CPU that supports it: a physical host gets another CPU; an Azure VM is resized to a size
    that nests (its VT-x comes with the size, azure-docs #21181), unless its size already does."""
    record = lab[host]
    if record.kind == "azure-vm" and not _NESTING_SIZE.match(record.azure_size or ""):
        lab.update(host, azure_size=NESTING_AZURE_SIZE)
    _cpu(lab, host, virtualization_extensions=True, slat=True)


host_cpu_no_virtualization = Fault(
    id="host-cpu-no-virtualization",
    category="prerequisites",
    kind="state",
    section=SECTION,
    description="CPU has no VT-x / AMD-V (or no SLAT/EPT)",
    find=lambda lab: [h for h in lab.hosts() if lab[h].cpu.virtualization_extensions and lab[h].cpu.slat],
    apply=lambda lab, host: _cpu(lab, host, virtualization_extensions=False),
    shows=lambda lab, host: hypervisor_down(lab, host),
    mend=lambda lab, host: _new_cpu(lab, host),
    aspect="hypervisor",
    blocking=True,
)

# -- virtualization-disabled-in-firmware ---------------------------------------------------------

virtualization_disabled_in_firmware = Fault(
    id="virtualization-disabled-in-firmware",
    category="prerequisites",
    kind="state",
    section=SECTION,
    description="VT-x/AMD-V present but disabled in BIOS/UEFI",
    # an Azure VM has no firmware setting its owner can change (its VT-x comes with its size:
    # host-cpu-no-virtualization), and its event 41 reads the same for both causes
    find=lambda lab: [
        h for h in lab.hosts()
        if lab[h].kind != "azure-vm" and lab[h].cpu.virtualization_extensions and lab[h].cpu.enabled_in_firmware
    ],
    apply=lambda lab, host: _cpu(lab, host, enabled_in_firmware=False),
    shows=lambda lab, host: hypervisor_down(lab, host),
    mend=lambda lab, host: _cpu(lab, host, enabled_in_firmware=True),  # the firmware switch, then a cold boot
    aspect="hypervisor",
    blocking=True,
)

# -- hypervisor-launch-disabled ------------------------------------------------------------------


def _launch_candidates(lab: Lab) -> list[str]:
    owners = [*lab.hosts(), *nested_hosts(lab)]
    return [o for o in owners if lab.platform(o).hyperv_installed and lab.platform(o).hypervisor_launch == "auto"]


def _bcdedit(value: str):
    """The boot entry changes, and takes effect at the reboot that follows."""
    return lambda lab, owner: (run(owner, cmd("bcdedit", "/set", "hypervisorlaunchtype", value)),
                               run(owner, cmd("Restart-Computer", Force=True)))


hypervisor_launch_disabled = Fault(
    id="hypervisor-launch-disabled",
    category="prerequisites",
    kind="cmd",
    section=SECTION,
    description="the Hyper-V role is installed but the boot entry's hypervisorlaunchtype is Off, so the hypervisor does not start",
    find=_launch_candidates,
    apply=lambda lab, owner: lab.update_platform(owner, hypervisor_launch="off"),
    shows=lambda lab, owner: hypervisor_down(lab, owner),
    mend=lambda lab, owner: run_all(lab, _bcdedit("auto")(lab, owner)),
    script=_bcdedit("off"),
    unscript=_bcdedit("auto"),
    aspect="hypervisor",
    blocking=True,
)

# -- dynamic-memory-enabled ----------------------------------------------------------------------


def _dynamic(flag: bool):
    return lambda lab, vm: while_off(lab, vm, [cmd("Set-VMMemory", VMName=name(lab, vm), DynamicMemoryEnabled=flag)])


dynamic_memory_enabled = Fault(
    id="dynamic-memory-enabled",
    category="prerequisites",
    kind="cmd",
    section=SECTION,
    description="dynamic memory on the VM hosting nested VMs",
    find=lambda lab: [vm for vm in nested_hosts(lab) if not lab[vm].memory.dynamic],
    apply=lambda lab, vm: lab.update(vm, memory=replace(lab[vm].memory, dynamic=True)),
    shows=lambda lab, vm: property_of(
        lab.parent(vm), f"Get-VMMemory -VMName {q(name(lab, vm))}", "DynamicMemoryEnabled", True
    ),
    mend=lambda lab, vm: run_all(lab, _dynamic(False)(lab, vm)),
    script=_dynamic(True),
    unscript=_dynamic(False),
    aspect="memory",
)

# -- outdated-integration-services ---------------------------------------------------------------

outdated_integration_services = Fault(
    id="outdated-integration-services",
    category="prerequisites",
    kind="state",
    section=SECTION,
    description="host or guest not patched, integration services out of date",
    find=lambda lab: [  # Get-VM shows IntegrationServicesState only while the VM runs
        vm for vm in lab.all_vms() if lab[vm].guest.integration_services_current and behaviour.is_running(lab, vm)
    ],
    apply=lambda lab, vm: lab.update_platform(vm, integration_services_current=False),
    shows=lambda lab, vm: property_of(
        lab.parent(vm), f"Get-VM -Name {q(name(lab, vm))}", "IntegrationServicesState", "Update required"
    ),
    mend=lambda lab, vm: lab.update_platform(vm, integration_services_current=True),  # Windows Update in the guest
    aspect="patching",
)

# -- antivirus-blocking-hyperv -------------------------------------------------------------------


def _blocking_candidates(lab: Lab) -> list[str]:
    owners = [*lab.hosts(), *(vm for vm in lab.all_vms() if is_nested_host(lab, vm))]
    return [
        o for o in owners
        if lab.platform(o).hyperv_installed and lab.vms(o) and not lab.platform(o).security.blocking_software
    ]


def _blocking(software: tuple[str, ...]):
    def change(lab: Lab, owner: str) -> None:
        security = lab.platform(owner).security
        lab.update_platform(owner, security=replace(security, blocking_software=software))

    return change


antivirus_blocking_hyperv = Fault(
    id="antivirus-blocking-hyperv",
    category="prerequisites",
    kind="state",
    section=SECTION,
    description="security software or a conflicting Group Policy blocks Hyper-V processes (vmms, vmwp, vmcompute)",
    find=_blocking_candidates,
    apply=_blocking((BLOCKER,)),
    shows=lambda lab, owner: hypervisor_down(lab, owner, COMPONENTS_NOT_RUNNING),
    mend=_blocking(()),  # Hyper-V's processes excluded / the product removed
    aspect="hypervisor",
    blocking=True,
)

FAULTS = (
    host_os_unsupported,
    host_cpu_no_virtualization,
    virtualization_disabled_in_firmware,
    hypervisor_launch_disabled,
    dynamic_memory_enabled,
    outdated_integration_services,
    antivirus_blocking_hyperv,
)
