"""What Hyper-V decides from state: does a hypervisor run, may the role install, may a VM start.

Every symptom of the guide comes out of these rules; no rule knows about faults. Sources are in
../shared/reference/hyperv/notes.md (§ numbers below) and its samples/.

Decisions taken where sources disagree or are silent (each says so in the docstring):
- Generation 1 VMs CAN run Hyper-V (product docs, notes §1.1: the docs' requirements name no
  generation; only the guide asks for Gen2). The diagnosis reports Gen1 as the guide's advice.
- < 2 vCPUs or < 4 GB startup memory make the role's prerequisite check fail in a guest (the guide's
  checklist and the original nested requirements, notes §1.1: "4 GB RAM minimum", Enable-NestedVm
  `-Count 2`); the product shows the guide's error text for it.
- VBS by build (notes §1.5; issue 11 item 4): VBS/Credential Guard/HVCI running on an outer level
  stops a nested hypervisor only on the early builds where it did — Windows 10 1607 / Server 2016
  (14393) and before: "Hosts with Virtualization Based Security (VBS) enabled cannot expose
  virtualization extensions to guests" (nesting.md 2016 known issues; Virtualization-Documentation
  #345, a 14393 host with VBS running: "supports nested virtualization: NO"). Later builds nest with
  VBS on: Microsoft "confirmed that nested virtualization works fine with VBS enabled in the host"
  (Virtualization-Documentation PR #1059, 2019-05), and HVCI with nesting works on 1809 / 17763
  four levels deep (windows-itpro-docs #2704, 2019-02; the HVCI page then said "HVCI and nested
  virtualization can be enabled at the same time", windows-itpro-docs PR #10011). Builds between
  14393 and 17763 are undocumented; the simulator lets them nest (the 2019 statement names no
  build floor). There the nested VM's start fails with the guide's message.
"""

from __future__ import annotations

from dataclasses import dataclass

from nestlab.simulator.model import VM, Host, Lab, Platform

GIB = 1 << 30

# The guide's messages, verbatim (seed guide; samples/error-install-hyperv-feature.txt sample A/E).
NO_CAPABILITIES = "Hyper-V cannot be installed: The processor does not have required virtualization capabilities."
NO_SLAT = "Hyper-V cannot be installed: The processor does not support second level address translation (SLAT)."
NO_FIRMWARE = "Hyper-V cannot be installed because virtualization support is not enabled in the BIOS."
VBS_BLOCKS = "Virtualization-based security is enabled. Nested virtualization is not supported."

# Product builds: Windows 10 RTM 10240; nesting needs a build later than 10565 (Get-NestedVirtStatus.ps1,
# notes §2.1); AMD nesting needs Windows Server 2022 (20348) / Windows 11 (22000) (notes §1.1).
MIN_HYPERV_BUILD = 10240
MIN_NESTED_BUILD = 10565
MIN_AMD_SERVER_BUILD = 20348
MIN_AMD_CLIENT_BUILD = 22000


@dataclass(frozen=True)
class HypervisorStatus:
    """Whether the hypervisor of a host or guest runs, and if not, the first reason why."""

    running: bool
    reason: str = ""  # not-installed, launch-off, os-unsupported, no-vmx, firmware, no-slat, vbs,
    #                   nesting-unsupported, vm-off, memory
    detail: str = ""


RUNNING = HypervisorStatus(True)


def version_tuple(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in str(text).split("."))
    except ValueError:
        return (0,)


def is_server(platform: Platform) -> bool:
    return "server" in platform.os.caption.lower()


def os_runs_hyperv(platform: Platform) -> bool:
    """Windows 10 / Server 2016 or later, and not a Home edition (root-causes: host-os-unsupported)."""
    return platform.os.build >= MIN_HYPERV_BUILD and "home" not in platform.os.caption.lower()


from nestlab.simulator.lab_queries import VBS_BLOCKS_THROUGH_BUILD  # noqa: E402  (see the docstring)


def vbs_running(platform: Platform) -> bool:
    sec = platform.security
    return sec.vbs == "running" or sec.credential_guard or sec.device_guard


def vbs_blocks_nesting(platform: Platform) -> bool:
    """VBS (or Credential Guard / HVCI) runs here and this build is one where that stops nesting."""
    return vbs_running(platform) and platform.os.build <= VBS_BLOCKS_THROUGH_BUILD


def root_cpu(lab: Lab, owner: str):
    return lab[lab.root_host(owner)].cpu


