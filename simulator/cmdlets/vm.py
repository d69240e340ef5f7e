"""Hyper-V VM cmdlets: Get-VM, Start-VM, Stop-VM, processor, memory, integration services, drives.

Object shapes: samples/get-vm-fl.txt (property order of `Get-VM | fl *`), get-vmprocessor.txt
(sample A), notes §4.3 (VMMemory). Errors: samples/error-set-vmprocessor.txt, error-start-vm.txt,
error-vhd-chain.txt.
"""

from __future__ import annotations

import ntpath
from dataclasses import fields
from functools import lru_cache
from typing import Any, Iterable

from nestlab.simulator import behaviour, performance, storage
from nestlab.simulator.cmdlets import enums, ids, system
from nestlab.simulator.cmdlets.base import GIB, Call, Ctx, cmdlet, guid, hv_error, obj, platform_missing
from nestlab.simulator.cmdlets.shapes import VARIES, Shape
from nestlab.simulator.model import VM, Lab, stable_guid
from nestlab.simulator.psdata import ErrorRecord, PSObject

VM_TYPE = "Microsoft.HyperV.PowerShell.VirtualMachine"


def vm_guid(vm: str) -> str:
    return stable_guid("vm", vm).lower()  # base.guid("vm", vm), one call fewer: every VM object asks it


DEFAULT_VM_FOLDER = "C:\\ProgramData\\Microsoft\\Windows\\Hyper-V"


def vm_folder(lab: Lab, disks: list[str]) -> str:
    """The folder of a VM's first disk that is in the lab, else Hyper-V's default folder."""
    for disk in disks:
        try:
            record = lab[disk]  # one read (a disk that is in the lab is the usual case), not `in` and then [ ]
        except KeyError:
            if disk in lab:  # a node without a record: the error it always was
                raise
            continue
        return folder_of(record.path)
    return DEFAULT_VM_FOLDER


def folder_of(path: str) -> str:
    """`ntpath.dirname(path)`, without its general walk for the usual drive-letter path.

    A path like 'D:\\Hyper-V\\Disks\\a.vhdx' (a letter, a colon, backslashes only) is cut at its
    last backslash, keeping a root's own backslash ('D:\\a.vhdx' -> 'D:\\') and dropping a run of
    them before the name, as ntpath does; any other path (UNC, forward slashes, no drive) is
    ntpath's. Get-VM asks it for every VM it lists, and a collection lists each place's VMs twice
    (tests/test_cmdlet_shapes.py holds the two to the same answers)."""
    if path[1:2] == ":" and "/" not in path:
        cut = path.rfind("\\")
        if cut >= 2:
            head = path[2:cut + 1]
            return path[:2] + (head.rstrip("\\") or head)
        return path[:2]
    return ntpath.dirname(path)


# The shape of `Get-VM | fl *` (samples/get-vm-fl.txt): VARIES marks what vm_object sets per VM.
VM_SHAPE = Shape(VM_TYPE, [
    ("ParentCheckpointId", None), ("ParentCheckpointName", None), ("VMName", VARIES), ("VMId", VARIES),
    ("CheckpointFileLocation", VARIES), ("ConfigurationLocation", VARIES), ("SmartPagingFileInUse", False),
    ("SmartPagingFilePath", VARIES), ("SnapshotFileLocation", VARIES), ("AutomaticStartAction", "StartIfRunning"),
    ("AutomaticStartDelay", 0), ("AutomaticStopAction", "Save"), ("AutomaticCriticalErrorAction", "Pause"),
    ("AutomaticCriticalErrorActionTimeout", 30), ("AutomaticCheckpointsEnabled", False),
    ("CPUUsage", VARIES), ("MemoryAssigned", VARIES),
    ("MemoryDemand", VARIES), ("MemoryStatus", ""),
    ("NumaAligned", VARIES), ("NumaNodesCount", 1), ("NumaSocketCount", 1),
    ("Heartbeat", VARIES),
    ("IntegrationServicesState", VARIES),
    ("IntegrationServicesVersion", VARIES),
    ("Uptime", VARIES),
    ("OperationalStatus", "{Ok}"), ("PrimaryOperationalStatus", "Ok"), ("SecondaryOperationalStatus", None),
    ("StatusDescriptions", "{Operating normally}"), ("PrimaryStatusDescription", "Operating normally"),
    ("SecondaryStatusDescription", None), ("Status", "Operating normally"),
    ("ReplicationHealth", "NotApplicable"), ("ReplicationMode", "None"), ("ReplicationState", "Disabled"),
    ("ResourceMeteringEnabled", False), ("CheckpointType", "Production"), ("EnhancedSessionTransportType", "VMBus"),
    ("Groups", "{}"), ("Version", VARIES), ("VirtualMachineType", "RealizedVirtualMachine"),
    ("VirtualMachineSubType", VARIES), ("Notes", ""),
    ("State", VARIES),
    ("ComPort1", VARIES),
    ("ComPort2", VARIES),
    ("DVDDrives", "{}"), ("FibreChannelHostBusAdapters", "{}"), ("FloppyDrive", None),
    ("HardDrives", VARIES), ("RemoteFxAdapter", None),
    ("VMIntegrationService", "{Guest Service Interface, Heartbeat, Key-Value Pair Exchange, Shutdown...}"),
    ("DynamicMemoryEnabled", VARIES), ("MemoryMaximum", 1099511627776),
    ("MemoryMinimum", 536870912), ("MemoryStartup", VARIES), ("ProcessorCount", VARIES),
    ("BatteryPassthroughEnabled", False), ("Generation", VARIES), ("IsClustered", VARIES),
    ("ParentSnapshotId", None), ("ParentSnapshotName", None), ("Path", VARIES), ("SizeOfSystemFiles", 57344),
    ("GuestControlledCacheTypes", False), ("LowMemoryMappedIoSpace", 134217728),
    ("HighMemoryMappedIoSpace", 536870912), ("HighMemoryMappedIoBaseAddress", 68182605824),
    ("LockOnDisconnect", enums.on_off(False)), ("CreationTime", "3/14/2025 9:02:11 AM"), ("Id", VARIES),
    ("Name", VARIES), ("NetworkAdapters", VARIES), ("CimSession", "CimSession: ."),
    ("ComputerName", VARIES), ("IsDeleted", False),
])


