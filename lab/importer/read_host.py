"""A physical or cloud host: its name, kind, CPU, memory and NICs (Win32_*, systeminfo, Get-NetAdapter …)."""

from __future__ import annotations

import re
from typing import Any

from nestlab.diagnosis.parse import cpu_vendor, patched
from nestlab.lab.importer.base import ReaderBase
from nestlab.lab.importer.context import Context
from nestlab.lab.importer.numbers import gib, mib_to_gib, parse_int
from nestlab.lab.importer.textobject import TextObject

VENDOR_IDS = re.compile(r"GenuineIntel|AuthenticAMD", re.IGNORECASE)  # as Win32_Processor and systeminfo print them


class HostReader(ReaderBase):
    def host(self, path: tuple[str, ...]) -> dict:
        ctx = self.contexts[path]
        name = path[0] or self.host_name(ctx)
        d: dict[str, Any] = {"name": name}
        machine = self.machine(ctx)
        imds = ctx.first("imds")
        d["kind"] = "azure-vm" if imds is not None or machine == ("microsoft corporation", "virtual machine") else "physical"
        if machine is None and imds is None:
            self.assume(name, "kind", "physical")
        if imds is not None and imds.text("vmSize"):
            d["azure_size"] = imds.text("vmSize")
        self.platform(ctx, name, d, is_host=True)
        networks = self.networks(ctx)
        if networks:
            d["networks"] = networks
        self.cpu(ctx, name, d)
        memory = self.memory_gb(ctx)
        if memory is None:
            self.assume(name, "memory_gb", 64)
        else:
            d["memory_gb"] = memory
        if d["kind"] == "azure-vm" and "azure_size" not in d:
            self.assume(name, "azure_size", None)
        patched = self.patched(ctx)
        if patched is None:
            self.assume(name, "integration_services_current", True)
        elif not patched:
            d["integration_services_current"] = False
        self.owner(ctx, name, d)
        return d

    def networks(self, ctx: Context) -> list[dict]:
        """The host's physical NICs (Get-NetAdapter, not vEthernet), their address, gateway and network."""
        out = []
        for nic in ctx.of("netadapter"):
            name = nic.text("Name") or ""
            if name.startswith("vEthernet"):
                continue
            ip = self.interface_ip(ctx, name)
            if ip is None:
                continue
            n: dict[str, Any] = {"adapter": name}
            profile = next((p for p in ctx.of("profile") if p.text("InterfaceAlias") == name), None)
            n["network"] = profile.text("Name") if profile is not None else "lan"
            if profile is None:
                self.assume(f"{ctx.path[0]}:nic:{name}", "network", "lan")
            n["ip"] = ip
            route = next((r for r in ctx.of("route") if r.text("InterfaceAlias") == name), None)
            if route is not None and route.text("NextHop") not in (None, "", "0.0.0.0"):
                n["gateway"] = route.text("NextHop")
            out.append(n)
        return out

    def patched(self, ctx: Context) -> bool | None:
        """Get-HotFix's newest InstalledOn within a year of the OS clock (Win32_OperatingSystem LocalDateTime)."""
        dates = [d for h in ctx.of("hotfix") if (d := self.read.date(h, "InstalledOn")) is not None]
        os_ = ctx.first("os")
        now = self.read.date(os_, "LocalDateTime") if dates and os_ is not None and os_.has("LocalDateTime") else None
        return patched(dates, now)

    def host_name(self, ctx: Context) -> str:
        si = ctx.first("systeminfo")
        if si and si.text("Host Name"):
            return si.text("Host Name")  # type: ignore[return-value]
        for kind in ("vm", "switch", "vhd", "processor", "adapter"):
            for obj in ctx.of(kind):
                if obj.text("ComputerName"):
                    return obj.text("ComputerName")  # type: ignore[return-value]
        self.assumptions.append("host name not shown by the bundle; named 'HOST'")
        return "HOST"

    def machine(self, ctx: Context) -> tuple[str, str] | None:
        cs = ctx.first("computersystem")
        if cs and cs.text("Manufacturer") is not None and cs.text("Model") is not None:
            return (cs.text("Manufacturer").lower(), cs.text("Model").lower())  # type: ignore[union-attr]
        si = ctx.first("systeminfo")
        if si and si.text("System Manufacturer") is not None:
            return (si.text("System Manufacturer").lower(), (si.text("System Model") or "").lower())  # type: ignore[union-attr]
        return None

    def hypervisor_present(self, ctx: Context) -> bool | None:
        cs = ctx.first("computersystem")
        if cs and cs.has("HypervisorPresent"):
            return self.read.boolean(cs, "HypervisorPresent")
        si = ctx.first("systeminfo")
        if si and si.text("Hyper-V Requirements") is not None:
            return si.text("Hyper-V Requirements").startswith("A hypervisor has been detected")  # type: ignore[union-attr]
        return None

    def cpu(self, ctx: Context, node: str, d: dict) -> None:
        cpu: dict[str, Any] = {}
        obj = ctx.first("cpu")
        si = ctx.first("systeminfo")
        if obj is not None:
            vendor = self.read.text(obj, "Manufacturer")
            if vendor:
                cpu["vendor"] = cpu_vendor(vendor)
            if obj.text("Name"):
                cpu["model"] = obj.text("Name")
            cores = self.read.integer(obj, "NumberOfLogicalProcessors")
            if cores is not None:
                cpu["cores"] = cores
        elif si is not None and (found := VENDOR_IDS.search(si.text("Processor(s)") or "")):
            cpu["vendor"] = cpu_vendor(found.group())
        if self.hypervisor_present(ctx) and self.launch_failed(ctx):
            # Another hypervisor runs (an Azure VM's) but Hyper-V's own failed to launch: no VT-x/AMD-V
            # reaches this OS. Which flag is to blame does not show; the firmware switch is taken.
            flags = {"virtualization_extensions": True, "slat": True, "enabled_in_firmware": False}
            self.assumptions.append(f"{node}: Hyper-V-Hypervisor event 41/42 (launch failed) under another hypervisor; "
                                    "the bundle cannot tell a CPU without VT-x/AMD-V from one switched off: took "
                                    "cpu.enabled_in_firmware false")
        elif self.hypervisor_present(ctx):
            flags = {"virtualization_extensions": True, "slat": True, "enabled_in_firmware": True}
        else:
            flags = self.cpu_flags(obj, si)
        cpu.update({k: v for k, v in flags.items() if v is not None})
        for key, default in (("vendor", "Intel"), ("model", "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz"), ("cores", 16),
                             ("virtualization_extensions", True), ("slat", True), ("enabled_in_firmware", True)):
            if key not in cpu:
                self.assume(node, f"cpu.{key}", default)
        if cpu:
            d["cpu"] = cpu

    def launch_failed(self, ctx: Context) -> bool:
        """System log: 'Hypervisor launch failed; Either VMX (41) / SVM (42) not present or not enabled in BIOS.'"""
        return any(e.text("Id") in ("41", "42") and (e.text("ProviderName") or "") == "Microsoft-Windows-Hyper-V-Hypervisor"
                   for e in ctx.of("event"))

    def cpu_flags(self, obj: TextObject | None, si: TextObject | None) -> dict[str, bool | None]:
        if obj is not None and obj.has("VMMonitorModeExtensions"):
            return {
                "virtualization_extensions": self.read.boolean(obj, "VMMonitorModeExtensions"),
                "slat": self.read.boolean(obj, "SecondLevelAddressTranslationExtensions"),
                "enabled_in_firmware": self.read.boolean(obj, "VirtualizationFirmwareEnabled"),
            }
        lines = dict(
            (k.strip().lower(), v.strip().lower() == "yes")
            for k, _, v in (l.partition(":") for l in ((si.text("Hyper-V Requirements") or "") if si else "").split("\n"))
            if v
        )
        return {
            "virtualization_extensions": lines.get("vm monitor mode extensions"),
            "slat": lines.get("second level address translation"),
            "enabled_in_firmware": lines.get("virtualization enabled in firmware"),
        }

    def memory_gb(self, ctx: Context) -> float | None:
        cs = ctx.first("computersystem")
        if cs is not None and cs.has("TotalPhysicalMemory"):
            value = self.read.integer(cs, "TotalPhysicalMemory")
            return gib(value) if value is not None else None
        si = ctx.first("systeminfo")
        if si is not None and si.text("Total Physical Memory"):
            text = si.text("Total Physical Memory").replace("MB", "").strip()  # type: ignore[union-attr]
            try:
                return mib_to_gib(parse_int(text))
            except ValueError:
                self.read.problem(si, "Total Physical Memory", f"{text!r} is not a number of MB")
        return None
