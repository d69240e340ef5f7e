"""Guide section "Performance degradation in nested virtualization": what Measure-NestedPerformance charges for."""

from __future__ import annotations

import math
from dataclasses import replace

from nestlab.simulator import behaviour
from nestlab.simulator.actions import cmd, gb_bytes, run
from nestlab.simulator.faults.base import Fault, Script, run_all
from nestlab.simulator.faults.hyperv_role import enough_memory
from nestlab.simulator.faults.symptoms import performance
from nestlab.simulator.faults.where import children_memory, in_chain, in_nested_scope, name, nested_hosts, while_off
from nestlab.simulator.psparse import ScriptBlock
from nestlab.simulator.model import Edge, Host, Lab, Vhd, vhd_id

SECTION = "Performance degradation in nested virtualization"
CAP_MBPS = 100  # a bandwidth cap well under the 1 Gbps the performance model treats as free


# -- under-provisioned -------------------------------------------------------------------------


def _nested_gb(lab: Lab, vm: str) -> float:
    return children_memory(lab, vm, running_only=True)


def _squeezed_gb(lab: Lab, vm: str) -> int:
    """Startup memory that leaves the running nested VMs less than they need, yet keeps the guide's 4 GB."""
    return max(4, math.ceil(_nested_gb(lab, vm)))


def _memory_lines(value_of):
    def lines(lab: Lab, vm: str) -> Script:
        return while_off(lab, vm, [cmd("Set-VMMemory", VMName=name(lab, vm), StartupBytes=gb_bytes(value_of(lab, vm)))])

    return lines


under_provisioned = Fault(
    id="under-provisioned",
    category="performance",
    kind="cmd",
    section=SECTION,
    description="a VM hosting nested VMs runs heavy work on < 4 vCPUs, or its nested VMs' startup memory adds up to more than its own memory less 2 GB",
    find=lambda lab: [
        vm for vm in nested_hosts(lab)
        if _nested_gb(lab, vm) > 2 and lab[vm].memory.startup_gb >= _nested_gb(lab, vm) + 2
        and _squeezed_gb(lab, vm) < _nested_gb(lab, vm) + 2 and lab[vm].memory.pending_startup_gb is None
    ],
    apply=lambda lab, vm: lab.update(vm, memory=replace(lab[vm].memory, startup_gb=_squeezed_gb(lab, vm))),
    shows=lambda lab, vm: performance(lab, vm, "memory"),
    mend=lambda lab, vm: run_all(lab, _memory_lines(lambda lab, vm: enough_memory(lab, vm))(lab, vm)),
    script=_memory_lines(_squeezed_gb),
    unscript=_memory_lines(lambda lab, vm: lab[vm].memory.startup_gb),
    aspect="memory",
)

# -- host-memory-low ---------------------------------------------------------------------------

LOW_GB = 6


def _roomy_gb(lab: Lab, host: str) -> int:
    """Enough RAM for what runs on the host plus 2 GB for itself, and the guide's 8 GB at least."""
    running = sum(lab[v].memory.startup_gb for v in lab.vms(host) if lab[v].state == "Running")
    return max(8, math.ceil(running + 4))


host_memory_low = Fault(
    id="host-memory-low",
    category="performance",
    kind="state",
    section=SECTION,
    description="host has < 8 GB RAM",
    find=lambda lab: [h for h in lab.hosts() if lab[h].memory_gb >= 8 and lab.vms(h)],
    apply=lambda lab, host: lab.update(host, memory_gb=LOW_GB),
    shows=lambda lab, host: performance(lab, lab.vms(host)[0], "host-memory"),
    mend=lambda lab, host: lab.update(host, memory_gb=_roomy_gb(lab, host)),  # RAM added
    aspect="performance",
)

# -- host-overcommitted ------------------------------------------------------------------------


def _cores(lab: Lab, owner: str) -> int:
    record = lab[owner]
    return record.cpu.cores if isinstance(record, Host) else record.processor.count


def _running(lab: Lab, owner: str) -> list[str]:
    return [v for v in lab.vms(owner) if behaviour.is_running(lab, v)]


