"""Realistic random labs: what a support engineer's customers run, invented on demand.

The generator exists so that the diagnosis, the fault catalog and the bench can be exercised on
labs nobody wrote by hand. Its labs must be *believable* (site/role host names such as
``SEA-HV03``, one LAN per site with its gateway, Hyper-V MACs, folders Hyper-V really uses, Azure
sizes that really nest) and *healthy*: a generated lab is a lab where nothing in
``spec/root-causes.md`` is true, so that any finding on it comes from an injected fault.

Healthy means, for every VM that hosts nested VMs: Generation 2, virtualization extensions
exposed, >= 4 vCPUs (heavy or not), >= 4 GB static memory, its nested VMs' startup memory
<= its own less 2 GB, the running nested VMs' vCPUs <= its own, a fixed VHD on SSD, MAC spoofing on
when it bridges, one NAT whose prefix holds its Internal switch. For every host: running VMs'
vCPUs <= cores, all VMs' memory <= host memory less 4 GB, >= 8 GB RAM, Windows Server 2019+
(2022+ on AMD). Every service behind a NAT is forwarded at each NAT on its way out, with a
firewall rule allowing the forwarded port. Every VM runs light work on fixed disks with >= 4 GB, so
the performance model finds nothing to blame (heavy work and dynamic disks are what faults add).

Everything random comes from one ``random.Random`` and one seeded ``Faker`` instance built from
the arguments, so the same arguments give a byte-identical file (``simulator.labfile.dumps``).
The lab is written as lab-file data and built with ``simulator.labfile.lab_from_data``: the
file's mapping stays the single way into a ``Lab``.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field
from typing import Any, Iterator

from faker import Faker

from nestlab.simulator.errors import BadInput
from nestlab.simulator.labfile import lab_from_data
from nestlab.simulator.model import Lab

# ----------------------------------------------------------------------------------------------
# Catalogs (sources in comments)
# ----------------------------------------------------------------------------------------------

SITES = ("SEA", "AMS", "FRA", "LON", "NYC", "DUB", "SYD", "TYO", "SIN", "CHI", "DAL", "PAR", "MAD", "OSL")
AZURE_REGIONS = ("WEU", "NEU", "EUS", "EUS2", "WUS2", "SCUS", "UKS", "SEA")  # westeurope, northeurope, …

# (caption, build, highest VM configuration version the OS creates by default).
# Builds: WS2019 17763, WS2022 20348, WS2025 26100; versions per "Supported virtual machine
# configuration versions" (learn.microsoft.com, hyper-v/deploy/upgrade-virtual-machine-version).
WS2012R2 = ("Microsoft Windows Server 2012 R2 Datacenter", 9600, "5.0")
WS2016 = ("Microsoft Windows Server 2016 Datacenter", 14393, "8.0")
WS2019 = ("Microsoft Windows Server 2019 Datacenter", 17763, "9.0")
WS2022 = ("Microsoft Windows Server 2022 Datacenter", 20348, "10.0")
WS2025 = ("Microsoft Windows Server 2025 Datacenter", 26100, "12.0")
WS2022_AZURE = ("Microsoft Windows Server 2022 Datacenter Azure Edition", 20348, "10.0")
WS2025_AZURE = ("Microsoft Windows Server 2025 Datacenter Azure Edition", 26100, "12.0")
WIN11 = ("Microsoft Windows 11 Enterprise", 22631, "11.0")
# AMD nesting needs a Windows Server 2022+ host and VM version 9.3+ (notes.md §1.1): nested hosts
# and AMD hosts therefore run 2022 or later; Intel hosts may still run 2019.
NESTING_OSES = (WS2022, WS2025)
INTEL_HOST_OSES = (WS2019, WS2022, WS2022, WS2025)
LEAF_OSES = (WS2019, WS2022, WS2025, WIN11)
# The realistic world is older too: Server 2016 is still a common Hyper-V host (the first build that
# nests, and the one where VBS on the host blocks it: simulator/behaviour.py), and a real server's
# ordinary VMs include 2012 R2 and 2016 guests (no runtime memory resize before 2016).
REALISTIC_INTEL_HOST_OSES = (*INTEL_HOST_OSES, WS2016)
ORDINARY_OSES = (WS2012R2, WS2016, WS2019, WS2022, WS2025)

INTEL_MODELS = (
    "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
    "Intel(R) Xeon(R) Gold 6430 CPU @ 2.10GHz",
    "Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz",
    "Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz",
)
AMD_MODELS = ("AMD EPYC 7763 64-Core Processor", "AMD EPYC 9354 32-Core Processor", "AMD EPYC 7543 32-Core Processor")
PHYSICAL_CORES = (16, 24, 32, 48, 64, 96, 128, 192, 256)
PHYSICAL_MEMORY_GB = (64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288, 16384, 24576)


@dataclass(frozen=True)
class AzureSize:
    name: str
    cores: int
    memory_gb: int
    cpu_model: str


# Sizes whose Azure page says "Nested Virtualization: Supported" (notes.md §1.7: Dv3/Dsv3, Dv5/Dsv5,
# Ddsv5, Ev3/Esv3, Esv5 …). The CPU models are those Azure reports for these families.
_CASCADE = "Intel(R) Xeon(R) Platinum 8272CL CPU @ 2.60GHz"
_ICE_LAKE = "Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz"
AZURE_NESTED_SIZES = (
    AzureSize("Standard_D4s_v3", 4, 16, _CASCADE),
    AzureSize("Standard_D8s_v3", 8, 32, _CASCADE),
    AzureSize("Standard_D16s_v3", 16, 64, _CASCADE),
    AzureSize("Standard_E8s_v3", 8, 64, _CASCADE),
    AzureSize("Standard_D8s_v5", 8, 32, _ICE_LAKE),
    AzureSize("Standard_D8ds_v5", 8, 32, _ICE_LAKE),
    AzureSize("Standard_D16s_v5", 16, 64, _ICE_LAKE),
    AzureSize("Standard_E16s_v5", 16, 128, _ICE_LAKE),
    AzureSize("Standard_D32s_v5", 32, 128, _ICE_LAKE),
    AzureSize("Standard_E32s_v5", 32, 256, _ICE_LAKE),
    AzureSize("Standard_E64s_v5", 64, 512, _ICE_LAKE),
)
# Sizes that do NOT nest (notes.md §1.7: A/Av2, B-series, Dv2, AMD Dav4/Dasv4/Eav4, DCsv2). A
# healthy lab never uses them; the fault catalog may (an Azure host on one of these cannot nest).
AZURE_NON_NESTED_SIZES = (
    AzureSize("Standard_B2s", 2, 4, _CASCADE),
    AzureSize("Standard_B4ms", 4, 16, _CASCADE),
    AzureSize("Standard_A2_v2", 2, 4, "Intel(R) Xeon(R) CPU E5-2673 v4 @ 2.30GHz"),
    AzureSize("Standard_A4_v2", 4, 8, "Intel(R) Xeon(R) CPU E5-2673 v4 @ 2.30GHz"),
    AzureSize("Standard_DS2_v2", 2, 7, "Intel(R) Xeon(R) CPU E5-2673 v4 @ 2.30GHz"),
    AzureSize("Standard_D2as_v4", 2, 8, "AMD EPYC 7452 32-Core Processor"),
    AzureSize("Standard_D4as_v4", 4, 16, "AMD EPYC 7452 32-Core Processor"),
    AzureSize("Standard_E4as_v4", 4, 32, "AMD EPYC 7452 32-Core Processor"),
    AzureSize("Standard_DC2s_v2", 2, 8, "Intel(R) Xeon(R) E-2288G CPU @ 3.70GHz"),
)
AZURE_NESTED_SIZE_NAMES = frozenset(s.name for s in AZURE_NESTED_SIZES)
AZURE_NON_NESTED_SIZE_NAMES = frozenset(s.name for s in AZURE_NON_NESTED_SIZES)


@dataclass(frozen=True)
class Role:
    """What a leaf VM does, and what listens inside it."""

    prefix: str
    services: tuple[tuple[int, str], ...]


ROLES = (
    Role("WEB", ((80, "TCP"), (443, "TCP"))),
    Role("SQL", ((1433, "TCP"),)),
    Role("APP", ((8080, "TCP"),)),
    Role("FS", ((445, "TCP"),)),
    Role("RDS", ((3389, "TCP"),)),
    Role("BUILD", ()),
    Role("DC", ((53, "UDP"), (389, "TCP"))),
)
# netsh portproxy forwards TCP only, so a VM behind NAT gets a role whose services are all TCP.
NAT_ROLES = tuple(r for r in ROLES if all(proto == "TCP" for _, proto in r.services))

LEAF_VCPUS = (2, 2, 2, 4)
LEAF_MEMORY_GB = (4, 4, 6, 8)  # >= 4: the performance model reads less as a starved VM
LEAF_DISK_GB = (40, 60, 80, 127)
NESTED_BASE_VCPUS = (4, 4, 8)
MAX_NESTED_VCPUS = 64
HOST_RESERVE_GB = 4  # conservative: a host keeps 4 GB for itself
NESTED_RESERVE_GB = 2  # under-provisioned rule: nested VMs' memory <= own - 2 GB
LARGE_SUBNET_AT = 200  # more addresses than this on a NAT: a /20 instead of a /24

MAX_HOSTS = 10_000
MAX_DEPTH = 32
MAX_VMS_PER_HOST = 4_096
MAX_FAULTS = 64
MAX_TOTAL_VMS = 200_000  # the site LANs (/16 each) must hold every bridged VM


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerateArgs:
    """The arguments of one generated lab; equal arguments give byte-identical lab files."""

    seed: int = 0
    hosts: int = 1
    depth: int = 2
    vms_per_host: int | None = None
    name: str | None = None
    world: str = "minimal"  # "realistic": ordinary VMs beside the nested chain, every OS with its background


WORLDS = ("realistic", "minimal")


def generate(
    *, seed: int = 0, hosts: int = 1, depth: int = 2, vms_per_host: int | None = None, name: str | None = None,
    world: str = "minimal",
) -> Lab:
    """A healthy random lab: `hosts` hosts, each running a chain of nested Hyper-V hosts `depth` deep.

    depth 1 = plain VMs on each host; depth N = a VM hosting a VM hosting … N levels of VMs.
    `vms_per_host` counts every VM under a host at any depth (so it must be >= depth); None = a
    small random number.
    """
    args = checked_args(GenerateArgs(seed=seed, hosts=hosts, depth=depth, vms_per_host=vms_per_host, name=name,
                                     world=world))
    return lab_from_data(_LabWriter(args).data())


def generate_with_faults(*, faults: int, **kw: Any) -> tuple[Lab, list[tuple[str, str]]]:
    """A generated lab with `faults` compatible faults injected, and the ground truth.

    The ground truth is a list of (root_cause, subject); it never goes into the lab file. Faults
    come from the fault catalog (`simulator.faults.inject_random`), fed a random stream of their
    own so that the lab itself does not depend on `faults`.
    """
    if isinstance(faults, bool) or not isinstance(faults, int):
        raise BadInput(f"--faults: must be an integer (got {faults!r})")
    if not 0 <= faults <= MAX_FAULTS:
        raise BadInput(f"--faults: must be between 0 and {MAX_FAULTS} (got {faults})")
    lab = generate(**kw)
    if faults == 0:
        return lab, []
    inject_random = _fault_injector()
    seed = kw.get("seed", 0)
    injected = inject_random(lab, faults, random.Random(f"nestlab-faults:{seed}"))
    return lab, [(str(root_cause), str(subject)) for root_cause, subject in injected]


def checked_args(args: GenerateArgs) -> GenerateArgs:
    """Reject arguments that cannot make a lab, with one line saying which and why."""
    _check_int("--seed", args.seed, 0, 2**63 - 1)
    _check_int("--hosts", args.hosts, 1, MAX_HOSTS)
    _check_int("--depth", args.depth, 1, MAX_DEPTH)
    if args.vms_per_host is not None:
        _check_int("--vms", args.vms_per_host, 1, MAX_VMS_PER_HOST)
        if args.vms_per_host < args.depth:
            raise BadInput(
                f"--vms: a chain {args.depth} levels deep needs at least {args.depth} VMs per host "
                f"(got {args.vms_per_host})"
            )
        if args.hosts * args.vms_per_host > MAX_TOTAL_VMS:
            raise BadInput(
                f"--hosts x --vms: at most {MAX_TOTAL_VMS} VMs in one lab (got {args.hosts * args.vms_per_host})"
            )
    if args.world not in WORLDS:
        raise BadInput(f"--world: must be one of {', '.join(WORLDS)} (got {args.world!r})")
    if args.name is not None and (not isinstance(args.name, str) or not args.name.strip()):
        raise BadInput(f"--name: must be a non-empty string (got {args.name!r})")
    return args


def _check_int(option: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"{option}: must be an integer (got {value!r})")
    if not low <= value <= high:
        raise BadInput(f"{option}: must be between {low} and {high} (got {value})")


def _fault_injector():
    """The catalog's `inject_random(lab, k, rng)`, or a clear refusal when it is not there."""
    try:
        import nestlab.simulator.faults as catalog
    except ImportError as exc:  # pragma: no cover - the package exists in the skeleton
        raise BadInput(f"--faults: the fault catalog cannot be imported ({exc}); only --faults 0 works") from None
    inject_random = getattr(catalog, "inject_random", None)
    if inject_random is None:
        raise BadInput(
            "--faults: the fault catalog (simulator.faults.inject_random) is not available yet; only --faults 0 works"
        )
    return inject_random


