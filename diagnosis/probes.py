"""The probe plan: which commands a diagnosis sends to a host or guest, batched per round trip.

One batch per level of the walk: everything about a platform (OS, CPU, security, services,
network, switches, NAT, VMs and their disks) goes in the first batch; a second batch follows only
for what the first one revealed (the parents of differencing disks, and where a missing parent
went). Guests are walked the same way through PowerShell Direct. docs/evidence.md is the table of
which command shows which model attribute; the names of these probes are the keys the parsers
(`diagnosis.parse`) read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from nestlab.simulator.psdata import Command

C = Command.of

DEVICEGUARD_KEY = r"HKLM:\System\CurrentControlSet\Control\DeviceGuard"
DEVICEGUARD_POLICY_KEY = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\DeviceGuard"
IMDS_URI = "http://169.254.169.254/metadata/instance/compute?api-version=2021-02-01"
EVENT_LOGS = (
    "System",
    "Microsoft-Windows-Hyper-V-VMMS-Admin",
    "Microsoft-Windows-Hyper-V-Worker-Admin",
)
EVENTS_PER_LOG = 50
# A busy System log holds thousands of entries (7036 pairs, time sync, DCOM): what matters may be far
# behind the last EVENTS_PER_LOG. These read it by provider (and id) instead, whatever its age: the
# hypervisor's launch events are written once per boot (Hyper-V-Hypervisor 1, 5, 41, 42), a service
# or driver that cannot start is Service Control Manager 7000 ("failed to start") or 7023
# ("terminated with the following error"). Plain values only, so they cross PowerShell Direct.
HYPERVISOR_PROVIDER = "Microsoft-Windows-Hyper-V-Hypervisor"
SCM_PROVIDER = "Service Control Manager"
SERVICE_FAILED_EVENTS = (7000, 7023)
EVENT_QUERIES = {
    "events:hypervisor": (C("Get-WinEvent", ProviderName=HYPERVISOR_PROVIDER, MaxEvents=20),),
    "events:servicefailures": (C("Get-WinEvent", ProviderName=SCM_PROVIDER, MaxEvents=1000),
                               C("Where-Object", Property="Id", In=list(SERVICE_FAILED_EVENTS))),
}


# What the parsers read of Get-VM: a VM object has some 80 properties, and the rest only cost time
# on the wire (Select-Object keeps each property's value and type).
VM_PROPERTIES = ("Name", "State", "Generation", "Version", "IsClustered", "CPUUsage", "MemoryAssigned",
                 "MemoryStartup", "DynamicMemoryEnabled", "IntegrationServicesState")


@dataclass(frozen=True)
class Probe:
    key: str
    pipeline: tuple[Command, ...]

    def __init__(self, key: str, pipeline: tuple[Command, ...]) -> None:
        # set at once, as psdata.Command's: the follow-ups make a Probe per file path (~600 per
        # 200 VMs); tests/test_speed_parse.py keeps the signature the fields'
        self.__dict__.update(key=key, pipeline=pipeline)

    @property
    def text(self) -> str:
        """The probe as a person would type it (for evidence items)."""
        return " | ".join(str(c) for c in self.pipeline)


def probe(key: str, *pipeline: Command) -> Probe:
    return Probe(key, tuple(pipeline))


# one step up a differencing chain: the ParentPath of each disk that has one, opened by Get-VHD
_UP = (C("Where-Object", Property="ParentPath", Like="?*"), C("Select-Object", ExpandProperty="ParentPath"), C("Get-VHD"))

PLATFORM = (
    probe("os", C("Get-CimInstance", ClassName="Win32_OperatingSystem")),
    probe("cs", C("Get-CimInstance", ClassName="Win32_ComputerSystem")),
    probe("bcd", C("bcdedit", "/enum", "{current}")),
    probe("feature", C("Get-WindowsFeature", Name="Hyper-V")),
    probe("optionalfeature", C("Get-WindowsOptionalFeature", Online=True, FeatureName="Microsoft-Hyper-V")),
    probe("deviceguard", C("Get-CimInstance", Namespace=r"root\Microsoft\Windows\DeviceGuard",
                           ClassName="Win32_DeviceGuard")),
    probe("dg_registry", C("Get-ItemProperty", Path=DEVICEGUARD_KEY)),
    probe("dg_policy", C("Get-ItemProperty", Path=DEVICEGUARD_POLICY_KEY)),
    probe("antivirus", C("Get-CimInstance", Namespace="root/SecurityCenter2", ClassName="AntiVirusProduct")),
    # Windows Server has no Security Center: an anti-virus product shows there by its file-system
    # minifilter in the "FSFilter Anti-Virus" load-order group (parse.ANTIVIRUS_ALTITUDES)
    probe("filters", C("fltmc", "filters")),
    probe("services", C("Get-Service", Name=["vmms", "vmcompute", "WinNat"])),
    *(probe(f"events:{log}", C("Get-WinEvent", LogName=log, MaxEvents=EVENTS_PER_LOG)) for log in EVENT_LOGS),
    *(probe(key, *pipeline) for key, pipeline in EVENT_QUERIES.items()),
    probe("volumes", C("Get-Volume")),
    probe("partitions", C("Get-Partition")),
    probe("physicaldisks", C("Get-PhysicalDisk")),
    probe("portproxy", C("netsh", "interface", "portproxy", "show", "all")),
    probe("firewall", C("Get-NetFirewallRule")),
    probe("portfilters", C("Get-NetFirewallPortFilter", All=True)),
    probe("netadapters", C("Get-NetAdapter")),
    probe("ipaddresses", C("Get-NetIPAddress", AddressFamily="IPv4")),
    probe("switches", C("Get-VMSwitch")),
    probe("nat", C("Get-NetNat")),
    probe("natmappings", C("Get-NetNatStaticMapping")),
    # Hyper-V's cmdlets take wildcards for -VMName: `-VMName *` reads every VM without piping
    # Get-VM's full objects into each of them (half the cost of a simulated collection).
    probe("vms", C("Get-VM"), C("Select-Object", Property=list(VM_PROPERTIES))),
    probe("processors", C("Get-VMProcessor", VMName="*")),
    probe("memory", C("Get-VMMemory", VMName="*")),
    probe("vmadapters", C("Get-VMNetworkAdapter", VMName="*")),
    probe("bandwidth", C("Get-VMNetworkAdapter", VMName="*"), C("Select-Object", ExpandProperty="BandwidthSetting")),
    probe("drives", C("Get-VMHardDiskDrive", VMName="*")),
    probe("vhds", C("Get-VMHardDiskDrive", VMName="*"), C("Get-VHD")),
    # The differencing chains, two levels up, in the same round trip: each `Get-VHD` of a parent
    # used to cost a round trip of its own (and on a real host two HTTP requests). Get-VHD takes
    # -Path from the pipeline by value (learn.microsoft.com, Get-VHD: "Accept pipeline input:
    # true (ByValue, ByPropertyName)"). Their keys start with "vhd:" as a Get-VHD's do, so the
    # parsers read these disks like any other; a parent that cannot be opened is still asked for
    # by itself in the follow-up (its error is the evidence).
    *(probe(f"vhd:*{name}", C("Get-VMHardDiskDrive", VMName="*"), C("Get-VHD"), *_UP * level)
      for level, name in ((1, "parents"), (2, "grandparents"))),
)

HOST_ONLY = (
    probe("cpu", C("Get-CimInstance", ClassName="Win32_Processor")),
    probe("hotfix", C("Get-HotFix")),
    probe("routes", C("Get-NetRoute", DestinationPrefix="0.0.0.0/0")),
    probe("profiles", C("Get-NetConnectionProfile")),
    probe("imds", C("Invoke-RestMethod", Uri=IMDS_URI, Headers={"Metadata": "true"}, TimeoutSec=2)),
)

GUEST_ONLY = (
    probe("tcplisteners", C("Get-NetTCPConnection", State="Listen")),
    probe("udplisteners", C("Get-NetUDPEndpoint")),
)


_TEXT = {p.key: p.text for p in (*PLATFORM, *HOST_ONLY, *GUEST_ONLY)}  # rendered once: cited per object


def first_batch(*, guest: bool) -> tuple[Probe, ...]:
    return PLATFORM + (GUEST_ONLY if guest else HOST_ONLY)


def disk_batch(known: set[str], parents: list[str], untested: list[str]) -> tuple[Probe, ...]:
    """Get-VHD of parents not seen yet, Test-Path of each parent, Test-VHD of every disk and parent.

    Test-VHD runs on every file of a chain, so a damaged parent is named itself rather than the
    child that merely sits on top of it.
    """
    new_parents = [p for p in parents if p.lower() not in known]
    probes = [per_path("vhd", p) for p in new_parents]
    probes += [per_path("testpath", p) for p in parents]
    tested = {p.lower() for p in untested}
    probes += [per_path("testvhd", p) for p in [*untested, *(q for q in new_parents if q.lower() not in tested)]]
    return tuple(probes)


def search_batch(missing: list[str], drives: list[str]) -> tuple[Probe, ...]:
    """Where did a missing parent go? Look for its file name on every volume of the host."""
    return tuple(per_path("search", path, drives) for path in missing)


def per_path(kind: str, path: str, drives: Sequence[str] = ()) -> Probe:
    """The follow-up probe of one file (`vhd`, `testpath`, `testvhd`, `search`), keyed `kind:path`."""
    key = f"{kind}:{path}"
    if kind == "search":
        leaf = path.rsplit("\\", 1)[-1]
        return probe(key, C("Get-ChildItem", Path=[f"{d}\\" for d in drives], Recurse=True, Filter=leaf))
    return Probe(key, (Command(PER_PATH_CMDLETS[kind], (("Path", path),)),))  # C(cmdlet, Path=path), made directly


PER_PATH_CMDLETS = {"vhd": "Get-VHD", "testpath": "Test-Path", "testvhd": "Test-VHD"}


def text_of(key: str, drives: Sequence[str] = ()) -> str:
    """The probe of this key exactly as the collector sent it: what an evidence item cites.
    `drives` are the volumes a `search:` probe looked on (the platform's Get-VolumeDriveLetters)."""
    static = _TEXT.get(key)
    if static is not None:
        return static
    kind, _, path = key.partition(":")
    cmdlet = PER_PATH_CMDLETS.get(kind)
    if path and cmdlet is not None:  # per_path's one command as psdata renders it, without making it
        # `str(Command(cmdlet, (("Path", path),)))`: a text parameter is quoted when it holds a
        # space (a path is never empty here); tests/test_speed_parse.py keeps the two alike
        return f"{cmdlet} -Path '{path}'" if " " in path else f"{cmdlet} -Path {path}"
    return per_path(kind, path, drives).text if path and kind == "search" else key
