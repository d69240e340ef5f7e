"""Guide section "Performance degradation in nested virtualization" (category performance).

Everything here degrades rather than blocks, so every rule is a warning. Scope (docs/severity.md):
the nested chain (diagnosis.intent) — a file server's data disk on HDD beside a nested lab is its
owner's choice, not a finding.
"""

from __future__ import annotations

from pathlib import PureWindowsPath
from typing import Iterator, Sequence

from nestlab.diagnosis import intent, views
from nestlab.diagnosis.evidence import Evidence
from nestlab.diagnosis.intent import nested_hosts
from nestlab.diagnosis.rules.common import (
    GB,
    GUIDE,
    WIN32_CPU,
    WIN32_CS,
    Hit,
    Manual,
    adapter_selector,
    chain_platforms,
    cmd,
    count_item,
    cpu_usage_item,
    disk_chains,
    gb_text,
    gb_to_bytes,
    get_vm,
    name_of,
    on_parent,
    on_platform,
    platforms,
    ps,
    rule,
    running,
    shown,
    startup_item,
    while_off,
)
from nestlab.diagnosis.rules.hyperv_role import MIN_NESTED_HOST_MEMORY_GB, MIN_VCPUS, OS_RESERVE_GB, needed_memory_gb
from nestlab.simulator.model import Lab, Volume
from nestlab.simulator.psdata import Command

REFERENCE = GUIDE + "Performance degradation in nested virtualization"
PERFORMANCE_SYMPTOMS = ("nested-vm-slow",)

HEAVY_WORK_VCPUS = 4
MIN_HOST_MEMORY_GB = 8


@rule("under-provisioned", category="performance", severity="warning", reference=REFERENCE)
def under_provisioned(ev: Evidence) -> Iterator[Hit]:
    lab = ev.lab
    for vm in nested_hosts(ev):
        record = lab[vm]
        name = name_of(vm)
        few_cpus = record.workload == "heavy" and MIN_VCPUS <= record.processor.count < HEAVY_WORK_VCPUS
        nested = [(child, lab[child].memory.startup_gb) for child in lab.vms(vm)]
        need = needed_memory_gb(lab, vm)
        short = record.memory.startup_gb >= MIN_NESTED_HOST_MEMORY_GB and record.memory.startup_gb < need
        if not few_cpus and not short:
            continue
        reasons, items, fix = [], [], []
        if few_cpus:
            reasons.append(f"runs heavy work on {record.processor.count} vCPUs (the guide recommends {HEAVY_WORK_VCPUS})")
            items += [count_item(ev, vm), cpu_usage_item(ev, vm)]
            fix.append(ps("Set-VMProcessor", VMName=name, Count=HEAVY_WORK_VCPUS))
        if short:
            total = sum(gb for _, gb in nested)
            reasons.append(f"its nested VMs start with {gb_text(total)} but it has {gb_text(record.memory.startup_gb)}, "
                           f"less {OS_RESERVE_GB}GB for its own OS")
            items.append(startup_item(ev, vm))
            items += [shown(ev, child, cmd("Get-VMMemory", VMName=name_of(child)), "Startup", gb_to_bytes(gb), probe="memory")
                      for child, gb in nested]
            fix.append(ps("Set-VMMemory", VMName=name, StartupBytes=gb_to_bytes(need)))
        yield Hit(
            subject=vm,
            summary=f"{name_of(vm)} is under-provisioned: " + "; ".join(reasons),
            evidence=tuple(items),
            resolution=while_off(lab, vm, fix),
            explains=PERFORMANCE_SYMPTOMS,
        )


@rule("host-memory-low", category="performance", severity="warning", reference=REFERENCE)
def host_memory_low(ev: Evidence) -> Iterator[Hit]:
    for host in views.hosts(ev.lab):
        memory = ev.lab[host].memory_gb
        if memory >= MIN_HOST_MEMORY_GB or not intent.chain_owner(ev, host):
            continue
        yield Hit(
            subject=host,
            summary=f"{host} has {gb_text(memory)} of RAM; the guide recommends at least {MIN_HOST_MEMORY_GB}GB for a nested host",
            evidence=(shown(ev, host, WIN32_CS, "TotalPhysicalMemory", gb_to_bytes(memory)),),
            resolution=(Manual(f"Add RAM to {host} (at least {MIN_HOST_MEMORY_GB}GB)"),),
            explains=("host-overcommitted", *PERFORMANCE_SYMPTOMS),
        )


def _running_vms(lab: Lab, owner: str) -> tuple[str, ...]:
    return views.running_vms(lab, owner)


def capacity(lab: Lab, owner: str) -> tuple[int, float]:
    """(logical processors, memory GB) an owner gives its VMs: a host's hardware, a nested host's VM settings."""
    record = lab[owner]
    if lab.kind(owner) == "host":
        return record.cpu.cores, record.memory_gb
    return record.processor.count, record.memory.startup_gb