def nesting_offered(lab: Lab, parent: str, vm: str) -> str:
    """Why `parent` cannot give `vm` virtualization extensions ('' when it can), notes §1.1."""
    platform = lab.platform(parent)
    record: VM = lab[vm]
    cpu = root_cpu(lab, parent)
    if cpu.vendor == "AMD":
        floor = MIN_AMD_SERVER_BUILD if is_server(platform) else MIN_AMD_CLIENT_BUILD
        if platform.os.build < floor:
            return f"AMD nesting needs Windows Server 2022 / Windows 11 on {lab[parent].name}"
        if version_tuple(record.version) < (9, 3):
            return f"AMD nesting needs VM configuration version 9.3, {record.name} has {record.version}"
    else:
        if platform.os.build < MIN_NESTED_BUILD:
            return f"nesting needs a build later than {MIN_NESTED_BUILD} on {lab[parent].name}"
        if version_tuple(record.version) < (8, 0):
            return f"Intel nesting needs VM configuration version 8.0, {record.name} has {record.version}"
    return ""


def hypervisor_status(lab: Lab, owner: str) -> HypervisorStatus:
    """Does the hypervisor of this host or guest run right now? (Kept by the lab until it changes.)

    One table per lab state (`Lab.memo`), as is_running's: no key tuple or closure made per call."""
    known = lab.memo(_HYPERVISOR_STATUS, dict)
    status = known.get(owner)  # a first read of each place is no KeyError raised and caught
    if status is None:
        status = known[owner] = _hypervisor_status(lab, owner)
    return status


_HYPERVISOR_STATUS = ("hypervisor_status",)  # the Lab.memo key of hypervisor_status's table


def _hypervisor_status(lab: Lab, owner: str) -> HypervisorStatus:
    platform = lab.platform(owner)
    if not platform.hyperv_installed:
        return HypervisorStatus(False, "not-installed", "the Hyper-V role is not installed")
    if platform.hypervisor_launch == "off":
        return HypervisorStatus(False, "launch-off", "hypervisorlaunchtype is Off")
    record = lab[owner]
    if isinstance(record, Host):
        if not os_runs_hyperv(platform):
            return HypervisorStatus(False, "os-unsupported", f"{platform.os.caption} cannot run Hyper-V")
        cpu = record.cpu
        if not cpu.virtualization_extensions:
            return HypervisorStatus(False, "no-vmx", "the CPU has no VT-x/AMD-V")
        if not cpu.enabled_in_firmware:
            return HypervisorStatus(False, "firmware", "virtualization is disabled in firmware")
        if not cpu.slat:
            return HypervisorStatus(False, "no-slat", "the CPU has no SLAT")
        return RUNNING
    return _guest_hypervisor(lab, owner, record)


def _guest_hypervisor(lab: Lab, vm: str, record: VM) -> HypervisorStatus:
    if not is_running(lab, vm):
        return HypervisorStatus(False, "vm-off", f"{record.name} is not running")
    blocker = guest_capability_blocker(lab, vm)
    if blocker is not None:
        return blocker
    return RUNNING


def guest_capability_blocker(lab: Lab, vm: str) -> HypervisorStatus | None:
    """What keeps a guest's CPU from offering what a hypervisor needs (None: nothing)."""
    record: VM = lab[vm]
    parent = lab.parent(vm)
    platform = record.guest
    if platform.os.build < MIN_NESTED_BUILD or "home" in platform.os.caption.lower():
        return HypervisorStatus(False, "os-unsupported", f"{platform.os.caption} cannot run nested Hyper-V")
    if not record.processor.expose_virtualization_extensions:
        return HypervisorStatus(False, "no-vmx", f"{record.name} does not get virtualization extensions")
    offered = nesting_offered(lab, parent, vm)
    if offered:
        return HypervisorStatus(False, "nesting-unsupported", offered)
    for outer in [parent, *lab.ancestors(parent)] if lab.kind(parent) == "vm" else [parent]:
        if vbs_blocks_nesting(lab.platform(outer)):
            return HypervisorStatus(False, "vbs", f"virtualization-based security runs on {lab[outer].name}")
    return None


def is_running(lab: Lab, vm: str) -> bool:
    """A VM runs when it is Running and the hypervisor under it runs (at every level).

    Every cmdlet that shows a VM, its adapters or its disks asks this, and `powershell.run` asks it
    of each guest a pipeline enters: the answers sit in one table per lab state (`Lab.memo`)."""
    known = lab.memo(_RUNNING, dict)
    running = known.get(vm)  # a first read of each VM (one per VM per lab state) is no KeyError raised and caught
    if running is None:
        running = known[vm] = lab[vm].state == "Running" and hypervisor_status(lab, lab.parent(vm)).running
    return running


