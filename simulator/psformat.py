"""Render objects and errors as Windows PowerShell 5.1 prints them (Format-List, Format-Table, errors).

Default views (notes §3 and samples/): a type listed in TABLE_VIEWS prints as a table of those
columns (a column may be (header, property, scale) — MemoryAssigned(M) is bytes / 1 MB); a type
without a view prints as a table when it has at most four properties and as a list otherwise
(PowerShell's rule for objects without a format view; numbers then right-aligned); GROUP_BY types
print one table per value of a property under a "   Prop: value" line (Get-WinEvent's view). Lists align values after the longest name + " : "
(samples/get-vm-fl.txt); tables are left aligned with a dashed rule under each header
(samples/get-vmprocessor.txt sample D).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Sequence

from nestlab.simulator.psdata import ErrorRecord, PSEnum, PSObject

Column = tuple[str, str, int]  # header, property, divisor

MB = 1 << 20
RIGHT = -1  # a column "divisor" meaning: right-aligned, unscaled
FEATURE_DISPLAY = "<feature display>"  # a computed column: "[X] " + indented DisplayName

# Views that fix their column widths (the console pads to them whatever the values)
FIXED_WIDTHS: dict[str, tuple[int, ...]] = {"Microsoft.Windows.ServerManager.Commands.Feature": (55, 26, 13)}
GROUP_BY: dict[str, str] = {"System.Diagnostics.Eventing.Reader.EventLogRecord": "ProviderName"}
AUTO_TABLE_MAX = 4  # PowerShell: without a view, up to four properties print as a table

TABLE_VIEWS: dict[str, tuple[Column, ...]] = {
    "Microsoft.HyperV.PowerShell.VirtualMachine": (
        ("Name", "Name", 1), ("State", "State", 1), ("CPUUsage(%)", "CPUUsage", 1),
        ("MemoryAssigned(M)", "MemoryAssigned", MB), ("Uptime", "Uptime", 1), ("Status", "Status", 1),
        ("Version", "Version", 1)),
    "Microsoft.HyperV.PowerShell.VMProcessor": (
        ("VMName", "VMName", 1), ("Count", "Count", 1),
        ("CompatibilityForMigrationEnabled", "CompatibilityForMigrationEnabled", 1),
        ("CompatibilityForOlderOperatingSystemsEnabled", "CompatibilityForOlderOperatingSystemsEnabled", 1)),
    "Microsoft.HyperV.PowerShell.VMMemory": (
        ("VMName", "VMName", 1), ("DynamicMemoryEnabled", "DynamicMemoryEnabled", 1), ("Minimum(M)", "Minimum", MB),
        ("Startup(M)", "Startup", MB), ("Maximum(M)", "Maximum", MB)),
    "Microsoft.HyperV.PowerShell.VMNetworkAdapter": (
        ("Name", "Name", 1), ("IsManagementOs", "IsManagementOs", 1), ("VMName", "VMName", 1),
        ("SwitchName", "SwitchName", 1), ("MacAddress", "MacAddress", 1), ("Status", "Status", 1),
        ("IPAddresses", "IPAddresses", 1)),
    "Microsoft.HyperV.PowerShell.VMSwitch": (
        ("Name", "Name", 1), ("SwitchType", "SwitchType", 1),
        ("NetAdapterInterfaceDescription", "NetAdapterInterfaceDescription", 1)),
    "Microsoft.HyperV.PowerShell.HardDiskDrive": (
        ("VMName", "VMName", 1), ("ControllerType", "ControllerType", 1), ("ControllerNumber", "ControllerNumber", 1),
        ("ControllerLocation", "ControllerLocation", 1), ("DiskNumber", "DiskNumber", 1), ("Path", "Path", 1)),
    "Microsoft.HyperV.PowerShell.VMIntegrationComponent": (
        ("VMName", "VMName", 1), ("Name", "Name", 1), ("Enabled", "Enabled", 1),
        ("PrimaryStatusDescription", "PrimaryStatusDescription", 1),
        ("SecondaryStatusDescription", "SecondaryStatusDescription", 1)),
    "Microsoft.Management.Infrastructure.CimInstance#ROOT/StandardCimv2/MSFT_NetRoute": (
        ("ifIndex", "ifIndex", 1), ("DestinationPrefix", "DestinationPrefix", 1), ("NextHop", "NextHop", 1),
        ("RouteMetric", "RouteMetric", 1), ("ifMetric", "ifMetric", 1), ("PolicyStore", "PolicyStore", 1)),
    "Microsoft.Management.Infrastructure.CimInstance#ROOT/StandardCimv2/MSFT_NetTCPConnection": (
        ("LocalAddress", "LocalAddress", 1), ("LocalPort", "LocalPort", 1), ("RemoteAddress", "RemoteAddress", 1),
        ("RemotePort", "RemotePort", 1), ("State", "State", 1), ("AppliedSetting", "AppliedSetting", 1),
        ("OwningProcess", "OwningProcess", 1)),
    "Microsoft.Management.Infrastructure.CimInstance#ROOT/StandardCimv2/MSFT_NetUDPEndpoint": (
        ("LocalAddress", "LocalAddress", 1), ("LocalPort", "LocalPort", 1)),
    "System.ServiceProcess.ServiceController": (
        ("Status", "Status", 1), ("Name", "Name", 1), ("DisplayName", "DisplayName", 1)),
    # "[X] Hyper-V" with sub-features indented by Depth, Install State right-aligned (samples/
    # get-windowsfeature-hyperv.txt sample A; MSLab's CreateParentDisk.ps1 docs)
    "Microsoft.Windows.ServerManager.Commands.Feature": (
        ("Display Name", FEATURE_DISPLAY, 1), ("Name", "Name", 1), ("Install State", "InstallState", RIGHT)),
    "Microsoft.Windows.ServerManager.Commands.FeatureOperationResult": (
        ("Success", "Success", 1), ("Restart Needed", "RestartNeeded", 1), ("Exit Code", "ExitCode", 1),
        ("Feature Result", "FeatureResult", 1)),
    "System.Diagnostics.Eventing.Reader.EventLogRecord": (
        ("TimeCreated", "TimeCreated", 1), ("Id", "Id", 1), ("LevelDisplayName", "LevelDisplayName", 1),
        ("Message", "Message", 1)),
    "Microsoft.Management.Infrastructure.CimInstance#ROOT/StandardCimv2/MSFT_NetAdapter": (
        ("Name", "Name", 1), ("InterfaceDescription", "InterfaceDescription", 1), ("ifIndex", "ifIndex", 1),
        ("Status", "Status", 1), ("MacAddress", "MacAddress", 1), ("LinkSpeed", "LinkSpeed", 1)),
    "Microsoft.Management.Infrastructure.CimInstance#ROOT/Microsoft/Windows/Storage/MSFT_Volume": (
        ("DriveLetter", "DriveLetter", 1), ("FriendlyName", "FriendlyName", 1), ("FileSystemType", "FileSystemType", 1),
        ("DriveType", "DriveType", 1), ("HealthStatus", "HealthStatus", 1), ("OperationalStatus", "OperationalStatus", 1),
        ("SizeRemaining", "SizeRemaining", 1), ("Size", "Size", 1)),
    "Microsoft.Management.Infrastructure.CimInstance#ROOT/Microsoft/Windows/Storage/MSFT_PhysicalDisk": (
        ("DeviceId", "DeviceId", 1), ("FriendlyName", "FriendlyName", 1), ("SerialNumber", "SerialNumber", 1),
        ("MediaType", "MediaType", 1), ("CanPool", "CanPool", 1), ("OperationalStatus", "OperationalStatus", 1),
        ("HealthStatus", "HealthStatus", 1), ("Usage", "Usage", 1), ("Size", "Size", 1)),
    "Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_ComputerSystem": (
        ("Name", "Name", 1), ("PrimaryOwnerName", "PrimaryOwnerName", 1), ("Domain", "Domain", 1),
        ("TotalPhysicalMemory", "TotalPhysicalMemory", 1), ("Model", "Model", 1), ("Manufacturer", "Manufacturer", 1)),
    "Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_OperatingSystem": (
        ("SystemDirectory", "SystemDirectory", 1), ("Organization", "Organization", 1), ("BuildNumber", "BuildNumber", 1),
        ("RegisteredUser", "RegisteredUser", 1), ("SerialNumber", "SerialNumber", 1), ("Version", "Version", 1)),
    "Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_Processor": (
        ("DeviceID", "DeviceID", 1), ("Name", "Name", 1), ("Caption", "Caption", 1),
        ("MaxClockSpeed", "MaxClockSpeed", 1), ("SocketDesignation", "SocketDesignation", 1),
        ("Manufacturer", "Manufacturer", 1)),
    "System.Management.ManagementObject#root\\cimv2\\Win32_QuickFixEngineering": (
        ("Source", "Source", 1), ("Description", "Description", 1), ("HotFixID", "HotFixID", 1),
        ("InstalledBy", "InstalledBy", 1), ("InstalledOn", "InstalledOn", 1)),
}


@dataclass(frozen=True)
class Formatted:
    """What Format-List / Format-Table hand on: the objects and the view to print them with."""

    view: str  # "list" or "table"
    objects: tuple[Any, ...]
    properties: tuple[str, ...] = ()  # empty: the default view; ("*",): every property

    def __str__(self) -> str:
        return render(list(self.objects), view=self.view, properties=self.properties)


def text(value: Any) -> str:
    """A property value as PowerShell prints it inside a list or table."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, PSEnum):
        return value.name
    if isinstance(value, datetime):
        return f"{value.month}/{value.day}/{value.year} {value.strftime('%I:%M:%S %p').lstrip('0')}"
    if isinstance(value, (list, tuple)):
        shown = [text(v) for v in value[:4]]
        return "{" + ", ".join(shown) + ("..." if len(value) > 4 else "") + "}"
    return str(value)


