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


class _GuidTexts(dict):
    """Node id -> `stable_guid(kind, node).lower()`, made on its first read (`__missing__`): every
    later read is one dict lookup, with no Python call (the builders ask it per object)."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def __missing__(self, node: str) -> str:
        text = self[node] = stable_guid(self.kind, node).lower()
        return text


def vm_guids(lab: Lab) -> dict[str, str]:
    """VM node id -> its VMId (`base.guid("vm", vm)`), one text per VM: `vm_guids(lab)[vm]`."""
    return lab.memo(_VM_GUIDS, _vm_table)


def switch_guids(lab: Lab) -> dict[str, str]:
    """Switch node id -> its SwitchId / Id (`base.guid("switch", switch)`): `switch_guids(lab)[switch]`."""
    return lab.memo(_SWITCH_GUIDS, _switch_table)


def _vm_table() -> _GuidTexts:
    return _GuidTexts("vm")


def _switch_table() -> _GuidTexts:
    return _GuidTexts("switch")
