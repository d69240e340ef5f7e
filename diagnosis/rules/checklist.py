"""Guide section "Troubleshooting checklist": the host and platform prerequisites (category prerequisites)."""

from __future__ import annotations

import re
from typing import Iterator

from nestlab.diagnosis import intent, views
from nestlab.diagnosis.evidence import Event, Evidence
from nestlab.diagnosis.intent import meant_to_nest, nested_hosts
from nestlab.simulator.lab_queries import MIN_BUILD
from nestlab.diagnosis.rules.common import (
    DEVICE_GUARD_POLICY_KEY,
    GUIDE,
    WIN32_CPU,
    Hit,
    Manual,
    cmd,
    get_vm,
    get_vmmemory,
    hypervisor_item,
    is_hyperv_platform,
    name_of,
    on_platform,
    os_items,
    platform_test,
    platforms_where,
    ps,
    reboot,
    rule,
    seen,
    shown,
    stranded,
    while_off,
)
from nestlab.simulator.model import OSInfo, Platform

REFERENCE = GUIDE + "Troubleshooting checklist"


AMD_MIN_SERVER_BUILD = 20348  # Windows Server 2022 (enable-nested-virtualization.md, notes §1.1)
AMD_MIN_CLIENT_BUILD = 22000  # Windows 11
CPU_VENDOR_NAME = {"Intel": "GenuineIntel", "AMD": "AuthenticAMD"}

# Symptoms (diagnosis.triage ids) that a platform without a running hypervisor produces below it.
NO_HYPERVISOR_SYMPTOMS = ("hypervisor-not-running", "hyperv-role-install-fails", "vm-start-fails")


def os_problem(os_info: OSInfo, vendor: str | None = None) -> str | None:
    """Why this Windows cannot run (nested) Hyper-V, or None when it can."""
    caption = os_info.caption.lower()
    if "home" in caption:
        return f"{os_info.caption} is a Home edition, which has no Hyper-V"
    if os_info.build < MIN_BUILD:
        return f"{os_info.caption} (build {os_info.build}) is older than Windows Server 2016 / Windows 10 (build {MIN_BUILD})"
    if vendor == "AMD":
        need = AMD_MIN_SERVER_BUILD if "server" in caption else AMD_MIN_CLIENT_BUILD
        if os_info.build < need:
            return (f"nested virtualization on AMD needs Windows Server 2022 or Windows 11 (build {need}); "
                    f"{os_info.caption} is build {os_info.build}")
    return None


@rule("host-os-unsupported", category="prerequisites", severity="error", reference=REFERENCE)
def host_os_unsupported(ev: Evidence) -> Iterator[Hit]:
    for host in views.hosts(ev.lab):
        record = ev.lab[host]
        problem = os_problem(record.os, record.cpu.vendor)
        if problem is None:
            continue
        # An AMD host before Windows Server 2022 / Windows 11 runs Hyper-V, only not nested: an
        # error when a VM on it is meant to host nested VMs, else readiness (docs/severity.md).
        amd_only = os_problem(record.os) is None
        at_stake = not amd_only or any(meant_to_nest(ev, vm) for vm in ev.lab.vms(host))
        if amd_only and intent.nesting_proven(ev, host):  # evidence beats rules: a nested VM runs below it
            at_stake, problem = False, f"{problem}, yet a nested VM runs below it, so nesting works here"
        items = os_items(ev, host)
        if record.cpu.vendor == "AMD":
            items += (shown(ev, host, WIN32_CPU, "Manufacturer", CPU_VENDOR_NAME["AMD"]),)
        yield Hit(
            subject=host,
            summary=f"{host}: {problem}",
            evidence=items,
            resolution=(Manual(f"Upgrade {host} to Windows Server 2022 or later, or Windows 11 Pro/Enterprise, with Hyper-V"),),
            explains=NO_HYPERVISOR_SYMPTOMS,
            severity=None if at_stake else "info",
        )


def cpu_items(ev: Evidence, host: str) -> tuple:
    cpu = ev.lab[host].cpu
    return (
        shown(ev, host, WIN32_CPU, "Manufacturer", CPU_VENDOR_NAME[cpu.vendor]),
        shown(ev, host, WIN32_CPU, "VMMonitorModeExtensions", cpu.virtualization_extensions),
        shown(ev, host, WIN32_CPU, "SecondLevelAddressTranslationExtensions", cpu.slat),
        shown(ev, host, WIN32_CPU, "VirtualizationFirmwareEnabled", cpu.enabled_in_firmware),
        *hypervisor_item(ev, host),
    )