def vm_object(ctx: Ctx, vm: str, computer_name: str | None = None) -> PSObject:
    """One VM as Get-VM writes it. `computer_name`: the place's name, when the caller lists many VMs."""
    lab = ctx.lab
    record: VM = lab[vm]
    running = behaviour.is_running(lab, vm)
    state = "Off" if record.state == "Running" and not running else record.state  # behaviour.effective_state
    vid = ids.vm_guids(lab)[vm]  # one text per VM, shared by its objects
    disks = lab.disks(vm)
    path = vm_folder(lab, disks)
    name = record.name
    memory = record.memory
    values = {
        "VMName": name, "VMId": vid, "CheckpointFileLocation": path, "ConfigurationLocation": path,
        "SmartPagingFilePath": path, "SnapshotFileLocation": path,
        "Version": record.version, "VirtualMachineSubType": f"Generation{record.generation}",
        "State": _VM_STATES[state],  # enums.vm_state(state)
        "ComPort1": f"VMComPort (Name = 'COM 1', VMName = '{name}')",
        "ComPort2": f"VMComPort (Name = 'COM 2', VMName = '{name}')",
        "HardDrives": _hard_drives(_CONTROLLERS[record.generation == 2][0], len(disks)),  # _controller(record)
        "DynamicMemoryEnabled": memory.dynamic,
        "MemoryStartup": system.gib_bytes(behaviour.configured_startup_gb(record)), "ProcessorCount": record.processor.count,
        "Generation": record.generation, "IsClustered": record.clustered, "Path": path, "Id": vid,
        "Name": name, "NetworkAdapters": "{" + ", ".join([lab[a].name for a in lab.adapters(vm)]) + "}",
        "ComputerName": ctx.computer_name if computer_name is None else computer_name,
    }
    if running:
        assigned = system.gib_bytes(memory.startup_gb)
        values["CPUUsage"] = 75 if record.workload == "heavy" else 3  # _cpu_usage
        values["MemoryAssigned"] = assigned
        values["MemoryDemand"] = assigned // 2 if memory.dynamic else 0
        values["IntegrationServicesState"] = "Up to date" if record.guest.integration_services_current else "Update required"
        values["IntegrationServicesVersion"] = system.os_version(record.guest.os.build)
        shape = _VM_RUNNING
    else:
        shape = _VM_NOT_RUNNING
    return shape.make(values, to_string=f"VirtualMachine (Name = '{name}') [Id = '{vid}']")


_HEALTHY = enums.heartbeat("OkApplicationsHealthy")
_VM_STATES = {name: enums.vm_state(name) for name in enums.VM_STATE}  # each state's value, read without a call
# Get-VM's objects by whether the VM runs: what a running VM reads from its guest, and the zeros, empty
# texts and nulls a VM that does not run shows in their place, as constants of the two templates
_VM_RUNNING = VM_SHAPE.fixing({"NumaAligned": True, "Heartbeat": _HEALTHY, "Uptime": "02:14:09.3300000"})
_VM_NOT_RUNNING = VM_SHAPE.fixing({"CPUUsage": 0, "MemoryAssigned": 0, "MemoryDemand": 0, "NumaAligned": None,
                                   "Heartbeat": None, "IntegrationServicesState": "", "IntegrationServicesVersion": "0.0",
                                   "Uptime": "00:00:00"})


