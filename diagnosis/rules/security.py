"""Guide section "Nested Hyper-V installation or operation blocked by security policies" (category security).

VBS and the services that run on it (Credential Guard, HVCI / Device Guard), the registry values
and the Group Policy that force it on. The causes nest: a policy forces VBS; Credential Guard
runs on VBS; so each finding explains the ones it turns on, and only the deepest stays an error.
Checked on hosts and on VMs that must run Hyper-V (VBS in an ordinary guest is normal).

The guide is older than Windows (issue 11, item 4). VBS, HVCI or Credential Guard on a host
blocked nesting on the early builds — Windows 10 1607 / Server 2016, build 14393 and before
(Virtualization-Documentation #345: a 14393 host with VBS running "supports nested
virtualization: NO") — and does not since: Microsoft "confirmed that nested virtualization works
fine with VBS enabled in the host" (Virtualization-Documentation PR #1059, 2019); HVCI and nesting
run together four levels deep on 1809 (windows-itpro-docs #2704; the HVCI page's "can be enabled
at the same time", windows-itpro-docs PR #10011). Windows 11 turns memory integrity on by default.
So the severity follows the build and the evidence (docs/severity.md):

- error: a build that blocks (≤ 14393) with a VM meant to host nested VMs below, or the guide's
  own message ("Virtualization-based security is enabled. Nested virtualization is not
  supported.") seen there;
- warning: a later build where a nested host below logged a hypervisor that could not start
  (Hyper-V-Hypervisor 41/42) and nothing else there explains it;
- info: everything else — a later build, nothing below meant to nest, or a nested VM observed
  Running below (evidence beats rules: the chain above it nests).
"""

from __future__ import annotations

from typing import Iterator

from nestlab.diagnosis import intent, views
from nestlab.diagnosis.evidence import Evidence
from nestlab.diagnosis.rules.common import (
    DEVICE_GUARD,
    DEVICE_GUARD_KEY,
    DEVICE_GUARD_POLICY_KEY,
    GUIDE,
    Hit,
    Manual,
    Note,
    Run,
    cmd,
    is_hyperv_platform,
    on_platform,
    platforms,
    ps,
    reboot,
    rule,
    shown,
)
from nestlab.diagnosis.findings import Severity
from nestlab.simulator.lab_queries import VBS_BLOCKS_THROUGH_BUILD  # Windows 10 1607 / Server 2016 (see above)
from nestlab.simulator.model import Lab, Security
from nestlab.simulator.psdata import Command

REFERENCE = GUIDE + "Nested Hyper-V installation or operation blocked by security policies"
SECURITY_SYMPTOMS = ("vbs-blocks-nesting", "hyperv-role-install-fails")
VBS_STATUS = {"not-enabled": 0, "enabled": 1, "running": 2}
REG_KEY = "HKLM\\System\\CurrentControlSet\\Control\\DeviceGuard"
VERIFY = Note("Verify with msinfo32 that Virtualization-based security is 'Not enabled'")


def _reg_zero(key: str, value: str) -> Command:
    return ps("reg", "add", key, "/v", value, "/t", "REG_DWORD", "/d", "0", "/f")



VBS_MESSAGE_SYMPTOM = "vbs-blocks-nesting"
LAUNCH_FAILED = (41, 42)


def vbs_verdict(ev: Evidence, owner: str) -> tuple[Severity, str]:
    """How much VBS on `owner` matters here, and the sentence that says why (see the module docstring)."""
    lab = ev.lab
    build = lab.platform(owner).os.build
    below = [vm for vm in views.below(lab, owner) if intent.meant_to_nest(ev, vm)]
    if intent.nesting_proven(ev, owner):
        return "info", f"a nested VM runs below {owner}, so it does not block nesting here"
    if any(VBS_MESSAGE_SYMPTOM in o.symptoms and (not o.node or o.node == owner or o.node in below)
           for o in ev.stated.symptoms):
        return "error", "the guide's message was seen below it"
    if build <= VBS_BLOCKS_THROUGH_BUILD:
        if below:
            return "error", f"build {build} blocks nesting below it: {', '.join(below)} cannot run VMs"
        return "info", f"on build {build} it would block nesting, but no VM below is meant to host nested VMs"
    failing = [vm for vm in below if _launch_failed_unexplained(ev, vm)]
    if failing:
        return "warning", (f"build {build} nests with VBS on (Microsoft, 2019), but {', '.join(failing)} logged a "
                           "hypervisor that could not start and shows no other cause")
    return "info", (f"build {build} nests with VBS on (Microsoft confirmed it in 2019); the guide's block applies "
                    f"to build {VBS_BLOCKS_THROUGH_BUILD} and earlier")


def _launch_failed_unexplained(ev: Evidence, vm: str) -> bool:
    record = ev.lab[vm]
    failed = [e for e in ev.of(vm).events_with_id(*LAUNCH_FAILED) if e.provider == intent.HYPERVISOR_PROVIDER]
    return bool(failed) and record.processor.expose_virtualization_extensions and record.guest.hypervisor_launch != "off"


def secured(ev: Evidence) -> tuple[tuple[str, Security], ...]:
    """(owner, its security settings) of every Hyper-V platform (a host, a VM meant to run
    Hyper-V): the five rules here read them; found once per evidence."""
    cached = ev.memo.get("rules.security.secured")
    if cached is None:
        cached = ev.memo["rules.security.secured"] = tuple(
            (owner, ev.lab.platform(owner).security) for owner in platforms(ev.lab) if is_hyperv_platform(ev, owner))
    return cached


