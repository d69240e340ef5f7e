"""Windows platform cmdlets: CIM classes, services, features, event logs, hotfixes, disks, reboot, IMDS.

Shapes and quirks: notes §3 (Win32_Processor's virtualization properties read False whenever a
hypervisor runs), samples/win32-deviceguard.txt, get-windowsfeature-hyperv.txt, get-netnat.txt
(Get-Service WinNat), eventlog-hyperv-hypervisor.txt, eventlog-hyperv-worker-vmms.txt.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import product
from types import MappingProxyType
from typing import Any, Iterable

from nestlab.simulator import behaviour
from nestlab.simulator.cmdlets import background, enums
from nestlab.simulator.cmdlets.base import GIB, Call, Ctx, Terminating, as_list, cmdlet, command_not_found, obj
from nestlab.simulator.cmdlets.shapes import VARIES, Shape
from nestlab.simulator.cmdlets.wildcards import WILDCARDS, like
from nestlab.simulator.model import VM, Host, Platform, stable_guid
from nestlab.simulator.psdata import ErrorRecord, PSObject

NOW = datetime(2026, 11, 20, 9, 0, 0)  # the simulated hosts' clock (events, hotfixes)
CIM = "Microsoft.Management.Infrastructure.CimInstance"


def cim(cls: str, props: list[tuple[str, Any]], ctx: Ctx, namespace: str = "root/cimv2",
        computer_name: str | None = None) -> PSObject:
    """A CIM instance; `computer_name`: ctx.computer_name, when the caller has read it already."""
    if computer_name is None:
        computer_name = ctx.computer_name
    return obj((f"{CIM}#{namespace}/{cls}", CIM), [*props, ("PSComputerName", computer_name)])


def hypervisor_present(ctx: Ctx) -> bool:
    """Win32_ComputerSystem.HypervisorPresent: in any VM (also Azure) True; on metal when one runs."""
    record = ctx.lab[ctx.owner]
    if isinstance(record, VM) or (isinstance(record, Host) and record.kind == "azure-vm"):
        return True
    return behaviour.hypervisor_status(ctx.lab, ctx.owner).running or behaviour.vbs_running(ctx.platform)


def _cpu(ctx: Ctx):
    return ctx.lab[ctx.lab.root_host(ctx.owner)].cpu


def _logical_processors(ctx: Ctx) -> int:
    record = ctx.lab[ctx.owner]
    return record.processor.count if isinstance(record, VM) else record.cpu.cores


def _memory_bytes(ctx: Ctx) -> int:
    record = ctx.lab[ctx.owner]
    gb = behaviour.guest_memory_gb(ctx.lab, ctx.owner) if isinstance(record, VM) else record.memory_gb
    return gib_bytes(gb)


@lru_cache(maxsize=256)  # the sizes a lab gives its systems: a handful of values
def gib_bytes(gb: float) -> int:
    """`int(gb * GIB)`: one int per size, which every object that shows it shares (an int above 256
    is a new object per computation: each VM's Get-VM and Get-VMMemory objects, each guest's
    Win32_ComputerSystem, hold one)."""
    return int(gb * GIB)


@lru_cache(maxsize=256)
def _visible_and_free_kb(memory: int) -> tuple[int, int]:
    """Win32_OperatingSystem's TotalVisibleMemorySize and FreePhysicalMemory (KB) for a memory size:
    two ints per size, shared by every guest of that size."""
    return memory // 1024, memory // 2048


def _is_virtual(ctx: Ctx) -> bool:
    record = ctx.lab[ctx.owner]
    return isinstance(record, VM) or record.kind == "azure-vm"


def cim_shape(cls: str, props: list[tuple[str, Any]], namespace: str = "root/cimv2") -> Shape:
    """The Shape of the objects `cim(cls, props, ctx, namespace)` makes (PSComputerName last, set per object):
    for the classes every place is asked once per collection."""
    return Shape((f"{CIM}#{namespace}/{cls}", CIM), [*props, ("PSComputerName", VARIES)])


OS_SHAPE = cim_shape("Win32_OperatingSystem", [
    ("Caption", VARIES), ("Version", VARIES), ("BuildNumber", VARIES),
    ("OSArchitecture", "64-bit"), ("ProductType", VARIES), ("CSName", VARIES),
    ("SystemDirectory", "C:\\Windows\\system32"), ("Organization", ""), ("RegisteredUser", "Windows User"),
    ("SerialNumber", "00454-60000-00001-AA000"), ("TotalVisibleMemorySize", VARIES),
    ("FreePhysicalMemory", VARIES), ("LastBootUpTime", VARIES),  # a datetime: not kept in a template
])
_LAST_BOOT = NOW - timedelta(days=3)


@lru_cache(maxsize=64, typed=True)  # the builds of a lab's systems: a handful (typed: 17763.0 is not 17763)
def os_version(build: int) -> str:
    """'10.0.<build>' (Win32_OperatingSystem.Version, Get-VM's IntegrationServicesVersion), one text
    per build, shared by every place's object that shows it."""
    return f"10.0.{build}"


@lru_cache(maxsize=64, typed=True)
def _build_number(build: int) -> str:
    return str(build)


def win32_operatingsystem(ctx: Ctx) -> PSObject:
    platform = ctx.platform
    os = platform.os
    server = behaviour.is_server(platform)
    name = ctx.computer_name
    visible, free = _visible_and_free_kb(_memory_bytes(ctx))
    return OS_SHAPE.make({
        "Caption": os.caption, "Version": os_version(os.build), "BuildNumber": _build_number(os.build),
        "ProductType": 3 if server else 1, "CSName": name.upper(), "TotalVisibleMemorySize": visible,
        "FreePhysicalMemory": free, "LastBootUpTime": _LAST_BOOT, "PSComputerName": name,
    })


COMPUTER_SHAPE = cim_shape("Win32_ComputerSystem", [
    ("Name", VARIES), ("DNSHostName", VARIES),
    ("PrimaryOwnerName", "Windows User"), ("Domain", "WORKGROUP"),
    ("TotalPhysicalMemory", VARIES), ("Model", VARIES), ("Manufacturer", VARIES),
    ("HypervisorPresent", VARIES), ("NumberOfProcessors", 1),
    ("NumberOfLogicalProcessors", VARIES), ("SystemType", "x64-based PC"),
])


def win32_computersystem(ctx: Ctx) -> PSObject:
    virtual = _is_virtual(ctx)
    name = ctx.computer_name
    return COMPUTER_SHAPE.make({
        "Name": name.upper(), "DNSHostName": name, "TotalPhysicalMemory": _memory_bytes(ctx),
        "Model": "Virtual Machine" if virtual else "PowerEdge R750",
        "Manufacturer": "Microsoft Corporation" if virtual else "Dell Inc.",
        "HypervisorPresent": hypervisor_present(ctx), "NumberOfLogicalProcessors": _logical_processors(ctx),
        "PSComputerName": name,
    })


def win32_processor(ctx: Ctx) -> PSObject:
    cpu = _cpu(ctx)
    present = hypervisor_present(ctx)  # notes §3: all three read False whenever a hypervisor runs
    return cim("Win32_Processor", [
        ("DeviceID", "CPU0"), ("Name", cpu.model), ("Caption", "Intel64 Family 6 Model 106 Stepping 6"
                                                     if cpu.vendor == "Intel" else "AMD64 Family 25 Model 1 Stepping 1"),
        ("MaxClockSpeed", 2000), ("SocketDesignation", "CPU0"),
        ("Manufacturer", "GenuineIntel" if cpu.vendor == "Intel" else "AuthenticAMD"),
        ("NumberOfCores", _logical_processors(ctx)), ("NumberOfLogicalProcessors", _logical_processors(ctx)),
        ("VMMonitorModeExtensions", cpu.virtualization_extensions and not present),
        ("SecondLevelAddressTranslationExtensions", cpu.slat and not present),
        ("VirtualizationFirmwareEnabled", cpu.enabled_in_firmware and not present),
    ], ctx)


DEVICEGUARD_SHAPE = cim_shape("Win32_DeviceGuard", [
    ("AvailableSecurityProperties", VARIES), ("CodeIntegrityPolicyEnforcementStatus", VARIES),
    ("InstanceIdentifier", "4ff40742-2649-41b8-bdd1-e80fad1cce80"),
    ("RequiredSecurityProperties", VARIES),
    ("SecurityServicesConfigured", VARIES), ("SecurityServicesRunning", VARIES),
    ("UsermodeCodeIntegrityPolicyEnforcementStatus", 0), ("Version", "1.0"),
    ("VirtualizationBasedSecurityStatus", VARIES),
], "root/Microsoft/Windows/DeviceGuard")


def win32_deviceguard(ctx: Ctx) -> PSObject:
    platform = ctx.platform
    sec = platform.security
    running = behaviour.vbs_running(platform)
    configured = sec.vbs != "not-enabled" or sec.registry.EnableVirtualizationBasedSecurity == 1 or sec.group_policy_vbs
    status = 2 if running else 1 if configured else 0
    services = [n for n, on in ((1, sec.credential_guard), (2, sec.device_guard)) if on]
    return DEVICEGUARD_SHAPE.make({  # fresh lists per object (a script may change them)
        "AvailableSecurityProperties": [1, 2, 3, 5], "CodeIntegrityPolicyEnforcementStatus": 2 if sec.device_guard else 0,
        "RequiredSecurityProperties": [1, 2] if configured else [0],
        "SecurityServicesConfigured": services or [0], "SecurityServicesRunning": services if running and services else [0],
        "VirtualizationBasedSecurityStatus": status, "PSComputerName": ctx.computer_name,
    })


def antivirus_products(ctx: Ctx) -> list[PSObject]:
    platform = ctx.platform  # read once for both
    names = (*background.defender(platform), *platform.security.blocking_software)
    return [cim("AntiVirusProduct", [
        ("displayName", name), ("instanceGuid", "{" + stable_guid(
            "av", name) + "}"), ("pathToSignedProductExe", f"C:\\Program Files\\{name}\\agent.exe"),
        ("pathToSignedReportingExe", f"C:\\Program Files\\{name}\\agent.exe"), ("productState", 266240),
        ("timestamp", NOW.strftime("%a, %d %b %Y %H:%M:%S GMT")),
    ], ctx, "root/SecurityCenter2") for name in names]


CLASSES = {
    ("root/cimv2", "win32_operatingsystem"): lambda ctx: [win32_operatingsystem(ctx)],
    ("root/cimv2", "win32_computersystem"): lambda ctx: [win32_computersystem(ctx)],
    ("root/cimv2", "win32_processor"): lambda ctx: [win32_processor(ctx)],
    ("root/microsoft/windows/deviceguard", "win32_deviceguard"): lambda ctx: [win32_deviceguard(ctx)],
    ("root/securitycenter2", "antivirusproduct"): antivirus_products,
}


@cmdlet("Get-CimInstance", positional=("ClassName",), params=("ClassName", "Namespace", "Filter", "Property",
                                                             "ComputerName", "CimSession", "Query"),
        aliases={"Class": "ClassName"}, cls="Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand")
def get_ciminstance(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    named = call.named  # canonical lower-case names (`bind`): every place is asked for four classes
    cls = str(named.get("classname") or "")
    namespace, build = _cim_class(str(named.get("namespace") or "root/cimv2"), cls)
    if namespace == "root/securitycenter2" and not background.security_center(ctx.platform):
        # Security Center is a client component: a server has no root/SecurityCenter2 (docs/fidelity.md)
        raise Terminating(ErrorRecord("Invalid namespace ", f"HRESULT 0x8004100e,{call.cmdlet.class_name}",
                                      "MetadataError", target_name=f"{namespace}:{cls}", target_type="String",
                                      activity="Get-CimInstance", reason="CimException",
                                      exception_type="Microsoft.Management.Infrastructure.CimException"))
    if build is None:
        # Get-CimInstance : Invalid class (HRESULT 0x80041010) — CimException, ObjectNotFound
        raise Terminating(ErrorRecord("Invalid class ", f"HRESULT 0x80041010,{call.cmdlet.class_name}", "ObjectNotFound",
                                      target_name=f"{namespace}:{cls}", target_type="String", activity="Get-CimInstance",
                                      reason="CimException",
                                      exception_type="Microsoft.Management.Infrastructure.CimException"))
    return build(ctx)


@lru_cache(maxsize=256)  # the texts a collection sends: a handful, each asked at every place
def _cim_class(namespace: str, cls: str) -> tuple[str, Any]:
    """(the namespace as Get-CimInstance compares it, the builder of the class or None)."""
    namespace = namespace.replace("\\", "/").lower()
    return namespace, CLASSES.get((namespace, cls.lower()))


# ----------------------------------------------------------------------------------------------
# Services
# ----------------------------------------------------------------------------------------------

SERVICES = {
    "winnat": ("WinNat", "Windows NAT Driver"),
    "vmms": ("vmms", "Hyper-V Virtual Machine Management"),
    "vmcompute": ("vmcompute", "Hyper-V Host Compute Service"),
    "iphlpsvc": ("iphlpsvc", "IP Helper"),
    "mpssvc": ("mpssvc", "Windows Defender Firewall"),
}


_DISPLAY = {key: display.lower() for key, (_, display) in SERVICES.items()}  # the display names as -Name compares them


def service_status(ctx: Ctx, key: str) -> str | None:
    """'Running' / 'Stopped', or None when the service does not exist here."""
    return _status(ctx.platform, key)


def _status(platform: Platform, key: str) -> str | None:
    return _status_of(key, platform.services.winnat == "running", platform.hyperv_installed,
                      bool(platform.security.blocking_software))


def _status_of(key: str, winnat_running: bool, hyperv: bool, blocked: bool) -> str | None:
    """A service's status from the three states it depends on: WinNat's own, the Hyper-V role, and
    security software that blocks Hyper-V's services."""
    if key == "winnat":
        return "Running" if winnat_running else "Stopped"
    if key in ("vmms", "vmcompute"):
        if not hyperv:
            return None
        return "Stopped" if blocked else "Running"
    return "Running"


def _service_states(ctx: Ctx) -> tuple[bool, bool, bool]:
    """The three states the services' statuses depend on (`_status_of`), the platform read once: the
    key of `_PRESENT`, one read-only table per combination of the services this platform has, with
    their status, in SERVICES' order (not a dict of five statuses worked out per call: every place
    is asked for its services)."""
    platform = ctx.platform
    return platform.services.winnat == "running", platform.hyperv_installed, bool(platform.security.blocking_software)


_PRESENT = {states: MappingProxyType({key: status for key in SERVICES
                                      if (status := _status_of(key, *states)) is not None})
            for states in product((False, True), repeat=3)}


def service_object(ctx: Ctx, key: str, status: str | None = None) -> PSObject:
    """A service as Get-Service writes it; `status`: service_status, when the caller has it already."""
    if status is None:
        status = service_status(ctx, key)
    return SERVICE_SHAPE.make(_SERVICE_VALUES[key, status])


SERVICE_SHAPE = Shape("System.ServiceProcess.ServiceController", [
    ("Name", VARIES), ("DisplayName", VARIES), ("Status", VARIES), ("StartType", VARIES), ("ServiceName", VARIES),
    ("CanStop", VARIES), ("ServiceType", VARIES), ("MachineName", "."),
])


def _service_values(key: str, status: str) -> dict[str, Any]:
    name, display = SERVICES[key]
    return {
        "Name": name, "DisplayName": display, "Status": enums.service_status(status),
        "StartType": "Manual" if key == "winnat" else "Automatic", "ServiceName": name,
        "CanStop": status == "Running", "ServiceType": "KernelDriver" if key == "winnat" else "Win32OwnProcess",
    }


# what a service's object varies by is its key and status only: each pair's values laid down once
# (read, never changed: `Shape.make` copies them into the object's own dict)
_SERVICE_VALUES = {(key, status): _service_values(key, status) for key in SERVICES for status in ("Running", "Stopped")}

# a plain -Name (no wildcard), lower case -> the services it names (its key, or its display name), in SERVICES' order
_PLAIN_NAMES = {text: tuple(k for k in SERVICES if k == text or _DISPLAY[k] == text) for text in (*SERVICES, *_DISPLAY.values())}


def _service_keys(ctx: Ctx, call: Call, states: tuple[bool, bool, bool] | None = None) -> list[str]:
    """The services the call names (-Name, -DisplayName, or piped services' names), each once, in the
    order named; a name no service here has is an error. `states`: _service_states, when the caller has it."""
    if states is None:
        states = _service_states(ctx)
    names = call.names("Name", "DisplayName")
    if names is None:
        names = [o["Name"] for o in call.input if isinstance(o, PSObject) and "Name" in o]
        if not names:
            return list(_PRESENT[states])
    keys, missing = _resolved(tuple(map(str, names)), states)
    for name in missing:
        ctx.error(_no_service(name, call.cmdlet.class_name, call.cmdlet.name))
    return list(keys)


@lru_cache(maxsize=256)  # names come from what is sent (a collection sends one list to every place): bounded
def _resolved(names: tuple[str, ...], states: tuple[bool, bool, bool]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the keys of the services `names` match on a platform in these states, each once in the order
    matched; the names that match none): a pure function of the texts and the three states, worked
    out once per pair, not per name at every guest."""
    present = _PRESENT[states]
    keys: list[str] = []
    missing: list[str] = []
    for name in names:
        wanted = name.lower()
        if WILDCARDS.isdisjoint(wanted):  # a plain name: the key or the display name itself (wildcards.like)
            matched = [k for k in _PLAIN_NAMES.get(wanted, ()) if k in present]
        else:
            matched = [k for k in present if like(k, wanted) or _DISPLAY[k] == wanted]
        if not matched:
            missing.append(name)
        for k in matched:
            if k not in keys:
                keys.append(k)
    return tuple(keys), tuple(missing)


@lru_cache(maxsize=256)  # names come from what is sent: bounded; a record is frozen, so answers may share one
def _no_service(name: str, class_name: str, activity: str) -> ErrorRecord:
    """Get-Service's record for a name no service has (two per guest without Hyper-V, per collection)."""
    return ErrorRecord(f"Cannot find any service with service name '{name}'.",
                       f"NoServiceFoundForGivenName,{class_name}", "ObjectNotFound", target_name=name,
                       target_type="String", activity=activity, reason="ServiceCommandException",
                       exception_type="Microsoft.PowerShell.Commands.ServiceCommandException", terminating=False)


@cmdlet("Get-Service", positional=("Name",), params=("Name", "DisplayName", "ComputerName", "Include", "Exclude"))
def get_service(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    states = _service_states(ctx)
    present = _PRESENT[states]
    return [service_object(ctx, k, present[k]) for k in _service_keys(ctx, call, states)]


def _cannot_start(call: Call, key: str) -> ErrorRecord:
    name, display = SERVICES[key]
    return ErrorRecord(
        f"Service '{display} ({name})' cannot be started due to the following error: Cannot start service {name} on "
        "computer '.'.", f"StartServiceFailed,{call.cmdlet.class_name}", "OpenError", target_name=display,
        target_type="ServiceController", activity=call.cmdlet.name, reason="ServiceCommandException",
        exception_type="Microsoft.PowerShell.Commands.ServiceCommandException", terminating=False)


def start_service(ctx: Ctx, key: str) -> bool:
    """Start a service; False when it cannot start (a locked WinNAT, Hyper-V blocked by security software)."""
    platform = ctx.platform
    if key == "winnat":
        if platform.services.winnat == "locked":
            return False
        ctx.lab.update_platform(ctx.owner, services=replace(platform.services, winnat="running"))
        return True
    if key in ("vmms", "vmcompute"):
        return not platform.security.blocking_software
    return True


@cmdlet("Start-Service", positional=("Name",), params=("Name", "DisplayName", "InputObject", "PassThru"))
def start_service_cmdlet(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    out = []
    for key in _service_keys(ctx, call):
        if not start_service(ctx, key):
            ctx.error(_cannot_start(call, key))
        elif call.flag("PassThru"):
            out.append(service_object(ctx, key))
    return out


@cmdlet("Stop-Service", positional=("Name",), params=("Name", "DisplayName", "InputObject", "PassThru", "Force"))
def stop_service_cmdlet(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    for key in _service_keys(ctx, call):
        if key == "winnat" and ctx.platform.services.winnat == "running":
            ctx.lab.update_platform(ctx.owner, services=replace(ctx.platform.services, winnat="stopped"))
    return []


@cmdlet("Restart-Service", positional=("Name",), params=("Name", "DisplayName", "InputObject", "PassThru", "Force"))
def restart_service_cmdlet(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    for key in _service_keys(ctx, call):
        if key == "winnat" and ctx.platform.services.winnat == "running":
            ctx.lab.update_platform(ctx.owner, services=replace(ctx.platform.services, winnat="stopped"))
        if not start_service(ctx, key):
            ctx.error(_cannot_start(call, key))
    return []


# ----------------------------------------------------------------------------------------------
# Features
# ----------------------------------------------------------------------------------------------


def _server_only(ctx: Ctx, call: Call) -> None:
    if not behaviour.is_server(ctx.platform):
        raise Terminating(command_not_found(call.cmdlet.name))


# The Hyper-V role and its management tools as `Get-WindowsFeature *Hyper-V*` lists them (name, display
# name, depth, parent): samples/get-windowsfeature-hyperv.txt sample A, VERBATIM names and nesting.
TOOLS = (("RSAT-Hyper-V-Tools", "Hyper-V Management Tools", 3, "RSAT-Role-Tools"),
         ("Hyper-V-Tools", "Hyper-V GUI Management Tools", 4, "RSAT-Hyper-V-Tools"),
         ("Hyper-V-PowerShell", "Hyper-V Module for Windows PowerShell", 4, "RSAT-Hyper-V-Tools"))


def tool_object(ctx: Ctx, name: str, display: str, depth: int, parent: str) -> PSObject:
    installed = ctx.platform.hyperv_installed
    return obj("Microsoft.Windows.ServerManager.Commands.Feature", [
        ("Name", name), ("DisplayName", display), ("Description", display), ("Installed", installed),
        ("InstallState", enums.install_state("Installed" if installed else "Available")), ("FeatureType", "Feature"),
        ("Path", f"Remote Server Administration Tools\\Role Administration Tools\\{display}"), ("Depth", depth),
        ("DependsOn", "{}"), ("Parent", parent), ("ServerComponentDescriptor", f"ServerComponent_{name.replace('-', '_')}"),
        ("SubFeatures", "{}"), ("SystemService", "{}"), ("Notification", "{}"), ("BestPracticesModelId", None),
        ("EventQuery", None), ("PostConfigurationNeeded", False),
        ("AdditionalInfo", "{MajorVersion, MinorVersion, NumericId, InstallName}"),
    ], to_string=display)


# The Hyper-V role as `Get-WindowsFeature Hyper-V | fl *` shows it (samples/get-windowsfeature-hyperv.txt);
# VARIES: whether it is installed. Every Windows Server place is asked, once per collection.
FEATURE_SHAPE = Shape("Microsoft.Windows.ServerManager.Commands.Feature", [
    ("Name", "Hyper-V"), ("DisplayName", "Hyper-V"),
    ("Description", "Hyper-V provides the services that you can use to create and manage virtual machines and their "
                    "resources. Each virtual machine is a virtualized computer system that operates in an isolated "
                    "execution environment. This allows you to run multiple operating systems simultaneously."),
    ("Installed", VARIES), ("InstallState", VARIES),
    ("FeatureType", "Role"), ("Path", "Hyper-V"), ("Depth", 1), ("DependsOn", "{}"), ("Parent", None),
    ("ServerComponentDescriptor", "ServerComponent_Hyper_V"), ("SubFeatures", "{}"), ("SystemService", "{}"),
    ("Notification", "{}"), ("BestPracticesModelId", "Microsoft/Windows/Hyper-V"), ("EventQuery", "Hyper-V.Events.xml"),
    ("PostConfigurationNeeded", False), ("AdditionalInfo", "{MajorVersion, MinorVersion, NumericId, InstallName}"),
])


def feature_object(ctx: Ctx) -> PSObject:
    installed = ctx.platform.hyperv_installed
    return FEATURE_SHAPE.make({
        "Installed": installed, "InstallState": enums.install_state("Installed" if installed else "Available"),
    }, to_string="Hyper-V")


def _wants_hyperv(call: Call, param: str) -> bool:
    return any(str(n).lower() in ("hyper-v", "microsoft-hyper-v", "microsoft-hyper-v-all")
               for n in as_list(call.named.get(param.lower())))


@cmdlet("Get-WindowsFeature", positional=("Name",), params=("Name", "ComputerName", "Vhd"),
        cls="Microsoft.Windows.ServerManager.Commands.GetWindowsFeatureCommand")
def get_windowsfeature(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    _server_only(ctx, call)
    role, tools = _features_named(tuple([str(n).lower() for n in as_list(call.named.get("name")) or ["Hyper-V"]]))
    out = [feature_object(ctx)] if role else []
    out += [tool_object(ctx, *tool) for tool in tools]
    return out


@lru_cache(maxsize=256)  # names come from what is sent (every Windows Server place is sent the same one): bounded
def _features_named(names: tuple[str, ...]) -> tuple[bool, tuple[tuple[str, str, int, str], ...]]:
    """(whether the lower-case `names` match the Hyper-V role, the management tools they match in
    TOOLS' order): a pure function of the texts, matched once per list, not per place."""
    return (any(like("hyper-v", n) for n in names),
            tuple(tool for tool in TOOLS if any(like(tool[0].lower(), n) for n in names)))


def _install_result(success: bool, restart: str, code: str, features: str) -> PSObject:
    return obj("Microsoft.Windows.ServerManager.Commands.FeatureOperationResult", [
        ("Success", success), ("RestartNeeded", restart), ("FeatureResult", features), ("ExitCode", code),
    ])


@cmdlet("Install-WindowsFeature", positional=("Name",),
        params=("Name", "IncludeManagementTools", "IncludeAllSubFeature", "Restart", "ComputerName", "Source"),
        cls="Microsoft.Windows.ServerManager.Commands.AddWindowsFeatureCommand")
def install_windowsfeature(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    _server_only(ctx, call)
    if not _wants_hyperv(call, "Name"):
        return [_install_result(True, "No", "NoChangeNeeded", "{}")]
    if ctx.platform.hyperv_installed:
        return [_install_result(True, "No", "NoChangeNeeded", "{}")]
    failure = behaviour.install_hyperv(ctx.lab, ctx.owner)
    if failure is not None:
        # samples/error-install-hyperv-feature.txt sample A (VERBATIM shape)
        ctx.error(ErrorRecord(f"A prerequisite check for the Hyper-V feature failed.\n1. {failure}",
                              f"Alteration_PrerequisiteCheck_Failed,{call.cmdlet.class_name}", "InvalidOperation",
                              target_name="Hyper-V", target_type="ServerComponentWrapper",
                              activity="Install-WindowsFeature", reason="Exception", terminating=False))
        return [_install_result(False, "Maybe", "Failed", "{}")]
    ctx.lab.update_platform(ctx.owner, hyperv_installed=True)
    if call.flag("Restart"):
        reboot(ctx)
    return [_install_result(True, "Yes", "SuccessRestartRequired", "{Hyper-V, Hyper-V Module for Windows PowerShell}")]


@cmdlet("Get-WindowsOptionalFeature", params=("Online", "FeatureName", "Path"),
        cls="Microsoft.Dism.Commands.GetWindowsOptionalFeatureCommand")
def get_windowsoptionalfeature(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    if not _wants_hyperv(call, "FeatureName"):
        return []
    state = "Enabled" if ctx.platform.hyperv_installed else "Disabled"
    return [OPTIONAL_FEATURE_SHAPE.make({"State": enums.feature_state(state)})]


OPTIONAL_FEATURE_SHAPE = Shape("Microsoft.Dism.Commands.AdvancedFeatureObject", [
    ("FeatureName", "Microsoft-Hyper-V"), ("DisplayName", "Hyper-V"), ("Description", "Hyper-V"),
    ("RestartRequired", "Possible"), ("State", VARIES),
])


@cmdlet("Enable-WindowsOptionalFeature", params=("Online", "FeatureName", "All", "NoRestart", "Path"),
        cls="Microsoft.Dism.Commands.EnableWindowsOptionalFeatureCommand")
def enable_windowsoptionalfeature(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    """DISM skips Server Manager's prerequisite check (sample D): the role installs, the hypervisor may not launch."""
    if _wants_hyperv(call, "FeatureName"):
        ctx.lab.update_platform(ctx.owner, hyperv_installed=True)
    return [obj("Microsoft.Dism.Commands.ImageObject", [("Path", ""), ("Online", True), ("RestartNeeded", True)])]


# ----------------------------------------------------------------------------------------------
# Reboot
# ----------------------------------------------------------------------------------------------


def reboot(ctx: Ctx) -> None:
    """Restart-Computer: apply pending boot settings, start or stop VBS as the DeviceGuard registry
    values and the policy now ask, and free WinNAT's locked file (root-causes: winnat-locked
    resolution "restart the host")."""
    pending = ctx.take_pending_boot()
    platform = ctx.platform
    sec = platform.security
    sec = replace(sec, credential_guard=pending.pop("credential_guard", sec.credential_guard),
                  device_guard=pending.pop("device_guard", sec.device_guard))
    wanted = sec.registry.EnableVirtualizationBasedSecurity == 1 or sec.group_policy_vbs
    if wanted and sec.vbs != "running":
        sec = replace(sec, vbs="running")
    elif not wanted and sec.vbs != "not-enabled":
        sec = replace(sec, vbs="not-enabled")
    services = platform.services
    if services.winnat == "locked":
        services = replace(services, winnat="running")
    ctx.lab.update_platform(ctx.owner, security=sec, services=services, **pending)


@cmdlet("Restart-Computer", params=("Force", "Wait", "ComputerName", "For", "Timeout"))
def restart_computer(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    reboot(ctx)
    return []


# ----------------------------------------------------------------------------------------------
# Event logs
# ----------------------------------------------------------------------------------------------

HYPERVISOR = "Microsoft-Windows-Hyper-V-Hypervisor"
LOGS = {
    "system": "System", "application": "Application",
    "microsoft-windows-hyper-v-vmms-admin": "Microsoft-Windows-Hyper-V-VMMS-Admin",
    "microsoft-windows-hyper-v-vmms/admin": "Microsoft-Windows-Hyper-V-VMMS-Admin",
    "microsoft-windows-hyper-v-worker-admin": "Microsoft-Windows-Hyper-V-Worker-Admin",
    "microsoft-windows-hyper-v-worker/admin": "Microsoft-Windows-Hyper-V-Worker-Admin",
}
LOG_NAMES = tuple(dict.fromkeys(LOGS.values()))  # each log once, in the order above
# the logs of a platform without the Hyper-V role (its Hyper-V logs do not exist), in the same order
LOG_NAMES_WITHOUT_HYPERV = tuple(log for log in LOG_NAMES if not log.startswith("Microsoft-Windows-Hyper-V"))


def event(ctx: Ctx, log: str, provider: str, event_id: int, level: str, message: str, age_minutes: int) -> PSObject:
    return obj("System.Diagnostics.Eventing.Reader.EventLogRecord", [
        ("TimeCreated", NOW - timedelta(minutes=age_minutes)), ("ProviderName", provider), ("Id", event_id),
        ("LevelDisplayName", level), ("Message", message), ("LogName", log),
        ("MachineName", ctx.computer_name), ("Level", {"Critical": 1, "Error": 2, "Warning": 3}.get(level, 4)),
    ])


def events(ctx: Ctx, log: str, platform: Platform) -> list[PSObject]:
    """Events that follow from the state of this host or guest (`platform`, the caller's read of
    ctx.platform), newest first."""
    # every routine history is empty on a minimal platform (system_history, and both Hyper-V logs'
    # in _fresh_history; Application has none anywhere): no table entry kept per place and log for it
    history = _history(ctx, log) if background.realistic(platform) else None
    out: list[PSObject] = [event(ctx, log, e.provider, e.event_id, e.level, e.message, e.minutes_ago)
                           for e in history] if history else []  # a list of its own, whatever the history
    if log == "System":
        if platform.services.winnat == "locked" and background.realistic(platform):
            # WinNat is a kernel driver: a driver that fails to start is Service Control Manager 7000,
            # "The %1 service failed to start due to the following error: %n%2" (npcap#536, Level 2)
            out.append(event(ctx, log, "Service Control Manager", 7000, "Error",
                             "The Windows NAT Driver service failed to start due to the following error: \n"
                             "The process cannot access the file because it is being used by another process.", 5))
        elif platform.services.winnat == "locked":
            # The minimal world keeps 7023 ("The %1 service terminated with the following error: %n%2"),
            # which the diagnosis reads today (docs/fidelity.md: "event logs")
            out.append(event(ctx, log, "Service Control Manager", 7023, "Error",
                             "The Windows NAT Driver service terminated with the following error: \n"
                             "The process cannot access the file because it is being used by another process.", 5))
        if platform.hyperv_installed:
            out.append(_hypervisor_event(ctx))
    elif log == "Microsoft-Windows-Hyper-V-Worker-Admin" and platform.hyperv_installed:
        if not behaviour.hypervisor_status(ctx.lab, ctx.owner).running:
            for vm in ctx.vms():
                if ctx.lab[vm].state == "Running":
                    # KB 2490458 (samples/eventlog-hyperv-worker-vmms.txt sample A), VERBATIM
                    out.append(event(ctx, log, "Microsoft-Windows-Hyper-V-Worker", 3112, "Error",
                                     "The virtual machine could not be started because the hypervisor is not running.", 30))
    return out


def _history(ctx: Ctx, log: str) -> list[background.Entry]:
    """The routine entries a real log holds before anything the lab's state explains (background).

    Hundreds of entries on a realistic platform, read by every Get-WinEvent of the log: computed
    once while the lab stands still (`Lab.memo`; the entries are frozen). The kept list itself:
    its one caller (`events`) only reads it, making its own list of event objects."""
    histories = ctx.lab.memo(_HISTORIES, dict)  # one table per lab state: no key or closure made per call
    key = (ctx.owner, log)
    history = histories.get(key)  # not a KeyError raised and caught: every log of every place is a first read
    if history is None:
        history = histories[key] = _fresh_history(ctx, log)
    return history


_HISTORIES = ("event history",)  # the Lab.memo key of _history's table, by (owner, log)


def _fresh_history(ctx: Ctx, log: str) -> list[background.Entry]:
    platform = ctx.platform
    if log == "System":
        return background.system_history(platform, ctx.owner)
    from nestlab.simulator.cmdlets.vm import vm_guid  # vm imports this module

    history = {"Microsoft-Windows-Hyper-V-Worker-Admin": background.vm_history,
               "Microsoft-Windows-Hyper-V-VMMS-Admin": background.vmms_history}.get(log)
    if history is None or not platform.hyperv_installed:
        return []  # before the VMs are listed: a guest without the role has no such log at all
    if not background.realistic(platform):
        return []  # both Hyper-V histories are empty on a minimal platform: no VM list made for them
    vms = [(ctx.lab[v].name, vm_guid(v), behaviour.is_running(ctx.lab, v)) for v in ctx.vms()]
    return history(platform, vms)


def _hypervisor_event(ctx: Ctx) -> PSObject:
    status = behaviour.hypervisor_status(ctx.lab, ctx.owner)
    amd = _cpu(ctx).vendor == "AMD"
    if status.running:
        return event(ctx, "System", HYPERVISOR, 1, "Information", "Hypervisor successfully started.", 4300)
    # (4300 minutes: at the last boot, LastBootUpTime = NOW - 3 days)
    if status.reason == "launch-off":
        return event(ctx, "System", HYPERVISOR, 5, "Error",
                     "Hypervisor launch has been disabled through the hypervisorlaunchtype bcdedit setting.", 4300)
    if status.reason == "vm-off":
        return event(ctx, "System", HYPERVISOR, 1, "Information", "Hypervisor successfully started.", 4300)
    if amd:
        return event(ctx, "System", HYPERVISOR, 42, "Error", "Hypervisor launch failed; Either SVM not present or not "
                                                              "enabled in BIOS.", 4300)
    return event(ctx, "System", HYPERVISOR, 41, "Error", "Hypervisor launch failed; Either VMX not present or not "
                                                          "enabled in BIOS.", 4300)


@cmdlet("Get-WinEvent", positional=("LogName",), params=("LogName", "MaxEvents", "FilterHashtable", "ProviderName",
                                                        "ComputerName", "Oldest"))
def get_winevent(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    # A collection sends five of these to every place, most answered "No events were found": the
    # bound values are read from the call's dict (canonical lower-case names, `bind`) once each,
    # and the platform once for all the logs.
    named = call.named
    given = named.get("logname")
    names = [] if given is None else as_list(given)
    given = named.get("providername")
    providers = [] if given is None else [str(p).lower() for p in as_list(given)]
    table = named.get("filterhashtable")
    if not isinstance(table, dict):
        table = None
    else:
        names += as_list(next((v for k, v in table.items() if k.lower() == "logname"), None))
        providers += [str(p).lower() for p in as_list(next((v for k, v in table.items() if k.lower() == "providername"), None))]
    platform = ctx.platform
    hyperv = platform.hyperv_installed  # the Hyper-V logs exist only with the role
    out: list[PSObject] = []
    if providers and not names:
        # -ProviderName alone reads every log the provider writes to (Get-WinEvent docs, parameter
        # set GetProviderSet): here the logs that exist on this platform, by their own names
        for log in LOG_NAMES if hyperv else LOG_NAMES_WITHOUT_HYPERV:
            out += events(ctx, log, platform)
    for name in names:
        log = LOGS.get(str(name).lower())
        if log is None or (not hyperv and log.startswith("Microsoft-Windows-Hyper-V")):
            ctx.error(_no_such_log(str(name), call.cmdlet.class_name))
            continue
        out += events(ctx, log, platform)
    if table is not None:
        wanted = next((as_list(v) for k, v in table.items() if k.lower() == "id"), None)
        if wanted:
            out = [e for e in out if e["Id"] in [int(w) for w in wanted]]
    if providers and out:
        out = [e for e in out if str(e["ProviderName"]).lower() in providers]
    if len(out) > 1:
        out.sort(key=lambda e: e["TimeCreated"], reverse=True)
    if "maxevents" in named:
        out = out[: int(named["maxevents"])]
    if not out and not ctx.errors:
        ctx.error(_no_events(call.cmdlet.class_name))
    return out


# Get-WinEvent's two "nothing" records depend only on the cmdlet's class and the log's name, and a
# collection writes them for most logs of every place (three or more per guest): each text is made
# into a record once. A record is frozen, so every answer may hold the same one.

@lru_cache(maxsize=256)  # log names come from what is sent: bounded
def _no_such_log(name: str, class_name: str) -> ErrorRecord:
    return ErrorRecord(f'There is not an event log on the localhost computer that matches "{name}".',
                       f"NoMatchingLogsFound,{class_name}", "ObjectNotFound", target_name=name, target_type="String",
                       activity="Get-WinEvent", reason="Exception", terminating=False)


@lru_cache(maxsize=8)
def _no_events(class_name: str) -> ErrorRecord:
    return ErrorRecord("No events were found that match the specified selection criteria.",
                       f"NoMatchingEventsFound,{class_name}", "ObjectNotFound", activity="Get-WinEvent",
                       reason="Exception", terminating=False)


# ----------------------------------------------------------------------------------------------
# Hotfixes, disks, Azure instance metadata
# ----------------------------------------------------------------------------------------------


@cmdlet("Get-HotFix", positional=("Id",), params=("Id", "Description", "ComputerName"))
def get_hotfix(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    newest = NOW - timedelta(days=20 if ctx.platform.integration_services_current else 540)
    return [obj(("System.Management.ManagementObject#root\\cimv2\\Win32_QuickFixEngineering",), [
        ("Source", ctx.computer_name.upper()), ("Description", desc), ("HotFixID", kb),
        ("InstalledBy", "NT AUTHORITY\\SYSTEM"), ("InstalledOn", when),
    ]) for desc, kb, when in (("Update", "KB5011497", newest - timedelta(days=200)),
                              ("Security Update", "KB5044281", newest))]


def _volumes(ctx: Ctx):
    return list(ctx.platform.volumes)


@cmdlet("Get-Volume", positional=("DriveLetter",), params=("DriveLetter", "FileSystemLabel", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.GetVolume")
def get_volume(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    wanted = [str(d).rstrip(":").upper() for d in as_list(call.named.get("driveletter"))]
    out = []
    for vol in _volumes(ctx):
        letter = vol.drive.rstrip(":").upper()
        if wanted and letter not in wanted:
            continue
        out.append(cim("MSFT_Volume", [
            ("DriveLetter", letter), ("FriendlyName", ""), ("FileSystemType", "NTFS"), ("DriveType", "Fixed"),
            ("HealthStatus", "Healthy"), ("OperationalStatus", "OK"), ("SizeRemaining", int(vol.free_gb * GIB)),
            ("Size", int(vol.size_gb * GIB)), ("FileSystem", "NTFS"),
        ], ctx, "ROOT/Microsoft/Windows/Storage"))
    return out


@cmdlet("Get-Partition", params=("DriveLetter", "DiskNumber", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.GetPartition")
def get_partition(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    return [cim("MSFT_Partition", [
        ("DiskNumber", i), ("PartitionNumber", 2 if i == 0 else 1), ("DriveLetter", vol.drive.rstrip(":").upper()),
        ("Offset", 16777216), ("Size", int(vol.size_gb * GIB)), ("Type", "Basic"),
    ], ctx, "ROOT/Microsoft/Windows/Storage") for i, vol in enumerate(_volumes(ctx))]


@cmdlet("Get-PhysicalDisk", params=("DeviceNumber", "FriendlyName", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.GetPhysicalDisk")
def get_physicaldisk(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    virtual = _is_virtual(ctx)
    return [cim("MSFT_PhysicalDisk", [
        ("DeviceId", str(i)), ("FriendlyName", "Msft Virtual Disk" if virtual else f"{vol.media.upper()} {i}"),
        ("SerialNumber", f"S{i:04d}"), ("MediaType", enums.media_type(vol.media.upper())), ("CanPool", False),
        ("OperationalStatus", "OK"), ("HealthStatus", "Healthy"), ("Usage", "Auto-Select"),
        ("Size", int(vol.size_gb * GIB)),
    ], ctx, "ROOT/Microsoft/Windows/Storage") for i, vol in enumerate(_volumes(ctx))]


IMDS = "169.254.169.254"


@cmdlet("Invoke-RestMethod", positional=("Uri",), params=("Uri", "Headers", "Method", "NoProxy", "UseBasicParsing",
                                                         "TimeoutSec"))
def invoke_restmethod(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    uri = str(call.get("Uri") or "")
    record = ctx.lab[ctx.owner]
    if IMDS not in uri or not (isinstance(record, Host) and record.kind == "azure-vm"):
        raise Terminating(ErrorRecord("Unable to connect to the remote server",
                                      f"WebCmdletWebResponseException,{call.cmdlet.class_name}", "InvalidOperation",
                                      target_name=uri, target_type="HttpWebRequest", activity="Invoke-RestMethod",
                                      reason="WebException", exception_type="System.Net.WebException"))
    headers = call.get("Headers") or {}
    if not any(k.lower() == "metadata" and str(v).lower() == "true" for k, v in dict(headers).items()):
        raise Terminating(ErrorRecord('{"error":"Bad request. Required metadata header not specified"}',
                                      f"WebCmdletWebResponseException,{call.cmdlet.class_name}", "InvalidOperation",
                                      target_name=uri, target_type="HttpWebRequest", activity="Invoke-RestMethod",
                                      reason="WebException", exception_type="System.Net.WebException"))
    return [obj("System.Management.Automation.PSCustomObject", [
        ("azEnvironment", "AzurePublicCloud"), ("location", "westeurope"), ("name", record.name),
        ("osType", "Windows"), ("vmSize", record.azure_size or "Standard_D4s_v5"),
        ("securityProfile", "@{secureBootEnabled=false; securityType=Standard; virtualTpmEnabled=false}"),
        ("vmId", stable_guid("azure", record.name).lower()),
    ])]
