"""The registry keys a nested-virtualization diagnosis reads, and the cmdlets that read and change them.

Two keys are modelled (notes §1.5): HKLM\\System\\CurrentControlSet\\Control\\DeviceGuard (values
EnableVirtualizationBasedSecurity, RequirePlatformSecurityFeatures; the key exists on every Windows
10 / Server 2016 and later) and the Group Policy mirror HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\
DeviceGuard (present only when the policy is set). A change here takes effect at the next
Restart-Computer (simulator.cmdlets.system.reboot), as on a real host.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any, Iterable

from nestlab.simulator.cmdlets.base import Call, Ctx, as_list, cmdlet, obj
from nestlab.simulator.psdata import ErrorRecord, PSObject

DEVICEGUARD = "SYSTEM\\CURRENTCONTROLSET\\CONTROL\\DEVICEGUARD"
POLICY = "SOFTWARE\\POLICIES\\MICROSOFT\\WINDOWS\\DEVICEGUARD"
VALUES = ("EnableVirtualizationBasedSecurity", "RequirePlatformSecurityFeatures")
# Credential Guard (LsaCfgFlags 1/2) and HVCI (Scenarios\HypervisorEnforcedCodeIntegrity Enabled): widely
# used switches (notes §1.5, values UNVERIFIED there); they apply at the next boot.
LSA = "SYSTEM\\CURRENTCONTROLSET\\CONTROL\\LSA"
HVCI = "SYSTEM\\CURRENTCONTROLSET\\CONTROL\\DEVICEGUARD\\SCENARIOS\\HYPERVISORENFORCEDCODEINTEGRITY"
BOOT_SWITCHES = {LSA: ("LsaCfgFlags", "credential_guard"), HVCI: ("Enabled", "device_guard")}


@lru_cache(maxsize=4096)
def normalize(path: str) -> str:
    """'HKLM:\\System\\…', 'HKEY_LOCAL_MACHINE\\System\\…', 'Registry::HKLM\\…' → 'SYSTEM\\…'.

    Remembered (a pure function of the text): a collection reads the same two keys at every place,
    and Test-Path / Get-ItemProperty normalise each path several times per call."""
    p = path.strip().strip("'\"").replace("/", "\\")
    for prefix in ("MICROSOFT.POWERSHELL.CORE\\REGISTRY::", "REGISTRY::"):
        if p.upper().startswith(prefix):
            p = p[len(prefix):]
    for prefix in ("HKLM:\\", "HKLM:", "HKEY_LOCAL_MACHINE\\", "HKLM\\"):
        if p.upper().startswith(prefix):
            p = p[len(prefix):]
            break
    return p.rstrip("\\").upper()


def read_key(ctx: Ctx, path: str) -> dict[str, Any] | None:
    """The values of a modelled key, or None when the key does not exist."""
    key = normalize(path)
    sec = ctx.platform.security
    if key == DEVICEGUARD:
        return {n: getattr(sec.registry, n) for n in VALUES if getattr(sec.registry, n) is not None}
    if key == POLICY:
        return {"EnableVirtualizationBasedSecurity": 1, "RequirePlatformSecurityFeatures": 1} if sec.group_policy_vbs else None
    if key in BOOT_SWITCHES:
        value, field = BOOT_SWITCHES[key]
        on = ctx.pending_boot().get(field, getattr(sec, field))
        return {value: 1} if on else {}
    return None


def key_exists(ctx: Ctx, path: str) -> bool:
    return read_key(ctx, path) is not None


def write_value(ctx: Ctx, path: str, name: str, value: int | None) -> bool:
    """Set (or with None delete) a value; False when the key or value is not modelled/present."""
    key = normalize(path)
    sec = ctx.platform.security
    if key in BOOT_SWITCHES:
        value_name, field = BOOT_SWITCHES[key]
        if name.lower() != value_name.lower():
            return False
        ctx.set_pending_boot(field, bool(value))
        return True
    canonical = next((n for n in VALUES if n.lower() == name.lower()), None)
    if canonical is None:
        return False
    if key == DEVICEGUARD:
        if value is None and getattr(sec.registry, canonical) is None:
            return False
        registry = replace(sec.registry, **{canonical: None if value is None else int(value)})
        ctx.lab.update_platform(ctx.owner, security=replace(sec, registry=registry))
        return True
    if key == POLICY:
        if value is None and not sec.group_policy_vbs:
            return False
        ctx.lab.update_platform(ctx.owner, security=replace(sec, group_policy_vbs=value is not None and int(value) != 0))
        return True
    return False


def _display(key: str) -> str:
    return "HKEY_LOCAL_MACHINE\\" + key


def item_object(path: str, values: dict[str, Any]) -> PSObject:
    pspath, parent_path, child = _provider_texts(normalize(path))
    props = [*values.items(), ("PSPath", pspath), ("PSParentPath", parent_path), ("PSChildName", child),
             ("PSDrive", "HKLM"), ("PSProvider", "Microsoft.PowerShell.Core\\Registry")]
    return obj("System.Management.Automation.PSCustomObject", props)


@lru_cache(maxsize=256)  # keys come from what is sent: a collection reads the same few at every place
def _provider_texts(key: str) -> tuple[str, str, str]:
    """A key's PSPath, PSParentPath and PSChildName (pure functions of its normalised text), made once
    per key: every place's Get-ItemProperty object of the key shares them (the evidence keeps one per guest)."""
    parent, _, child = key.rpartition("\\")
    return (f"Microsoft.PowerShell.Core\\Registry::{_display(key)}", f"Microsoft.PowerShell.Core\\Registry::{_display(parent)}",
            child.title() if child.isupper() else child)