def render(items: Sequence[Any], *, view: str = "", properties: Sequence[str] = ()) -> str:
    """All output of a pipeline as text: groups of same-typed objects, each in its view."""
    blocks: list[str] = []
    group: list[PSObject] = []

    def flush() -> None:
        if group:
            blocks.append(_render_group(group, view, properties))
            group.clear()

    for item in items:
        if isinstance(item, Formatted):
            flush()
            blocks.append(str(item))
        elif isinstance(item, PSObject):
            if group and group[0].type_names[:1] != item.type_names[:1]:
                flush()
            group.append(item)
        else:
            flush()
            blocks.append(text(item))
    flush()
    return "\n".join(blocks)


def _render_group(objects: list[PSObject], view: str, properties: Sequence[str]) -> str:
    type_name = objects[0].type_names[0] if objects[0].type_names else ""
    default = not view and not properties
    if default and type_name in GROUP_BY:
        return _grouped(objects, type_name)
    auto = default and type_name not in TABLE_VIEWS and 0 < len(list(objects[0])) <= AUTO_TABLE_MAX
    if view == "table" or (default and type_name in TABLE_VIEWS) or auto:
        columns = _columns(objects[0], type_name, properties)
        fixed = FIXED_WIDTHS.get(type_name) if default else None
        return format_table(objects, columns, numbers_right=auto or view == "table", widths=fixed)
    names = _list_names(objects[0], properties)
    return format_list(objects, names)


