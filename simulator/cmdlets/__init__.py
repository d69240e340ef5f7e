"""The simulated cmdlets, one module per area; importing this package fills `TABLE`.

vm (Get-VM, Start/Stop-VM, processor, memory …), vhd (Get-VHD, Test/Merge/Set/Convert-VHD, Test-Path),
network (switches, adapters, WinNAT, IP, firewall, Test-NetConnection), system (CIM, services,
features, events, reboot, disks, IMDS), registry_keys (DeviceGuard keys), native (netsh, bcdedit,
reg, net, systeminfo), pipeline (Select-Object, Where-Object, Format-*, Invoke-Command).
"""

from nestlab.simulator.cmdlets import addtype, jobs, native, network, output, pipeline, registry_keys, system, vhd, vm
from nestlab.simulator.cmdlets.base import TABLE

MODULES = (addtype, jobs, native, network, output, pipeline, registry_keys, system, vhd, vm)

__all__ = ["TABLE", "MODULES"]

# after vhd: the file store answers Test-Path, Remove-Item and Get-ChildItem first for its own files
from nestlab.simulator.cmdlets import filestore  # noqa: E402

MODULES = (*MODULES, filestore)
