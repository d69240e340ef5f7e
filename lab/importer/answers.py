"""A bundle's printed records as the collector's answers: typed objects keyed by probe.

The collector sees a host through the probes of `diagnosis.probes` and reads their answers with
`diagnosis.parse`; a pasted bundle is the same answers once each printed record (a TextObject)
becomes an object of its probe with typed values. The value `Reader` reads each text, so a value
that does not read is still a 'file:line: why' problem, and what the record does not print is
left out (the reader of the answer then takes the format's default, as for a host's answer).
"""

from __future__ import annotations

import ipaddress
from typing import Any, Callable

from nestlab.lab.importer import synthetic
from nestlab.lab.importer.context import Context
from nestlab.lab.importer.textobject import TextObject
from nestlab.lab.importer.values import VHD_TYPES, VM_STATES, Reader
from nestlab.simulator.psdata import PSObject, Result

Convert = Callable[[Reader, TextObject, str], Any]  # one property's text as its typed value, or None


def text(read: Reader, obj: TextObject, prop: str) -> str | None:
    """A value whole: one PowerShell cut short is a problem."""
    return read.text(obj, prop) or None


def printed(read: Reader, obj: TextObject, prop: str) -> str | None:
    """A value as printed, cut or not (a path's tail is enough to match it)."""
    return obj.text(prop) or None


def whole_or_none(read: Reader, obj: TextObject, prop: str) -> str | None:
    """A display text: left out when a table cut it short."""
    f = obj.field(prop)
    return None if f is None or f.truncated or not f.text else f.text


def integer(read: Reader, obj: TextObject, prop: str) -> int | None:
    return read.integer(obj, prop)


def port(read: Reader, obj: TextObject, prop: str) -> int:
    """A port the record must show: not shown, or not a number, is a problem."""
    if not obj.has(prop):
        read.problem(obj, prop, "not shown")
    return read.integer(obj, prop) or 0


def boolean(read: Reader, obj: TextObject, prop: str) -> bool | None:
    return read.boolean(obj, prop)


def prefix(read: Reader, obj: TextObject, prop: str) -> str | None:
    try:
        ipaddress.ip_network(obj.text(prop) or "", strict=False)
    except ValueError:
        read.problem(obj, prop, "not an address prefix like 192.168.0.0/24")
    return text(read, obj, prop)


def bytes_or_mb(read: Reader, obj: TextObject, prop: str) -> int | None:
    """A size in bytes, or its table column in MB (`Startup(M)`, `MemoryAssigned(M)`) as bytes."""
    if obj.has(f"{prop}(M)"):
        mb = read.integer(obj, f"{prop}(M)")
        return None if mb is None else mb * 2**20
    return read.integer(obj, prop)


def choice(table: dict[str, Any]) -> Convert:
    return lambda read, obj, prop: read.choice(obj, prop, table)