_RUNNING = ("is_running",)  # the Lab.memo key of is_running's table


def effective_state(lab: Lab, vm: str) -> str:
    record: VM = lab[vm]
    if record.state == "Running" and not is_running(lab, vm):
        return "Off"
    return record.state


# ----------------------------------------------------------------------------------------------
# Installing the role in a guest (or on a host)
# ----------------------------------------------------------------------------------------------


def install_hyperv(lab: Lab, context: str) -> str | None:
    """None when Install-WindowsFeature -Name Hyper-V may succeed here, else the failing check line.

    The line is what the real prerequisite check prints after "1. " (samples/error-install-hyperv-feature.txt).
    """
    record = lab[context]
    if isinstance(record, Host):
        if not os_runs_hyperv(record):
            return NO_CAPABILITIES
        if not record.cpu.virtualization_extensions:
            return NO_CAPABILITIES
        if not record.cpu.enabled_in_firmware:
            return NO_FIRMWARE
        if not record.cpu.slat:
            return NO_SLAT
        return None
    host_cpu = root_cpu(lab, context)
    if not host_cpu.slat:
        return NO_SLAT  # a guest sees no SLAT when the physical CPU has none
    if not host_cpu.virtualization_extensions or not host_cpu.enabled_in_firmware:
        return NO_CAPABILITIES
    parent = lab.parent(context)
    if lab.kind(parent) == "vm" and not hypervisor_status(lab, parent).running:
        return NO_CAPABILITIES
    if guest_capability_blocker(lab, context) is not None:
        return NO_CAPABILITIES
    if record.processor.count < 2 or configured_startup_gb(record) < 4:
        return NO_CAPABILITIES
    return None


# ----------------------------------------------------------------------------------------------
# Memory (notes §1.3)
# ----------------------------------------------------------------------------------------------


def configured_startup_gb(record: VM) -> float:
    """What Get-VMMemory shows: the pending value when one waits for a power cycle."""
    pending = record.memory.pending_startup_gb
    return pending if pending is not None else record.memory.startup_gb


RUNTIME_RESIZE_BUILD = 14393  # Windows Server 2016 / Windows 10 1607 guests


def runtime_resize(lab: Lab, vm: str) -> bool:
    """Set-VMMemory -StartupBytes on this running VM applies at once (no pending value).

    Windows Server 2016 brought runtime memory resize for static memory: "you can now add or
    remove memory while the virtual machine is running, even if you haven't enabled Dynamic
    Memory … for generation 1 and generation 2 virtual machines, running Windows Server 2016 or
    Windows 10" (learn.microsoft.com, "What's new in Hyper-V on Windows Server"). It stays
    refused for a VM that hosts nested VMs ("Runtime memory resize will fail", nested
    virtualization's restrictions, Virtualization-Documentation #811 quoting the 2015 preview) and
    a clustered one (hot_add_refused). Older guests (Windows Server 2012 R2, Linux here) keep the
    guide's behaviour: the new value waits for a power cycle.
    """
    record: VM = lab[vm]
    guest = record.guest.os
    return (is_running(lab, vm) and not record.memory.dynamic and not hot_add_refused(lab, vm)
            and "windows" in guest.caption.lower() and guest.build >= RUNTIME_RESIZE_BUILD)


def hot_add_refused(lab: Lab, vm: str) -> bool:
    """A running VM whose guest runs Hyper-V, or a clustered one, refuses runtime memory changes."""
    record: VM = lab[vm]
    if not is_running(lab, vm):
        return False
    return record.clustered or hypervisor_status(lab, vm).running


def guest_memory_gb(lab: Lab, vm: str) -> float:
    """What the guest sees (and Get-VM MemoryAssigned reports): the applied startup value."""
    return lab[vm].memory.startup_gb if is_running(lab, vm) else 0


def free_memory_gb(lab: Lab, parent: str, *, excluding: str = "") -> float:
    """Memory a parent can still give to a VM: its RAM less 2 GB for its OS less what runs."""
    record = lab[parent]
    total = record.memory_gb if isinstance(record, Host) else record.memory.startup_gb
    used = sum(lab[v].memory.startup_gb for v in lab.vms(parent) if v != excluding and is_running(lab, v))
    return total - 2 - used