def running_services(security: Security) -> list[int]:
    return [code for code, on in ((1, security.credential_guard), (2, security.device_guard)) if on]


def _then_reboot(lab: Lab, owner: str, commands: list[Command]) -> tuple[Run | Note, ...]:
    return (*on_platform(lab, owner, commands), reboot(lab, owner), VERIFY)


@rule("vbs-enabled", category="security", severity="error", reference=REFERENCE)
def vbs_enabled(ev: Evidence) -> Iterator[Hit]:
    for owner, security in secured(ev):
        if security.vbs != "running":
            continue
        severity, why = vbs_verdict(ev, owner)
        yield Hit(
            severity=severity,
            subject=owner,
            summary=(f"Virtualization-based security is running on {owner}; nested virtualization is blocked ({why})"
                     if severity == "error" else f"Virtualization-based security is running on {owner}: {why}"),
            evidence=(shown(ev, owner, DEVICE_GUARD, "VirtualizationBasedSecurityStatus", VBS_STATUS["running"]),),
            resolution=_then_reboot(ev.lab, owner, [_reg_zero(REG_KEY, "EnableVirtualizationBasedSecurity")]),
            explains=SECURITY_SYMPTOMS,
        )


@rule("credential-guard-enabled", category="security", severity="error", reference=REFERENCE)
def credential_guard_enabled(ev: Evidence) -> Iterator[Hit]:
    for owner, security in secured(ev):
        if not security.credential_guard:
            continue
        severity, why = vbs_verdict(ev, owner)
        yield Hit(
            severity=severity,
            subject=owner,
            summary=(f"Credential Guard is running on {owner}; it keeps VBS on and blocks nested virtualization ({why})"
                     if severity == "error" else f"Credential Guard is running on {owner} and keeps VBS on: {why}"),
            evidence=(shown(ev, owner, DEVICE_GUARD, "SecurityServicesRunning", running_services(security)),),
            resolution=_then_reboot(ev.lab, owner, [
                _reg_zero("HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa", "LsaCfgFlags"),
                _reg_zero("HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\DeviceGuard", "LsaCfgFlags"),
            ]),
            explains=("vbs-enabled", *SECURITY_SYMPTOMS),
        )


@rule("device-guard-enabled", category="security", severity="error", reference=REFERENCE)
def device_guard_enabled(ev: Evidence) -> Iterator[Hit]:
    for owner, security in secured(ev):
        if not security.device_guard:
            continue
        severity, why = vbs_verdict(ev, owner)
        yield Hit(
            severity=severity,
            subject=owner,
            summary=(f"Device Guard (HVCI, memory integrity) is running on {owner}; it keeps VBS on and blocks nested "
                     f"virtualization ({why})" if severity == "error"
                     else f"Device Guard (HVCI, memory integrity) is running on {owner} and keeps VBS on: {why}"),
            evidence=(shown(ev, owner, DEVICE_GUARD, "SecurityServicesRunning", running_services(security)),),
            resolution=_then_reboot(ev.lab, owner, [_reg_zero(REG_KEY + "\\Scenarios\\HypervisorEnforcedCodeIntegrity", "Enabled")]),
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
            severity=vbs_verdict(ev, owner)[0],
            subject=owner,
            summary=f"{REG_KEY} on {owner} sets {', '.join(values)}, which turns VBS on",
            evidence=tuple(shown(ev, owner, read, name, value, probe="dg_registry") for name, value in values.items()),
            resolution=_then_reboot(ev.lab, owner, [ps("reg", "delete", REG_KEY, "/v", name, "/f") for name in values]),
            explains=("vbs-enabled", *SECURITY_SYMPTOMS),
        )


@rule("group-policy-blocking", category="security", severity="error", reference=REFERENCE)
def group_policy_blocking(ev: Evidence) -> Iterator[Hit]:
    for owner, security in secured(ev):
        if not security.group_policy_vbs:
            continue
        yield Hit(
            severity=vbs_verdict(ev, owner)[0],
            subject=owner,
            summary=f"A Group Policy forces virtualization-based security on {owner}",
            evidence=(shown(ev, owner, cmd("Get-ItemProperty", Path=DEVICE_GUARD_POLICY_KEY),
                            "EnableVirtualizationBasedSecurity", 1, probe="dg_policy"),),
            resolution=(
                Manual(f"Set 'Turn On Virtualization Based Security' to Disabled in the Group Policy that applies to "
                       f"{owner} (Computer Configuration > Administrative Templates > System > Device Guard)"),
                # part of the person's Group Policy change (as before this was data): the simulator has no
                # Group Policy engine to refresh, so gpupdate is not sent as a command
                Manual(str(on_platform(ev.lab, owner, [ps("gpupdate", "/force")])[0])),
                reboot(ev.lab, owner),
                VERIFY,
            ),
            explains=("vbs-enabled", "credential-guard-enabled", "device-guard-enabled", "deviceguard-registry-policy",
                      *SECURITY_SYMPTOMS),
        )


RULES = (vbs_enabled, credential_guard_enabled, device_guard_enabled, deviceguard_registry_policy, group_policy_blocking)
