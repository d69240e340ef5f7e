"""Guide section "Nested Hyper-V installation or operation blocked by security policies": VBS and its switches.

The simulator follows the guide's (and the 2016 docs') rule where it is true, notes §1.5 and
behaviour.VBS_BLOCKS_THROUGH_BUILD: virtualization-based security running on a level stops the
hypervisor of the nested hosts below it on Windows 10 1607 / Server 2016 (build 14393) and
earlier — later builds nest with VBS on (Virtualization-Documentation #345 and PR #1059;
windows-itpro-docs #2704). So these faults are injected only where they are real: on a platform
of such a build (builtin:legacy), with a nested host below it. Starting a VM inside that nested
host then fails with the guide's message. The subject is the host (or VM) whose VBS runs, and the
symptom shows one level down.
"""

from __future__ import annotations

from dataclasses import replace

from nestlab.simulator import behaviour
from nestlab.simulator.actions import cmd, run
from nestlab.simulator.faults.base import Fault, Script, Symptom, run_all
from nestlab.simulator.faults.symptoms import VBS_BLOCKS_NESTED
from nestlab.simulator.faults.where import is_nested_host, name, owners, q
from nestlab.simulator.model import DeviceGuardRegistry, Lab
from nestlab.simulator.psdata import Command

SECTION = "Nested Hyper-V installation or operation blocked by security policies"
DEVICEGUARD_KEY = r"HKLM\System\CurrentControlSet\Control\DeviceGuard"
LSA_KEY = r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa"
HVCI_KEY = DEVICEGUARD_KEY + r"\Scenarios\HypervisorEnforcedCodeIntegrity"


def _nested_below(lab: Lab, owner: str) -> str | None:
    """A nested host right below `owner` that runs VMs of its own (where the block becomes visible)."""
    return next((vm for vm in lab.vms(owner) if is_nested_host(lab, vm) and lab.vms(vm)), None)


def _candidates(lab: Lab) -> list[str]:
    return [o for o in owners(lab) if not behaviour.vbs_running(lab.platform(o)) and _nested_below(lab, o)
            and lab.platform(o).os.build <= behaviour.VBS_BLOCKS_THROUGH_BUILD]


def _blocked_start(lab: Lab, owner: str) -> Symptom:
    nested = _nested_below(lab, owner)
    vm = q(name(lab, lab.vms(nested)[0]))
    return Symptom(nested, f"Start-VM -Name {vm}", setup=(f"Stop-VM -Name {vm} -TurnOff",), expect_error=VBS_BLOCKS_NESTED)


def _security(**changes: object):
    def change(lab: Lab, owner: str) -> None:
        lab.update_platform(owner, security=replace(lab.platform(owner).security, **changes))

    return change


def _reg_add(key: str, value: str, data: int) -> Command:
    return cmd("reg", "add", key, "/v", value, "/t", "REG_DWORD", "/d", str(data), "/f")


def _reg_delete(key: str, value: str) -> Command:
    return cmd("reg", "delete", key, "/v", value, "/f")


REBOOT = cmd("Restart-Computer", Force=True)


def _lines(*lines: Command):
    return lambda lab, owner: [run(owner, line) for line in lines]


def _fault(fault_id: str, kind: str, description: str, apply, mend, script=None, unscript=None) -> Fault:
    return Fault(
        id=fault_id,
        category="security",
        kind=kind,  # type: ignore[arg-type]
        section=SECTION,
        description=description,
        find=_candidates,
        apply=apply,
        shows=_blocked_start,
        mend=mend,
        script=script,
        unscript=unscript,
        aspect="vbs",
        blocking=True,
    )


# Each of these is switched on through its registry value, the host rebooted, and the value removed
# again: the feature keeps running until the next boot with nothing configuring it — the state
# "running" alone. Their resolution: turn it off where it is configured, reboot (Msinfo32 then says
# VBS "Not enabled").


def _run_once(key: str, value: str):
    return _lines(_reg_add(key, value, 1), REBOOT, _reg_delete(key, value))


def _reboot(lab: Lab, owner: str) -> None:
    run_all(lab, [run(owner, REBOOT)])


def _switch_off(key: str, value: str):
    """Disable the feature where it is configured (the registry switch), then reboot."""
    return lambda lab, owner: run_all(lab, _lines(_reg_delete(key, value), REBOOT)(lab, owner))


vbs_enabled = _fault(
    "vbs-enabled", "cmd", "virtualization-based security is running",
    apply=_security(vbs="running"),
    mend=_reboot,
    script=_run_once(DEVICEGUARD_KEY, "EnableVirtualizationBasedSecurity"),
    unscript=_lines(REBOOT),
)

credential_guard_enabled = _fault(
    "credential-guard-enabled", "cmd", "Credential Guard running",
    apply=_security(credential_guard=True),
    mend=_switch_off(LSA_KEY, "LsaCfgFlags"),
    script=_run_once(LSA_KEY, "LsaCfgFlags"),
    unscript=_lines(REBOOT),
)

device_guard_enabled = _fault(
    "device-guard-enabled", "cmd", "Device Guard / HVCI running",
    apply=_security(device_guard=True),
    mend=_switch_off(HVCI_KEY, "Enabled"),
    script=_run_once(HVCI_KEY, "Enabled"),
    unscript=_lines(REBOOT),
)


def _registry(value: int | None):
    def change(lab: Lab, owner: str) -> None:
        security = lab.platform(owner).security
        registry = DeviceGuardRegistry(EnableVirtualizationBasedSecurity=value, RequirePlatformSecurityFeatures=value)
        lab.update_platform(owner, security=replace(
            security, registry=registry, vbs="running" if value else "not-enabled"
        ))

    return change


def _guide_reg_delete(lab: Lab, owner: str) -> Script:
    """The guide's resolution, verbatim, then the reboot it asks for."""
    return [
        run(owner, _reg_delete(DEVICEGUARD_KEY, "EnableVirtualizationBasedSecurity")),
        run(owner, _reg_delete(DEVICEGUARD_KEY, "RequirePlatformSecurityFeatures")),
        run(owner, REBOOT),
    ]


deviceguard_registry_policy = _fault(
    "deviceguard-registry-policy", "cmd",
    r"HKLM\System\CurrentControlSet\Control\DeviceGuard has EnableVirtualizationBasedSecurity or RequirePlatformSecurityFeatures",
    apply=_registry(1),
    mend=lambda lab, owner: run_all(lab, _guide_reg_delete(lab, owner)),
    script=_lines(_reg_add(DEVICEGUARD_KEY, "EnableVirtualizationBasedSecurity", 1),
                  _reg_add(DEVICEGUARD_KEY, "RequirePlatformSecurityFeatures", 1), REBOOT),
    unscript=_guide_reg_delete,
)

group_policy_blocking = _fault(
    "group-policy-blocking", "state", "a Group Policy forces VBS on",
    apply=_security(group_policy_vbs=True, vbs="running"),
    mend=_security(group_policy_vbs=False, vbs="not-enabled"),  # the policy changed, gpupdate, reboot
)

FAULTS = (vbs_enabled, credential_guard_enabled, device_guard_enabled, deviceguard_registry_policy, group_policy_blocking)
