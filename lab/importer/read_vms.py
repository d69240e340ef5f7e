"""The VMs an owner runs, as its parent shows them (Get-VM, Get-VMProcessor, Get-VMMemory,
Get-VMNetworkAdapter, Get-VMHardDiskDrive), and what their guests add (addresses, listeners)."""

from __future__ import annotations

import re
from typing import Any

from nestlab.diagnosis.parse import listening, parent_adapter, startup_memory, workload
from nestlab.lab.importer.base import ReaderBase
from nestlab.lab.importer.context import Context
from nestlab.lab.importer.listformat import collection
from nestlab.lab.importer.numbers import gib, mib_to_gib
from nestlab.lab.importer.textobject import TextObject
from nestlab.lab.importer.values import ON_OFF, VM_STATES, mac_of
from nestlab.simulator.model import adapter_id, derived_mac, vm_id


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
        vm = _match(ctx.of("vm"), name)
        guest_ctx = self.contexts.get((*ctx.path, name))
        state = None
        if vm is not None:
            generation = self.read.integer(vm, "Generation")
            if generation is not None:
                d["generation"] = generation
            else:
                self.assume(node, "generation", 2)
            if vm.text("Version"):
                d["version"] = vm.text("Version")
            state = self.read.choice(vm, "State", VM_STATES)
            if vm.has("IsClustered"):
                d["clustered"] = self.read.boolean(vm, "IsClustered")
        if state is None:
            state = "Running" if guest_ctx is not None else None
            if state is None:
                self.assume(node, "state", "Off")
        if state is not None:
            d["state"] = state
        usage = self.read.integer(vm, "CPUUsage") if vm is not None and vm.has("CPUUsage") else None
        if usage is not None:
            d["workload"] = workload(usage)
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
        if vm is not None and (vm.text("IntegrationServicesState") or "").lower() == "update required":
            d.setdefault("guest", {})["integration_services_current"] = False
        if guest_ctx is not None:
            listeners = self.listeners(guest_ctx)
            if listeners:
                d["services"] = listeners
            guest = d.setdefault("guest", {})
            self.platform(guest_ctx, node, guest, is_host=False)
            self.owner(guest_ctx, node, guest)
        return d

    def processor(self, ctx: Context, node: str, name: str, vm: TextObject | None) -> dict:
        p: dict[str, Any] = {}
        obj = _match(ctx.of("processor"), name)
        if obj is not None:
            p["count"] = self.read.integer(obj, "Count")
            expose = self.read.boolean(obj, "ExposeVirtualizationExtensions") if obj.has("ExposeVirtualizationExtensions") else None
            if expose is None:
                self.assume(node, "processor.expose_virtualization_extensions", False)
            else:
                p["expose_virtualization_extensions"] = expose
        elif vm is not None and vm.has("ProcessorCount"):
            p["count"] = self.read.integer(vm, "ProcessorCount")
            if vm.has("ExposeVirtualizationExtensions"):  # a custom object (ConvertTo-Json evidence query)
                p["expose_virtualization_extensions"] = self.read.boolean(vm, "ExposeVirtualizationExtensions")
            else:
                self.assume(node, "processor.expose_virtualization_extensions", False)
        else:
            self.assume(node, "processor", "2 vCPUs, extensions not exposed")
        return {k: v for k, v in p.items() if v is not None}

    def vm_memory(self, ctx: Context, node: str, name: str, vm: TextObject | None, state: str | None) -> dict:
        m: dict[str, Any] = {}
        obj = _match(ctx.of("memory"), name)
        configured = None
        if obj is not None:
            if obj.has("Startup(M)"):
                value = self.read.integer(obj, "Startup(M)")
                configured = mib_to_gib(value) if value is not None else None
            else:
                value = self.read.integer(obj, "Startup")
                configured = gib(value) if value is not None else None
            m["dynamic"] = self.read.boolean(obj, "DynamicMemoryEnabled")
        elif vm is not None and vm.has("MemoryStartup"):
            value = self.read.integer(vm, "MemoryStartup")
            configured = gib(value) if value is not None else None
            m["dynamic"] = self.read.boolean(vm, "DynamicMemoryEnabled")
        if configured is None:
            self.assume(node, "memory", "4 GB static")
            return {}
        assigned = self.read.integer(vm, "MemoryAssigned") if vm is not None and vm.has("MemoryAssigned") else None
        m["startup_gb"], m["pending_startup_gb"] = startup_memory(configured, bool(m.get("dynamic")),
                                                                  gib(assigned or 0), state == "Running")
        return {k: v for k, v in m.items() if v is not None}

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
        cap = self.bandwidth_cap(ctx, vm_node.rsplit("/", 1)[-1], name)
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


def _match(objects: list[TextObject], vm_name: str) -> TextObject | None:
    """The fullest record of a VM (a `fl *` beats a default table of the same VM)."""
    found = [o for o in objects if (o.text("VMName") or o.text("Name")) == vm_name]
    return max(found, key=lambda o: len(o.props)) if found else None
