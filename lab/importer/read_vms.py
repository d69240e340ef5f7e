"""The VMs an owner runs, as its parent shows them (Get-VM, Get-VMProcessor, Get-VMMemory,
Get-VMNetworkAdapter, Get-VMHardDiskDrive), and what their guests add (addresses, listeners)."""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from nestlab.diagnosis.parse import get, listening, parent_adapter, vm_memory, vm_processor, workload
from nestlab.lab.importer.base import ReaderBase
from nestlab.lab.importer.context import Context
from nestlab.lab.importer.listformat import collection
from nestlab.lab.importer.textobject import TextObject
from nestlab.lab.importer.values import ON_OFF, mac_of
from nestlab.simulator.model import NodeId, adapter_id, derived_mac, vm_id
from nestlab.simulator.psdata import PSObject


class VmReader(ReaderBase):
    def vm_names(self, ctx: Context) -> list[str]:
        names = ctx.vm_names(self.read.text)  # a name cut short by PowerShell is a problem, not a VM
        for path in self.contexts:  # a guest folder means its VM ran here
            if len(path) == len(ctx.path) + 1 and path[:-1] == ctx.path and path[-1] not in names:
                names.append(path[-1])
        return names

    def vm(self, ctx: Context, owner: str, name: str) -> dict:
        node = vm_id(owner, name)
        d: dict[str, Any] = {"name": name}
        vm = _match(self.answers.of(ctx, "vm"), name)
        guest_ctx = self.contexts.get((*ctx.path, name))
        if vm is not None and vm.get("Generation") is None:
            self.assume(node, "generation", 2)
        d.update({key: vm[prop] for key, prop in (("generation", "Generation"), ("version", "Version"),
                                                  ("clustered", "IsClustered")) if vm is not None and prop in vm})
        state = vm.get("State") if vm is not None else None
        if state is None:
            state = "Running" if guest_ctx is not None else None  # a guest folder: it ran to be read
            if state is None:
                self.assume(node, "state", "Off")
        if state is not None:
            d["state"] = state
        if vm is not None and "CPUUsage" in vm:
            d["workload"] = workload(vm["CPUUsage"])
        d["processor"] = self.processor(ctx, node, name, vm)
        d["memory"] = self.vm_memory(ctx, node, name, vm, state)
        adapters = [self.adapter(ctx, node, a, guest_ctx) for a in ctx.of("adapter") if a.text("VMName") == name]
        if adapters:
            d["adapters"] = adapters
        disks = [h.text("Path") for h in ctx.of("harddrive") if h.text("VMName") == name and h.text("Path")]
        if disks:
            d["disks"] = disks
        elif not ctx.ran_command("Get-VMHardDiskDrive"):
            self.assume(node, "disks", [])
        if vm is not None and str(vm.get("IntegrationServicesState", "")).lower() == "update required":
            d.setdefault("guest", {})["integration_services_current"] = False
        if guest_ctx is not None:
            listeners = self.listeners(guest_ctx)
            if listeners:
                d["services"] = listeners
            guest = d.setdefault("guest", {})
            self.platform(guest_ctx, node, guest, is_host=False)
            self.owner(guest_ctx, node, guest)
        return d

    def processor(self, ctx: Context, node: str, name: str, vm: PSObject | None) -> dict:
        shown = _match(self.answers.of(ctx, "processor"), name)
        if shown is None and vm is not None and "ProcessorCount" in vm:  # a custom VM object's count
            shown = PSObject(("nestlab.import.processors",), {"Count": vm["ProcessorCount"], **{
                k: vm[k] for k in ("ExposeVirtualizationExtensions",) if k in vm}})
        if shown is None:
            self.assume(node, "processor", "2 vCPUs, extensions not exposed")
            return {}
        if "ExposeVirtualizationExtensions" not in shown:
            self.assume(node, "processor.expose_virtualization_extensions", False)
        return asdict(vm_processor(shown))

    def vm_memory(self, ctx: Context, node: str, name: str, vm: PSObject | None, state: str | None) -> dict:
        shown = _match(self.answers.of(ctx, "memory"), name)
        if get(shown, "Startup", get(vm, "MemoryStartup")) is None:
            self.assume(node, "memory", "4 GB static")
            return {}
        return asdict(vm_memory(shown, vm, state == "Running"))

    def adapter(self, ctx: Context, vm_node: str, obj: TextObject, guest_ctx: Context | None) -> dict:
        name = self.read.text(obj, "Name") or "Network Adapter"
        a: dict[str, Any] = {"name": name}
        if obj.text("SwitchName"):
            a["switch"] = obj.text("SwitchName")
        spoofing = self.read.choice(obj, "MacAddressSpoofing", ON_OFF) if obj.has("MacAddressSpoofing") else None
        if spoofing is None:
            self.assume(adapter_id(vm_node, name), "mac_spoofing", False)
        else:
            a["mac_spoofing"] = spoofing
        mac = mac_of(obj.text("MacAddress"))
        if mac and mac != derived_mac(adapter_id(vm_node, name)):
            a["mac"] = mac
        ip = self.adapter_ip(obj, guest_ctx, mac, adapter_id(vm_node, name))
        if ip:
            a["ip"] = ip
        cap = self.bandwidth_cap(ctx, NodeId.parse(vm_node).name, name)
        if cap:
            a["max_bandwidth_mbps"] = cap
        return a

    def adapter_ip(self, obj: TextObject, guest_ctx: Context | None, mac: str | None, node: str) -> str | None:
        items, _ = collection(obj.text("IPAddresses") or "")
        ipv4 = [i for i in items if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", i)]
        if not ipv4:
            return None
        if guest_ctx is not None:
            for nic in guest_ctx.of("netadapter"):
                if mac_of(nic.text("MacAddress")) == mac:
                    found = self.interface_ip(guest_ctx, nic.text("Name") or "")
                    if found:
                        return found
        self.assume(node, f"prefix length of {ipv4[0]} (the guest's Get-NetIPAddress is not in the bundle)", 24)
        return f"{ipv4[0]}/24"

    def bandwidth_cap(self, ctx: Context, vm_name: str, adapter: str) -> int:
        """BandwidthSetting's MaximumBandwidth (bits/s) for the adapter named in its ParentAdapter text."""
        for b in ctx.of("bandwidth"):
            if parent_adapter(b.text("ParentAdapter") or "") == (vm_name, adapter):
                return (self.read.integer(b, "MaximumBandwidth") or 0) // 1_000_000
        return 0

    def listeners(self, ctx: Context) -> list[dict]:
        """What listens in a guest, less the ports its own portproxy rules open (those are not services)."""
        ports = [(self.read.integer(c, "LocalPort"), protocol)
                 for kind, protocol in (("tcplistener", "TCP"), ("udplistener", "UDP")) for c in ctx.of(kind)]
        proxied = [r["listen_port"] for r in self.portproxy(ctx) or ()]
        return [{"port": port, "protocol": protocol} for port, protocol in listening(ports, proxied)]


def _match(objects: list[PSObject], vm_name: str) -> PSObject | None:
    """The fullest record of a VM (a `fl *` beats a default table of the same VM)."""
    found = [o for o in objects if (o.get("VMName") or o.get("Name")) == vm_name]
    return max(found, key=len) if found else None
