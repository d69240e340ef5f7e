"""What a host or a guest holds: virtual switches, NAT and virtual disks (Get-VMSwitch, Get-NetNat,
Get-NetNatStaticMapping, Get-VHD, Test-VHD)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from nestlab.diagnosis.parse import ipv4_addresses, nat_records, vhd_record
from nestlab.lab.importer.base import ReaderBase
from nestlab.lab.importer.context import Context, command_param
from nestlab.lab.importer.textobject import TextObject
from nestlab.lab.importer.values import SWITCH_TYPES, mac_of
from nestlab.simulator.model import stable_guid


class OwnerReader(ReaderBase):
    def owner(self, ctx: Context, node: str, d: dict) -> None:
        switches = [self.switch(ctx, node, obj) for obj in ctx.of("switch")]
        if switches:
            d["switches"] = switches
        elif not ctx.ran_command("Get-VMSwitch"):
            self.assume(node, "switches", [])
        nats = self.nats(ctx)
        if nats is None:
            self.assume(node, "nat", [])
        elif nats:
            d["nat"] = nats
        vhds = self.vhds(ctx, node)
        if vhds:
            d["vhds"] = vhds
        vms = [self.vm(ctx, node, name) for name in self.vm_names(ctx)]
        if vms:
            d["vms"] = vms
        declared = {s.get("name") for s in switches}
        for vm in vms:
            for adapter in vm.get("adapters", ()):
                if adapter.get("switch") and adapter["switch"] not in declared:
                    declared.add(adapter["switch"])
                    d.setdefault("switches", []).append({"name": adapter["switch"]})
                    self.assume(f"{node}:switch:{adapter['switch']}", "type (Get-VMSwitch not in the bundle)", "External")

    def switch(self, ctx: Context, node: str, obj: TextObject) -> dict:
        s: dict[str, Any] = {"name": self.read.text(obj, "Name"), "type": self.read.choice(obj, "SwitchType", SWITCH_TYPES)}
        if s["type"] == "External":
            s["adapter"] = self.uplink(ctx, node, obj)
        elif s["type"] == "Internal":
            ip = self.interface_ip(ctx, f"vEthernet ({s['name']})")
            if ip is None:
                self.assume(f"{node}:switch:{s['name']}", "host_ip", None)
            else:
                s["host_ip"] = ip
        return {k: v for k, v in s.items() if v is not None}

    def uplink(self, ctx: Context, node: str, switch: TextObject) -> str | None:
        """The NIC (host) or VM adapter (guest) an External switch is bound to."""
        description = switch.text("NetAdapterInterfaceDescription")
        for nic in ctx.of("netadapter"):
            if nic.text("InterfaceDescription") == description:
                if len(ctx.path) == 1:
                    return nic.text("Name") if self.interface_ip(ctx, nic.text("Name") or "") else None
                mac = mac_of(nic.text("MacAddress"))
                parent = self.contexts.get(ctx.path[:-1])
                for adapter in parent.of("adapter") if parent else ():
                    if mac_of(adapter.text("MacAddress")) == mac and adapter.text("VMName") == ctx.path[-1]:
                        return adapter.text("Name")
        self.assume(f"{node}:switch:{switch.text('Name')}", "adapter (the NIC it is bound to)", None)
        return None

    def interface_ip(self, ctx: Context, alias: str) -> str | None:
        return ipv4_addresses(self.answers.keyed(ctx, "ipaddress")).get(alias)

    def nats(self, ctx: Context) -> list[dict] | None:
        nats = [{"name": nat.name, "internal_prefix": nat.internal_prefix,
                 **({"static_mappings": [asdict(m) for m in nat.static_mappings]} if nat.static_mappings else {})}
                for nat in nat_records(self.answers.of(ctx, "nat"), self.answers.of(ctx, "mapping"))]
        if nats or ctx.ran_command("Get-NetNat"):
            return nats
        return None

    def vhds(self, ctx: Context, node: str) -> list[dict]:
        out: dict[str, dict] = {}
        for obj in self.answers.of(ctx, "vhd"):
            path = obj.get("Path")
            if not path or path.lower() in out:
                continue
            vhd = asdict(vhd_record(obj, node))
            out[path.lower()] = {k: x for k, x in vhd.items() if x is not None}
        self.mismatched_parents(ctx, out)
        missing, corrupt = set(self.files_missing(ctx)), set(self.files_corrupt(ctx))
        used = [(h.text("Path"), missing | corrupt) for h in ctx.of("harddrive")]
        used += [(v.get("parent"), corrupt) for v in list(out.values())]
        for path, unread in used:
            if path and path.lower() not in out and path in unread:
                out[path.lower()] = {"path": path}
                self.assume(f"{node}:vhd:{path}", "type and size (Get-VHD could not open it)", "dynamic, 127 GB")
        return list(out.values())

    def mismatched_parents(self, ctx: Context, vhds: dict[str, dict]) -> None:
        """Test-VHD 0xC03A000E: the child whose own parent fails the identity check records another id."""
        mismatch = {(command_param(e.command, "Path") or e.target).lower() for e in ctx.errors_of("Test-VHD")
                    if "mismatch in the identifiers" in e.message}
        for path in mismatch:
            v = vhds.get(path)
            if v is not None and v.get("parent") and v["parent"].lower() not in mismatch:
                v["parent_disk_id"] = stable_guid("imported-mismatch", path)