def _hypervisor_unknown_or_absent(ev: Evidence, host: str) -> bool:
    """Win32_Processor reads False for all three flags while a hypervisor runs (notes §3): trust them only then."""
    return ev.hypervisor_present(host) is not True


# System log, Microsoft-Windows-Hyper-V-Hypervisor: "Hypervisor launch failed; Either VMX (41) / SVM (42)
# not present or not enabled in BIOS."
HYPERVISOR_PROVIDER = "Microsoft-Windows-Hyper-V-Hypervisor"
LAUNCH_FAILED_EVENTS = (41, 42)
NESTING_SIZES = "Dv3/Dsv3, Dv4/Dsv4, Dv5/Dsv5, Ev3/Esv3, Ev5/Esv5"


def _azure_launch_failures(ev: Evidence, host: str) -> tuple[Event, ...]:
    """Why an Azure VM's own Hyper-V cannot start, when the CPU is to blame: the event log only.

    HypervisorPresent is True in any Azure VM (Azure's hypervisor) and Win32_Processor reads False
    under it, so the flags say nothing; event 41/42 says the VM got no VT-x/AMD-V (an Azure VM has
    no firmware switch: its size does not pass virtualization through). The OS must not be why.
    """
    record = ev.lab[host]
    if record.kind != "azure-vm" or not record.hyperv_installed or record.hypervisor_launch == "off":
        return ()
    if os_problem(record.os, record.cpu.vendor) is not None:
        return ()
    return tuple(e for e in ev.of(host).events_with_id(*LAUNCH_FAILED_EVENTS) if e.provider == HYPERVISOR_PROVIDER)


# Azure sizes by name (IMDS compute.vmSize): Standard_<family><vCPUs><features>_v<version>.
IMDS = cmd("Invoke-RestMethod", Uri="http://169.254.169.254/metadata/instance/compute?api-version=2021-02-01",
           Headers="@{Metadata='true'}")
AZURE_SIZE = re.compile(r"^Standard_(?P<family>[A-Z]+)\d+(?P<features>[a-z-]*)_v(?P<version>\d+)$", re.I)
# Install-WindowsFeature / Enable-WindowsOptionalFeature refused the role for want of CPU support
# (triage ids): on an Azure VM, which has no firmware switch, the size is why.
INSTALL_REFUSED = frozenset({"hyperv-role-install-fails", "slat-missing"})


def azure_size_nests(size: str | None) -> bool | None:
    """Whether an Azure size passes virtualization through (notes §1.7: the ACU table's `***` —
    D/E v3, v4, v5 and their s/d variants, Fsv2, FX, M; the AMD v4 sizes and Arm `p` sizes do not),
    False for the families known not to (A, B, D/DS v1-v2, N-series GPU sizes such as NC6s_v3,
    azure-docs #21181), None for a name the table does not know."""
    match = AZURE_SIZE.match(size or "")
    if match is None:
        return None
    family, features, version = match["family"].upper(), match["features"].lower(), int(match["version"])
    if family in ("D", "DS", "E", "ES"):
        if version < 3 or "p" in features or ("a" in features and version == 4):
            return False
        return True
    if family == "F":
        return "s" in features and version >= 2
    if family in ("FX", "M"):
        return True
    if family in ("A", "B") or family.startswith("N"):
        return False
    return None


def _azure_install_refused(ev: Evidence, host: str) -> tuple:
    """An Azure VM without the role whose install was refused for the CPU (a seen error on it) and
    whose size is not one that nests: what a host without the role shows (IMDS vmSize, the
    install's error text). The events 41/42 of _azure_launch_failures exist only once it is installed."""
    record = ev.lab[host]
    if record.kind != "azure-vm" or record.hyperv_installed or azure_size_nests(record.azure_size) is not False:
        return ()
    if os_problem(record.os, record.cpu.vendor) is not None:
        return ()
    return tuple(o for o in ev.stated.symptoms if o.node == host and INSTALL_REFUSED & set(o.symptoms))


