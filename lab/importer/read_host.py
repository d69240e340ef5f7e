"""A physical or cloud host: its name, kind, CPU, memory and NICs (Win32_*, systeminfo, Get-NetAdapter …)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from nestlab.diagnosis.parse import gb_of, get, host_cpu, patched
from nestlab.lab.importer.base import ReaderBase
from nestlab.lab.importer.context import Context
from nestlab.simulator.model import Cpu
from nestlab.simulator.psdata import PSObject


class HostReader(ReaderBase):
    def host(self, path: tuple[str, ...]) -> dict:
        ctx = self.contexts[path]
        cs, cpu = self.answers.machine(ctx)
        name = path[0] or self.host_name(ctx, cs)
        d: dict[str, Any] = {"name": name}
        imds = ctx.first("imds")
        machine = (str(get(cs, "Manufacturer")).lower(), str(get(cs, "Model")).lower())
        d["kind"] = "azure-vm" if imds is not None or machine == ("microsoft corporation", "virtual machine") else "physical"
        if get(cs, "Model") is None and imds is None:
            self.assume(name, "kind", "physical")
        if imds is not None and imds.text("vmSize"):
            d["azure_size"] = imds.text("vmSize")
        self.platform(ctx, name, d, is_host=True)
        networks = self.networks(ctx)
        if networks:
            d["networks"] = networks
        d["cpu"] = self.cpu(ctx, name, cpu, get(cs, "HypervisorPresent"))
        if get(cs, "TotalPhysicalMemory") is None:
            self.assume(name, "memory_gb", 64)
        else:
            d["memory_gb"] = gb_of(cs["TotalPhysicalMemory"])
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

    def host_name(self, ctx: Context, cs: PSObject | None) -> str:
        if get(cs, "Name"):
            return str(cs["Name"])  # type: ignore[index]
        for kind in ("vm", "switch", "vhd", "processor", "adapter"):
            for obj in ctx.of(kind):
                if obj.text("ComputerName"):
                    return obj.text("ComputerName")  # type: ignore[return-value]
        self.assumptions.append("host name not shown by the bundle; named 'HOST'")
        return "HOST"

    def cpu(self, ctx: Context, node: str, cpu: PSObject | None, hypervisor_present: bool | None) -> dict:
        """Win32_Processor (or systeminfo's) as the collector reads it (parse.host_cpu); under a
        hypervisor the flags read False but held, as Hyper-V started."""
        record = asdict(host_cpu(cpu, bool(hypervisor_present)))
        shown = {key for key, prop in CPU_PROPERTIES.items() if hypervisor_present and key in FLAGS or prop in (cpu or {})}
        if hypervisor_present and self.launch_failed(ctx):
            # Another hypervisor runs (an Azure VM's) but Hyper-V's own failed to launch: no VT-x/AMD-V
            # reaches this OS. Which flag is to blame does not show; the firmware switch is taken.
            record["enabled_in_firmware"] = False
            self.assumptions.append(f"{node}: Hyper-V-Hypervisor event 41/42 (launch failed) under another hypervisor; "
                                    "the bundle cannot tell a CPU without VT-x/AMD-V from one switched off: took "
                                    "cpu.enabled_in_firmware false")
        for key in CPU_PROPERTIES:
            if key not in shown:
                self.assume(node, f"cpu.{key}", getattr(Cpu, key))
        return record

    def launch_failed(self, ctx: Context) -> bool:
        """System log: 'Hypervisor launch failed; Either VMX (41) / SVM (42) not present or not enabled in BIOS.'"""
        return any(e.text("Id") in ("41", "42") and (e.text("ProviderName") or "") == "Microsoft-Windows-Hyper-V-Hypervisor"
                   for e in ctx.of("event"))


# the lab's cpu keys, by the Win32_Processor property that shows each
CPU_PROPERTIES = {"vendor": "Manufacturer", "model": "Name", "cores": "NumberOfLogicalProcessors",
                  "virtualization_extensions": "VMMonitorModeExtensions",
                  "slat": "SecondLevelAddressTranslationExtensions", "enabled_in_firmware": "VirtualizationFirmwareEnabled"}
FLAGS = ("virtualization_extensions", "slat", "enabled_in_firmware")
