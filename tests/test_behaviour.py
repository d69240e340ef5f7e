"""Symptoms that emerge from state: role install, nested start, VBS, memory, reboot, performance."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from nestlab.simulator import behaviour, powershell, psformat
from nestlab.simulator.model import VM

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "powershell"
GUIDE_INSTALL = "Hyper-V cannot be installed: The processor does not have required virtualization capabilities"
GUIDE_VBS = "Virtualization-based security is enabled. Nested virtualization is not supported."


def run(lab, line, context="HV01"):
    return powershell.run_line(lab, context, line)


def fresh_guest(lab):
    """L1 without the Hyper-V role, so Install-WindowsFeature decides."""
    lab.update_platform("HV01/L1", hyperv_installed=False)


def power_cycle_with(lab, line):
    assert run(lab, "Stop-VM -Name L1 -Force").ok
    result = run(lab, line)
    assert run(lab, "Start-VM -Name L1").ok
    return result


# -- Installing the Hyper-V role in a guest ------------------------------------------------------


def test_role_installs_in_a_healthy_guest(lab):
    fresh_guest(lab)
    result = run(lab, "Install-WindowsFeature -Name Hyper-V -IncludeManagementTools", "HV01/L1")
    assert result.ok and result.output[0]["Success"] is True
    assert lab.platform("HV01/L1").hyperv_installed


@pytest.mark.parametrize("line", [
    "Set-VMProcessor -VMName L1 -ExposeVirtualizationExtensions $false",
    "Set-VMProcessor -VMName L1 -Count 1",
    "Set-VMMemory -VMName L1 -StartupBytes 2GB",
])
def test_role_install_fails_with_the_guides_error_when_the_chain_refuses(lab, line):
    fresh_guest(lab)
    assert power_cycle_with(lab, line).ok
    result = run(lab, "Install-WindowsFeature -Name Hyper-V", "HV01/L1")
    error = result.first_error()
    assert GUIDE_INSTALL in error.message
    assert error.fully_qualified_error_id == \
        "Alteration_PrerequisiteCheck_Failed,Microsoft.Windows.ServerManager.Commands.AddWindowsFeatureCommand"
    assert result.output[0]["Success"] is False and not lab.platform("HV01/L1").hyperv_installed


def test_install_error_prints_like_the_real_capture(lab):
    fresh_guest(lab)
    power_cycle_with(lab, "Set-VMProcessor -VMName L1 -ExposeVirtualizationExtensions $false")
    error = run(lab, "Install-WindowsFeature -Name Hyper-V", "HV01/L1").first_error()
    real = [line for line in (FIXTURES / "error-install-hyperv-feature.txt").read_text().splitlines()
            if not line.startswith("#")]
    ours = psformat.format_error(error).splitlines()
    assert ours[:2] == real[:2]
    assert ours[2] == real[5]  # CategoryInfo
    assert real[6].strip().startswith(ours[3].strip()[:80])


@pytest.mark.parametrize("change", [
    {"os": "guest-old"}, {"host_cpu": dict(virtualization_extensions=False)}, {"host_vbs": True},
    {"host_cpu": dict(vendor="AMD")},
])
def test_role_install_fails_for_each_link_of_the_chain(lab, change):
    fresh_guest(lab)
    if "os" in change:
        vm = lab["HV01/L1"]
        lab.update("HV01/L1", guest=replace(vm.guest, os=replace(vm.guest.os, caption="Windows Server 2012 R2", build=9600)))
    if "host_cpu" in change:
        lab.update("HV01", cpu=replace(lab["HV01"].cpu, **change["host_cpu"]))
    if "host_vbs" in change:  # VBS blocks nesting only on Server 2016 / 1607 and earlier (behaviour.py)
        lab.update("HV01", security=replace(lab["HV01"].security, vbs="running"),
                   os=replace(lab["HV01"].os, caption="Microsoft Windows Server 2016 Datacenter", build=14393))
    if change.get("host_cpu", {}).get("vendor") == "AMD":
        lab.update("HV01", os=replace(lab["HV01"].os, build=17763))  # WS2019: no AMD nesting
    assert behaviour.install_hyperv(lab, "HV01/L1") is not None


def test_generation_1_follows_the_product_docs_and_may_install(lab):
    fresh_guest(lab)
    lab.update("HV01/L1", generation=1)
    assert behaviour.install_hyperv(lab, "HV01/L1") is None


def test_dism_install_skips_the_check_and_the_hypervisor_then_fails_to_launch(lab):
    fresh_guest(lab)
    power_cycle_with(lab, "Set-VMProcessor -VMName L1 -ExposeVirtualizationExtensions $false")
    assert run(lab, "Enable-WindowsOptionalFeature -Online -FeatureName Microsoft-Hyper-V -All", "HV01/L1").ok
    events = run(lab, "Get-WinEvent -LogName System", "HV01/L1").output
    assert [(e["ProviderName"], e["Id"]) for e in events] == [("Microsoft-Windows-Hyper-V-Hypervisor", 41)]


# -- Starting nested VMs ---------------------------------------------------------------------


def test_nested_vm_start_fails_when_the_guest_hypervisor_cannot_run(lab):
    power_cycle_with(lab, "Set-VMProcessor -VMName L1 -ExposeVirtualizationExtensions $false")
    assert run(lab, "Get-VM -Name L2-web", "HV01/L1").output[0]["State"] == "Off"
    error = run(lab, "Start-VM -Name L2-web", "HV01/L1").first_error()
    assert "Virtual machine 'L2-web' could not be started because the hypervisor is not running." in error.message
    assert error.fully_qualified_error_id == "OperationFailed,Microsoft.HyperV.PowerShell.Commands.StartVM"
    worker = run(lab, "Get-WinEvent -LogName Microsoft-Windows-Hyper-V-Worker-Admin", "HV01/L1").output
    assert {e["Id"] for e in worker} == {3112}


def test_hypervisorlaunchtype_off_takes_effect_at_reboot(lab):
    assert run(lab, "bcdedit /set hypervisorlaunchtype off", "HV01/L1").output == ("The operation completed successfully.",)
    assert "hypervisorlaunchtype    Off" in run(lab, "bcdedit /enum {current}", "HV01/L1").output
    assert behaviour.hypervisor_status(lab, "HV01/L1").running  # pending until the reboot
    run(lab, "Restart-Computer -Force", "HV01/L1")
    assert behaviour.hypervisor_status(lab, "HV01/L1").reason == "launch-off"
    event = run(lab, "Get-WinEvent -LogName System -MaxEvents 1", "HV01/L1").output[0]
    assert event["Id"] == 5
    assert "could not be started because the hypervisor is not running" in \
        run(lab, "Start-VM L2-web", "HV01/L1").first_error().message


@pytest.mark.parametrize("where", ["HV01", "HV01/L1"])
def test_vbs_blocks_nested_start_with_the_guides_message(lab, where):
    # VBS blocks nesting only on Server 2016 / 1607 (14393) and earlier (behaviour.py, VD #345, PR #1059)
    lab.update_platform(where, os=replace(lab.platform(where).os, caption="Microsoft Windows Server 2016 Datacenter",
                                          build=14393))
    run(lab, "Stop-VM -Name L2-web", "HV01/L1")
    run(lab, "reg add HKLM\\System\\CurrentControlSet\\Control\\DeviceGuard /v EnableVirtualizationBasedSecurity "
             "/t REG_DWORD /d 1 /f", where)
    run(lab, "Restart-Computer -Force", where)
    guard = run(lab, "Get-CimInstance -Namespace root\\Microsoft\\Windows\\DeviceGuard -ClassName Win32_DeviceGuard",
                where).output[0]
    assert guard["VirtualizationBasedSecurityStatus"] == 2
    if where == "HV01":  # the legacy rule: a VBS host cannot give L1 a running hypervisor
        assert behaviour.hypervisor_status(lab, "HV01/L1").reason == "vbs"
    error = run(lab, "Start-VM -Name L2-web", "HV01/L1").first_error()
    assert GUIDE_VBS in error.message
    run(lab, "reg delete HKLM\\System\\CurrentControlSet\\Control\\DeviceGuard /v EnableVirtualizationBasedSecurity /f",
        where)
    run(lab, "Restart-Computer -Force", where)
    assert run(lab, "Start-VM -Name L2-web", "HV01/L1").ok


def test_start_fails_on_a_broken_disk_chain(lab):
    run(lab, "Stop-VM -Name L1")
    lab.update_platform("HV01", files_missing=("D:\\VMs\\L1\\L1.vhdx",))
    error = run(lab, "Start-VM -Name L1").first_error()
    assert "(0xC03A000D)" in error.message and "The chain of virtual hard disks is broken." in error.message


def test_antivirus_blocking_vmms_stops_starts(lab):
    run(lab, "Stop-VM -Name L1")
    lab.update("HV01", security=replace(lab["HV01"].security, blocking_software=("Contoso Endpoint",)))
    assert "one of the Hyper-V components is not running" in run(lab, "Start-VM L1").first_error().message
    assert run(lab, "Get-Service -Name vmms").output[0]["Status"] == "Stopped"


def test_amd_host_too_old_refuses_nested_start(lab):
    run(lab, "Stop-VM -Name L1")
    lab.update("HV01", cpu=replace(lab["HV01"].cpu, vendor="AMD"), os=replace(lab["HV01"].os, build=17763))
    assert "this platform does not support nested virtualization" in run(lab, "Start-VM L1").first_error().message


# -- Memory ---------------------------------------------------------------------------------


def test_memory_change_on_a_running_vm_is_pending_until_a_power_cycle(lab):
    # a guest older than Windows Server 2016 has no runtime memory resize (behaviour.runtime_resize)
    app = lab["HV01/L1/L2-app"]
    lab.update("HV01/L1/L2-app", guest=replace(app.guest, os=replace(app.guest.os, caption="Windows Server 2012 R2 Datacenter",
                                                                      build=9600)))
    run(lab, "Stop-VM -Name L2-app", "HV01/L1")
    run(lab, "Start-VM -Name L2-app", "HV01/L1")
    assert run(lab, "Set-VMMemory -VMName L2-app -StartupBytes 6GB", "HV01/L1").ok
    assert lab["HV01/L1/L2-app"].memory.pending_startup_gb == 6
    assert run(lab, "Get-VMMemory -VMName L2-app", "HV01/L1").output[0]["Startup"] == 6 * 2 ** 30
    assert run(lab, "Get-VM -Name L2-app", "HV01/L1").output[0]["MemoryAssigned"] == 4 * 2 ** 30
    seen = run(lab, "Get-CimInstance Win32_ComputerSystem", "HV01/L1/L2-app").output[0]["TotalPhysicalMemory"]
    assert seen == 4 * 2 ** 30
    run(lab, "Restart-Computer", "HV01/L1/L2-app")  # a guest reboot is not a power cycle
    assert lab["HV01/L1/L2-app"].memory.startup_gb == 4
    run(lab, "Stop-VM -Name L2-app", "HV01/L1")
    run(lab, "Start-VM -Name L2-app", "HV01/L1")
    assert run(lab, "Get-CimInstance Win32_ComputerSystem", "HV01/L1/L2-app").output[0]["TotalPhysicalMemory"] == 6 * 2 ** 30


@pytest.mark.parametrize("clustered", [False, True])
def test_hot_add_refused_on_nested_hosts_and_clustered_vms(lab, clustered):
    target, context = ("HV01/L1", "HV01") if not clustered else ("HV01/L1/L2-app", "HV01/L1")
    if clustered:
        lab.update(target, clustered=True)
    result = run(lab, f"Set-VMMemory -VMName {lab[target].name} -StartupBytes 32GB", context)
    error = result.first_error()
    assert error.message.startswith("Failed to modify device 'Memory'.")
    assert error.fully_qualified_error_id == "InvalidState,Microsoft.HyperV.PowerShell.Commands.SetVMMemory"
    assert lab[target].memory.pending_startup_gb is None


def test_set_vmprocessor_on_a_running_vm_fails_and_works_when_off(lab):
    error = run(lab, "Set-VMProcessor -VMName L1 -Count 8").first_error()
    assert "Cannot change the processor settings of a virtual machine now." in error.message
    assert lab["HV01/L1"].processor.count == 4
    run(lab, "Stop-VM -Name L1 -TurnOff")
    assert run(lab, "Set-VMProcessor -VMName L1 -Count 8").ok and lab["HV01/L1"].processor.count == 8


# -- Services, reboot, performance ----------------------------------------------------------


def test_locked_winnat_cannot_start_and_logs_7023_until_reboot(lab):
    lab.update_platform("HV01/L1", services=replace(lab.platform("HV01/L1").services, winnat="locked"))
    assert "System error 32 has occurred." in run(lab, "net start winnat", "HV01/L1").output
    assert run(lab, "Start-Service WinNat", "HV01/L1").first_error().fully_qualified_error_id.startswith("StartServiceFailed")
    events = run(lab, "Get-WinEvent -LogName System", "HV01/L1").output
    assert any(e["Id"] == 7023 and e["Message"].endswith("being used by another process.") for e in events)
    run(lab, "Restart-Computer", "HV01/L1")
    assert run(lab, "Get-Service WinNat", "HV01/L1").output[0]["Status"] == "Running"


def test_processor_quirk_reads_false_when_a_hypervisor_runs(lab):
    cpu = run(lab, "Get-CimInstance -ClassName Win32_Processor").output[0]
    assert cpu["VirtualizationFirmwareEnabled"] is False
    run(lab, "bcdedit /set hypervisorlaunchtype off")
    run(lab, "Restart-Computer")
    cpu = run(lab, "Get-CimInstance -ClassName Win32_Processor").output[0]
    assert (cpu["VMMonitorModeExtensions"], cpu["VirtualizationFirmwareEnabled"]) == (True, True)
    assert run(lab, "Get-CimInstance Win32_ComputerSystem").output[0]["HypervisorPresent"] is False


def test_performance_model_names_the_costliest_factors(lab):
    (healthy,) = run(lab, "Measure-NestedPerformance -VMName L1").output
    assert healthy["Score"] >= 80
    run(lab, "Stop-VM -Name L1")
    run(lab, "Set-VMProcessor -VMName L1 -Count 1")
    lab.update("HV01/L1", memory=replace(lab["HV01/L1"].memory, startup_gb=3))
    lab.update_platform("HV01", volumes=tuple(replace(v, media="hdd") for v in lab.platform("HV01").volumes))
    (slow,) = run(lab, "Measure-NestedPerformance -VMName L1").output
    assert slow["Score"] < healthy["Score"] and slow["Rating"] == "Poor"
    assert slow["TopFactors"][0] == "vcpu" and "storage-media" in slow["TopFactors"]


def test_run_is_cheap_enough_for_thousands_of_calls(lab):
    import time

    start = time.perf_counter()
    for _ in range(300):
        run(lab, "Get-VM", "HV01/L1")
    assert time.perf_counter() - start < 3.0


def test_vm_record_type(lab):
    assert isinstance(lab["HV01/L1"], VM)


def test_background_load_in_a_guest_makes_it_a_noisy_neighbour(lab):
    script = "Invoke-Command -VMName L2-app -ScriptBlock { 1..$env:NUMBER_OF_PROCESSORS | ForEach-Object { Start-Job { while ($true) {} } } }"
    assert run(lab, script, "HV01/L1").ok
    assert run(lab, "Get-VM -Name L2-app", "HV01/L1").output[0]["CPUUsage"] >= 50
    (web,) = run(lab, "Measure-NestedPerformance -VMName L2-web", "HV01/L1").output
    assert "noisy-neighbour" in web["TopFactors"]
    assert run(lab, "Invoke-Command -VMName L2-app -ScriptBlock { Get-Job | Stop-Job }", "HV01/L1").ok
    assert run(lab, "Get-VM -Name L2-app", "HV01/L1").output[0]["CPUUsage"] < 50


@pytest.mark.parametrize("key,value,field", [
    ("HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa", "LsaCfgFlags", "credential_guard"),
    ("HKLM\\SYSTEM\\CurrentControlSet\\Control\\DeviceGuard\\Scenarios\\HypervisorEnforcedCodeIntegrity", "Enabled",
     "device_guard"),
])
def test_credential_guard_and_hvci_switches_apply_at_reboot(lab, key, value, field):
    run(lab, f"reg add {key} /v {value} /t REG_DWORD /d 1 /f", "HV01/L1")
    assert getattr(lab.platform("HV01/L1").security, field) is False
    run(lab, "Restart-Computer", "HV01/L1")
    guard = run(lab, "Get-CimInstance -Namespace root\\Microsoft\\Windows\\DeviceGuard -ClassName Win32_DeviceGuard",
                "HV01/L1").output[0]
    assert guard["VirtualizationBasedSecurityStatus"] == 2
    assert guard["SecurityServicesRunning"] == [1 if field == "credential_guard" else 2]
    run(lab, f"reg add {key} /v {value} /t REG_DWORD /d 0 /f", "HV01/L1")
    run(lab, "Restart-Computer", "HV01/L1")
    assert getattr(lab.platform("HV01/L1").security, field) is False
