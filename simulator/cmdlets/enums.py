"""Hyper-V and Windows enum values with their real numbers (notes §4.6, HyperVDsc stubs 2.0.0.0)."""

from __future__ import annotations

from nestlab.simulator.psdata import PSEnum

_HV = "Microsoft.HyperV.PowerShell."

VM_STATE = {"Other": 1, "Running": 2, "Off": 3, "Stopping": 4, "Saved": 6, "Paused": 9, "Starting": 10}
VHD_TYPE = {"Unknown": 0, "Fixed": 2, "Dynamic": 3, "Differencing": 4}
VHD_FORMAT = {"Unknown": 0, "VHD": 2, "VHDX": 3, "VHDSet": 4}
SWITCH_TYPE = {"Private": 0, "Internal": 1, "External": 2}
ON_OFF = {"On": 0, "Off": 1}
CONTROLLER = {"IDE": 0, "SCSI": 1, "PMEM": 2}
# System.ServiceProcess.ServiceControllerStatus
SERVICE_STATUS = {"Stopped": 1, "StartPending": 2, "StopPending": 3, "Running": 4}
# Microsoft.Windows.ServerManager.Commands.InstallState (names certain, numbers per the enum's order)
INSTALL_STATE = {"Available": 0, "Installed": 1, "InstallPending": 2, "Removed": 3, "UninstallPending": 4}
# Microsoft.Dism.Commands.FeatureState as Get-WindowsOptionalFeature reports it, read from Windows Server
# 2022 (a public DISM wrapper's notes; its mapping from DismPackageFeatureState, learn.microsoft.com):
# NotPresent/Staged -> Disabled, UninstallPending -> DisablePending, Removed -> DisabledWithPayloadRemoved.
FEATURE_STATE = {"Disabled": 0, "DisablePending": 1, "Enabled": 2, "EnablePending": 3, "Superseded": 4,
                 "PartiallyInstalled": 5, "DisabledWithPayloadRemoved": 6}
# NetSecurity enums (MSFT_NetFirewallRule): Enabled True=1/False=2, Direction Inbound=1/Outbound=2, Action Allow=2/Block=4
FW_ENABLED = {"True": 1, "False": 2}
FW_DIRECTION = {"Inbound": 1, "Outbound": 2}
FW_ACTION = {"NotConfigured": 0, "Allow": 2, "Block": 4}
# MSFT_PhysicalDisk.MediaType: Unspecified=0, HDD=3, SSD=4, SCM=5
MEDIA_TYPE = {"Unspecified": 0, "HDD": 3, "SSD": 4, "SCM": 5}
TCP_STATE = {"Closed": 1, "Listen": 2, "Established": 5}
HEARTBEAT = {"Unknown": 0, "Disabled": 1, "NoContact": 2, "OkApplicationsUnknown": 5, "OkApplicationsHealthy": 6}


def vm_state(name: str) -> PSEnum:
    return PSEnum(_HV + "VMState", name, VM_STATE[name])


def vhd_type(name: str) -> PSEnum:
    return PSEnum("Microsoft.Vhd.PowerShell.VhdType", name, VHD_TYPE[name])


def vhd_format(name: str) -> PSEnum:
    return PSEnum("Microsoft.Vhd.PowerShell.VhdFormat", name, VHD_FORMAT[name])


def switch_type(name: str) -> PSEnum:
    return PSEnum(_HV + "VMSwitchType", name, SWITCH_TYPE[name])


def on_off(on: bool) -> PSEnum:
    name = "On" if on else "Off"
    return PSEnum(_HV + "OnOffState", name, ON_OFF[name])


def controller(name: str) -> PSEnum:
    return PSEnum(_HV + "ControllerType", name, CONTROLLER[name])


def service_status(name: str) -> PSEnum:
    return PSEnum("System.ServiceProcess.ServiceControllerStatus", name, SERVICE_STATUS[name])


def install_state(name: str) -> PSEnum:
    return PSEnum("Microsoft.Windows.ServerManager.Commands.InstallState", name, INSTALL_STATE[name])


def feature_state(name: str) -> PSEnum:
    return PSEnum("Microsoft.Dism.Commands.FeatureState", name, FEATURE_STATE[name])


def fw_enabled(on: bool) -> PSEnum:
    name = "True" if on else "False"
    return PSEnum("Microsoft.PowerShell.Cmdletization.GeneratedTypes.NetSecurity.Enabled", name, FW_ENABLED[name])


def fw_direction(name: str) -> PSEnum:
    return PSEnum("Microsoft.PowerShell.Cmdletization.GeneratedTypes.NetSecurity.Direction", name, FW_DIRECTION[name])


def fw_action(name: str) -> PSEnum:
    return PSEnum("Microsoft.PowerShell.Cmdletization.GeneratedTypes.NetSecurity.Action", name, FW_ACTION[name])


def media_type(name: str) -> PSEnum:
    return PSEnum("Microsoft.PowerShell.Cmdletization.GeneratedTypes.PhysicalDisk.MediaType", name, MEDIA_TYPE[name])


def tcp_state(name: str) -> PSEnum:
    return PSEnum("Microsoft.PowerShell.Cmdletization.GeneratedTypes.NetTCPConnection.State", name, TCP_STATE[name])


def heartbeat(name: str) -> PSEnum:
    return PSEnum(_HV + "VMHeartbeatStatus", name, HEARTBEAT[name])
