"""docs/evidence.md is answered: each probe (structured Command, no text) gives the named properties."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from nestlab.lab.cli import cli
from nestlab.simulator import labfile, powershell
from nestlab.simulator.psdata import Command

C = Command.of

# (context, pipeline, property names every output object must have)
PROBES = [
    ("HV01", (C("Get-CimInstance", ClassName="Win32_OperatingSystem"),), ("Caption", "BuildNumber", "Version")),
    ("HV01", (C("Get-CimInstance", ClassName="Win32_ComputerSystem"),),
     ("TotalPhysicalMemory", "HypervisorPresent", "Manufacturer", "Model")),
    ("HV01", (C("Get-CimInstance", ClassName="Win32_Processor"),),
     ("Manufacturer", "Name", "NumberOfLogicalProcessors", "VMMonitorModeExtensions",
      "SecondLevelAddressTranslationExtensions", "VirtualizationFirmwareEnabled")),
    ("HV01", (C("Get-WindowsFeature", Name="Hyper-V"),), ("InstallState",)),
    ("HV01", (C("Get-WindowsOptionalFeature", Online=True, FeatureName="Microsoft-Hyper-V"),), ("State",)),
    ("HV01", (C("Get-CimInstance", Namespace="root\\Microsoft\\Windows\\DeviceGuard", ClassName="Win32_DeviceGuard"),),
     ("VirtualizationBasedSecurityStatus", "SecurityServicesRunning", "SecurityServicesConfigured")),
    ("HV01", (C("Get-ItemProperty", Path="HKLM:\\System\\CurrentControlSet\\Control\\DeviceGuard"),), ("PSPath",)),
    ("HV01", (C("Get-Service", Name=["vmms", "vmcompute"]),), ("Status", "Name")),
    ("HV01/L1", (C("Get-Service", Name="WinNat"),), ("Status",)),
    ("HV01", (C("Get-HotFix"),), ("InstalledOn", "HotFixID")),
    ("HV01", (C("Get-Volume"),), ("DriveLetter", "Size", "SizeRemaining")),
    ("HV01", (C("Get-Partition"),), ("DriveLetter", "DiskNumber")),
    ("HV01", (C("Get-PhysicalDisk"),), ("DeviceId", "MediaType")),
    ("HV01/L1", (C("Get-NetFirewallRule"),), ("Name", "DisplayName", "Enabled", "Direction", "Action")),
    ("HV01/L1", (C("Get-NetFirewallPortFilter", All=True),), ("InstanceID", "Protocol", "LocalPort")),
    ("HV01", (C("Test-Path", Path="D:\\VMs\\L1\\L1.vhdx"),), ()),
    ("HV01", (C("Get-VMSwitch"),), ("Name", "SwitchType", "NetAdapterInterfaceDescription")),
    ("HV01", (C("Get-NetAdapter"),), ("Name", "InterfaceDescription", "MacAddress")),
    ("HV01/L1", (C("Get-NetIPAddress", AddressFamily="IPv4"),), ("InterfaceAlias", "IPAddress", "PrefixLength")),
    ("HV01", (C("Get-NetRoute", DestinationPrefix="0.0.0.0/0"),), ("NextHop", "InterfaceAlias")),
    ("HV01", (C("Get-NetConnectionProfile"),), ("Name", "InterfaceAlias")),
    ("HV01/L1", (C("Get-NetNat"),), ("Name", "InternalIPInterfaceAddressPrefix")),
    ("HV01", (C("Get-VM"),), ("Name", "State", "Generation", "Version", "IsClustered", "CPUUsage", "MemoryAssigned",
                              "IntegrationServicesState")),
    ("HV01", (C("Get-VMProcessor", VMName="L1"),), ("Count", "ExposeVirtualizationExtensions")),
    ("HV01", (C("Get-VMMemory", VMName="L1"),), ("Startup", "DynamicMemoryEnabled")),
    ("HV01", (C("Get-VMNetworkAdapter", VMName="L1"),), ("Name", "SwitchName", "MacAddress", "MacAddressSpoofing",
                                                          "IPAddresses")),
    ("HV01", (C("Get-VMHardDiskDrive", VMName="L1"),), ("Path", "ControllerType", "ControllerNumber",
                                                         "ControllerLocation")),
    ("HV01/L1/L2-web", (C("Get-NetTCPConnection", State="Listen"),), ("LocalPort",)),
    ("HV01", (C("Get-VHD", Path="D:\\VMs\\L1\\L1_8F2A.avhdx"),), ("Path", "VhdType", "VhdFormat", "Size", "ParentPath",
                                                                  "DiskIdentifier")),
    ("HV01", (C("Test-VHD", Path="D:\\VMs\\L1\\L1_8F2A.avhdx"),), ()),
    ("HV01", (C("Get-WinEvent", LogName="System", MaxEvents=20),), ("Id", "ProviderName", "Message", "TimeCreated")),
]


@pytest.fixture(scope="module")
def lab():
    return labfile.load("builtin:reference")


@pytest.mark.parametrize("context,pipeline,props", PROBES, ids=[str(p[1][0]) for p in PROBES])
def test_every_evidence_probe_answers(lab, context, pipeline, props):
    result = powershell.run(lab, context, pipeline)
    assert result.ok, result.errors
    assert result.output
    for obj in result.output:
        for prop in props:
            assert prop in obj, f"{pipeline[0].name} lacks {prop}"


def test_native_evidence_probes(lab):
    assert any(line.startswith("hypervisorlaunchtype") for line in
               powershell.run(lab, "HV01", (C("bcdedit", "/enum", "{current}"),)).output)
    table = powershell.run(lab, "HV01/L1", (C("netsh", "interface", "portproxy", "show", "all"),)).output
    assert any("192.168.200.10" in line for line in table)
    av = powershell.run(lab, "HV01", (C("Get-CimInstance", Namespace="root/SecurityCenter2", ClassName="AntiVirusProduct"),))
    assert av.ok and av.output == ()


def test_bandwidth_setting_expands_to_maximum_bandwidth(lab):
    probe = (C("Get-VMNetworkAdapter", VMName="L1"), C("Select-Object", ExpandProperty="BandwidthSetting"))
    assert powershell.run(lab, "HV01", probe).output == ()  # never set: no object
    other = labfile.load("builtin:reference")
    other.update("HV01/L1:adapter:Network Adapter", max_bandwidth_mbps=100)
    (setting,) = powershell.run(other, "HV01", probe).output
    assert setting["MaximumBandwidth"] == 100_000_000


def test_azure_imds_answers_only_on_azure_with_the_metadata_header():
    azure = labfile.load("builtin:azure")
    uri = "http://169.254.169.254/metadata/instance/compute?api-version=2021-02-01"
    (meta,) = powershell.run(azure, "AZ-NESTED01", (C("Invoke-RestMethod", Uri=uri, Headers={"Metadata": "true"}),)).output
    assert meta["vmSize"] == "Standard_D8s_v5" and "securityType=Standard" in meta["securityProfile"]
    assert powershell.run(azure, "AZ-NESTED01", (C("Invoke-RestMethod", Uri=uri),)).failed
    assert powershell.run(labfile.load("builtin:reference"), "HV01", (C("Invoke-RestMethod", Uri=uri,
                                                                         Headers={"Metadata": "true"}),)).failed


def test_policy_key_missing_is_item_not_found(lab):
    result = powershell.run(lab, "HV01", (C("Get-ItemProperty", Path="HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\"
                                                                     "DeviceGuard"),))
    assert result.first_error().reason == "ItemNotFoundException"


def test_guest_mac_matches_the_parents_view(lab):
    (adapter,) = powershell.run(lab, "HV01", (C("Get-VMNetworkAdapter", VMName="L1"),)).output
    nics = powershell.run(lab, "HV01/L1", (C("Get-NetAdapter"),)).output
    assert adapter["MacAddress"] in [n["MacAddress"].replace("-", "") for n in nics]


def test_deep_lab_reaches_the_third_level():
    deep = labfile.load("builtin:deep")
    result = powershell.run(deep, "HV01/L1/L2", (C("Get-VM"),))
    assert [o["Name"] for o in result.output] == ["L3"]


# -- nestlab ps ---------------------------------------------------------------------------------


def test_ps_prints_a_table_and_exits_0():
    out = CliRunner().invoke(cli, ["ps", "builtin:reference", "Get-VMProcessor -VMName L1"])
    assert out.exit_code == 0, out.output
    assert out.output.split("\n")[1].split() == ["VMName", "Count", "CompatibilityForMigrationEnabled",
                                                 "CompatibilityForOlderOperatingSystemsEnabled"]


def test_ps_prints_errors_as_powershell_and_exits_1():
    out = CliRunner().invoke(cli, ["ps", "builtin:reference", "Set-VMProcessor -VMName L1 -Count 8"])
    assert out.exit_code == 1
    assert "Set-VMProcessor : Failed to modify device 'Processor'." in out.output
    assert "FullyQualifiedErrorId : InvalidState,Microsoft.HyperV.PowerShell.Commands.SetVMProcessor" in out.output


def test_ps_in_a_guest_and_bad_host_is_exit_2():
    out = CliRunner().invoke(cli, ["ps", "builtin:reference", "--host", "HV01/L1", "Get-NetNat | fl *"])
    assert out.exit_code == 0 and "InternalIPInterfaceAddressPrefix : 192.168.200.0/24" in out.output
    bad = CliRunner().invoke(cli, ["ps", "builtin:reference", "--host", "HV09", "Get-VM"])
    assert bad.exit_code == 2


def test_ps_save_writes_the_change_atomically(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text(labfile.dumps(labfile.load("builtin:reference")), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["ps", str(path), "Stop-VM -Name L1 -TurnOff"]).exit_code == 0
    assert labfile.load(str(path))["HV01/L1"].state == "Running"  # not saved without --save
    assert runner.invoke(cli, ["ps", str(path), "Stop-VM -Name L1 -TurnOff", "--save"]).exit_code == 0
    assert labfile.load(str(path))["HV01/L1"].state == "Off"
    assert [p.name for p in tmp_path.iterdir()] == ["lab.yaml"]
