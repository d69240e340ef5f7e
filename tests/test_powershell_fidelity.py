"""The rows of issue 11's fidelity table: each simulated answer against a real capture (fixtures/powershell).

Every fixture is headed with its source; docs/fidelity.md says for each row what was fixed and why.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nestlab.simulator import powershell, psformat
from nestlab.simulator.cmdlets import enums
from nestlab.simulator.cmdlets.base import TABLE
from nestlab.simulator.model import vm_id

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "powershell"


def run(lab, line, context="HV01"):
    return powershell.run_line(lab, context, line)


def body(name: str) -> list[str]:
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# source"), f"{name} must start with its source header"
    return [line for line in lines if not line.startswith("#")]


def error_lines(error, command: str) -> list[str]:
    """The message line(s), CategoryInfo and FullyQualifiedErrorId as the console prints them."""
    text = psformat.format_error(error).splitlines()
    return [f"{command} : {text[0].split(' : ', 1)[1]}", *text[1:]]


def test_get_vhd_on_a_missing_path_is_the_modules_own_parameter_error(lab):
    lab.update_platform("HV01", files_missing=(r"D:\VMs\missing.vhdx",))
    error = run(lab, r"Get-VHD -Path 'D:\VMs\missing.vhdx'").first_error()
    assert error_lines(error, "Get-VHD") == body("error-get-vhd-missing.txt")


@pytest.mark.parametrize("cmdlet,cls", [
    ("Get-VHD", "GetVHD"), ("Test-VHD", "TestVhd"), ("Merge-VHD", "MergeVhd"), ("Set-VHD", "SetVhd"),
    ("Convert-VHD", "ConvertVhd"),
])
def test_vhd_cmdlet_classes_are_spelt_as_windows_spells_them(lab, cmdlet, cls):
    assert TABLE[cmdlet.lower()].class_name == f"Microsoft.Vhd.PowerShell.Cmdlets.{cls}"
    error = run(lab, rf"{cmdlet} -Path 'D:\nothing.vhdx'").first_error()
    assert error.fully_qualified_error_id == f"InvalidParameter,Microsoft.Vhd.PowerShell.Cmdlets.{cls}"
    assert error.category == "InvalidArgument"


def test_start_vm_out_of_memory_is_outofmemory_with_the_real_lines(lab):
    run(lab, "Stop-VM -Name L2-web -TurnOff", "HV01/L1")
    lab.update(vm_id("HV01/L1", "L2-web"), memory=type(lab[vm_id("HV01/L1", "L2-web")].memory)(startup_gb=64))
    error = run(lab, "Start-VM -Name L2-web", "HV01/L1").first_error()
    assert error.fully_qualified_error_id == "OutOfMemory,Microsoft.HyperV.PowerShell.Commands.StartVM"
    vmid = re.search(r"Virtual machine ID ([0-9A-F-]{36})", error.message).group(1)
    expected = [line.replace("<VMID>", vmid).replace("<MB>", "65536") for line in body("error-start-vm-out-of-memory.txt")]
    assert error.message.splitlines() == expected


def test_start_vm_in_a_guest_without_extensions_is_vmmss_components_text(lab):
    run(lab, "Stop-VM -Name L1 -TurnOff")
    run(lab, "Set-VMProcessor -VMName L1 -ExposeVirtualizationExtensions $false")
    run(lab, "Start-VM -Name L1")
    run(lab, "Stop-VM -Name L2-web -TurnOff", "HV01/L1")
    message = run(lab, "Start-VM -Name L2-web", "HV01/L1").first_error().message
    assert "The Virtual Machine Management Service failed to start the virtual machine 'L2-web' because one of the " \
           "Hyper-V components is not running" in message
    assert "hypervisor is not running" not in message


def test_hypervisor_launch_off_keeps_the_hypervisor_text(lab):
    run(lab, "bcdedit /set hypervisorlaunchtype off", "HV01/L1")
    run(lab, "Restart-Computer -Force", "HV01/L1")
    assert "could not be started because the hypervisor is not running" in \
        run(lab, "Start-VM -Name L2-web", "HV01/L1").first_error().message


def test_get_vm_without_the_platform_says_the_wmi_class_is_missing(lab):
    lab.update_platform("HV01", hyperv_installed=False)
    result = run(lab, "Get-VM")
    assert not result.output
    assert error_lines(result.first_error(), "Get-VM") == body("error-get-vm-no-platform.txt")


def test_net_cmdlets_not_found_are_cmdletization_errors(lab):
    error = run(lab, "Get-NetAdapter -Name 'vEthernet (LabNet)'").first_error()
    assert error_lines(error, "Get-NetAdapter") == body("error-get-netadapter-not-found.txt")
    nat = run(lab, "Get-NetNat -Name Nope", "HV01/L1").first_error()
    assert (nat.fully_qualified_error_id, nat.category) == ("CmdletizationQuery_NotFound_Name,Get-NetNat", "ObjectNotFound")
    rule = run(lab, "Get-NetFirewallRule -DisplayName Nope").first_error()
    assert rule.fully_qualified_error_id == "CmdletizationQuery_NotFound_DisplayName,Get-NetFirewallRule"
    assert run(lab, "Get-NetAdapter -Name 'Nothing*'").errors == ()  # a wildcard that matches nothing: no error


def test_get_netroute_honours_its_filters(lab):
    alias = run(lab, "Get-NetRoute -InterfaceAlias 'Loopback Pseudo-Interface 1'").output
    assert alias and {r["InterfaceAlias"] for r in alias} == {"Loopback Pseudo-Interface 1"}
    error = run(lab, "Get-NetRoute -DestinationPrefix 10.99.0.0/16").first_error()
    assert error.fully_qualified_error_id == "CmdletizationQuery_NotFound_DestinationPrefix,Get-NetRoute"


def test_feature_state_numbers_are_dism_cmdlets_numbers():
    # Disabled = 0, DisablePending = 1, Enabled = 2, EnablePending = 3, Superseded = 4,
    # PartiallyInstalled = 5, DisabledWithPayloadRemoved = 6 (docs/fidelity.md)
    assert [enums.feature_state(n).value for n in ("Disabled", "DisablePending", "Enabled", "EnablePending",
                                                   "Superseded", "PartiallyInstalled", "DisabledWithPayloadRemoved")] \
        == [0, 1, 2, 3, 4, 5, 6]


def test_get_windowsfeature_prints_x_marks_indented_by_depth(lab):
    text = psformat.render(list(run(lab, "Get-WindowsFeature -Name *Hyper-V*").output))
    ours = [re.split(r"\s{2,}", line.strip()) for line in text.strip().splitlines()]
    real = [re.split(r"\s{2,}", line.strip()) for line in body("get-windowsfeature-hyperv-table.txt")]
    assert ours == real
    indents = [len(line) - len(line.lstrip()) for line in text.strip().splitlines()[2:]]
    assert indents == [0, 8, 12, 12]  # the real console: 4 spaces per level below the role's
    assert text.strip().splitlines()[2].endswith("Installed") and "[X] Hyper-V" in text


@pytest.mark.parametrize("line,header", [
    ("Get-NetRoute", ["ifIndex", "DestinationPrefix", "NextHop", "RouteMetric", "ifMetric", "PolicyStore"]),
    ("Get-NetTCPConnection", ["LocalAddress", "LocalPort", "RemoteAddress", "RemotePort", "State", "AppliedSetting",
                              "OwningProcess"]),
])
def test_net_cmdlets_print_the_tables_windows_prints(lab, line, header):
    output = list(run(lab, line, "HV01/L1").output)
    assert output
    first = psformat.render(output).strip().splitlines()[0]
    assert first.split() == header


def test_objects_with_at_most_four_properties_print_as_a_table(lab):
    (adapter,) = run(lab, "Get-VMNetworkAdapter -VMName L1 | Select-Object Name, SwitchName").output
    text = psformat.render([adapter]).strip().splitlines()
    assert text[0].split() == ["Name", "SwitchName"] and set(text[1].replace(" ", "")) == {"-"}
    five = run(lab, "Get-VMNetworkAdapter -VMName L1 | Select-Object Name, SwitchName, VMName, MacAddress, Status").output
    assert psformat.render(list(five)).strip().splitlines()[0].startswith("Name ")
    assert " : " in psformat.render(list(five))


def test_host_vethernet_adapters_have_hyper_vs_oui(lab):
    vnics = [a for a in run(lab, "Get-NetAdapter", "HV01/L1").output if a["Name"].startswith("vEthernet")]
    assert vnics and all(a["MacAddress"].startswith("00-15-5D-") for a in vnics)
    assert "00-15-5D-" in body("get-netadapter-vethernet-table.txt")[2]


def test_vm_network_adapter_has_the_modules_full_property_set(lab):
    (adapter,) = run(lab, "Get-VMNetworkAdapter -VMName L1").output
    names = list(adapter)
    assert len(names) >= 80 and len(set(names)) == len(names)
    for prop in ("ClusterMonitored", "IovQueuePairsRequested", "AclList", "IsolationSetting", "VlanSetting",
                 "VrssEnabled", "VmmqEnabled", "VFDataPathActive", "MandatoryFeatureId", "VMSnapshotId", "IsDeleted"):
        assert prop in names
    host = run(lab, "Get-VMNetworkAdapter -ManagementOS").output
    assert host and all(a["IsManagementOs"] is True and a["MacAddress"].startswith("00155D") for a in host)