def _grouped(objects: list[PSObject], type_name: str) -> str:
    """One table per run of equal group values, each under '   Prop: value' (Format-Table -GroupBy)."""
    prop = GROUP_BY[type_name]
    blocks: list[str] = []
    run: list[PSObject] = []
    for obj in objects:
        if run and run[0].get(prop) != obj.get(prop):
            blocks.append(_group_block(run, type_name, prop))
            run = []
        run.append(obj)
    if run:
        blocks.append(_group_block(run, type_name, prop))
    return "".join(blocks)


def _group_block(run: list[PSObject], type_name: str, prop: str) -> str:
    return f"\n\n   {prop}: {text(run[0].get(prop))}\n" + format_table(run, TABLE_VIEWS[type_name])


def _columns(first: PSObject, type_name: str, properties: Sequence[str]) -> tuple[Column, ...]:
    if properties and properties != ("*",):
        return tuple((_canonical(first, p), _canonical(first, p), 1) for p in properties)
    if type_name in TABLE_VIEWS and not properties:
        return TABLE_VIEWS[type_name]
    return tuple((name, name, 1) for name in first)


def _canonical(obj: PSObject, name: str) -> str:
    return next((k for k in obj if k.lower() == name.lower()), name)


def _list_names(first: PSObject, properties: Sequence[str]) -> list[str]:
    if not properties or tuple(properties) == ("*",):
        return list(first)
    return [_canonical(first, p) for p in properties]


def format_list(objects: Iterable[PSObject], names: Sequence[str]) -> str:
    width = max((len(n) for n in names), default=0)
    blocks = []
    for obj in objects:
        lines = [f"{n.ljust(width)} : {text(obj.get(n))}".rstrip() for n in names]
        blocks.append("\n".join(lines))
    return "\n" + "\n\n".join(blocks) + "\n"


def format_table(objects: Sequence[PSObject], columns: Sequence[Column], *, numbers_right: bool = False,
                 widths: Sequence[int] | None = None) -> str:
    rows = [[_cell(obj, prop, scale) for _, prop, scale in columns] for obj in objects]
    fitted = [max([len(h)] + [len(r[i]) for r in rows]) for i, (h, _, _) in enumerate(columns)]
    widths = [max(w, f) for w, f in zip(widths, fitted)] if widths else fitted
    right = [scale == RIGHT or (numbers_right and objects and _is_number(objects[0].get(prop)))
             for _, prop, scale in columns]

    def line(cells: list[str]) -> str:
        return " ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)).rstrip()

    out = [line([h for h, _, _ in columns]), line(["-" * len(h) for h, _, _ in columns])]
    out += [line(r) for r in rows]
    return "\n" + "\n".join(out) + "\n"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cell(obj: PSObject, prop: str, scale: int) -> str:
    if prop == FEATURE_DISPLAY:
        mark = "[X]" if obj.get("Installed") else "[ ]"
        return "    " * (int(obj.get("Depth") or 1) - 1) + f"{mark} {text(obj.get('DisplayName'))}"
    value = obj.get(prop)
    if scale not in (1, RIGHT) and isinstance(value, int) and not isinstance(value, bool):
        return str(value // scale)
    return text(value)


def format_error(error: ErrorRecord, command_line: str = "") -> str:
    """An error as the console prints it: 'Cmdlet : message' + position + CategoryInfo + FQID."""
    head = f"{error.activity} : {error.message}" if error.activity else error.message
    lines = head.split("\n")
    if command_line:
        lines += ["At line:1 char:1", f"+ {command_line}", "+ " + "~" * len(command_line)]
    lines += [f"    + CategoryInfo          : {error.category_info}",
              f"    + FullyQualifiedErrorId : {error.fully_qualified_error_id}"]
    return "\n".join(lines)
