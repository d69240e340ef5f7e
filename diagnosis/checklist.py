"""The guide's "Troubleshooting checklist", item by item: pass, fail or not applicable, with evidence.

Each item is the guide's sentence, the root causes that break it and what it looks at. An item
fails when the diagnosis found one of its root causes (so the checklist and `diagnose` can never
disagree), passes when it had something to look at and found nothing, and is not applicable when
there is nothing to look at (no VM hosts nested VMs, no NAT is configured).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Literal

from nestlab.diagnosis.engine import diagnose
from nestlab.diagnosis.evidence import Evidence
from nestlab.diagnosis.findings import EvidenceItem, Finding, Report
from nestlab.diagnosis.intent import nested_hosts
from nestlab.diagnosis.rules.checklist import cpu_items
from nestlab.diagnosis.rules.common import (
    DEVICE_GUARD,
    count_item,
    get_vm,
    get_vmprocessor,
    is_hyperv_platform,
    os_items,
    platforms,
    shown,
    startup_item,
)
from nestlab.diagnosis.rules.network import PORTPROXY_SHOW
from nestlab.diagnosis.rules.security import VBS_STATUS, running_services

Status = Literal["pass", "fail", "not-applicable"]


@dataclass(frozen=True)
class Item:
    id: str
    title: str  # the guide's words
    root_causes: tuple[str, ...]
    subjects: Callable[[Evidence], list[str]]  # what the item looks at; empty = not applicable
    shows: Callable[[Evidence, str], Iterable[EvidenceItem]]  # the evidence it reads per subject


@dataclass(frozen=True)
class ItemResult:
    item: Item
    status: Status
    evidence: tuple[EvidenceItem, ...]
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item.id,
            "title": self.item.title,
            "status": self.status,
            "evidence": [e.to_dict() for e in self.evidence],
            "findings": [{"root_cause": f.root_cause, "subject": f.subject, "severity": f.severity} for f in self.findings],
        }


@dataclass(frozen=True)
class Checklist:
    report: Report
    results: tuple[ItemResult, ...]

    @property
    def failed(self) -> bool:
        return any(r.status == "fail" for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.report.target,
            "collected_at": self.report.collected_at,
            "hosts": list(self.report.hosts),
            "items": [r.to_dict() for r in self.results],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


def _hosts(ev: Evidence) -> list[str]:
    return ev.lab.hosts()


def _nested(ev: Evidence) -> list[str]:
    return list(nested_hosts(ev))


def _hyperv_platforms(ev: Evidence) -> list[str]:
    return [p for p in platforms(ev.lab) if is_hyperv_platform(ev, p)]


def _connected_vms(ev: Evidence) -> list[str]:
    lab = ev.lab
    return [vm for vm in lab.all_vms() if any(lab.switch_of(a) for a in lab.adapters(vm))]


def _nat_owners(ev: Evidence) -> list[str]:
    lab = ev.lab
    return [p for p in platforms(lab)
            if lab.owned(p, "nat") or lab.platform(p).portproxy
            or any(lab[s].type == "Internal" for s in lab.owned(p, "switch"))]


def _switch_types(ev: Evidence, vm: str) -> Iterable[EvidenceItem]:
    for adapter in ev.lab.adapters(vm):
        switch = ev.lab.switch_of(adapter)
        if switch:
            yield shown(ev, switch, f"Get-VMSwitch -Name {ev.lab[switch].name}", "SwitchType", ev.lab[switch].type)


def _nat_setup(ev: Evidence, owner: str) -> Iterable[EvidenceItem]:
    for nat in ev.lab.owned(owner, "nat"):
        yield shown(ev, nat, "Get-NetNat", "InternalIPInterfaceAddressPrefix", ev.lab[nat].internal_prefix, probe="nat")
    rules = [f"{r.listen_address}:{r.listen_port} -> {r.connect_address}:{r.connect_port}" for r in ev.lab.platform(owner).portproxy]
    yield shown(ev, owner, PORTPROXY_SHOW, "v4tov4", rules, probe="portproxy", summary=True)


def _updates(ev: Evidence, owner: str) -> Iterable[EvidenceItem]:
    current = ev.lab.platform(owner).integration_services_current
    if ev.lab.kind(owner) == "host":
        yield shown(ev, owner, "Get-HotFix", "InstalledOn", "within a year" if current else "older than a year",
                    probe="hotfix", summary=True)
    else:
        yield shown(ev, owner, get_vm(owner), "IntegrationServicesState", "Up to date" if current else "Update required",
                    probe="vms")


def _device_guard(ev: Evidence, owner: str) -> Iterable[EvidenceItem]:
    security = ev.lab.platform(owner).security
    yield shown(ev, owner, DEVICE_GUARD, "VirtualizationBasedSecurityStatus", VBS_STATUS[security.vbs])
    yield shown(ev, owner, DEVICE_GUARD, "SecurityServicesRunning", running_services(security))


def _policy_av(ev: Evidence, owner: str) -> Iterable[EvidenceItem]:
    security = ev.lab.platform(owner).security
    yield shown(ev, owner, "Get-ItemProperty -Path HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\DeviceGuard",
                "EnableVirtualizationBasedSecurity", 1 if security.group_policy_vbs else None, probe="dg_policy", summary=True)
    yield shown(ev, owner, "Get-CimInstance -Namespace root/SecurityCenter2 -ClassName AntiVirusProduct", "displayName",
                list(security.blocking_software), probe="antivirus", summary=True)


ITEMS: tuple[Item, ...] = (
    Item("host-os", "Host is Windows Server 2016 or later version, Windows 10 or Windows 11 Pro or Enterprise",
         ("host-os-unsupported",), _hosts, lambda ev, h: os_items(ev, h)),
    Item("host-cpu", "Host CPU supports VT-x (Intel) or AMD-V (AMD); hardware virtualization enabled in BIOS/UEFI",
         ("host-cpu-no-virtualization", "virtualization-disabled-in-firmware", "hypervisor-launch-disabled"),
         _hosts, lambda ev, h: cpu_items(ev, h)),
    Item("guest-generation", "Guest VM is Generation 2", ("vm-generation-1",), _nested,
         lambda ev, vm: (shown(ev, vm, get_vm(vm), "Generation", ev.lab[vm].generation, probe="vms"),)),
    Item("guest-os", "Guest VM running compatible OS (Windows Server 2016 or later, Windows 10, Windows 11, "
         "select Linux with Hyper-V support)", ("guest-os-unsupported",), _nested, lambda ev, vm: os_items(ev, vm)),
    Item("extensions", "Enable nested virtualization: Set-VMProcessor -VMName <VMName> -ExposeVirtualizationExtensions $true "
         "(VM must be powered off)", ("extensions-not-exposed",), _nested,
         lambda ev, vm: (shown(ev, vm, get_vmprocessor(vm), "ExposeVirtualizationExtensions",
                               ev.lab[vm].processor.expose_virtualization_extensions),)),
    Item("vcpu", "Assign at least two virtual CPUs to nested VM", ("insufficient-vcpu",), _nested,
         lambda ev, vm: (count_item(ev, vm),)),
    Item("memory", "Sufficient memory assigned (recommended ≥ 4GB for the VM hosting nested VMs)",
         ("insufficient-memory", "dynamic-memory-enabled"), _nested, lambda ev, vm: (startup_item(ev, vm),)),
    Item("external-switch", "Use an \"External\" virtual switch for the guest VM to enable outbound access",
         ("switch-internal", "switch-private", "mac-spoofing-disabled"), _connected_vms, _switch_types),
    Item("nat", "Ensure NAT/port forwarding is correctly set up if needed",
         ("nat-prefix-mismatch", "portproxy-missing", "nat-static-mapping-wrong", "nat-conflict", "winnat-locked"),
         _nat_owners, _nat_setup),
    Item("updates", "Fully patch and update Windows OS for host and guest; use the latest Hyper-V Integration Services",
         ("outdated-integration-services",), lambda ev: list(platforms(ev.lab)), _updates),
    Item("credential-device-guard", "Credential Guard and Device Guard might block nested virtualization",
         ("vbs-enabled", "credential-guard-enabled", "device-guard-enabled", "deviceguard-registry-policy"),
         _hyperv_platforms, _device_guard),
    Item("policy-antivirus", "No conflicting Group Policies or anti-virus blocking Hyper-V processes",
         ("group-policy-blocking", "antivirus-blocking-hyperv"), _hyperv_platforms, _policy_av),
)


def run_checklist(evidence: Evidence, report: Report | None = None) -> Checklist:
    report = report or diagnose(evidence)
    return Checklist(report, tuple(_check(item, evidence, report) for item in ITEMS))


def _check(item: Item, evidence: Evidence, report: Report) -> ItemResult:
    subjects = item.subjects(evidence)
    found = tuple(f for f in report.findings if f.root_cause in item.root_causes)
    if found:
        return ItemResult(item, "fail", tuple(e for f in found for e in f.evidence), found)
    if not subjects:
        return ItemResult(item, "not-applicable", (), ())
    return ItemResult(item, "pass", tuple(e for s in subjects for e in item.shows(evidence, s)), ())
