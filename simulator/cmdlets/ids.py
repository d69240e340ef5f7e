"""The lower-case GUID texts that name a VM or a switch in the objects of every cmdlet that lists it.

Get-VM, Get-VMProcessor, Get-VMMemory, Get-VMHardDiskDrive and Get-VMNetworkAdapter each write the
VM's VMId (and an adapter its switch's SwitchId), and the evidence keeps four to six of those
objects per VM: each held its own copy of the same 36-character text (`stable_guid(...).lower()`
makes a new string per call), ~340 bytes per VM. Here each text is made once per node while the
lab stands still (a `Lab.memo` table of the lab's node ids; a GUID is a pure function of the id,
so the table never holds a stale one) and every object of the node shares it. A first diagnosis
pays one `lower()` and one table entry per VM and per switch it lists.
"""

from __future__ import annotations

from nestlab.simulator.model import Lab, stable_guid

_VM_GUIDS = ("vm guids",)  # Lab.memo keys: one table per kind of node, keyed by node id
_SWITCH_GUIDS = ("switch guids",)


def vm_guid(lab: Lab, vm: str) -> str:
    """`stable_guid("vm", vm).lower()` (base.guid("vm", vm)): the VM's VMId, one text per VM."""
    table = lab.memo(_VM_GUIDS, dict)
    text = table.get(vm)
    if text is None:
        text = table[vm] = stable_guid("vm", vm).lower()
    return text


def switch_guid(lab: Lab, switch: str) -> str:
    """`stable_guid("switch", switch).lower()` (base.guid("switch", switch)): a switch's SwitchId / Id."""
    table = lab.memo(_SWITCH_GUIDS, dict)
    text = table.get(switch)
    if text is None:
        text = table[switch] = stable_guid("switch", switch).lower()
    return text