def _excess(lab: Lab, owner: str) -> int:
    return sum(lab[v].processor.count for v in _running(lab, owner)) - _cores(lab, owner)


def _grown(lab: Lab, owner: str) -> tuple[str, int] | None:
    """A running VM whose vCPUs can grow (within the owner's processors) until the owner is overcommitted."""
    needed = 1 - _excess(lab, owner)
    for vm in reversed(_running(lab, owner)):
        count = lab[vm].processor.count + needed
        if needed > 0 and count <= _cores(lab, owner):
            return vm, count
    return None


def _count_line(lab: Lab, vm: str, count: int) -> Script:
    return while_off(lab, vm, [cmd("Set-VMProcessor", VMName=name(lab, vm), Count=count)])


def _rebalance(lab: Lab, owner: str) -> None:
    """Give back vCPUs, largest VM first, never under 2; stop VMs when that is not enough."""
    for vm in sorted(_running(lab, owner), key=lambda v: -lab[v].processor.count):
        excess = _excess(lab, owner)
        if excess <= 0:
            return
        count = max(2, lab[vm].processor.count - excess)
        if count < lab[vm].processor.count:
            run_all(lab, _count_line(lab, vm, count))
    for vm in reversed(_running(lab, owner)):
        if _excess(lab, owner) <= 0:
            return
        run_all(lab, [run(owner, cmd("Stop-VM", Name=name(lab, vm)))])


def _overcommit_symptom(lab: Lab, owner: str):
    return performance(lab, _running(lab, owner)[0], "overcommit-cpu")


host_overcommitted = Fault(
    id="host-overcommitted",
    category="performance",
    kind="cmd",
    section=SECTION,
    description="running VMs' vCPUs or memory exceed what the host has",
    find=lambda lab: [
        o for o in [*lab.hosts(), *nested_hosts(lab)] if _excess(lab, o) <= 0 and _grown(lab, o)
    ],
    apply=lambda lab, owner: lab.update(
        _grown(lab, owner)[0], processor=replace(lab[_grown(lab, owner)[0]].processor, count=_grown(lab, owner)[1])
    ),
    shows=_overcommit_symptom,
    mend=_rebalance,
    script=lambda lab, owner: _count_line(lab, *_grown(lab, owner)),
    unscript=lambda lab, owner: _count_line(lab, _grown(lab, owner)[0], lab[_grown(lab, owner)[0]].processor.count),
    aspect="performance",
)

# -- dynamic-vhd -------------------------------------------------------------------------------


def _vm_disks(lab: Lab) -> list[tuple[str, str]]:
    """(VM, VHD) for each disk attached straight to a VM that is or runs in a nested host."""
    pairs = []
    for vm in lab.all_vms():
        if lab.depth(vm) < 2 and not lab.vms(vm):
            continue
        for disk in lab.disks(vm):
            if disk in lab and lab[disk].type == "fixed" and not lab.into(disk, Edge.PARENT):
                pairs.append((vm, disk))
    return pairs