# ----------------------------------------------------------------------------------------------
# Address pools
# ----------------------------------------------------------------------------------------------


class _Addresses:
    """Hands out the host addresses of one subnet in order, so each IP is used once per network."""

    def __init__(self, network: str, first: int) -> None:
        self.net = ipaddress.ip_network(network)
        self._hosts: Iterator[ipaddress.IPv4Address] = self.net.hosts()
        for _ in range(first - 1):
            next(self._hosts)

    def next(self) -> str:
        try:
            return f"{next(self._hosts)}/{self.net.prefixlen}"
        except StopIteration:  # pragma: no cover - subnets are sized from the VM counts
            raise AssertionError(f"generator bug: subnet {self.net} exhausted") from None


class _NatSubnets:
    """Internal NAT prefixes of one host's tree: unique, so no two NATs on a chain overlap."""

    def __init__(self, rng: random.Random) -> None:
        self._small = rng.sample(range(1, 255), 254)  # 192.168.X.0/24
        self._large = iter(range(256))  # 172.16.0.0/12 in /20 steps

    def take(self, addresses_needed: int) -> str:
        if addresses_needed <= LARGE_SUBNET_AT:
            return f"192.168.{self._small.pop()}.0/24"
        j = next(self._large)
        return f"172.{16 + j // 16}.{(j % 16) * 16}.0/20"


