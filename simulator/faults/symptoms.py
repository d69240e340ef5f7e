"""The symptoms several faults share, with the guide's texts (seed guide, verbatim where it has one)."""

from __future__ import annotations

from nestlab.simulator.faults.base import Symptom
from nestlab.simulator.faults.where import lan_target, name, outward_ip, q
from nestlab.simulator.model import Lab, network_id

# Guide, "Nested VM can't start Hyper-V role or install other hypervisors" (verbatim).
NO_VIRTUALIZATION_CAPABILITIES = "Hyper-V cannot be installed: The processor does not have required virtualization capabilities"
# Guide, "Nested Hyper-V installation or operation blocked by security policies" (verbatim).
VBS_BLOCKS_NESTED = "Virtualization-based security is enabled. Nested virtualization is not supported."
# Guide, "NAT and port forwarding issues" (verbatim; Windows writes it with a leading "The").
FILE_IN_USE = "process cannot access the file because it is being used by another process"
# Guide, "Snapshot/Checkpoint and differencing disk issues" (verbatim, without the code in brackets).
CHAIN_BROKEN = "The chain of virtual hard disks is broken"
# Hyper-V's Start-VM text when the hypervisor does not run (notes §5; samples/error-start-vm.txt A).
HYPERVISOR_NOT_RUNNING = "could not be started because the hypervisor is not running"
# Start-VM when security software stops vmms (samples/error-start-vm.txt sample B).
COMPONENTS_NOT_RUNNING = "because one of the Hyper-V components is not running"


def hypervisor_down(lab: Lab, owner: str, text: str = HYPERVISOR_NOT_RUNNING) -> Symptom:
    """A host or guest whose hypervisor cannot run: its VMs do not start again once turned off."""
    vms = lab.vms(owner)
    from nestlab.simulator import behaviour  # Start-VM's text depends on why (docs/fidelity.md, MSLab#353)

    if text == HYPERVISOR_NOT_RUNNING and lab.kind(owner) == "vm" and \
            behaviour.hypervisor_status(lab, owner).reason in ("no-vmx", "nesting-unsupported"):
        text = COMPONENTS_NOT_RUNNING
    if vms:
        vm = q(name(lab, vms[0]))
        return Symptom(owner, f"Start-VM -Name {vm}", setup=(f"Stop-VM -Name {vm} -TurnOff",), expect_error=text)
    return Symptom(owner, "Get-CimInstance -ClassName Win32_ComputerSystem", expect_property=("HypervisorPresent", False))


def role_install_fails(lab: Lab, vm: str) -> Symptom:
    """Installing the Hyper-V role inside a VM's guest (the guide's first symptom)."""
    return Symptom(vm, "Install-WindowsFeature -Name Hyper-V -IncludeManagementTools",
                   expect_error=NO_VIRTUALIZATION_CAPABILITIES)


def nested_hypervisor_down(lab: Lab, vm: str) -> Symptom:
    """The VM that should run Hyper-V cannot: the role will not install (the guide's message), or, once
    installed, its hypervisor does not start, so its own VMs do not start either."""
    if not lab[vm].guest.hyperv_installed:
        return role_install_fails(lab, vm)
    if lab.vms(vm):
        return hypervisor_down(lab, vm)
    return Symptom(vm, "Get-CimInstance -ClassName Win32_ComputerSystem", expect_property=("HypervisorPresent", False))


def role_prerequisite(lab: Lab, vm: str, factor: str) -> Symptom:
    """A resource minimum of a nested host: the role's prerequisite check fails when it is installed
    now; on a VM that already has the role, Measure-NestedPerformance names the short resource."""
    if not lab[vm].guest.hyperv_installed:
        return role_install_fails(lab, vm)
    return performance(lab, vm, factor)


def property_of(context: str, command: str, prop: str, value: object) -> Symptom:
    return Symptom(context, command, expect_property=(prop, value))


def memory_not_applied(lab: Lab, vm: str) -> Symptom:
    """Configured memory the VM does not have: Get-VM MemoryStartup differs from MemoryAssigned."""
    return Symptom(lab.parent(vm), f"Get-VM -Name {q(name(lab, vm))}", expect_mismatch=("MemoryStartup", "MemoryAssigned"))


def performance(lab: Lab, vm: str, factor: str) -> Symptom:
    """Measure-NestedPerformance on the VM names `factor` among what costs it."""
    command = f"Measure-NestedPerformance -VMName {q(name(lab, vm))}"
    return Symptom(lab.parent(vm), command, expect_factor=factor, probe=(vm,))


def lan_of(lab: Lab, node: str) -> str:
    """The physical network of a node's root host ('network:corp-lan')."""
    for nic in lab.owned(lab.root_host(node), "nic"):
        return network_id(lab[nic].network)
    raise ValueError(f"{lab.root_host(node)} has no network")


def outbound(lab: Lab, vm: str, disposition: str) -> Symptom:
    """From inside a VM to the LAN of its root host: where does the flow stop?"""
    command = f"Test-NetConnection -ComputerName {lan_target(lab, vm)}"
    return Symptom(vm, command, expect_disposition=disposition, probe=(vm, lan_of(lab, vm), 443, "TCP"))


def inbound(lab: Lab, owner: str, port: int, disposition: str, protocol: str = "TCP") -> Symptom:
    """To a forwarded port on the owner's outward address: from a client on the LAN when the owner is
    bridged onto it, else from the owner's parent (the nearest place outside it)."""
    address = outward_ip(lab, owner)
    source = lan_of(lab, owner) if lab.kind(owner) == "host" or lab.path_to_lan(owner) else lab.parent(owner)
    command = f"Test-NetConnection -ComputerName {address} -Port {port}"
    return Symptom(source, command, expect_disposition=disposition, probe=(source, address, port, protocol))