def _converted_path(path: str, vhd_type: str) -> str:
    stem, dot, ext = path.rpartition(".")
    for suffix in ("-dynamic", "-fixed"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    return f"{stem}-{vhd_type.lower()}{dot}{ext}"


def _user(lab: Lab, vhd: str) -> str:
    return lab.into(vhd, Edge.DISK)[0]


def _controller(lab: Lab, vm: str, vhd: str) -> dict[str, object]:
    kind = "SCSI" if lab[vm].generation == 2 else "IDE"
    return {"ControllerType": kind, "ControllerNumber": 0, "ControllerLocation": lab.disks(vm).index(vhd)}


def _convert_lines(vhd_type: str):
    def lines(lab: Lab, vhd: str) -> Script:
        vm = _user(lab, vhd)
        path = lab[vhd].path
        target = _converted_path(path, vhd_type)
        return while_off(lab, vm, [
            cmd("Convert-VHD", Path=path, DestinationPath=target, VHDType=vhd_type),
            cmd("Set-VMHardDiskDrive", VMName=name(lab, vm), **_controller(lab, vm, vhd), Path=target),
        ])

    return lines


def _convert(lab: Lab, vhd: str) -> str:
    """Convert-VHD to a dynamic copy beside it (the source stays) and attach the copy to the VM;
    the copy is what the VM now runs on, so it is the subject the state shows."""
    vm = _user(lab, vhd)
    owner = lab.owner(vhd)
    source: Vhd = lab[vhd]
    target = _converted_path(source.path, "Dynamic")
    copy = lab.add(vhd_id(owner, target), replace(source, path=target, type="dynamic", disk_id=None, parent_disk_id=None))
    lab.link(owner, copy, Edge.HAS)
    lab.unlink(vm, vhd, Edge.DISK)
    lab.link(vm, copy, Edge.DISK)
    return copy


def _dynamic_of(lab: Lab, vhd: str) -> str:
    """After injection the subject's VM runs on the dynamic copy; heal and symptom act on that copy."""
    owner = lab.owner(vhd)
    return lab.vhd_by_path(owner, _converted_path(lab[vhd].path, "Dynamic")) or vhd


dynamic_vhd = Fault(
    id="dynamic-vhd",
    category="performance",
    kind="cmd",
    section=SECTION,
    description="a dynamically expanding VHD backs the nested host (or a nested VM)",
    find=lambda lab: [
        vhd for _, vhd in _vm_disks(lab)
        if lab.vhd_by_path(lab.owner(vhd), _converted_path(lab[vhd].path, "Dynamic")) is None
    ],
    apply=_convert,
    shows=lambda lab, vhd: performance(lab, _user(lab, _dynamic_of(lab, vhd)), "vhd-type"),
    mend=lambda lab, vhd: run_all(lab, _convert_lines("Fixed")(lab, _dynamic_of(lab, vhd))),
    script=_convert_lines("Dynamic"),
    unscript=lambda lab, vhd: while_off(lab, _user(lab, vhd), [
        cmd("Set-VMHardDiskDrive", VMName=name(lab, _user(lab, vhd)), **_controller(lab, _user(lab, vhd), vhd),
            Path=lab[vhd].path),
        cmd("Remove-Item", Path=_converted_path(lab[vhd].path, "Dynamic")),
    ]),
    aspect="performance",
)

# -- slow-storage ------------------------------------------------------------------------------


def _volume_index(lab: Lab, vhd: str) -> int | None:
    drive = lab[vhd].path[:2].upper()
    volumes = lab.platform(lab.owner(vhd)).volumes
    return next((i for i, v in enumerate(volumes) if v.drive.upper() == drive), None)


def _set_media(media: str):
    def change(lab: Lab, vhd: str) -> None:
        owner = lab.owner(vhd)
        volumes = list(lab.platform(owner).volumes)
        i = _volume_index(lab, vhd)
        volumes[i] = replace(volumes[i], media=media)
        lab.update_platform(owner, volumes=tuple(volumes))

    return change


def _backing(lab: Lab) -> dict[str, str]:
    """Every VHD that backs a nested host or nested VM, its checkpoint chain included -> that VM.

    The chain as the diagnosis scopes it (where.in_chain): every VM of an Azure VM host is nested
    already, so its disks are the chain's too, and a volume's first disk is the rule's first disk."""
    found: dict[str, str] = {}
    for vm in lab.all_vms():
        if not in_chain(lab, vm):
            continue
        for disk in lab.disks(vm):
            if disk in lab:
                drive = lab[disk].path[:2].upper()  # the model charges the drive of the disk the VM opens
                for node in lab.chain(disk):
                    if lab[node].path[:2].upper() == drive:
                        found.setdefault(node, vm)
    return found


def _first_on_volume(lab: Lab, vhd: str) -> bool:
    """The disk a volume's media is reported on: the first by path of the nested chain's disks on
    it (diagnosis/rules/performance.py slow-storage: one warning per volume, not one per file)."""
    owner, drive = lab.owner(vhd), lab[vhd].path[:2].upper()
    same = [v for v in _backing(lab) if lab.owner(v) == owner and lab[v].path[:2].upper() == drive
            and in_nested_scope(lab, v)]
    return min(same, key=lambda v: lab[v].path.lower()) == vhd


slow_storage = Fault(
    id="slow-storage",
    category="performance",
    kind="state",
    section=SECTION,
    description="VHD on rotational (HDD) storage",
    find=lambda lab: [
        vhd for vhd in _backing(lab)
        if _volume_index(lab, vhd) is not None
        and lab.platform(lab.owner(vhd)).volumes[_volume_index(lab, vhd)].media == "ssd"
        and _first_on_volume(lab, vhd)
    ],
    apply=_set_media("hdd"),
    shows=lambda lab, vhd: performance(lab, _backing(lab)[vhd], "storage-media"),
    mend=_set_media("ssd"),  # the disks moved to SSD storage (simulated: the drive's media)
    aspect="performance",
)

# -- bandwidth-limited -------------------------------------------------------------------------


def _bandwidth(mbps_of):
    def lines(lab: Lab, adapter: str) -> Script:
        vm = lab.owner(adapter)
        bits = mbps_of(lab, adapter) * 1_000_000
        return [run(lab.parent(vm), cmd("Set-VMNetworkAdapter", VMName=name(lab, vm), Name=lab[adapter].name,
                                        MaximumBandwidth=bits))]

    return lines


bandwidth_limited = Fault(
    id="bandwidth-limited",
    category="performance",
    kind="cmd",
    section=SECTION,
    description="bandwidth management caps the adapter",
    find=lambda lab: [a for vm in nested_hosts(lab) for a in lab.adapters(vm) if lab[a].max_bandwidth_mbps == 0],
    apply=lambda lab, adapter: lab.update(adapter, max_bandwidth_mbps=CAP_MBPS),
    shows=lambda lab, adapter: performance(lab, lab.owner(adapter), "bandwidth-cap"),
    mend=lambda lab, adapter: run_all(lab, _bandwidth(lambda lab, a: 0)(lab, adapter)),
    script=_bandwidth(lambda lab, a: CAP_MBPS),
    unscript=_bandwidth(lambda lab, a: lab[a].max_bandwidth_mbps),
    aspect="performance",
)

# -- noisy-neighbor ----------------------------------------------------------------------------


def _neighbours(lab: Lab, owner: str) -> list[str]:
    return [v for v in _running(lab, owner) if lab[v].workload != "heavy"]


def _stop_heavy(lab: Lab, owner: str) -> None:
    """The guide: avoid running resource-intensive applications in other host VMs — stop them."""
    heavy = [v for v in _running(lab, owner) if lab[v].workload == "heavy"]
    run_all(lab, [run(owner, cmd("Stop-VM", Name=name(lab, v))) for v in heavy])


BURN = "1..$env:NUMBER_OF_PROCESSORS | ForEach-Object { Start-Job { while ($true) {} } }"

noisy_neighbor = Fault(
    id="noisy-neighbor",
    category="performance",
    kind="cmd",
    section=SECTION,
    description="other resource-intensive VMs on the same host",
    find=lambda lab: [
        o for o in [*lab.hosts(), *nested_hosts(lab)]
        if len(_neighbours(lab, o)) >= 2 and len(_neighbours(lab, o)) == len(_running(lab, o))
    ],
    apply=lambda lab, owner: lab.update(_neighbours(lab, owner)[-1], workload="heavy"),
    shows=lambda lab, owner: performance(lab, _running(lab, owner)[0], "noisy-neighbour"),
    mend=_stop_heavy,
    # a script, not one pipeline: an explicit Invoke-Command with its script block (simulator.actions)
    script=lambda lab, owner: [run(owner, cmd("Invoke-Command", VMName=name(lab, _neighbours(lab, owner)[-1]),
                                              ScriptBlock=ScriptBlock(BURN)))],
    unscript=lambda lab, owner: [run(owner, cmd("Invoke-Command", VMName=name(lab, _neighbours(lab, owner)[-1]),
                                                ScriptBlock=ScriptBlock("Get-Job | Stop-Job")))],
    aspect="performance",
)

FAULTS = (under_provisioned, host_memory_low, host_overcommitted, dynamic_vhd, slow_storage, bandwidth_limited, noisy_neighbor)