@lru_cache(maxsize=64)  # (controller, count): a handful of pairs
def _hard_drives(controller: str, count: int) -> str:
    """Get-VM's HardDrives text: each drive's name, as Get-VMHardDiskDrive's objects print."""
    return "{" + ", ".join(_drive_name(controller, i) for i in range(count)) + "}"


@lru_cache(maxsize=64)  # (controller, location): a handful of pairs
def _drive_name(controller: str, location: int) -> str:
    """A drive's name as its object prints (Get-VMHardDiskDrive's to_string): one text per pair, which
    every drive at that place shares (the evidence keeps a drive object per VM disk)."""
    return f"Hard Drive on {controller} controller number 0 at location {location}"


def _controller(record: VM) -> str:
    return "SCSI" if record.generation == 2 else "IDE"


_CONTROLLERS = {gen2: (name, enums.controller(name)) for gen2, name in ((True, "SCSI"), (False, "IDE"))}


@cmdlet("Get-VM", positional=("Name",), params=("Name", "Id", "VM", "ComputerName", "CimSession"),
        aliases={"VMName": "Name"})
def get_vm(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    missing = platform_missing(ctx, call.cmdlet)
    if missing is not None:
        ctx.error(missing)
        return []
    vms = ctx.find_vms(call, params=("Name",))
    name = ctx.computer_name if vms else None  # read once for all the VMs
    return [vm_object(ctx, vm, name) for vm in vms]


# ----------------------------------------------------------------------------------------------
# Start-VM / Stop-VM
# ----------------------------------------------------------------------------------------------


# Why a guest's hypervisor cannot run that lies in the CPU its VM is given (behaviour.guest_capability_blocker)
GUEST_CPU_BLOCKERS = ("no-vmx", "nesting-unsupported")


def _failed_to_start(name: str, vid: str, *lines: str) -> str:
    return "\n".join([f"'{name}' failed to start.", *lines[:1], f"'{name}' failed to start. (Virtual machine ID {vid.upper()})",
                      *lines[1:]])


def start_failure(ctx: Ctx, vm: str) -> str | None:
    """The message Start-VM fails with, or None when the VM can start."""
    lab = ctx.lab
    record: VM = lab[vm]
    name, vid = record.name, vm_guid(vm)
    parent = lab.parent(vm)
    platform = lab.platform(parent)
    if platform.security.blocking_software:
        # samples/error-start-vm.txt sample B (docker/for-win#3358), VERBATIM wording
        return _failed_to_start(
            name, vid, f"Failed to start the virtual machine '{name}' because one of the Hyper-V components is not running.",
            f"The Virtual Machine Management Service failed to start the virtual machine '{name}' because one of the "
            f"Hyper-V components is not running (Virtual machine ID {vid.upper()}).")
    status = behaviour.hypervisor_status(lab, parent)
    if not status.running:
        if status.reason == "vbs":
            return _failed_to_start(name, vid, behaviour.VBS_BLOCKS)
        if lab.kind(parent) == "vm" and status.reason in GUEST_CPU_BLOCKERS:
            # Both texts exist; which one is a matter of state (docs/fidelity.md). In a guest whose
            # CPU lacks what the hypervisor needs, the role is there and VMMS runs, so VMMS answers:
            # MSLab#353 (S2D nodes without nested virtualization, every service running), VERBATIM.
            return "\n".join([
                f"'{name}' failed to start.", f"'{name}' failed to start. (Virtual machine ID {vid.upper()})",
                f"The Virtual Machine Management Service failed to start the virtual machine '{name}' because one of "
                f"the Hyper-V components is not running (Virtual machine ID {vid.upper()})."])
        # samples/error-start-vm.txt sample A (UKCloud ASDK doc; KB 2490458), VERBATIM
        return _failed_to_start(
            name, vid, f"Virtual machine '{name}' could not be started because the hypervisor is not running.",
            f"Virtual machine '{name}' could not be started because the hypervisor is not running "
            f"(Virtual machine ID {vid.upper()}).",
            "The following actions may help you resolve the problem:",
            "1) Verify that the processor of the physical computer has a supported version of hardware-assisted "
            "virtualization.",
            "2) Verify that hardware-assisted virtualization and hardware-assisted data execution protection are enabled "
            "in the BIOS of the physical computer. (If you edit the BIOS to enable either setting, you must turn off the "
            "power to the physical computer and then turn it back on. Resetting the physical computer is not sufficient.)",
            "3) If you have made changes to the Boot Configuration Data store, review these changes to ensure that the "
            "hypervisor is configured to launch automatically.")
    if lab.kind(parent) == "vm" and any(behaviour.vbs_blocks_nesting(lab.platform(p)) for p in [parent, *lab.ancestors(parent)]):
        return _failed_to_start(name, vid, behaviour.VBS_BLOCKS)
    if record.processor.expose_virtualization_extensions and behaviour.nesting_offered(lab, parent, vm):
        # samples/error-start-vm.txt sample D (VVV#2534), VERBATIM
        return _failed_to_start(
            name, vid, "The virtual machine could not be started because this platform does not support nested virtualization.")
    need = behaviour.configured_startup_gb(record)
    if need > behaviour.free_memory_gb(lab, parent, excluding=vm):
        # VERBATIM (minikube#4067, docker/for-win#4446, minishift#1384; FullyQualifiedErrorId OutOfMemory)
        megabytes = int(need * 1024)
        return "\n".join([
            f"'{name}' failed to start.", f"Not enough memory in the system to start the virtual machine {name}.",
            "Could not initialize memory: Ran out of memory (0x8007000E).",
            f"'{name}' failed to start. (Virtual machine ID {vid.upper()})",
            f"Not enough memory in the system to start the virtual machine {name} with ram size {megabytes} megabytes. "
            f"(Virtual machine ID {vid.upper()})",
            f"'{name}' could not initialize memory: Ran out of memory (0x8007000E). (Virtual machine ID {vid.upper()})"])
    for disk in lab.disks(vm):
        path = lab[disk].path if disk in lab else disk.split(":vhd:", 1)[-1]
        error = storage.chain_error(lab, parent, path)
        if error is not None:
            return _disk_failure(name, vid, path, error)
    return None


def _disk_failure(name: str, vid: str, path: str, error: storage.ChainError) -> str:
    # samples/error-vhd-chain.txt sample D (docker/for-win#6515) rendering with the chain's message
    ctrl = guid("scsi", name).upper()
    return "\n".join([
        f"'{name}' failed to start.",
        f"Synthetic SCSI Controller (Instance ID {ctrl}): Failed to Power on with Error '{error.message}'.",
        f"\tAttachment '{path}' failed to open because of error: '{error.message}'.",
        f"'{name}' failed to start. (Virtual machine ID {vid.upper()})",
        f"'{name}' Synthetic SCSI Controller (Instance ID {ctrl}): Failed to Power on with Error '{error.message}' "
        f"({error.code}). (Virtual machine ID {vid.upper()})",
    ])


@cmdlet("Start-VM", positional=("Name",), params=("Name", "VM", "Passthru", "AsJob", "ComputerName"),
        aliases={"VMName": "Name"})
def start_vm(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    out = []
    for vm in ctx.find_vms(call, params=("Name", "VM")):
        if behaviour.is_running(ctx.lab, vm):
            continue
        out.extend(_start(ctx, call, vm))
    return out


def _start(ctx: Ctx, call: Call, vm: str) -> list[PSObject]:
    """Start one VM that is off, or report why it cannot start; its object with -Passthru."""
    message = start_failure(ctx, vm)
    if message is not None:
        fqid = "OutOfMemory" if "Not enough memory in the system" in message else "OperationFailed"
        ctx.error(hv_error(call.cmdlet, message, fqid, "NotSpecified"))
        return []
    power_on(ctx, vm)
    return [vm_object(ctx, vm)] if call.flag("Passthru") else []


def power_on(ctx: Ctx, vm: str) -> None:
    """A cold start: pending memory becomes the VM's memory and its guest boots (pending boot settings apply)."""
    record: VM = ctx.lab[vm]
    memory = record.memory
    if memory.pending_startup_gb is not None:
        memory = type(memory)(startup_gb=memory.pending_startup_gb, dynamic=memory.dynamic)
    ctx.lab.update(vm, state="Running", memory=memory)
    system.reboot(Ctx(ctx.lab, vm, ctx.run_nested))


@cmdlet("Restart-VM", positional=("Name",), params=("Name", "VM", "Force", "Type", "Passthru", "AsJob", "Wait",
                                                    "For", "ComputerName"), aliases={"VMName": "Name"})
def restart_vm(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    """Restart-VM: a reset of a running VM — the guest boots again; like Stop-VM + Start-VM here."""
    out = []
    for vm in ctx.find_vms(call, params=("Name", "VM")):
        if ctx.lab[vm].state != "Running":
            ctx.error(hv_error(call.cmdlet, "The operation cannot be performed while the virtual machine is in its "
                                            "current state.", "InvalidState", "InvalidOperation"))
            continue
        ctx.lab.update(vm, state="Off")
        out.extend(_start(ctx, call, vm))
    return out


@cmdlet("Stop-VM", positional=("Name",), params=("Name", "VM", "TurnOff", "Force", "Save", "Passthru", "AsJob",
                                                 "ComputerName"), aliases={"VMName": "Name"})
def stop_vm(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    out = []
    for vm in ctx.find_vms(call, params=("Name", "VM")):
        ctx.lab.update(vm, state="Saved" if call.flag("Save") else "Off")
        if call.flag("Passthru"):
            out.append(vm_object(ctx, vm))
    return out


# ----------------------------------------------------------------------------------------------
# Processor
# ----------------------------------------------------------------------------------------------


# samples/get-vmprocessor.txt sample A; VARIES: set per VM.
PROCESSOR_SHAPE = Shape("Microsoft.HyperV.PowerShell.VMProcessor", [
    ("ResourcePoolName", "Primordial"), ("Count", VARIES),
    ("CompatibilityForMigrationEnabled", False), ("CompatibilityForMigrationMode", "MinimumFeatureSet"),
    ("CompatibilityForOlderOperatingSystemsEnabled", False), ("HwThreadCountPerCore", 0),
    ("ExposeVirtualizationExtensions", VARIES),
    ("EnablePerfmonPmu", False), ("EnablePerfmonLbr", False), ("EnablePerfmonPebs", False),
    ("EnablePerfmonIpt", False), ("EnableLegacyApicMode", False), ("ApicMode", "Default"),
    ("AllowACountMCount", True), ("CpuBrandString", ""), ("PerfCpuFreqCapMhz", 0), ("Maximum", 100),
    ("Reserve", 0), ("RelativeWeight", 100), ("MaximumCountPerNumaNode", 36), ("MaximumCountPerNumaSocket", 1),
    ("EnableHostResourceProtection", False), ("OperationalStatus", "{Ok, HostResourceProtectionDisabled}"),
    ("StatusDescription", "{OK, Host resource protection is disabled.}"), ("Name", "Processor"),
    ("Id", VARIES), ("VMId", VARIES),
    ("VMName", VARIES), ("VMSnapshotId", "00000000-0000-0000-0000-000000000000"), ("VMSnapshotName", ""),
    ("CimSession", "CimSession: ."), ("ComputerName", VARIES), ("IsDeleted", False),
    ("VMCheckpointId", "00000000-0000-0000-0000-000000000000"), ("VMCheckpointName", ""),
])


def processor_object(ctx: Ctx, vm: str, computer_name: str | None = None) -> PSObject:
    """`computer_name`: the place's name, when the caller lists many VMs."""
    record: VM = ctx.lab[vm]
    upper = stable_guid("vm", vm)  # vm_guid(vm) in stable_guid's own (upper) case
    processor = record.processor
    return PROCESSOR_SHAPE.make({
        "Count": processor.count,
        "ExposeVirtualizationExtensions": processor.expose_virtualization_extensions,
        "Id": f"Microsoft:{upper}\\b637f346-6a0e-4dec-af52-bd70cb80a21d\\0", "VMId": ids.vm_guids(ctx.lab)[vm],
        "VMName": record.name, "ComputerName": ctx.computer_name if computer_name is None else computer_name,
    })


@cmdlet("Get-VMProcessor", positional=("VMName",), params=("VMName", "VM", "ComputerName"))
def get_vmprocessor(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    vms = ctx.find_vms(call, params=("VMName", "VM"))
    name = ctx.computer_name if vms else None  # read once for all the VMs
    return [processor_object(ctx, vm, name) for vm in vms]


def _modify_refused(entry, name: str, vid: str, device: str, reason: str) -> ErrorRecord:
    # samples/error-set-vmprocessor.txt: sample C (WMI text) / C2 wrapper, sample D (Memory, VERBATIM)
    lines = [f"Failed to modify device '{device}'."]
    if reason:
        lines.append(reason)
    lines.append(f"'{name}' failed to modify device '{device}'. (Virtual machine ID {vid.upper()})")
    if reason:
        lines.append(reason)
    return hv_error(entry, "\n".join(lines), "InvalidState", "InvalidOperation")


@cmdlet("Set-VMProcessor", positional=("VMName", "Count"),
        params=("VMName", "VM", "Count", "ExposeVirtualizationExtensions", "Maximum", "Reserve", "RelativeWeight",
                "CompatibilityForMigrationEnabled", "Passthru", "ComputerName"))
def set_vmprocessor(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    out = []
    for vm in ctx.find_vms(call, params=("VMName", "VM")):
        record: VM = ctx.lab[vm]
        changes: dict[str, Any] = {}
        if call.has("Count"):
            changes["count"] = int(call.get("Count"))
        if call.has("ExposeVirtualizationExtensions"):
            changes["expose_virtualization_extensions"] = bool(call.get("ExposeVirtualizationExtensions"))
        if changes and behaviour.is_running(ctx.lab, vm):
            ctx.error(_modify_refused(call.cmdlet, record.name, vm_guid(vm), "Processor",
                                      "Cannot change the processor settings of a virtual machine now."))
            continue
        if changes:
            ctx.lab.update(vm, processor=type(record.processor)(**{**_fields(record.processor), **changes}))
        if call.flag("Passthru"):
            out.append(processor_object(ctx, vm))
    return out


# The highest VM configuration version a Hyper-V host of a build supports (Update-VMVersion goes
# there): learn.microsoft.com, "Upgrade virtual machine version in Hyper-V on Windows or Windows
# Server", table "Supported virtual machine configuration versions" (1607/2016 8.0 … Server 2025 12.0).
HOST_CONFIGURATION_VERSIONS = ((26100, "12.0"), (22621, "11.0"), (20348, "10.0"), (19041, "9.3"), (18362, "9.1"),
                               (17763, "9.0"), (17134, "8.3"), (16299, "8.2"), (15063, "8.1"), (14393, "8.0"))


def host_configuration_version(build: int) -> str | None:
    return next((version for floor, version in HOST_CONFIGURATION_VERSIONS if build >= floor), None)


@cmdlet("Update-VMVersion", positional=("Name",), params=("Name", "VM", "Force", "Passthru", "Confirm", "WhatIf",
                                                          "ComputerName"), aliases={"VMName": "Name"})
def update_vmversion(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    """Raise a VM's configuration version to the highest its host supports; the VM must be off
    (the doc's Step 2: "Shut down the virtual machine"). Added for real case docker/for-win#4470:
    a VM created on 2012 R2 (5.0) needs 8.0+ to nest once its host is upgraded."""
    out = []
    target = host_configuration_version(ctx.lab.platform(ctx.owner).os.build)
    for vm in ctx.find_vms(call, params=("Name", "VM")):
        record: VM = ctx.lab[vm]
        if behaviour.effective_state(ctx.lab, vm) != "Off":
            # RECONSTRUCTED wording (Hyper-V's invalid-state refusal, shape of _modify_refused)
            ctx.error(hv_error(call.cmdlet, f"Failed to update the configuration version of virtual machine '{record.name}'.\n"
                                            "The operation cannot be performed while the virtual machine is in its current state.",
                               "InvalidState", "InvalidOperation", target=record.name))
            continue
        if target is not None and behaviour.version_tuple(target) > behaviour.version_tuple(record.version):
            ctx.lab.update(vm, version=target)
        if call.flag("Passthru"):
            out.append(vm_object(ctx, vm))
    return out


def _fields(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in fields(record)}


# ----------------------------------------------------------------------------------------------
# Memory (notes §1.3)
# ----------------------------------------------------------------------------------------------


# notes §4.3 (VMMemory); VARIES: set per VM.
MEMORY_SHAPE = Shape("Microsoft.HyperV.PowerShell.VMMemory", [
    ("ResourcePoolName", "Primordial"), ("Buffer", 20), ("DynamicMemoryEnabled", VARIES),
    ("Maximum", 1099511627776), ("MaximumPerNumaNode", 65536), ("Minimum", 536870912), ("Priority", 50),
    ("Startup", VARIES), ("Name", "Memory"),
    ("Id", VARIES), ("VMId", VARIES),
    ("VMName", VARIES), ("VMSnapshotId", "00000000-0000-0000-0000-000000000000"), ("VMSnapshotName", ""),
    ("CimSession", "CimSession: ."), ("ComputerName", VARIES), ("IsDeleted", False),
])


def memory_object(ctx: Ctx, vm: str, computer_name: str | None = None) -> PSObject:
    """`computer_name`: the place's name, when the caller lists many VMs."""
    record: VM = ctx.lab[vm]
    upper = stable_guid("vm", vm)  # vm_guid(vm) in stable_guid's own (upper) case
    return MEMORY_SHAPE.make({
        "DynamicMemoryEnabled": record.memory.dynamic,
        "Startup": system.gib_bytes(behaviour.configured_startup_gb(record)),
        "Id": f"Microsoft:{upper}\\4764334d-e001-4176-82ee-5594ec9b530e", "VMId": ids.vm_guids(ctx.lab)[vm],
        "VMName": record.name, "ComputerName": ctx.computer_name if computer_name is None else computer_name,
    })


@cmdlet("Get-VMMemory", positional=("VMName",), params=("VMName", "VM", "ComputerName"))
def get_vmmemory(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    vms = ctx.find_vms(call, params=("VMName", "VM"))
    name = ctx.computer_name if vms else None  # read once for all the VMs
    return [memory_object(ctx, vm, name) for vm in vms]


@cmdlet("Set-VMMemory", positional=("VMName",),
        params=("VMName", "VM", "StartupBytes", "DynamicMemoryEnabled", "MinimumBytes", "MaximumBytes", "Buffer",
                "Priority", "Passthru", "ComputerName"))
def set_vmmemory(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    out = []
    for vm in ctx.find_vms(call, params=("VMName", "VM")):
        record: VM = ctx.lab[vm]
        memory = record.memory
        running = behaviour.is_running(ctx.lab, vm)
        wants_dynamic = call.has("DynamicMemoryEnabled") and bool(call.get("DynamicMemoryEnabled")) != memory.dynamic
        wants_size = call.has("StartupBytes") or call.has("MinimumBytes") or call.has("MaximumBytes")
        if running and (wants_dynamic or (wants_size and behaviour.hot_add_refused(ctx.lab, vm))):
            ctx.error(_modify_refused(call.cmdlet, record.name, vm_guid(vm), "Memory", ""))
            continue
        startup, pending = memory.startup_gb, memory.pending_startup_gb
        if call.has("StartupBytes"):
            gb = int(call.get("StartupBytes")) / GIB
            if running and not behaviour.runtime_resize(ctx.lab, vm):
                pending = None if gb == startup else gb  # recorded, applied at the next start
            else:
                startup, pending = gb, None
        dynamic = bool(call.get("DynamicMemoryEnabled")) if call.has("DynamicMemoryEnabled") else memory.dynamic
        ctx.lab.update(vm, memory=type(memory)(startup_gb=startup, dynamic=dynamic, pending_startup_gb=pending))
        if call.flag("Passthru"):
            out.append(memory_object(ctx, vm))
    return out


# ----------------------------------------------------------------------------------------------
# Integration services, hard disk drives, performance
# ----------------------------------------------------------------------------------------------

INTEGRATION = ("Guest Service Interface", "Heartbeat", "Key-Value Pair Exchange", "Shutdown", "Time Synchronization", "VSS")


@cmdlet("Get-VMIntegrationService", positional=("VMName", "Name"), params=("VMName", "VM", "Name", "ComputerName"))
def get_vmintegrationservice(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    out = []
    for vm in ctx.find_vms(call, params=("VMName", "VM")):
        record: VM = ctx.lab[vm]
        running = behaviour.is_running(ctx.lab, vm)
        current = record.guest.integration_services_current
        for name in INTEGRATION:
            enabled = name != "Guest Service Interface"
            primary = ("OK" if current else "The protocol version of the component installed in the virtual machine "
                       "does not match the version expected by the hosting system.") if running and enabled else ""
            out.append(obj("Microsoft.HyperV.PowerShell.VMIntegrationComponent", [
                ("VMName", record.name), ("Name", name), ("Enabled", enabled),
                ("PrimaryStatusDescription", primary),
                ("SecondaryStatusDescription", "OK" if running and name == "Heartbeat" else ""),
                ("PrimaryOperationalStatus", ("Ok" if current else "ProtocolMismatch") if running and enabled else None),
                ("VMId", ids.vm_guids(ctx.lab)[vm]), ("ComputerName", ctx.computer_name), ("IsDeleted", False),
            ]))
    return out


DRIVE_SHAPE = Shape("Microsoft.HyperV.PowerShell.HardDiskDrive", [
    ("Path", VARIES), ("DiskNumber", None), ("MaximumIOPS", 0), ("MinimumIOPS", 0), ("QoSPolicyID",
     "00000000-0000-0000-0000-000000000000"), ("SupportPersistentReservations", False),
    ("WriteHardeningMethod", "WriteHardeningMethod"),
    ("ControllerLocation", VARIES), ("ControllerNumber", 0), ("ControllerType", VARIES),
    ("Name", "Hard Drive"), ("PoolName", "Primordial"),
    ("Id", VARIES),
    ("VMId", VARIES), ("VMName", VARIES),
    ("VMSnapshotId", "00000000-0000-0000-0000-000000000000"), ("VMSnapshotName", ""),
    ("CimSession", "CimSession: ."), ("ComputerName", VARIES), ("IsDeleted", False),
])


@cmdlet("Get-VMHardDiskDrive", positional=("VMName",),
        params=("VMName", "VM", "ControllerType", "ControllerNumber", "ControllerLocation", "ComputerName"))
def get_vmharddiskdrive(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    out = []
    lab = ctx.lab
    vms = ctx.find_vms(call, params=("VMName", "VM"))
    computer = ctx.computer_name if vms else None  # read once for all the VMs
    guids = ids.vm_guids(lab)
    for vm in vms:
        record: VM = lab[vm]
        ctype, controller = _CONTROLLERS[record.generation == 2]  # _controller(record) and its enum value
        upper = stable_guid("vm", vm)  # vm_guid(vm) in stable_guid's own (upper) case
        vid, name = guids[vm], record.name  # the same for each of the VM's drives (and its other objects)
        for i, disk in enumerate(lab.disks(vm)):
            try:
                path = lab[disk].path  # one read, not `in` and then [ ]: a drive's disk is in the lab
            except KeyError:
                if disk in lab:  # a node without a record: the error it always was
                    raise
                path = disk.split(":vhd:", 1)[-1]  # a drive whose file the lab does not declare: its path
            out.append(DRIVE_SHAPE.make({
                "Path": path, "ControllerLocation": i, "ControllerType": controller,
                "Id": f"Microsoft:{upper}\\83F8638B-8DCA-4152-9EDA-2CA8B33039B4\\0\\{i}\\D",
                "VMId": vid, "VMName": name, "ComputerName": computer,
            }, to_string=_drive_name(ctype, i)))
    return out


@cmdlet("Measure-NestedPerformance", positional=("VMName",), params=("VMName",), cls="Nestlab.MeasureNestedPerformance")
def measure_nested_performance(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    """Simulator-only: the performance model's score for a VM and the factors that cost most."""
    out = []
    for vm in ctx.find_vms(call, params=("VMName",)):
        score = performance.measure(ctx.lab, vm)
        out.append(obj("Nestlab.NestedPerformance", [
            ("VMName", ctx.lab[vm].name), ("Score", score.score), ("Rating", score.rating),
            ("TopFactors", [f.name for f in score.factors[:3]]), ("Factors", [str(f) for f in score.factors]),
        ]))
    return out


@cmdlet("Set-VMHardDiskDrive", positional=("VMName",),
        params=("VMName", "VM", "ControllerType", "ControllerNumber", "ControllerLocation", "Path", "Passthru",
                "ComputerName"))
def set_vmharddiskdrive(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    """Point a VM's drive (by controller location, as Get-VMHardDiskDrive numbers them) at another VHD file.

    Added by the fault-catalog engineer (dynamic-vhd: Convert-VHD then re-attach); minimal: one controller.
    """
    from nestlab.simulator.model import Edge

    path = str(call.get("Path"))
    location = int(call.get("ControllerLocation") or 0)
    for vm in ctx.find_vms(call, params=("VMName", "VM")):
        disks = ctx.lab.disks(vm)
        target = ctx.lab.vhd_by_path(ctx.owner, path)
        if target is None or not storage.exists(ctx.lab, ctx.owner, path):
            ctx.error(hv_error(call.cmdlet, f"Failed to add device 'Virtual Hard Disk'. The system cannot find the file "
                                            f"specified. ('{path}')", "ObjectNotFound", "ObjectNotFound"))
            continue
        if location >= len(disks):
            ctx.error(hv_error(call.cmdlet, f"No hard disk drive at location {location} of '{ctx.lab[vm].name}'.",
                               "InvalidParameter", "InvalidArgument"))
            continue
        ctx.lab.unlink(vm, disks[location], Edge.DISK)
        ctx.lab.link(vm, target, Edge.DISK)
    return []


@cmdlet("Move-VMStorage", positional=("VMName", "DestinationStoragePath"),
        params=("VMName", "VM", "DestinationStoragePath", "VirtualMachinePath", "VHDs", "Passthru", "ComputerName"))
def move_vmstorage(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    """Move a VM's disks (with their parents) under -DestinationStoragePath; the VM may keep running."""
    target = str(call.get("DestinationStoragePath") or "").rstrip("\\")
    for vm in ctx.find_vms(call, params=("VMName", "VM")):
        paths = []
        for disk in ctx.lab.disks(vm):
            if disk in ctx.lab:
                paths += [p for p in storage.chain_paths(ctx.lab, ctx.owner, ctx.lab[disk].path) if p not in paths]
        for path in paths:
            new_path = f"{target}\\{ntpath.basename(path)}"
            if new_path.lower() != path.lower():
                storage.move(ctx.lab, ctx.owner, path, new_path)
    return []