# ----------------------------------------------------------------------------------------------
# The writer: lab-file data, top-down for names and addresses, bottom-up for sizes
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _HostPlan:
    name: str  # SITE-ROLEnn
    site: str  # a site code or an Azure region code
    octet: int  # the site LAN / VNet is 10.<octet>.0.0/16
    role: str  # HV (standalone), HVC (cluster node, disks on CSV), AZHV (Azure VM)
    vms: int  # VMs under the host at every depth


@dataclass
class _Owner:
    """A host or a nested Hyper-V host while its part of the lab is being written."""

    data: dict  # the host's data, or the VM's `guest` data
    os_build: tuple[str, int, str]
    outward_ip: str  # how the level above reaches it
    parent: "_Owner | None"  # set when its outward address is behind the parent's NAT
    vhd_folder: str  # where its VMs' disks live
    lan: _Addresses | None = None  # set when its External switch bridges onto a LAN
    external_switch: str | None = None
    nat_switch: str | None = None
    nat_pool: _Addresses | None = None
    next_port: int = 8080
    names: dict[str, int] = field(default_factory=dict)


class _LabWriter:
    def __init__(self, args: GenerateArgs) -> None:
        self.args = args
        self.rng = random.Random(f"nestlab-generate:{args.seed}")
        self.fake = Faker("en_US")
        self.fake.seed_instance(args.seed)
        self.macs: set[str] = set()
        self.lans: dict[str, _Addresses] = {}

    def data(self) -> dict:
        company = self.fake.company()
        name = self.args.name or f"{_slug(company)}-repro-{self.rng.randint(1000, 99999)}"
        hosts = [self._host(plan) for plan in self._host_plans()]
        return {
            "lab": name,
            "description": f"{company} ({self.fake.catch_phrase().lower()}): "
            f"{self.args.hosts} host(s), nested {self.args.depth} deep",
            "hosts": hosts,
        }

    # -- hosts ---------------------------------------------------------------------------------

    def _host_plans(self) -> list[_HostPlan]:
        """Where each host stands and what it is: names like SEA-HV03, AMS-HVC12, WEU-AZHV01."""
        site_count = min(len(SITES), 1 + (self.args.hosts - 1) // 4)
        sites = self.rng.sample(SITES, site_count)
        octets = self.rng.sample(range(10, 250), site_count + len(AZURE_REGIONS))
        counters: dict[str, int] = {}
        plans = []
        for i in range(self.args.hosts):
            vms = self.args.vms_per_host or self.rng.randint(self.args.depth, self.args.depth + 4)
            if vms <= 16 and self.args.depth <= 8 and self.rng.random() < 0.25:
                region = self.rng.randrange(len(AZURE_REGIONS))
                site, role, octet = AZURE_REGIONS[region], "AZHV", octets[site_count + region]
            else:
                k = i % site_count
                site, role, octet = sites[k], self.rng.choice(("HV", "HV", "HVC")), octets[k]
            key = f"{site}-{role}"
            counters[key] = counters.get(key, self.rng.randint(0, 9)) + 1
            plans.append(_HostPlan(f"{key}{counters[key]:02d}", site, octet, role, vms))
        return plans

    def _host(self, plan: _HostPlan) -> dict:
        name, site, octet, role, vms = plan.name, plan.site, plan.octet, plan.role, plan.vms
        azure = role == "AZHV"
        if azure:
            vendor, os_build = "Intel", self.rng.choice((WS2022_AZURE, WS2025_AZURE))
            network, nic = f"azure-vnet-{site.lower()}", "Ethernet"
            lan_cidr = f"10.{octet}.0.0/16"
            folder = r"F:\Hyper-V\Virtual Hard Disks"
        else:
            vendor = self.rng.choice(("Intel", "Intel", "AMD"))
            intel = REALISTIC_INTEL_HOST_OSES if self.args.world == "realistic" else INTEL_HOST_OSES
            os_build = self.rng.choice(NESTING_OSES if vendor == "AMD" else intel)
            network, nic = f"{site.lower()}-lan", self.rng.choice(("Ethernet0", "Ethernet 2", "SLOT 3 Port 1"))
            lan_cidr = f"10.{octet}.0.0/16"
            folder = (r"C:\ClusterStorage\Volume1" if role == "HVC" else r"D:\Hyper-V\Virtual Hard Disks")
        lan = ipaddress.ip_network(lan_cidr)
        pool = self._lan(lan_cidr, first=4 if azure else 11)
        nic_ip = pool.next()
        data: dict[str, Any] = {"name": name, "kind": "azure-vm" if azure else "physical"}
        data["os"] = {"caption": os_build[0], "build": os_build[1]}
        data["networks"] = [{"adapter": nic, "network": network, "ip": nic_ip, "gateway": str(lan.network_address + 1)}]
        owner = _Owner(data=data, os_build=os_build, outward_ip=nic_ip.split("/")[0], parent=None, vhd_folder=folder)
        subnets = _NatSubnets(self.rng)
        if azure:  # no MAC spoofing in a public cloud: NAT (notes.md §1.2, §1.7)
            self._add_nat(owner, subnets, vms)
        else:
            owner.external_switch = self.rng.choice(("External", "vSwitch-External", "LAN"))
            data["switches"] = [{"name": owner.external_switch, "type": "External", "adapter": nic}]
            owner.lan = pool
        self._fill(owner, subnets, level=1, vms=vms)
        if self.args.world == "realistic" and not azure:
            self._ordinary_vms(owner)
        running_vcpus, memory_gb = _load(data["vms"])
        self._size_host(data, vendor, azure, running_vcpus, memory_gb)
        data["volumes"] = self._volumes(data, system_gb=480 if not azure else 127)
        for volume in data["volumes"]:
            if volume["drive"] == ORDINARY_DATA_DRIVE:  # the file servers' data disks: a big HDD volume
                volume["media"] = "hdd"
        if self.args.world == "realistic":
            _realistic_background(data)
        return _ordered(data, HOST_KEYS)

    # -- the ordinary VMs of a real Hyper-V server (world "realistic") --------------------------------

    def _ordinary_vms(self, owner: _Owner) -> None:
        """A domain controller, a file server with a private backup network and an HDD data disk, a
        dynamic-memory app server with checkpoints, and Linux VMs that are Off or Saved."""
        backup = {"name": "Backup", "type": "Private"}
        owner.data.setdefault("switches", []).append(backup)
        backup_net = _Addresses(f"10.250.{self.rng.randint(0, 255)}.0/24", 10)
        for role, prefix in ORDINARY_ROLES:
            name = self._name(owner, prefix)
            adapter, _ip, _ = self._adapter(owner, True, mac_spoofing=False)
            vm: dict[str, Any] = {
                "name": name, "generation": 1 if role == "linux-legacy" else 2, "version": owner.os_build[2],
                "state": "Running", "processor": {"count": self.rng.choice((2, 4))},
                "memory": {"startup_gb": self.rng.choice((4, 8))}, "adapters": [adapter],
                "disks": [self._leaf_disk(owner, name)],
            }
            os_build = self.rng.choice(ORDINARY_OSES)
            vm["guest"] = {"os": {"caption": os_build[0], "build": os_build[1], "background": "realistic"}}
            if role == "dc":
                vm["services"] = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"},
                                  {"port": 88, "protocol": "TCP"}, {"port": 389, "protocol": "TCP"},
                                  {"port": 636, "protocol": "TCP"}, {"port": 3268, "protocol": "TCP"}]
            elif role == "fs":
                vm["adapters"].append({"name": "Backup", "switch": "Backup", "ip": backup_net.next(), "mac": self._mac()})
                data_path = f"{ORDINARY_DATA_DRIVE}\\Data\\{name}-data.vhdx"
                owner.data["vhds"].append({"path": data_path, "type": "dynamic", "size_gb": 500})
                vm["disks"].append(data_path)
                vm["services"] = [{"port": 445, "protocol": "TCP"}]
            elif role == "app":
                vm["memory"] = {"startup_gb": 4, "dynamic": True}
            else:  # Linux: PowerShell Direct cannot enter it, so it is kept Off or Saved here
                vm["state"] = self.rng.choice(("Off", "Saved"))
                vm["guest"] = {"os": {"caption": "Ubuntu 22.04.4 LTS", "build": 0}}
            owner.data["vms"].append(vm)

    def _size_host(self, data: dict, vendor: str, azure: bool, running_vcpus: int, memory_gb: float) -> None:
        """Cores and memory that hold every VM (demoting surplus plain VMs to Off if cores run out)."""
        need_mem = memory_gb + HOST_RESERVE_GB
        if azure:
            fits = [s for s in AZURE_NESTED_SIZES if s.memory_gb >= need_mem and s.cores >= _chain_vcpus(data["vms"])]
            if not fits:  # pragma: no cover - Azure is chosen only for small trees
                raise AssertionError("generator bug: no nested-capable Azure size fits")
            size = self.rng.choice(fits[:4])
            data.update(azure_size=size.name, cpu={"vendor": "Intel", "model": size.cpu_model, "cores": size.cores})
            data["memory_gb"] = size.memory_gb
            _demote_until(data["vms"], size.cores)
            return
        cores = self.rng.choice(PHYSICAL_CORES[:6])
        if running_vcpus > cores:
            cores = next((c for c in PHYSICAL_CORES if c >= running_vcpus), PHYSICAL_CORES[-1])
        _demote_until(data["vms"], cores)
        model = self.rng.choice(AMD_MODELS if vendor == "AMD" else INTEL_MODELS)
        data["cpu"] = {"vendor": vendor, "model": model, "cores": cores}
        fitting = [m for m in PHYSICAL_MEMORY_GB if m >= need_mem]
        data["memory_gb"] = self.rng.choice(fitting[:2]) if fitting else _round_up(need_mem, 1024)

    def _lan(self, cidr: str, first: int) -> _Addresses:
        """One address pool per site LAN / Azure VNet, shared by its hosts and bridged VMs."""
        if cidr not in self.lans:
            self.lans[cidr] = _Addresses(cidr, first)
        return self.lans[cidr]

    # -- owners (a host, or the guest of a nested Hyper-V host) -----------------------------------

    def _add_nat(self, owner: _Owner, subnets: _NatSubnets, addresses: int) -> None:
        prefix = ipaddress.ip_network(subnets.take(addresses))
        switch = self.rng.choice(("NestedNAT", "VmNAT", "NATSwitch", "InternalNAT"))
        owner.nat_switch = switch
        owner.nat_pool = _Addresses(str(prefix), 10)
        owner.data.setdefault("switches", []).append(
            {"name": switch, "type": "Internal", "host_ip": f"{prefix.network_address + 1}/{prefix.prefixlen}"}
        )
        owner.data["nat"] = [{"name": self.rng.choice(("LocalNAT", "NestedNAT", "WinNAT")), "internal_prefix": str(prefix)}]

    def _fill(self, owner: _Owner, subnets: _NatSubnets, level: int, vms: int) -> None:
        """Write the `vms` VMs at and below `level` of an owner: first the next nested host, if any."""
        owner.data["vhds"] = []
        owner.data["vms"] = []
        here = vms
        if level < self.args.depth:
            here = self._leaves_here(vms, level)
            owner.data["vms"].append(self._nested_host(owner, subnets, level, vms - here - 1))
        for _ in range(here):
            owner.data["vms"].append(self._leaf(owner))

    def _leaves_here(self, vms: int, level: int) -> int:
        """How many plain VMs sit at this level when a chain continues below (the rest go deeper)."""
        below_min = self.args.depth - level  # the nested host's own chain needs this many VMs
        spare = vms - 1 - below_min
        return self.rng.randint(0, spare) if spare > 0 else 0

    def _nested_host(self, owner: _Owner, subnets: _NatSubnets, level: int, below: int) -> dict:
        name = self._name(owner, f"L{level}-NHV")
        os_build = self.rng.choice(NESTING_OSES)
        bridged = self._bridges(owner)
        adapter, outward, behind = self._adapter(owner, bridged, mac_spoofing=True)
        guest: dict[str, Any] = {"os": {"caption": os_build[0], "build": os_build[1]}, "hyperv_installed": True}
        inner = _Owner(
            data=guest,
            os_build=os_build,
            outward_ip=outward,
            parent=owner if behind else None,
            vhd_folder=r"C:\Hyper-V\Virtual Hard Disks",
        )
        mode = self.rng.choice(("nat", "bridged", "both")) if bridged else "nat"
        if mode in ("bridged", "both"):
            inner.external_switch = self.rng.choice(("NestedExternal", "External"))
            inner.lan = owner.lan
            guest["switches"] = [{"name": inner.external_switch, "type": "External", "adapter": adapter["name"]}]
        if mode in ("nat", "both"):
            self._add_nat(inner, subnets, below + 1)
        self._fill(inner, subnets, level + 1, below)
        vm: dict[str, Any] = {
            "name": name,
            "generation": 2,
            "version": owner.os_build[2],
            "state": "Running",
            "processor": {},
            "memory": {},
            "adapters": [adapter],
        }
        self._size_nested_host(vm, guest)
        guest["volumes"] = self._volumes(guest, system_gb=60)
        disk_gb = guest["volumes"][0]["size_gb"]
        vm["disks"] = [self._vhd(owner, name, disk_gb, "fixed")]
        vm["guest"] = _ordered(guest, GUEST_KEYS)
        return vm

    def _size_nested_host(self, vm: dict, guest: dict) -> None:
        """vCPUs for its running nested VMs (>= 4), memory for all of them plus 2 GB, static."""
        running, memory = _load(guest["vms"])
        count = max(self.rng.choice(NESTED_BASE_VCPUS), running)
        if count > MAX_NESTED_VCPUS:
            count = MAX_NESTED_VCPUS
            _demote_until(guest["vms"], count)
        vm["processor"] = {"count": count, "expose_virtualization_extensions": True}
        startup = max(4, memory + NESTED_RESERVE_GB + self.rng.choice((0, 2, 4)))
        vm["memory"] = {"startup_gb": startup, "dynamic": False}

    def _leaf(self, owner: _Owner) -> dict:
        bridged = self._bridges(owner)
        role = self.rng.choice(ROLES if bridged else NAT_ROLES)
        name = self._name(owner, role.prefix)
        adapter, ip, _ = self._adapter(owner, bridged, mac_spoofing=False)
        os_build = self.rng.choice(LEAF_OSES)
        vm: dict[str, Any] = {
            "name": name,
            "generation": 2,
            "version": owner.os_build[2],
            "state": "Running" if self.rng.random() < 0.8 else "Off",
            "processor": {"count": self.rng.choice(LEAF_VCPUS)},
            "memory": {"startup_gb": self.rng.choice(LEAF_MEMORY_GB)},
            "adapters": [adapter],
            "disks": [self._leaf_disk(owner, name)],
        }
        if role.services:
            vm["services"] = [{"port": port, "protocol": proto} for port, proto in role.services]
            if not bridged:
                for port, _proto in role.services:
                    self._publish(owner, ip, port, name)
        vm["guest"] = {"os": {"caption": os_build[0], "build": os_build[1]}}
        return vm

    def _bridges(self, owner: _Owner) -> bool:
        """Whether the next VM goes on the owner's External switch (else on its NAT switch)."""
        if owner.external_switch is None:
            return False
        return owner.nat_switch is None or self.rng.random() < 0.5

    def _adapter(self, owner: _Owner, bridged: bool, *, mac_spoofing: bool) -> tuple[dict, str, bool]:
        """An adapter on the owner's External switch (LAN address) or NAT switch; (data, ip, behind NAT)."""
        if bridged:
            switch, pool = owner.external_switch, owner.lan
        else:
            switch, pool = owner.nat_switch, owner.nat_pool
        assert switch is not None and pool is not None, "generator bug: VM without a switch"
        cidr = pool.next()
        adapter = {"name": "Network Adapter", "switch": switch, "ip": cidr, "mac": self._mac()}
        if mac_spoofing:  # a nested Hyper-V host: spoofing on, as Enable-NestedVm.ps1 sets it
            adapter["mac_spoofing"] = True
        return adapter, cidr.split("/")[0], not bridged

    def _publish(self, owner: _Owner, ip: str, port: int, vm_name: str) -> None:
        """Forward owner:port → ip:port, and again at every NAT above, each with a firewall allow rule."""
        listen = owner.next_port
        owner.next_port += 1
        if owner.parent is None and "nat" in owner.data and self.rng.random() < 0.3:
            mapping = {"protocol": "TCP", "external_port": listen, "internal_ip": ip, "internal_port": port}
            owner.data["nat"][0].setdefault("static_mappings", []).append(mapping)
        else:
            owner.data.setdefault("portproxy", []).append(
                {"listen_address": owner.outward_ip, "listen_port": listen, "connect_address": ip, "connect_port": port}
            )
        owner.data.setdefault("firewall", []).append(
            {"name": f"Allow-{vm_name}-{listen}", "direction": "inbound", "action": "allow", "protocol": "TCP", "port": listen}
        )
        if owner.parent is not None:
            self._publish(owner.parent, owner.outward_ip, listen, vm_name)

    # -- disks and volumes ----------------------------------------------------------------------

    def _leaf_disk(self, owner: _Owner, name: str) -> str:
        """A leaf's disk, sometimes at the end of a checkpoint chain (name_GUID.avhdx)."""
        size = self.rng.choice(LEAF_DISK_GB)
        path = self._vhd(owner, name, size, "fixed")  # dynamic disks read as slow to the performance model
        for _ in range(self.rng.choice((0, 0, 0, 1, 2, 3))):
            folder = path.rsplit("\\", 1)[0]
            child = f"{folder}\\{name}_{self._guid()}.avhdx"
            owner.data["vhds"].append({"path": child, "type": "differencing", "size_gb": size, "parent": path})
            path = child
        return path

    def _vhd(self, owner: _Owner, name: str, size_gb: float, kind: str) -> str:
        if owner.vhd_folder.startswith("C:\\ClusterStorage"):
            path = f"{owner.vhd_folder}\\{name}\\Virtual Hard Disks\\{name}.vhdx"
        else:
            path = f"{owner.vhd_folder}\\{name}.vhdx"
        owner.data["vhds"].append({"path": path, "type": kind, "size_gb": size_gb})
        return path

    def _volumes(self, data: dict, system_gb: int) -> list[dict]:
        """SSD volumes big enough for the disks declared on them."""
        used: dict[str, float] = {}
        for vhd in data.get("vhds", ()):
            used[vhd["path"][:2]] = used.get(vhd["path"][:2], 0) + vhd["size_gb"]
        used.setdefault("C:", 0)
        volumes = []
        for drive in sorted(used):
            base = system_gb if drive == "C:" else 0
            size = _round_up(base + used[drive] + 40, 20 if drive == "C:" and system_gb < 100 else 100)
            volumes.append({"drive": drive, "media": "ssd", "size_gb": size, "free_gb": size - base // 2 - used[drive]})
        return volumes

    # -- names and identifiers -----------------------------------------------------------------

    def _name(self, owner: _Owner, prefix: str) -> str:
        owner.names[prefix] = owner.names.get(prefix, 0) + 1
        return f"{prefix}{owner.names[prefix]:02d}"

    def _mac(self) -> str:
        while True:
            mac = f"00155D{self.rng.getrandbits(24):06X}"
            if mac not in self.macs:
                self.macs.add(mac)
                return mac

    def _guid(self) -> str:
        return "%08X-%04X-%04X-%04X-%012X" % tuple(self.rng.getrandbits(b) for b in (32, 16, 16, 16, 48))


# ----------------------------------------------------------------------------------------------
# Sizing helpers over lab-file data
# ----------------------------------------------------------------------------------------------


def _load(vms: list[dict]) -> tuple[int, float]:
    """(vCPUs of the running VMs, startup memory of all VMs) of one owner's direct VMs."""
    running = sum(vm["processor"]["count"] for vm in vms if vm["state"] == "Running")
    memory = sum(vm["memory"]["startup_gb"] for vm in vms)
    return running, memory


def _chain_vcpus(vms: list[dict]) -> int:
    return sum(vm["processor"]["count"] for vm in vms if "hyperv_installed" in vm.get("guest", {}))


def _demote_until(vms: list[dict], budget: int) -> None:
    """Turn plain VMs Off, last first, until the running ones fit `budget` vCPUs."""
    running, _ = _load(vms)
    for vm in reversed(vms):
        if running <= budget:
            return
        if vm["state"] == "Running" and "hyperv_installed" not in vm["guest"]:
            vm["state"] = "Off"
            running -= vm["processor"]["count"]
    if running > budget:  # pragma: no cover - budgets are chosen >= the chain's needs
        raise AssertionError("generator bug: nested hosts alone exceed their host")


def _round_up(value: float, step: int) -> int:
    return int(-(-value // step) * step)


def _slug(text: str) -> str:
    words = "".join(c.lower() if c.isalnum() else " " for c in text).split()
    return "-".join(w for w in words if w not in ("and", "inc", "llc", "ltd", "plc", "group"))[:32].strip("-") or "lab"


ORDINARY_ROLES = (("dc", "DC"), ("fs", "FS"), ("app", "APP"), ("linux", "LNX"), ("linux-legacy", "LNX"))
ORDINARY_DATA_DRIVE = "E:"


def _realistic_background(host: dict) -> None:
    """Every Windows of the lab shows its edition's background (simulator.cmdlets.background)."""
    host["os"]["background"] = "realistic"
    for vm in host.get("vms", ()):
        _guest_background(vm)


def _guest_background(vm: dict) -> None:
    os = vm.setdefault("guest", {}).setdefault("os", {})
    if os.get("build", 1):  # a Linux guest (build 0) has no Windows background
        os["background"] = "realistic"
    for inner in vm["guest"].get("vms", ()):
        _guest_background(inner)


HOST_KEYS = (
    "name", "kind", "azure_size", "os", "cpu", "memory_gb", "volumes", "networks", "switches", "nat",
    "portproxy", "firewall", "vhds", "vms",
)
GUEST_KEYS = ("os", "hyperv_installed", "volumes", "switches", "nat", "portproxy", "firewall", "vhds", "vms")


def _ordered(data: dict, keys: tuple[str, ...]) -> dict:
    """The lab-format key order (lab_from_data does not care; people reading a dump do)."""
    return {k: data[k] for k in keys if k in data}
