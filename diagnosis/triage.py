"""Symptom or error text → the root causes it points to, most likely first, and the checks to run.

The catalog below is the guide's symptoms with their verbatim messages, the product's own texts
for them (reference/hyperv/notes.md §5 and samples/), event ids and hex codes. A query matches a
symptom by a code or event id it names, by containing a message (or being a fragment of one), or
by sharing most of a paraphrase's words. A symptom passes its score to its root causes, weighted
by how likely each is (the order of `causes`). Symptom ids are also what findings `explain`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from nestlab.diagnosis.findings import CATEGORIES, Category
from nestlab.diagnosis.rules import RULES_BY_ID
from nestlab.simulator.errors import BadInput


@dataclass(frozen=True)
class Symptom:
    id: str
    category: Category
    section: str  # the guide's section
    causes: tuple[str, ...]  # root-cause ids, most likely first
    messages: tuple[str, ...] = ()  # verbatim texts (guide, product, event messages)
    phrases: tuple[str, ...] = ()  # how people put it
    events: tuple[int, ...] = ()
    codes: tuple[str, ...] = ()  # hex codes, lower case


ROLE = "Nested VM can't start Hyper-V role or install other hypervisors"
NETWORK = "Network connectivity issues in nested VMs"
PERFORMANCE = "Performance degradation in nested virtualization"
SECURITY = "Nested Hyper-V installation or operation blocked by security policies"
NAT = "NAT and port forwarding issues"
STORAGE = "Snapshot/Checkpoint and differencing disk issues"
RESOURCES = "VM resource changes not recognized"
CHECKLIST = "Troubleshooting checklist"

HYPERVISOR_CAUSES = ("extensions-not-exposed", "hypervisor-launch-disabled", "virtualization-disabled-in-firmware",
                     "host-cpu-no-virtualization", "vbs-enabled", "antivirus-blocking-hyperv")
CHAIN_CAUSES = ("vhd-parent-missing", "vhd-parent-moved", "vhd-chain-broken", "vhd-corrupt")

SYMPTOMS: tuple[Symptom, ...] = (
    Symptom("hyperv-role-install-fails", "hyperv-role", ROLE,
            ("extensions-not-exposed", "vm-generation-1", "guest-os-unsupported", "insufficient-vcpu",
             "insufficient-memory", "vbs-enabled", "host-cpu-no-virtualization", "virtualization-disabled-in-firmware"),
            messages=("Hyper-V cannot be installed: The processor does not have required virtualization capabilities",
                      "A prerequisite check for the Hyper-V feature failed",
                      "Role installation fails without detailed errors",
                      "Errors when enabling or installing Hyper-V in a VM",
                      "Hyper-V cannot be installed because virtualization support is not enabled in the BIOS"),
            phrases=("cannot install hyper-v role in the vm", "hyper-v role installation fails in nested vm",
                     "processor does not have virtualization capabilities", "nested vm can't start hyper-v",
                     "install another hypervisor inside the vm fails")),
    Symptom("slat-missing", "hyperv-role", ROLE, ("extensions-not-exposed", "host-cpu-no-virtualization"),
            messages=("Hyper-V cannot be installed: The processor does not support second level address translation (SLAT)",),
            phrases=("processor does not support slat",)),
    Symptom("hypervisor-not-running", "hyperv-role", ROLE, HYPERVISOR_CAUSES,
            messages=("could not be started because the hypervisor is not running",
                      "because one of the Hyper-V components is not running",
                      "The virtual machine could not be started because a required feature is not installed",
                      "WslRegisterDistribution failed with error: 0x80370102"),
            phrases=("hypervisor is not running", "nested vm won't start hypervisor not running",
                     "wsl2 docker does not work inside the vm"),
            events=(3112,), codes=("0x80370102",)),
    Symptom("hypervisor-launch-failed", "prerequisites", CHECKLIST,
            ("extensions-not-exposed", "virtualization-disabled-in-firmware", "host-cpu-no-virtualization"),
            messages=("Hypervisor launch failed; Either VMX not present or not enabled in BIOS.",
                      "Hypervisor launch failed; Either SVM not present or not enabled in BIOS."),
            phrases=("vt-x disabled in bios", "virtualization not enabled in bios uefi", "cpu has no vt-x amd-v"),
            events=(41, 42)),
    Symptom("hypervisor-launch-off", "prerequisites", CHECKLIST, ("hypervisor-launch-disabled",),
            messages=("Hypervisor launch has been disabled through the hypervisorlaunchtype bcdedit setting.",),
            phrases=("hypervisorlaunchtype off", "bcdedit hypervisor launch disabled"),
            events=(5,)),
    Symptom("platform-no-nesting", "prerequisites", CHECKLIST,
            ("host-os-unsupported", "host-cpu-no-virtualization", "guest-os-unsupported"),
            messages=("The virtual machine could not be started because this platform does not support nested virtualization.",),
            phrases=("amd host nested virtualization not supported", "host windows version too old for nested virtualization",
                     "windows home edition no hyper-v")),
    Symptom("vm-start-fails", "hyperv-role", ROLE, (*HYPERVISOR_CAUSES[:4], *CHAIN_CAUSES),
            messages=("failed to start.",), phrases=("nested vm fails to start", "vm won't start")),
    Symptom("processor-settings-locked", "hyperv-role", ROLE, ("extensions-not-exposed",),
            messages=("Cannot change the processor settings of a virtual machine now.", "Failed to modify device 'Processor'."),
            phrases=("set-vmprocessor exposevirtualizationextensions fails while vm running",)),
    Symptom("vbs-blocks-nesting", "security", SECURITY,
            ("vbs-enabled", "credential-guard-enabled", "device-guard-enabled", "deviceguard-registry-policy",
             "group-policy-blocking"),
            messages=("Virtualization-based security is enabled. Nested virtualization is not supported.",
                      "Errors referencing \"Credential Guard\" or \"Device Guard.\"",
                      "Hyper-V role installation blocked."),
            phrases=("credential guard blocks nested virtualization", "device guard blocks hyper-v",
                     "vbs enabled nested virtualization not supported", "memory integrity hvci blocks hyper-v",
                     "group policy blocks virtualization extensions")),
    Symptom("nested-vm-no-network", "network", NETWORK,
            ("switch-internal", "mac-spoofing-disabled", "switch-private", "nat-prefix-mismatch", "firewall-blocking",
             "nat-conflict", "winnat-locked"),
            messages=("Nested VM can't access external network.",
                      "Only internal connectivity works (Host <-> Guest), not Host <-> Physical LAN <-> Nested VM.",
                      "Unreachable IP, failed ping, or application connectivity."),
            phrases=("nested vm has no internet", "no internet or lan in nested vm", "nested vm gets no ip address dhcp",
                     "nested vm gets 169.254 address", "ping fails from nested vm", "mac address spoofing")),
    Symptom("nested-vm-unreachable", "nat", NAT,
            ("nat-static-mapping-wrong", "portproxy-missing", "nat-conflict", "winnat-locked", "firewall-blocking"),
            messages=("Unable to reach nested VMs from external networks.", "Can't connect to nested VM"),
            phrases=("cannot reach nested vm from outside", "port forwarding to nested vm does not work",
                     "portproxy not working", "service on nested vm unreachable from lan", "firewall blocks traffic")),
    Symptom("winnat-fails-to-start", "nat", NAT, ("winnat-locked",),
            messages=("Process cannot access the file because it is being used by another process",
                      "WinNAT service fails to start.", "System error 32 has occurred."),
            phrases=("winnat service will not start", "nat driver file lock", "net start winnat fails"),
            events=(7000, 7023)),  # failed to start / terminated with the error
    Symptom("new-netnat-fails", "nat", NAT, ("nat-conflict", "nat-prefix-mismatch"),
            messages=("New-NetNat : The parameter is incorrect.", "Windows System Error 87,New-NetNat"),
            phrases=("new-netnat fails", "more than one nat", "overlapping nat prefix", "conflicting nat configuration")),
    Symptom("nested-vm-slow", "performance", PERFORMANCE,
            ("under-provisioned", "host-overcommitted", "noisy-neighbor", "dynamic-vhd", "slow-storage",
             "bandwidth-limited", "host-memory-low", "outdated-integration-services"),
            messages=("Nested VM is slow, lags, or fails to install operating systems and roles.",),
            phrases=("nested vm is slow", "nested vm lags", "poor performance in nested vm", "nested vm sluggish")),
    Symptom("io-bottleneck", "performance", PERFORMANCE, ("dynamic-vhd", "slow-storage", "bandwidth-limited"),
            messages=("Disk and network I/O bottlenecks.",),
            phrases=("slow disk in nested vm", "slow network throughput nested vm", "bandwidth limited")),
    # Start-VM when the host's free memory cannot hold the VM's startup memory: Windows' texts from
    # public captures (docker/for-win#4446, kubernetes/minikube#4067: "Not enough memory in the system
    # to start the virtual machine X", "Ran out of memory (0x8007000E)"; MSLab#300: "could not
    # initialize memory … Insufficient system resources …" 0x800705AA, the reporter's Polish in
    # Windows' English wording). What holds the memory is the other VMs (MSLab#300: close them).
    Symptom("vm-start-out-of-memory", "performance", PERFORMANCE, ("noisy-neighbor", "host-overcommitted", "host-memory-low"),
            messages=("Not enough memory in the system to start the virtual machine",
                      "Could not initialize memory: Ran out of memory (0x8007000E)",
                      "could not initialize memory: Insufficient system resources exist to complete the requested service"),
            phrases=("not enough memory to start the vm", "vm cannot allocate ram", "cannot allocate memory to start vm"),
            codes=("0x8007000e", "0x800705aa")),
    Symptom("host-busy", "performance", PERFORMANCE, ("host-overcommitted", "noisy-neighbor", "host-memory-low"),
            messages=("High resource usage on host.",),
            phrases=("host cpu at 100 percent", "host out of memory", "other vms use all resources")),
    Symptom("file-not-found", "storage", STORAGE, ("vhd-parent-missing", "vhd-parent-moved"),
            messages=("The system cannot find the file specified (0x80070002)",),
            phrases=("parent vhd deleted", "parent disk moved"), codes=("0x80070002",)),
    Symptom("chain-broken", "storage", STORAGE, ("vhd-parent-missing", "vhd-parent-moved", "vhd-chain-broken"),
            messages=("The chain of virtual hard disks is broken (0xC03A000D)",
                      "The system cannot locate the parent virtual hard disk for the differencing disk."),
            phrases=("differencing disk chain broken", "avhdx parent not found"), codes=("0xc03a000d",)),
    Symptom("chain-mismatch", "storage", STORAGE, ("vhd-chain-broken",),
            messages=("There is a mismatch in the identifiers of the parent virtual hard disk and differencing disk.",
                      "The time stamp of the parent virtual hard disk does not match the time stamp of the differencing disk."),
            phrases=("parent vhd was replaced or modified",), codes=("0xc03a000e", "0xc03a000f")),
    Symptom("vhd-merge-fails", "storage", STORAGE, CHAIN_CAUSES,
            messages=("Snapshots disappear or can't be merged.", "background disk merge failed to complete"),
            phrases=("checkpoint merge fails", "merge-vhd fails", "checkpoints disappeared"),
            events=(19100, 18012, 18014)),
    Symptom("vhd-damaged", "storage", STORAGE, ("vhd-corrupt",),
            messages=("The file or directory is corrupted and unreadable.",),
            phrases=("vhd corrupt", "virtual disk damaged hardware failure"), codes=("0x80070570",)),
    Symptom("memory-not-recognized", "resources", RESOURCES,
            ("memory-change-pending", "hot-add-unsupported", "dynamic-memory-enabled"),
            messages=("VM doesn't detect increased RAM after configuration.",
                      "No error, but resource remains at previous allocation.",
                      "Failed to modify device 'Memory'."),
            phrases=("increased ram not recognized", "memory increase not applied", "guest still shows old memory",
                     "vm doesn't see the added ram", "added memory not showing in the vm")),
)

SYMPTOMS_BY_ID = {s.id: s for s in SYMPTOMS}

# What to run to confirm each root cause (spec/root-causes.md, "evidence a host shows").
CHECKS: dict[str, tuple[str, ...]] = {
    "host-os-unsupported": ("Get-CimInstance -ClassName Win32_OperatingSystem | Select-Object Caption, Version, BuildNumber",),
    "host-cpu-no-virtualization": ("Get-CimInstance -ClassName Win32_Processor | Select-Object Name, VMMonitorModeExtensions, "
                                   "SecondLevelAddressTranslationExtensions, VirtualizationFirmwareEnabled",),
    "virtualization-disabled-in-firmware": ("Get-CimInstance -ClassName Win32_Processor | Select-Object VMMonitorModeExtensions, "
                                            "VirtualizationFirmwareEnabled",),
    "hypervisor-launch-disabled": ("bcdedit /enum {current}",
                                   "Get-CimInstance -ClassName Win32_ComputerSystem | Select-Object HypervisorPresent"),
    "guest-os-unsupported": ("Invoke-Command -VMName <vm> { Get-CimInstance -ClassName Win32_OperatingSystem }",),
    "vm-generation-1": ("Get-VM -Name <vm> | Select-Object Name, Generation",),
    "extensions-not-exposed": ("Get-VMProcessor -VMName <vm> | Select-Object VMName, ExposeVirtualizationExtensions",),
    "insufficient-vcpu": ("Get-VMProcessor -VMName <vm> | Select-Object VMName, Count",),
    "insufficient-memory": ("Get-VMMemory -VMName <vm> | Select-Object VMName, Startup",),
    "dynamic-memory-enabled": ("Get-VMMemory -VMName <vm> | Select-Object VMName, DynamicMemoryEnabled",),
    "outdated-integration-services": ("Get-VM | Select-Object Name, IntegrationServicesState, IntegrationServicesVersion",
                                      "Get-HotFix | Sort-Object InstalledOn -Descending | Select-Object -First 1"),
    "antivirus-blocking-hyperv": ("Get-Service -Name vmms,vmcompute",
                                  "Get-CimInstance -Namespace root/SecurityCenter2 -ClassName AntiVirusProduct"),
    "switch-internal": ("Get-VMNetworkAdapter -VMName <vm> | Select-Object VMName, SwitchName",
                        "Get-VMSwitch | Select-Object Name, SwitchType", "Get-NetNat"),
    "switch-private": ("Get-VMSwitch | Select-Object Name, SwitchType",
                       "Get-VMNetworkAdapter -VMName <vm> | Select-Object VMName, SwitchName"),
    "mac-spoofing-disabled": ("Get-VMNetworkAdapter -VMName <vm> | Select-Object VMName, SwitchName, MacAddressSpoofing",),
    "nat-prefix-mismatch": ("Get-NetNat | Select-Object Name, InternalIPInterfaceAddressPrefix",
                            "Get-NetIPAddress -InterfaceAlias 'vEthernet (<switch>)'"),
    "portproxy-missing": ("netsh interface portproxy show all", "Get-NetNatStaticMapping"),
    "firewall-blocking": ("Get-NetFirewallRule -Direction Inbound -Enabled True | Get-NetFirewallPortFilter",
                          "Get-NetFirewallProfile | Select-Object Name, DefaultInboundAction"),
    "under-provisioned": ("Get-VMProcessor -VMName <vm>", "Get-VMMemory -VMName <vm>",
                          "Invoke-Command -VMName <vm> { Get-VM | Get-VMMemory }"),
    "host-memory-low": ("Get-CimInstance -ClassName Win32_ComputerSystem | Select-Object TotalPhysicalMemory",),
    "host-overcommitted": ("Get-VM | Where-Object State -eq 'Running' | Select-Object Name, ProcessorCount, MemoryAssigned",
                           "Get-CimInstance -ClassName Win32_Processor | Select-Object NumberOfLogicalProcessors"),
    "dynamic-vhd": ("Get-VMHardDiskDrive -VMName <vm> | Get-VHD | Select-Object Path, VhdType",),
    "slow-storage": ("Get-PhysicalDisk | Select-Object DeviceId, FriendlyName, MediaType",),
    "bandwidth-limited": ("Get-VMNetworkAdapter -VMName <vm> | Select-Object -ExpandProperty BandwidthSetting",),
    "noisy-neighbor": ("Get-VM | Sort-Object CPUUsage -Descending | Select-Object Name, State, CPUUsage, MemoryAssigned",),
    "vbs-enabled": ("Get-CimInstance -Namespace root\\Microsoft\\Windows\\DeviceGuard -ClassName Win32_DeviceGuard",),
    "credential-guard-enabled": ("Get-CimInstance -Namespace root\\Microsoft\\Windows\\DeviceGuard -ClassName Win32_DeviceGuard "
                                 "| Select-Object SecurityServicesRunning",),
    "device-guard-enabled": ("Get-CimInstance -Namespace root\\Microsoft\\Windows\\DeviceGuard -ClassName Win32_DeviceGuard "
                             "| Select-Object SecurityServicesRunning",),
    "deviceguard-registry-policy": ("Get-ItemProperty -Path HKLM:\\System\\CurrentControlSet\\Control\\DeviceGuard",),
    "group-policy-blocking": ("Get-ItemProperty -Path HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\DeviceGuard",
                              "gpresult /h gpresult.html"),
    "nat-static-mapping-wrong": ("Get-NetNatStaticMapping", "netsh interface portproxy show all",
                                 "Invoke-Command -VMName <nested vm> { Get-NetTCPConnection -State Listen }"),
    "nat-conflict": ("Get-NetNat",),
    "winnat-locked": ("Get-Service -Name WinNat",
                      "Get-WinEvent -ProviderName 'Service Control Manager' -MaxEvents 1000 | Where-Object Id -In 7000,7023"),
    "vhd-parent-missing": ("Get-VHD -Path <avhdx> | Format-List *", "Test-Path -Path <ParentPath>"),
    "vhd-parent-moved": ("Get-VHD -Path <avhdx> | Format-List *", "Test-Path -Path <ParentPath>",
                         "Get-ChildItem -Path D:\\ -Recurse -Filter <parent file name>"),
    "vhd-chain-broken": ("Test-VHD -Path <avhdx>", "Get-VHD -Path <avhdx> | Format-List *"),
    "vhd-corrupt": ("Test-VHD -Path <vhdx>",),
    "memory-change-pending": ("Get-VMMemory -VMName <vm> | Select-Object Startup",
                              "Get-VM -Name <vm> | Select-Object MemoryAssigned"),
    "hot-add-unsupported": ("Get-VM -Name <vm> | Select-Object IsClustered",
                            "Invoke-Command -VMName <vm> { Get-WindowsFeature -Name Hyper-V }"),
}

# -- matching ---------------------------------------------------------------------------------

STOPWORDS = frozenset("""a an the and or of to in on for with is are was be been it its my our this that from by at as
not no can can't cannot won't doesn't does do did when after while if i we you there their into only but so
""".split())
SYNONYMS = {
    "internet": "network", "lan": "network", "connectivity": "network", "networking": "network", "external": "network",
    "unreachable": "reach", "reachable": "reach", "connect": "reach", "access": "reach",
    "laggy": "slow", "lag": "slow", "lags": "slow", "sluggish": "slow", "performance": "slow",
    "ram": "memory", "vcpu": "processor", "vcpus": "processor", "cpu": "processor",
    "vhdx": "vhd", "avhdx": "vhd", "disk": "vhd", "checkpoint": "snapshot", "checkpoints": "snapshot",
    "guest": "vm", "l2": "vm", "vms": "vm", "hyperv": "hyper-v", "broken": "broken", "corrupted": "corrupt",
    "start": "start", "starting": "start", "boot": "start", "won't": "not",
}
WORD = re.compile(r"[a-z0-9][a-z0-9\-\.']*[a-z0-9]|[a-z0-9]")
HEX = re.compile(r"0x[0-9a-f]{8}")
NUMBER = re.compile(r"(?<![\d.x])(\d{1,5})(?![\d.])")

VERBATIM, CODE, EVENT, FRAGMENT, PARAPHRASE = 1.0, 0.97, 0.95, 0.9, 0.85
MIN_SCORE = 0.3


def normalize(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    return " ".join(text.split()).strip(" .\"'")


def _stem(word: str) -> str:
    word = SYNONYMS.get(word, word)
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return SYNONYMS.get(word[: -len(suffix)], word[: -len(suffix)])
    return word


def words(text: str) -> frozenset[str]:
    return frozenset(_stem(w) for w in WORD.findall(normalize(text)) if w not in STOPWORDS)


@dataclass(frozen=True)
class Match:
    root_cause: str
    category: Category
    score: float
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"root_cause": self.root_cause, "category": self.category, "score": self.score, "why": self.why}


@dataclass(frozen=True)
class Triage:
    query: str
    matches: tuple[Match, ...]

    @property
    def categories(self) -> tuple[tuple[Category, float], ...]:
        best: dict[Category, float] = {}
        for m in self.matches:
            best[m.category] = max(best.get(m.category, 0.0), m.score)
        return tuple(sorted(best.items(), key=lambda kv: (-kv[1], CATEGORIES.index(kv[0]))))

    @property
    def checks(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for m in self.matches for c in CHECKS.get(m.root_cause, ())))

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "matches": [m.to_dict() for m in self.matches],
            "categories": [{"category": c, "score": s} for c, s in self.categories],
            "checks": list(self.checks),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


def symptom_score(symptom: Symptom, query: str) -> tuple[float, str]:
    """How strongly a query names a symptom (0..1) and why."""
    text = normalize(query)
    best = (0.0, "")

    def offer(score: float, why: str) -> None:
        nonlocal best
        if score > best[0]:
            best = (score, why)

    for code in symptom.codes:
        if code in HEX.findall(text):
            offer(CODE, f"hex code {code.upper().replace('0X', '0x')} ({symptom.section})")
    for number in (int(n) for n in NUMBER.findall(text)):
        if number in symptom.events and (number >= 1000 or "event" in text or "id" in text.split() or text == str(number)):
            offer(EVENT, f"event {number} ({symptom.section})")
    for message in symptom.messages:
        verbatim = normalize(message)
        if verbatim and verbatim in text:
            offer(VERBATIM, f"the message \"{message}\" ({symptom.section})")
        elif len(text) >= 20 and text in verbatim:
            offer(FRAGMENT, f"part of the message \"{message}\" ({symptom.section})")
    asked = words(query)
    for phrase in (*symptom.messages, *symptom.phrases):
        wanted = words(phrase)
        shared = asked & wanted
        if not wanted or len(shared) < min(2, len(wanted)):
            continue
        coverage = len(shared) / len(wanted)
        precision = len(shared) / len(asked)
        score = PARAPHRASE * (0.7 * coverage + 0.3 * precision)
        if coverage >= 0.5:
            offer(score, f"sounds like \"{phrase}\" ({symptom.section}: {', '.join(sorted(shared))})")
    return best


def triage(query: str, *, limit: int = 10) -> Triage:
    """Rank root causes for a symptom text. Empty text is bad input."""
    if not query or not query.strip():
        raise BadInput("triage: the text to triage is empty; give an error message, a symptom, an event id or a hex code")
    scored: dict[str, tuple[float, str]] = {}
    for symptom in SYMPTOMS:
        strength, why = symptom_score(symptom, query)
        if strength <= 0:
            continue
        for rank, cause in enumerate(symptom.causes):
            score = round(strength * max(0.5, 1.0 - 0.08 * rank), 3)
            if score > scored.get(cause, (0.0, ""))[0]:
                scored[cause] = (score, why)
    for cause, (score, why) in _named_causes(query).items():
        if score > scored.get(cause, (0.0, ""))[0]:
            scored[cause] = (score, why)
    ranked = sorted(
        (Match(cause, RULES_BY_ID[cause].category, score, why) for cause, (score, why) in scored.items() if score >= MIN_SCORE),
        key=lambda m: (-m.score, CATEGORIES.index(m.category), m.root_cause),
    )
    return Triage(query, tuple(ranked[:limit]))


GENERIC = frozenset(words("enabled disabled missing wrong unsupported locked blocking limited low"))


def _named_causes(query: str) -> dict[str, tuple[float, str]]:
    """A query that names a root cause in its own words ("dynamic memory", "mac spoofing", the id itself)."""
    asked = words(query.replace("-", " "))
    found = {}
    for cause in RULES_BY_ID:
        wanted = words(cause.replace("-", " ")) - GENERIC
        if wanted and wanted <= asked:
            found[cause] = (PARAPHRASE, f"names the root cause {cause}")
    return found