@rule("host-overcommitted", category="performance", severity="warning", reference=REFERENCE)
def host_overcommitted(ev: Evidence) -> Iterator[Hit]:
    lab = ev.lab
    for owner in chain_platforms(ev):
        vms = _running_vms(lab, owner)
        if not vms:
            continue
        cores, memory_gb = capacity(lab, owner)
        vcpus = sum(lab[vm].processor.count for vm in vms)
        memory = sum(lab[vm].memory.startup_gb for vm in vms)
        reasons = []
        if vcpus > cores:
            reasons.append(f"{vcpus} running vCPUs on {cores} logical processors")
        if memory > memory_gb:
            reasons.append(f"{gb_text(memory)} of running VM memory on {gb_text(memory_gb)}")
        if not reasons:
            continue
        if lab.kind(owner) == "host":
            items = [shown(ev, owner, WIN32_CPU, "NumberOfLogicalProcessors", cores),
                     shown(ev, owner, WIN32_CS, "TotalPhysicalMemory", gb_to_bytes(memory_gb))]
        else:
            items = [count_item(ev, owner), startup_item(ev, owner)]
        for vm in vms:
            items += [count_item(ev, vm), _assigned_item(ev, vm)]
        yield Hit(
            subject=owner,
            summary=f"{owner} is overcommitted: " + "; ".join(reasons),
            evidence=tuple(items),
            resolution=(Manual(f"Rebalance {owner}: lower vCPUs or memory of its VMs, or stop or move the ones that "
                               f"need not run ({', '.join(name_of(v) for v in vms)})"),),
            explains=PERFORMANCE_SYMPTOMS,
        )


def _assigned_item(ev: Evidence, vm: str):
    fact = ev.of(vm).memory_assigned
    return fact.item() if fact else shown(ev, vm, cmd("Get-VM", Name=name_of(vm)), "MemoryAssigned",
                                          gb_to_bytes(ev.lab[vm].memory.startup_gb))


@rule("dynamic-vhd", category="performance", severity="warning", reference=REFERENCE)
def dynamic_vhd(ev: Evidence) -> Iterator[Hit]:
    lab = ev.lab
    holds: dict[str, bool] = {}  # owner -> whether it holds a dynamic disk at all (most owners: no)
    for vm in intent.chain_vms(ev):
        owner = views.parent(lab, vm)
        if not (holds[owner] if owner in holds else holds.setdefault(owner, _holds_dynamic(lab, owner))):
            continue  # no chain of its VMs can hold one: their disks are its files (_holds_dynamic)
        for chain in disk_chains(lab, vm):
            for vhd in chain:
                record = lab[vhd]
                if record.type != "dynamic":
                    continue
                yield Hit(
                    subject=vhd,
                    summary=f"{record.path}, which backs {name_of(vm)}, a nested host or nested VM, is dynamically expanding",
                    evidence=(shown(ev, vhd, cmd("Get-VHD", Path=record.path), "VhdType", "Dynamic"),),
                    resolution=while_off(lab, vm, _to_fixed(vm, chain, vhd, lab)),
                    explains=PERFORMANCE_SYMPTOMS,
                )


def _holds_dynamic(lab: Lab, owner: str) -> bool:
    """Whether any VHD an owner holds is dynamically expanding. A VM's disks are files of the
    machine that runs it (`vhd_id(parent, path)`: the builder and the lab file link them so) and a
    differencing disk's parent resolves on the same machine (`Lab.relink`), so a VM whose parent
    holds no dynamic disk has none in any of its chains: its chains need not be walked."""
    return any(lab[vhd].type == "dynamic" for vhd in lab.owned(owner, "vhd"))


def fixed_path(path: str) -> str:
    """Where the fixed copy goes: NAME-fixed.EXT (a NAME-dynamic copy becomes NAME-fixed)."""
    p = PureWindowsPath(path)
    stem = p.stem.removesuffix("-dynamic")
    return str(p.with_name(f"{stem}-fixed{p.suffix}"))


def _to_fixed(vm: str, chain: Sequence[str], vhd: str, lab: Lab) -> list[Command | tuple[Command, ...]]:
    """Convert a dynamic disk and attach the result; a checkpoint parent gets its children merged in first."""
    path, attached, new = lab[vhd].path, lab[chain[0]].path, fixed_path(lab[vhd].path)
    if vhd != chain[0] and _shared(lab, chain, vhd):
        # A parent other differencing disks also build on (MSLab's ParentDisks, a golden image):
        # merging this VM's child into it would break every sibling ("other differencing VHDs that
        # are dependent on the parent will no longer be valid", learn.microsoft.com, merge vdisk).
        # Convert-VHD of the attached child writes a standalone fixed disk with the chain's content
        # instead (simulator.storage.convert), and the shared parent stays for the others.
        path, new = attached, fixed_path(attached)
        merge = []
    else:
        merge = [ps("Merge-VHD", Path=attached, DestinationPath=path)] if vhd != chain[0] else []
    return [
        *merge,
        ps("Convert-VHD", Path=path, DestinationPath=new, VHDType="Fixed"),
        (ps("Get-VMHardDiskDrive", VMName=name_of(vm)), ps("Where-Object", "Path", eq=attached),
         ps("Set-VMHardDiskDrive", Path=new)),
    ]