def path_not_found(call: Call, path: str) -> ErrorRecord:
    return _path_not_found(path, call.cmdlet.class_name, call.cmdlet.name)


@lru_cache(maxsize=256)  # paths come from what is sent: bounded; a record is frozen, so answers may share one
def _path_not_found(path: str, class_name: str, activity: str) -> ErrorRecord:
    """The record for a path that does not exist, once per text: a collection reads a policy key that
    most places lack (Get-ItemProperty of DeviceGuard's policy, one record per guest)."""
    return ErrorRecord(f"Cannot find path '{path}' because it does not exist.",
                       f"PathNotFound,{class_name}", "ObjectNotFound", target_name=path,
                       target_type="String", activity=activity, reason="ItemNotFoundException",
                       exception_type="System.Management.Automation.ItemNotFoundException", terminating=False)


def property_missing(call: Call, path: str, name: str) -> ErrorRecord:
    return ErrorRecord(f"Property {name} does not exist at path {_display(normalize(path))}.",
                       f"System.Management.Automation.PSArgumentException,{call.cmdlet.class_name}", "InvalidArgument",
                       target_name=name, target_type="String", activity=call.cmdlet.name,
                       reason="PSArgumentException", exception_type="System.Management.Automation.PSArgumentException",
                       terminating=False)


@cmdlet("Get-ItemProperty", positional=("Path", "Name"), params=("Path", "LiteralPath", "Name"))
def get_itemproperty(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    out = []
    named = call.named  # canonical lower-case names (`bind`): every place is asked for two keys
    wanted = as_list(named.get("name"))
    for path in as_list(named["path"] if "path" in named else named.get("literalpath")):
        values = read_key(ctx, str(path))
        if values is None:
            ctx.error(path_not_found(call, str(path)))
            continue
        if wanted:
            picked = {}
            for name in wanted:
                match = next((k for k in values if k.lower() == str(name).lower()), None)
                if match is None:
                    ctx.error(property_missing(call, str(path), str(name)))
                else:
                    picked[match] = values[match]
            if not picked:
                continue
            values = picked
        out.append(item_object(str(path), values))
    return out


@cmdlet("Set-ItemProperty", positional=("Path", "Name", "Value"), params=("Path", "Name", "Value", "Type", "Force"))
def set_itemproperty(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    _change(ctx, call, int(call.get("Value")))
    return []


@cmdlet("New-ItemProperty", positional=("Path", "Name"), params=("Path", "Name", "Value", "PropertyType", "Force"))
def new_itemproperty(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    _change(ctx, call, int(call.get("Value")))
    return []


@cmdlet("Remove-ItemProperty", positional=("Path", "Name"), params=("Path", "Name", "Force"))
def remove_itemproperty(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    _change(ctx, call, None)
    return []


def _change(ctx: Ctx, call: Call, value: int | None) -> None:
    path = str(call.get("Path"))
    if value is not None and normalize(path) not in (DEVICEGUARD, POLICY, *BOOT_SWITCHES):
        ctx.error(path_not_found(call, path))
        return
    for name in as_list(call.get("Name")):
        if not write_value(ctx, path, str(name), value):
            ctx.error(property_missing(call, path, str(name)) if key_exists(ctx, path) or normalize(path) == DEVICEGUARD
                      else path_not_found(call, path))