@rule("host-cpu-no-virtualization", category="prerequisites", severity="error", reference=REFERENCE)
def host_cpu_no_virtualization(ev: Evidence) -> Iterator[Hit]:
    for host in views.hosts(ev.lab):
        refused = _azure_install_refused(ev, host)
        if refused:
            yield Hit(
                subject=host,
                summary=f"{host} is an Azure VM of size {ev.lab[host].azure_size}, which passes no VT-x/AMD-V to it, "
                        "so the Hyper-V role cannot be installed",
                evidence=(shown(ev, host, IMDS, "vmSize", ev.lab[host].azure_size),
                          shown(ev, host, cmd("Get-WindowsFeature", Name="Hyper-V"), "InstallState", "Available"),
                          *(o.item() for o in refused)),
                resolution=(Manual(f"Resize {host} to an Azure size that supports nested virtualization ({NESTING_SIZES}), "
                                   "then install the Hyper-V role"),),
                explains=NO_HYPERVISOR_SYMPTOMS,
            )
            continue
        failures = _azure_launch_failures(ev, host)
        if failures:
            yield Hit(
                subject=host,
                summary=f"{host} is an Azure VM ({ev.lab[host].azure_size}) whose processor offers it no VT-x/AMD-V, "
                        f"so its Hyper-V cannot start{stranded(ev.lab, host)}",
                evidence=(*hypervisor_item(ev, host), *(item for e in failures for item in e.items())),
                resolution=(Manual(f"Resize {host} to an Azure size that supports nested virtualization ({NESTING_SIZES}), "
                                   "then start it again"),),
                explains=NO_HYPERVISOR_SYMPTOMS,
            )
            continue
        cpu = ev.lab[host].cpu
        if (cpu.virtualization_extensions and cpu.slat) or not _hypervisor_unknown_or_absent(ev, host):
            continue
        missing = "VT-x/AMD-V" if not cpu.virtualization_extensions else "SLAT (EPT/RVI)"
        yield Hit(
            subject=host,
            summary=f"{host}'s processor {cpu.model} has no {missing}, so no hypervisor can run on it{stranded(ev.lab, host)}",
            evidence=cpu_items(ev, host),
            resolution=(Manual(f"Move the lab to a host whose CPU supports {missing} (Intel VT-x with EPT, or AMD-V with RVI)"),),
            explains=NO_HYPERVISOR_SYMPTOMS,
        )


@rule("virtualization-disabled-in-firmware", category="prerequisites", severity="error", reference=REFERENCE)
def virtualization_disabled_in_firmware(ev: Evidence) -> Iterator[Hit]:
    for host in views.hosts(ev.lab):
        cpu = ev.lab[host].cpu
        if not (cpu.virtualization_extensions and cpu.slat) or cpu.enabled_in_firmware:
            continue
        if not _hypervisor_unknown_or_absent(ev, host):
            continue
        yield Hit(
            subject=host,
            summary=f"{host}'s CPU supports virtualization but it is disabled in BIOS/UEFI{stranded(ev.lab, host)}",
            evidence=cpu_items(ev, host),
            resolution=(Manual(f"Enable Intel VT-x / AMD-V (SVM) in {host}'s BIOS/UEFI setup, then power-cycle {host}"),),
            explains=NO_HYPERVISOR_SYMPTOMS,
        )


BCDEDIT = cmd("bcdedit", "/enum", "{current}")


@platform_test("hypervisor-launch-disabled")
def _launch_off(platform: Platform) -> bool:
    return platform.hyperv_installed and platform.hypervisor_launch == "off"


@rule("hypervisor-launch-disabled", category="prerequisites", severity="error", reference=REFERENCE)
def hypervisor_launch_disabled(ev: Evidence) -> Iterator[Hit]:
    for owner in platforms_where(ev.lab, "hypervisor-launch-disabled"):
        launch = ev.of(owner).hypervisorlaunchtype
        items = (launch.item() if launch else seen(BCDEDIT, "hypervisorlaunchtype", "Off"),)
        yield Hit(
            subject=owner,
            summary=f"{owner} has Hyper-V installed but its boot entry says hypervisorlaunchtype Off, so the hypervisor never starts",
            evidence=items + hypervisor_item(ev, owner),
            resolution=(*on_platform(ev.lab, owner, [ps("bcdedit", "/set", "hypervisorlaunchtype", "auto")]),
                        reboot(ev.lab, owner)),
            explains=NO_HYPERVISOR_SYMPTOMS,
        )


