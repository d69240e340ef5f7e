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


def _values(type_name: str, numbers: dict[str, int]) -> dict[str, PSEnum]:
    """Every value of an enum, made once: a PSEnum is frozen, so all objects may share one, and
    Get-VMNetworkAdapter alone writes eight OnOffState values per adapter."""
    return {name: PSEnum(type_name, name, number) for name, number in numbers.items()}


_VM_STATE = _values(_HV + "VMState", VM_STATE)


def vm_state(name: str) -> PSEnum:
    return _VM_STATE[name]


_VHD_TYPE = _values("Microsoft.Vhd.PowerShell.VhdType", VHD_TYPE)


def vhd_type(name: str) -> PSEnum:
    return _VHD_TYPE[name]


_VHD_FORMAT = _values("Microsoft.Vhd.PowerShell.VhdFormat", VHD_FORMAT)


def vhd_format(name: str) -> PSEnum:
    return _VHD_FORMAT[name]


_SWITCH_TYPE = _values(_HV + "VMSwitchType", SWITCH_TYPE)


def switch_type(name: str) -> PSEnum:
    return _SWITCH_TYPE[name]


_ON_OFF = _values(_HV + "OnOffState", ON_OFF)


def on_off(on: bool) -> PSEnum:
    return _ON_OFF["On" if on else "Off"]


_CONTROLLER = _values(_HV + "ControllerType", CONTROLLER)


def controller(name: str) -> PSEnum:
    return _CONTROLLER[name]


_SERVICE_STATUS = _values("System.ServiceProcess.ServiceControllerStatus", SERVICE_STATUS)


def service_status(name: str) -> PSEnum:
    return _SERVICE_STATUS[name]


_INSTALL_STATE = _values("Microsoft.Windows.ServerManager.Commands.InstallState", INSTALL_STATE)


def install_state(name: str) -> PSEnum:
    return _INSTALL_STATE[name]


_FEATURE_STATE = _values("Microsoft.Dism.Commands.FeatureState", FEATURE_STATE)


def feature_state(name: str) -> PSEnum:
    return _FEATURE_STATE[name]


_FW_ENABLED = _values("Microsoft.PowerShell.Cmdletization.GeneratedTypes.NetSecurity.Enabled", FW_ENABLED)


def fw_enabled(on: bool) -> PSEnum:
    return _FW_ENABLED["True" if on else "False"]


_FW_DIRECTION = _values("Microsoft.PowerShell.Cmdletization.GeneratedTypes.NetSecurity.Direction", FW_DIRECTION)


def fw_direction(name: str) -> PSEnum:
    return _FW_DIRECTION[name]


_FW_ACTION = _values("Microsoft.PowerShell.Cmdletization.GeneratedTypes.NetSecurity.Action", FW_ACTION)


def fw_action(name: str) -> PSEnum:
    return _FW_ACTION[name]


_MEDIA_TYPE = _values("Microsoft.PowerShell.Cmdletization.GeneratedTypes.PhysicalDisk.MediaType", MEDIA_TYPE)


def media_type(name: str) -> PSEnum:
    return _MEDIA_TYPE[name]


_TCP_STATE = _values("Microsoft.PowerShell.Cmdletization.GeneratedTypes.NetTCPConnection.State", TCP_STATE)


def tcp_state(name: str) -> PSEnum:
    return _TCP_STATE[name]


_HEARTBEAT = _values(_HV + "VMHeartbeatStatus", HEARTBEAT)


def heartbeat(name: str) -> PSEnum:
    return _HEARTBEAT[name]
