"""One simple, documented model of how responsive a nested Hyper-V host is.

Score = 100 minus the cost of each factor that applies (floor 0). Costs follow the guide's
"Performance degradation" section (≥ 2 vCPUs, ≥ 4 recommended for heavy work; ≥ 4 GB guest and
≥ 8 GB host; fixed VHDs; SSD storage; no bandwidth caps; current integration services; no
overcommit or noisy neighbours). The numbers are a ranking device, not a measurement: they order
the factors so `Measure-NestedPerformance` can name the ones that cost most.
"""

from __future__ import annotations

from dataclasses import dataclass

from nestlab.simulator import behaviour
from nestlab.simulator.model import VM, Host, Lab


@dataclass(frozen=True)
class Factor:
    name: str
    cost: int
    detail: str

    def __str__(self) -> str:
        return f"{self.name} (-{self.cost}): {self.detail}"


@dataclass(frozen=True)
class Score:
    vm: str
    score: int
    factors: tuple[Factor, ...]  # most costly first

    @property
    def rating(self) -> str:
        return "Good" if self.score >= 80 else "Degraded" if self.score >= 50 else "Poor"


def measure(lab: Lab, vm: str) -> Score:
    factors = [f for f in _factors(lab, vm) if f.cost > 0]
    factors.sort(key=lambda f: -f.cost)
    return Score(vm, max(0, 100 - sum(f.cost for f in factors)), tuple(factors))


def _factors(lab: Lab, vm: str):
    record: VM = lab[vm]
    parent = lab.parent(vm)
    count = record.processor.count
    if count < 2:
        yield Factor("vcpu", 30, f"{count} vCPU; nested hosts need at least 2")
    elif count < 4 and record.workload == "heavy":
        yield Factor("vcpu", 20, f"{count} vCPUs for heavy work; 4 or more recommended")
    memory = record.memory.startup_gb
    if memory < 4:
        yield Factor("memory", 25, f"{memory:g} GB startup memory; nested hosts need at least 4 GB")
    nested = sum(lab[v].memory.startup_gb for v in lab.vms(vm) if behaviour.is_running(lab, v))
    if nested > memory - 2:
        yield Factor("memory", 25, f"nested VMs use {nested:g} GB of {memory:g} GB (2 GB kept for the OS)")
    if record.memory.dynamic:
        yield Factor("dynamic-memory", 10, "dynamic memory does not fluctuate on a nested host")
    yield from _host_factors(lab, vm, parent)
    yield from _disk_factors(lab, vm, parent)
    for adapter in lab.adapters(vm):
        cap = lab[adapter].max_bandwidth_mbps
        if 0 < cap < 1000:
            yield Factor("bandwidth-cap", 10, f"adapter '{lab[adapter].name}' capped at {cap} Mbps")
    if not record.guest.integration_services_current or not lab.platform(parent).integration_services_current:
        yield Factor("integration-services", 10, "integration services or the OS are out of date")


def _host_factors(lab: Lab, vm: str, parent: str):
    record = lab[parent]
    cores = record.cpu.cores if isinstance(record, Host) else record.processor.count
    memory = record.memory_gb if isinstance(record, Host) else record.memory.startup_gb
    if isinstance(record, Host) and memory < 8:
        yield Factor("host-memory", 20, f"host {record.name} has {memory:g} GB; 8 GB or more recommended")
    running = [v for v in lab.vms(parent) if behaviour.is_running(lab, v)]
    vcpus = sum(lab[v].processor.count for v in running)
    ram = sum(lab[v].memory.startup_gb for v in running)
    if vcpus > cores:
        yield Factor("overcommit-cpu", 20, f"{vcpus} vCPUs run on {cores} logical processors of {record.name}")
    if ram > memory:
        yield Factor("overcommit-memory", 25, f"{ram:g} GB of VMs run on {memory:g} GB of {record.name}")
    heavy = [lab[v].name for v in running if v != vm and lab[v].workload == "heavy"]
    if heavy:
        yield Factor("noisy-neighbour", min(25, 10 * len(heavy)), f"heavy VMs beside it: {', '.join(heavy)}")


def _disk_factors(lab: Lab, vm: str, parent: str):
    platform = lab.platform(parent)
    for disk in lab.disks(vm):
        if disk not in lab:
            continue
        vhd = lab[disk]
        if vhd.type == "dynamic":
            yield Factor("vhd-type", 10, f"{vhd.path} is dynamically expanding; fixed is faster")
        drive = vhd.path[:2].upper()
        volume = next((v for v in platform.volumes if v.drive.upper() == drive), None)
        if volume is not None and volume.media == "hdd":
            yield Factor("storage-media", 20, f"{vhd.path} is on a rotational disk ({drive})")