@rule("dynamic-memory-enabled", category="prerequisites", severity="warning", reference=REFERENCE)
def dynamic_memory_enabled(ev: Evidence) -> Iterator[Hit]:
    for vm in nested_hosts(ev):
        if not ev.lab[vm].memory.dynamic:
            continue
        yield Hit(
            subject=vm,
            summary=f"{name_of(vm)} runs Hyper-V with dynamic memory enabled; a VM hosting VMs does not balloon, "
                    "so its memory stays at startup (Microsoft: nested virtualization)",
            evidence=(shown(ev, vm, get_vmmemory(vm), "DynamicMemoryEnabled", True, probe="memory"),),
            resolution=while_off(ev.lab, vm, [ps("Set-VMMemory", VMName=name_of(vm), DynamicMemoryEnabled=False)]),
        )


@platform_test("outdated-integration-services")
def _not_patched(platform: Platform) -> bool:
    return not platform.integration_services_current


@rule("outdated-integration-services", category="prerequisites", severity="warning", reference=REFERENCE)
def outdated_integration_services(ev: Evidence) -> Iterator[Hit]:
    for owner in platforms_where(ev.lab, "outdated-integration-services"):
        if ev.lab.kind(owner) == "host":
            item = shown(ev, owner, "Get-HotFix", "InstalledOn", "newest update older than a year", summary=True)
            fix = f"Install the latest cumulative update on {owner} (Windows Update), then reboot"
        else:
            item = shown(ev, owner, get_vm(owner), "IntegrationServicesState", "Update required")
            fix = f"Install the latest Windows updates and integration services inside {name_of(owner)}, then restart it"
        yield Hit(
            subject=owner,
            summary=f"{owner} is not patched: host or guest updates and integration services are out of date",
            evidence=(item,),
            resolution=(Manual(fix),),
        )


SERVICES = cmd("Get-Service", Name="vmms,vmcompute")
ANTIVIRUS = cmd("Get-CimInstance", Namespace="root/SecurityCenter2", ClassName="AntiVirusProduct")
FILTERS = cmd("fltmc", "filters")  # a server has no Security Center: its products show as minifilters


@platform_test("antivirus-blocking-hyperv")
def _blocking_software(platform: Platform) -> bool:
    return bool(platform.security.blocking_software)


@rule("antivirus-blocking-hyperv", category="prerequisites", severity="error", reference=REFERENCE)
def antivirus_blocking_hyperv(ev: Evidence) -> Iterator[Hit]:
    for owner in platforms_where(ev.lab, "antivirus-blocking-hyperv"):
        products = ev.lab.platform(owner).security.blocking_software
        if not is_hyperv_platform(ev, owner):
            continue
        yield Hit(
            subject=owner,
            summary=f"{', '.join(products)} on {owner} blocks the Hyper-V processes (vmms, vmwp, vmcompute)",
            evidence=(
                *(shown(ev, owner, FILTERS, "Filter Name", p, probe="filters", summary=True) if _server(ev, owner)
                  else shown(ev, owner, ANTIVIRUS, "displayName", p, where={"displayName": p}) for p in products),
                shown(ev, owner, SERVICES, "Status", "Stopped", where={"Name": "vmms"}),
            ),
            resolution=(
                Manual(f"Exclude vmms.exe, vmwp.exe and vmcompute.exe (and the VM folders) in {', '.join(products)} on "
                       f"{owner}, or remove it; remove any policy that blocks them (check {DEVICE_GUARD_POLICY_KEY} and "
                       "gpresult /h)"),
                *on_platform(ev.lab, owner, [ps("Start-Service", Name=["vmms", "vmcompute"])]),
            ),
            explains=NO_HYPERVISOR_SYMPTOMS,
        )


def _server(ev: Evidence, owner: str) -> bool:
    return "server" in ev.lab.platform(owner).os.caption.lower()


RULES = (
    host_os_unsupported,
    host_cpu_no_virtualization,
    virtualization_disabled_in_firmware,
    hypervisor_launch_disabled,
    dynamic_memory_enabled,
    outdated_integration_services,
    antivirus_blocking_hyperv,
)
