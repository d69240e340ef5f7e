"""What every Windows installation shows about itself, host or guest: OS, Hyper-V role, boot entry,
security, WinNAT, portproxy, volumes, firewall and the disk files it could not open."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from nestlab.diagnosis.parse import (VBS_STATES, firewall_rules, get, guard_services, objects, os_info, volume_media,
                                    volume_records, winnat_of)
from nestlab.lab.importer.base import ReaderBase
from nestlab.lab.importer.context import Context, command_param
from nestlab.lab.importer.listformat import collection
from nestlab.lab.importer.textobject import TextObject


class PlatformReader(ReaderBase):
    def platform(self, ctx: Context, node: str, d: dict, *, is_host: bool) -> None:
        os_ = self.os(ctx)
        if os_ is None:
            self.assume(node, "os", "Microsoft Windows Server 2022 Datacenter, build 20348")
        else:
            d["os"] = os_
        installed = self.hyperv_installed(ctx)
        if installed is None:
            self.assume(node, "hyperv_installed", is_host)
        else:
            d["hyperv_installed"] = installed
        launch = self.hypervisor_launch(ctx)
        if launch is None:
            self.assume(node, "hypervisor_launch", "auto")
        else:
            d["hypervisor_launch"] = launch
        security = self.security(ctx, node)
        if security:
            d["security"] = security
        winnat = self.winnat(ctx)
        if winnat is None:
            self.assume(node, "services.winnat", "running")
        else:
            d["services"] = {"winnat": winnat}
        portproxy = self.portproxy(ctx)
        if portproxy is None:
            self.assume(node, "portproxy", [])
        elif portproxy:
            d["portproxy"] = portproxy
        volumes = self.volumes(ctx)
        if volumes is None:
            self.assume(node, "volumes", [])
        elif volumes:
            d["volumes"] = volumes
        firewall = self.firewall(ctx)
        if firewall is None:
            self.assume(node, "firewall", [])
        elif firewall:
            d["firewall"] = firewall
        blocking = self.blocking_software(ctx)
        if blocking:
            d.setdefault("security", {})["blocking_software"] = blocking
        missing = self.files_missing(ctx)
        if missing:
            d["files_missing"] = missing
        corrupt = self.files_corrupt(ctx)
        if corrupt:
            d["files_corrupt"] = corrupt

    def os(self, ctx: Context) -> dict | None:
        os_ = self.answers.os(ctx)
        return None if os_ is None else asdict(os_info(os_))

    def hyperv_installed(self, ctx: Context) -> bool | None:
        for obj in ctx.of("feature"):
            name = (obj.text("Name") or obj.text("FeatureName") or "").lower()
            if name not in ("hyper-v", "microsoft-hyper-v"):
                continue
            state = (obj.text("InstallState") or obj.text("Install State") or obj.text("State") or "").lower()
            return state in ("installed", "enabled")
        for cmdlet in ("Get-VM", "Get-VMSwitch", "Get-VMProcessor"):
            ran = ctx.ran_command(cmdlet)
            if ran is not None:
                return not any(e.error_id == "CommandNotFoundException" for e in ran.errors)
        return True if ctx.of("vm") or ctx.of("switch") else None

    def hypervisor_launch(self, ctx: Context) -> str | None:
        for obj in ctx.of("bcdedit"):
            if (obj.text("identifier") or "").lower() == "{current}" or len(ctx.of("bcdedit")) == 1:
                value = (obj.text("hypervisorlaunchtype") or "Auto").lower()
                return "off" if value == "off" else "auto"
        return None

    def security(self, ctx: Context, node: str) -> dict:
        out: dict[str, Any] = {}
        dg = ctx.first("deviceguard")
        if dg is not None:
            status = self.read.choice(dg, "VirtualizationBasedSecurityStatus", {str(n): s for n, s in VBS_STATES.items()})
            if status is not None:
                out["vbs"] = status
            services = [s for prop in ("SecurityServicesRunning", "SecurityServicesConfigured")
                        for s in collection(dg.text(prop) or "")[0]]
            out["credential_guard"], out["device_guard"] = guard_services(services)
        else:
            self.assume(node, "security (vbs, credential_guard, device_guard)", "not-enabled, false, false")
        registry = self.deviceguard_registry(ctx)
        if registry is None:
            self.assume(node, "security.registry", "no values")
        elif registry:
            out["registry"] = registry
        policy = self.group_policy(ctx)
        if policy is None:
            self.assume(node, "security.group_policy_vbs", False)
        elif policy:
            out["group_policy_vbs"] = True
        return {k: v for k, v in out.items() if v not in (False, "not-enabled")}

    def deviceguard_registry(self, ctx: Context) -> dict | None:
        for obj in ctx.of("registry"):
            path = (obj.text("PSPath") or obj.text("PSParentPath") or "").lower()
            if "policies" in path or (obj.text("PSChildName") or "").lower() != "deviceguard":
                continue
            return {
                name: value
                for name in ("EnableVirtualizationBasedSecurity", "RequirePlatformSecurityFeatures")
                if (value := self.read.integer(obj, name)) is not None
            }
        for err in ctx.errors_of("Get-ItemProperty"):
            if "control\\deviceguard" in (err.target + " " + (err.command or "")).lower():
                return {}
        return None

    def group_policy(self, ctx: Context) -> bool | None:
        for obj in ctx.of("registry"):
            if "policies" in (obj.text("PSPath") or obj.text("PSParentPath") or "").lower():
                return self.read.integer(obj, "EnableVirtualizationBasedSecurity") == 1
        for err in ctx.errors_of("Get-ItemProperty"):
            if "policies" in (err.target + " " + (err.command or "")).lower():
                return False
        return None

    def winnat(self, ctx: Context) -> str | None:
        answers = self.answers.keyed(ctx, "service", "event")
        if not any(str(get(s, "Name")).lower() == "winnat" for s in objects(answers, "services")):
            return None
        return winnat_of(answers)

    def portproxy(self, ctx: Context) -> list[dict] | None:
        rules = []
        for obj in ctx.of("portproxy"):
            lp, cp = self.read.integer(obj, "ListenPort"), self.read.integer(obj, "ConnectPort")
            rules.append({"listen_address": obj.text("ListenAddress"), "listen_port": lp,
                          "connect_address": obj.text("ConnectAddress"), "connect_port": cp})
        if rules or ctx.ran_command("netsh"):
            return rules
        return None

    def volumes(self, ctx: Context) -> list[dict] | None:
        """Get-Volume, with each drive's medium from Get-Partition (DiskNumber) → Get-PhysicalDisk (DeviceId)."""
        if not ctx.of("volume"):
            return [] if ctx.ran_command("Get-Volume") else None
        answers = self.answers.keyed(ctx, "volume", "partition", "physicaldisk")
        media_of = volume_media(answers)
        found = volume_records(answers)
        for volume in found:
            if media_of.get(volume.drive.rstrip(":")) is None:
                self.assume(f"volume {volume.drive}", "media", "ssd")
        return [asdict(v) for v in found]

    def firewall(self, ctx: Context) -> list[dict] | None:
        """Get-NetFirewallRule joined to Get-NetFirewallPortFilter by rule Name = filter InstanceID."""
        if not ctx.of("firewall"):
            return [] if ctx.ran_command("Get-NetFirewallRule") else None
        return [{k: v for k, v in asdict(rule).items() if v is not None}
                for rule in firewall_rules(self.answers.of(ctx, "firewall"), self.answers.of(ctx, "portfilter"))]

    def blocking_software(self, ctx: Context) -> list[str]:
        """Security products, when the Hyper-V services they block are not running."""
        blocked = any((s.text("Name") or "").lower() in ("vmms", "vmcompute") and (s.text("Status") or "") != "Running"
                      for s in ctx.of("service"))
        if not blocked:
            return []
        from nestlab.diagnosis.parse import security_products

        filters = []
        for f in ctx.of("minifilter"):
            try:
                filters.append((f.text("Filter Name") or "", float(f.text("Altitude") or "")))
            except ValueError:
                continue  # a legacy filter's row, or a cut line
        return list(security_products([a.text("displayName") for a in ctx.of("antivirus") if a.text("displayName")],
                                      filters))

    def files_missing(self, ctx: Context) -> list[str]:
        missing = []
        for err in ctx.errors_of("Get-VHD"):
            # a real Get-VHD says "'X' is not an existing virtual hard disk file." (InvalidArgument)
            if err.category == "ObjectNotFound" or "is not an existing virtual hard disk file" in err.message:
                path = command_param(err.command, "Path") or err.target
                if path and path not in missing:
                    missing.append(path)
        return missing

    def files_corrupt(self, ctx: Context) -> list[str]:
        """Disks Get-VHD could not open because the file is damaged (Test-VHD blames a whole chain, so not it)."""
        return list(dict.fromkeys(
            command_param(e.command, "Path") or e.target for e in ctx.errors_of("Get-VHD")
            if "corrupted and unreadable" in e.message))