def _shared(lab: Lab, chain: Sequence[str], vhd: str) -> bool:
    """Whether another disk than this chain's own child has `vhd` as its parent (Get-VHD ParentPath)."""
    own = set(chain)
    owner = lab.owner(vhd)
    path = lab[vhd].path.lower()
    return any((lab[c].parent or "").lower() == path for c in lab.owned(owner, "vhd") if c not in own)


def _rotational(lab: Lab, owner: str) -> dict[str, Volume]:
    """Drive ("D:") -> the owner's first volume of that letter (what a disk's path is on), for the
    letters where that volume is rotational (HDD): the only drives slow-storage reports, and none
    on most owners, whose VMs' disks then need no look at all."""
    found: dict[str, Volume] = {}
    for v in lab.platform(owner).volumes:
        found.setdefault(v.drive.upper(), v)
    return {drive: v for drive, v in found.items() if v.media == "hdd"}


@rule("slow-storage", category="performance", severity="warning", reference=REFERENCE)
def slow_storage(ev: Evidence) -> Iterator[Hit]:
    """One warning per rotational volume, on its first disk (by path) of the nested chain; the
    other disks on it get an info note that points there (one cause, not one warning per file)."""
    lab = ev.lab
    # volume -> its disks, each with the first chain VM it backs (a dict, not a list searched per
    # disk: a host's nested VMs often share one volume, and that search grew with their square)
    on_volume: dict[tuple[str, str], dict[str, str]] = {}
    drives: dict[str, dict[str, Volume]] = {}  # owner -> its HDD volumes by drive, looked up per disk
    for vm in intent.chain_vms(ev):
        owner = views.parent(lab, vm)
        by_drive = drives[owner] if owner in drives else drives.setdefault(owner, _rotational(lab, owner))
        if not by_drive:  # no rotational volume there: none of its disks is on one
            continue
        for chain in disk_chains(lab, vm):
            for vhd in chain:
                volume = by_drive.get(lab[vhd].path[:2].upper())
                if volume is not None:
                    on_volume.setdefault((owner, volume.drive), {}).setdefault(vhd, vm)
    for (owner, drive), backed in on_volume.items():
        disks = sorted(backed.items(), key=lambda d: lab[d[0]].path.lower())
        first = disks[0][0]
        ssd = next((v for v in lab.platform(owner).volumes if v.media == "ssd"), None)
        for vhd, vm in disks:
            path = lab[vhd].path
            # the volume's one warning moves every chain VM on it (else the volume stays, reported
            # for the next disk); each info note names its own VM's move
            movers = list(dict.fromkeys(v for _, v in disks)) if vhd == first else [vm]
            fix = (on_platform(lab, owner, [ps("Move-VMStorage", VMName=name_of(v),
                                               DestinationStoragePath=_on_ssd(ssd.drive, v)) for v in movers])
                   if ssd else tuple(Manual(f"Move {name_of(v)}'s storage to an SSD volume on {owner} (Move-VMStorage)")
                                     for v in movers))
            others = [lab[d].path for d, _ in disks if d != vhd] if vhd == first else []  # the warning's alone
            yield Hit(
                subject=vhd,
                summary=f"{path} ({name_of(vm)}'s disk) is on rotational storage {drive}"
                        + (f" (with {', '.join(others)})" if others else "")
                        + ("" if vhd == first else f", the volume {lab[first].path} is reported for"),
                evidence=(shown(ev, owner, cmd("Get-PhysicalDisk"), "MediaType", "HDD", where={"MediaType": "HDD"}),
                          shown(ev, owner, cmd("Get-Volume", DriveLetter=drive[:1]), "DriveLetter", drive[:1],
                                probe="volumes", where={"DriveLetter": drive[:1]})),
                resolution=fix,
                explains=PERFORMANCE_SYMPTOMS,
                severity=None if vhd == first else "info",
            )


def _on_ssd(drive: str, vm: str) -> str:
    return str(PureWindowsPath(f"{drive}\\", "VMs", name_of(vm)))


