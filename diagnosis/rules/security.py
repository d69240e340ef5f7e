"""Guide section "Nested Hyper-V installation or operation blocked by security policies" (category security).

VBS and the services that run on it (Credential Guard, HVCI / Device Guard), the registry values
and the Group Policy that force it on. The causes nest: a policy forces VBS; Credential Guard
runs on VBS; so each finding explains the ones it turns on, and only the deepest stays an error.
Checked on hosts and on VMs that must run Hyper-V (VBS in an ordinary guest is normal).
"""

from __future__ import annotations

from typing import Iterator

from nestlab.diagnosis.evidence import Evidence
from nestlab.diagnosis.rules.common import (
    DEVICE_GUARD,
    DEVICE_GUARD_KEY,
    DEVICE_GUARD_POLICY_KEY,
    GUIDE,
    Hit,
    cmd,
    is_hyperv_platform,
    on_platform,
    platforms,
    reboot,
    rule,
    seen,
)
from nestlab.simulator.model import Lab, Security

REFERENCE = GUIDE + "Nested Hyper-V installation or operation blocked by security policies"
SECURITY_SYMPTOMS = ("vbs-blocks-nesting", "hyperv-role-install-fails")
VBS_STATUS = {"not-enabled": 0, "enabled": 1, "running": 2}
REG_KEY = "HKLM\\System\\CurrentControlSet\\Control\\DeviceGuard"
VERIFY = "Verify with msinfo32 that Virtualization-based security is 'Not enabled'"


def secured(ev: Evidence) -> Iterator[tuple[str, Security]]:
    for owner in platforms(ev.lab):
        if is_hyperv_platform(ev, owner):
            yield owner, ev.lab.platform(owner).security


def running_services(security: Security) -> list[int]:
    return [code for code, on in ((1, security.credential_guard), (2, security.device_guard)) if on]


def _then_reboot(lab: Lab, owner: str, commands: list[str]) -> tuple[str, ...]:
    return (*on_platform(lab, owner, commands), reboot(lab, owner), VERIFY)


@rule("vbs-enabled", category="security", severity="error", reference=REFERENCE)
def vbs_enabled(ev: Evidence) -> Iterator[Hit]:
    for owner, security in secured(ev):
        if security.vbs != "running":
            continue
        yield Hit(
            subject=owner,
            summary=f"Virtualization-based security is running on {owner}; nested virtualization is blocked",
            evidence=(seen(DEVICE_GUARD, "VirtualizationBasedSecurityStatus", VBS_STATUS["running"]),),
            resolution=_then_reboot(ev.lab, owner, [
                f"reg add {REG_KEY} /v EnableVirtualizationBasedSecurity /t REG_DWORD /d 0 /f"]),
            explains=SECURITY_SYMPTOMS,
        )


@rule("credential-guard-enabled", category="security", severity="error", reference=REFERENCE)
def credential_guard_enabled(ev: Evidence) -> Iterator[Hit]:
    for owner, security in secured(ev):
        if not security.credential_guard:
            continue
        yield Hit(
            subject=owner,
            summary=f"Credential Guard is running on {owner}; it keeps VBS on and blocks nested virtualization",
            evidence=(seen(DEVICE_GUARD, "SecurityServicesRunning", running_services(security)),),
            resolution=_then_reboot(ev.lab, owner, [
                "reg add HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa /v LsaCfgFlags /t REG_DWORD /d 0 /f",
                "reg add HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\DeviceGuard /v LsaCfgFlags /t REG_DWORD /d 0 /f",
            ]),
            explains=("vbs-enabled", *SECURITY_SYMPTOMS),
        )


@rule("device-guard-enabled", category="security", severity="error", reference=REFERENCE)
def device_guard_enabled(ev: Evidence) -> Iterator[Hit]:
    for owner, security in secured(ev):
        if not security.device_guard:
            continue
        yield Hit(
            subject=owner,
            summary=f"Device Guard (HVCI, memory integrity) is running on {owner}; it keeps VBS on and blocks nested virtualization",
            evidence=(seen(DEVICE_GUARD, "SecurityServicesRunning", running_services(security)),),
            resolution=_then_reboot(ev.lab, owner, [
                f"reg add {REG_KEY}\\Scenarios\\HypervisorEnforcedCodeIntegrity /v Enabled /t REG_DWORD /d 0 /f"]),
            explains=("vbs-enabled", *SECURITY_SYMPTOMS),
        )


@rule("deviceguard-registry-policy", category="security", severity="error", reference=REFERENCE)
def deviceguard_registry_policy(ev: Evidence) -> Iterator[Hit]:
    for owner, security in secured(ev):
        registry = security.registry
        values = {name: value for name, value in (
            ("EnableVirtualizationBasedSecurity", registry.EnableVirtualizationBasedSecurity),
            ("RequirePlatformSecurityFeatures", registry.RequirePlatformSecurityFeatures),
        ) if value is not None}
        if not values or values == {"EnableVirtualizationBasedSecurity": 0}:
            continue
        read = cmd("Get-ItemProperty", Path=DEVICE_GUARD_KEY)
        yield Hit(
            subject=owner,
            summary=f"{REG_KEY} on {owner} sets {', '.join(values)}, which turns VBS on",
            evidence=tuple(seen(read, name, value) for name, value in values.items()),
            resolution=_then_reboot(ev.lab, owner, [f"reg delete {REG_KEY} /v {name} /f" for name in values]),
            explains=("vbs-enabled", *SECURITY_SYMPTOMS),
        )


@rule("group-policy-blocking", category="security", severity="error", reference=REFERENCE)
def group_policy_blocking(ev: Evidence) -> Iterator[Hit]:
    for owner, security in secured(ev):
        if not security.group_policy_vbs:
            continue
        yield Hit(
            subject=owner,
            summary=f"A Group Policy forces virtualization-based security on {owner}",
            evidence=(seen(cmd("Get-ItemProperty", Path=DEVICE_GUARD_POLICY_KEY), "EnableVirtualizationBasedSecurity", 1),),
            resolution=(
                f"Set 'Turn On Virtualization Based Security' to Disabled in the Group Policy that applies to {owner} "
                "(Computer Configuration > Administrative Templates > System > Device Guard)",
                *on_platform(ev.lab, owner, ["gpupdate /force"]),
                reboot(ev.lab, owner),
                VERIFY,
            ),
            explains=("vbs-enabled", "credential-guard-enabled", "device-guard-enabled", "deviceguard-registry-policy",
                      *SECURITY_SYMPTOMS),
        )


RULES = (vbs_enabled, credential_guard_enabled, device_guard_enabled, deviceguard_registry_policy, group_policy_blocking)
