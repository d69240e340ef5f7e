"""Runtime memory resize by guest (issue 11, item 4): supported for static memory on Windows
Server 2016 / Windows 10 guests ("What's new in Hyper-V on Windows Server"), refused for a VM that
hosts nested VMs; the guide's pending change is real on older guests — in the simulator and in
the catalog alike."""

from __future__ import annotations

from dataclasses import replace

import pytest

from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import SimSession
from nestlab.simulator import behaviour, faults, powershell
from nestlab.simulator.labfile import load
from nestlab.simulator.model import OSInfo

WEB = "HV01/L1/L2-web"
GIB = 2**30


def memory_after_resize(os: OSInfo, *, dynamic: bool = False) -> tuple[int, int]:
    """(Get-VMMemory Startup, Get-VM MemoryAssigned) after Set-VMMemory -StartupBytes 4GB on running L2-web."""
    lab = load("builtin:reference")
    web = lab[WEB]
    lab.update(WEB, guest=replace(web.guest, os=os), memory=replace(web.memory, dynamic=dynamic))
    assert powershell.run_line(lab, "HV01/L1", "Set-VMMemory -VMName 'L2-web' -StartupBytes 4GB").ok
    startup = powershell.run_line(lab, "HV01/L1", "Get-VMMemory -VMName 'L2-web'").output[0]["Startup"]
    assigned = powershell.run_line(lab, "HV01/L1", "Get-VM -Name 'L2-web'").output[0]["MemoryAssigned"]
    return startup, assigned


@pytest.mark.parametrize("os", [OSInfo(), OSInfo(caption="Microsoft Windows 10 Enterprise", build=19045)])
def test_a_2016_or_later_guest_with_static_memory_takes_the_change_at_once(os):
    assert memory_after_resize(os) == (4 * GIB, 4 * GIB)


def test_a_2012_r2_guest_keeps_the_change_pending_until_a_power_cycle():
    assert memory_after_resize(OSInfo(caption="Microsoft Windows Server 2012 R2 Datacenter", build=9600)) == (4 * GIB, 2 * GIB)


def test_a_vm_hosting_nested_vms_refuses_a_runtime_resize():
    lab = load("builtin:reference")
    assert not behaviour.runtime_resize(lab, "HV01/L1")
    result = powershell.run_line(lab, "HV01", "Set-VMMemory -VMName 'L1' -StartupBytes 20GB")
    assert not result.ok and "Failed to modify device 'Memory'" in result.first_error().message


def test_the_catalog_injects_memory_change_pending_only_on_guests_without_runtime_resize():
    assert not faults.get("memory-change-pending").candidates(load("builtin:reference"))
    lab = load("builtin:legacy")
    assert faults.get("memory-change-pending").candidates(lab) == ["HV01/L1/L2/L3"]
    subject = faults.get("memory-change-pending").inject(lab)
    report = diagnose_session(SimSession(lab), target=lab.name).report
    assert [(f.subject, f.severity) for f in report.by_root_cause("memory-change-pending")] == [(subject, "warning")]