# the importer's kind (kinds.py) -> the collector's probe key and how each property it reads is typed
PROBES: dict[str, tuple[str, dict[str, Convert]]] = {
    # ProcessorCount/ExposeVirtualizationExtensions: a custom VM object (ConvertTo-Json evidence query)
    "vm": ("vms", {"Name": printed, "VMName": printed, "State": choice(VM_STATES), "Generation": integer,
                   "Version": printed, "IsClustered": boolean, "CPUUsage": integer, "MemoryAssigned": bytes_or_mb,
                   "MemoryStartup": integer, "DynamicMemoryEnabled": boolean, "IntegrationServicesState": printed,
                   "ProcessorCount": integer, "ExposeVirtualizationExtensions": boolean}),
    "os": ("os", {"Caption": printed, "BuildNumber": integer}),
    "volume": ("volumes", {"DriveLetter": printed, "Size": integer, "SizeRemaining": integer}),
    "partition": ("partitions", {"DriveLetter": printed, "DiskNumber": printed}),
    "physicaldisk": ("physicaldisks", {"DeviceId": printed, "MediaType": printed}),
    "ipaddress": ("ipaddresses", {"InterfaceAlias": printed, "IPAddress": printed, "PrefixLength": integer}),
    "service": ("services", {"Name": printed, "Status": printed}),
    "event": ("events:System", {"Id": printed, "ProviderName": printed, "Message": printed}),
    "computersystem": ("cs", {"Name": printed, "DNSHostName": printed, "Manufacturer": printed, "Model": printed,
                              "TotalPhysicalMemory": integer, "HypervisorPresent": boolean}),
    "cpu": ("cpu", {"Manufacturer": text, "Name": printed, "NumberOfLogicalProcessors": integer,
                    "VMMonitorModeExtensions": boolean, "SecondLevelAddressTranslationExtensions": boolean,
                    "VirtualizationFirmwareEnabled": boolean}),
    "processor": ("processors", {"VMName": printed, "Count": integer, "ExposeVirtualizationExtensions": boolean}),
    "memory": ("memory", {"VMName": printed, "Startup": bytes_or_mb, "DynamicMemoryEnabled": boolean}),
    "firewall": ("firewall", {"Name": text, "DisplayName": whole_or_none, "Group": whole_or_none,
                              "DisplayGroup": whole_or_none, "Direction": text, "Action": text,
                              "Enabled": boolean, "Profile": text}),
    "portfilter": ("portfilters", {"InstanceID": text, "LocalPort": text, "Protocol": text}),
    "nat": ("nat", {"Name": text, "InternalIPInterfaceAddressPrefix": prefix}),
    "mapping": ("natmappings", {"NatName": text, "Protocol": text, "ExternalIPAddress": text,
                                "ExternalPort": port, "InternalIPAddress": text, "InternalPort": port}),
    "vhd": ("vhds", {"Path": text, "VhdType": choice(VHD_TYPES), "Size": integer, "ParentPath": printed,
                     "DiskIdentifier": printed}),
}


class Answers:
    """The answers one bundle gives, per context and probe key, each converted once (so each
    problem is reported once) and when first read (so problems keep the order they are met in)."""

    def __init__(self, read: Reader) -> None:
        self.read = read
        self._done: dict[tuple[tuple[str, ...], str], list[PSObject]] = {}

    def of(self, ctx: Context, kind: str) -> list[PSObject]:
        key = (ctx.path, kind)
        if key not in self._done:
            probe, props = PROBES[kind]
            self._done[key] = [answer(self.read, o, probe, props) for o in ctx.of(kind)]
        return self._done[key]

    def keyed(self, ctx: Context, *kinds: str) -> dict[str, Result]:
        """These kinds' objects as the collector's answers, by probe key (what parse's readers take)."""
        return {PROBES[kind][0]: Result(output=tuple(self.of(ctx, kind))) for kind in kinds}

    def os(self, ctx: Context) -> PSObject | None:
        """Win32_OperatingSystem, over what systeminfo says."""
        si = ctx.first("systeminfo")
        return synthetic.overlaid("os", synthetic.operating_system(si) if si is not None else {},
                                  self.first(ctx, "os"))

    def first(self, ctx: Context, kind: str) -> PSObject | None:
        found = self.of(ctx, kind)
        return found[0] if found else None

    def machine(self, ctx: Context) -> tuple[PSObject | None, PSObject | None]:
        """(Win32_ComputerSystem, Win32_Processor) of a host: the CIM objects over what systeminfo says."""
        si = ctx.first("systeminfo")
        cs = synthetic.computer_system(self.read, si) if si is not None else {}
        cpu = synthetic.processor(si) if si is not None else {}
        return (synthetic.overlaid("cs", cs, self.first(ctx, "computersystem")),
                synthetic.overlaid("cpu", cpu, self.first(ctx, "cpu")))


def answer(read: Reader, obj: TextObject, probe: str, props: dict[str, Convert]) -> PSObject:
    """One printed record as an object of its probe's answer: the properties it prints, typed."""
    values = ((name, convert(read, obj, name)) for name, convert in props.items())
    return PSObject((f"nestlab.import.{probe}",), [(name, v) for name, v in values if v is not None])