@rule("bandwidth-limited", category="performance", severity="warning", reference=REFERENCE)
def bandwidth_limited(ev: Evidence) -> Iterator[Hit]:
    lab = ev.lab
    for vm in intent.chain_vms(ev):
        for adapter in lab.adapters(vm):
            mbps = lab[adapter].max_bandwidth_mbps
            if mbps <= 0:
                continue
            yield Hit(
                subject=adapter,
                summary=f"{name_of(vm)}'s adapter is capped at {mbps} Mbps by bandwidth management",
                evidence=(shown(ev, adapter, cmd("Get-VMNetworkAdapter", VMName=name_of(vm))
                                + " | Select-Object -ExpandProperty BandwidthSetting", "MaximumBandwidth", mbps * 1_000_000),),
                resolution=on_parent(vm, ps("Set-VMNetworkAdapter", **adapter_selector(lab, adapter), MaximumBandwidth=0)),
                explains=PERFORMANCE_SYMPTOMS,
            )


@rule("noisy-neighbor", category="performance", severity="warning", reference=REFERENCE)
def noisy_neighbor(ev: Evidence) -> Iterator[Hit]:
    lab = ev.lab
    for owner in platforms(lab):
        vms = _running_vms(lab, owner)
        heavy = [vm for vm in vms if lab[vm].workload == "heavy"]
        if not heavy:  # no heavy VM, no neighbour to suffer from it (most platforms)
            continue
        noisy = set(heavy)  # not the list: asked of each VM, on a host of many VMs and many heavy ones
        victims = [vm for vm in vms if vm not in noisy and intent.in_chain(ev, vm)]
        if not victims:
            continue
        yield Hit(
            subject=owner,
            summary=f"{', '.join(name_of(v) for v in heavy)} on {owner} run resource-intensive work beside "
                    f"{', '.join(name_of(v) for v in victims)}",
            evidence=tuple(cpu_usage_item(ev, vm) for vm in heavy),
            resolution=on_platform(lab, owner, [ps("Stop-VM", Name=name_of(vm)) for vm in heavy]),
            explains=PERFORMANCE_SYMPTOMS,
        )
    yield from _memory_held_by_neighbours(ev)


OUT_OF_MEMORY = "vm-start-out-of-memory"  # diagnosis.triage: Start-VM found no free host memory


def _assigned_gb(ev: Evidence, vm: str) -> float:
    fact = ev.of(vm).memory_assigned
    return fact.value / GB if fact and isinstance(fact.value, (int, float)) and fact.value else ev.lab[vm].memory.startup_gb


def _memory_held_by_neighbours(ev: Evidence) -> Iterator[Hit]:
    """A VM that could not start for lack of free memory (a seen error names it, MSLab #300) while
    other VMs on its owner hold memory: the neighbours are the cause, an error (something fails,
    shown by the error text), fixed by stopping the largest of them until the VM fits, then
    starting it. The lab shows no free-memory figure (the host's own programs hold some too: the
    reporter's Outlook), so the seen error is what says memory ran out; once the VM runs, the old
    text proves nothing any more."""
    lab = ev.lab
    for observed in ev.stated.symptoms:
        if OUT_OF_MEMORY not in observed.symptoms or observed.node not in lab:
            continue
        owner = observed.node if lab.kind(observed.node) == "host" else lab.parent(observed.node)
        stopped = [vm for vm in lab.vms(owner) if not running(lab, vm)]
        failed = next((vm for vm in stopped if f"'{name_of(vm)}'" in observed.text or vm == observed.node), None)
        neighbours = sorted(_running_vms(lab, owner), key=lambda vm: (intent.in_chain(ev, vm), -_assigned_gb(ev, vm)))
        if failed is None or not neighbours:
            continue
        need, freed, stop = lab[failed].memory.startup_gb, 0.0, []
        for vm in neighbours:
            if freed >= need:
                break
            stop.append(vm)
            freed += _assigned_gb(ev, vm)
        yield Hit(
            subject=owner,
            summary=f"{name_of(failed)} cannot start on {owner}: there is no free memory for its "
                    f"{gb_text(need)}, held by {', '.join(f'{name_of(v)} ({gb_text(_assigned_gb(ev, v))})' for v in neighbours)}",
            evidence=(observed.item(), shown(ev, failed, get_vm(failed), "State", lab[failed].state, probe="vms"),
                      startup_item(ev, failed),
                      *(_assigned_item(ev, vm) for vm in neighbours)),
            resolution=on_platform(lab, owner, [*(ps("Stop-VM", Name=name_of(vm)) for vm in stop),
                                                ps("Start-VM", Name=name_of(failed))]),
            explains=(OUT_OF_MEMORY, "vm-start-fails"),
            severity="error",
        )


RULES = (under_provisioned, host_memory_low, host_overcommitted, dynamic_vhd, slow_storage, bandwidth_limited, noisy_neighbor)
