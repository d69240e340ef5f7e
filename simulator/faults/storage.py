"""Guide section "Snapshot/Checkpoint and differencing disk issues": the parent of a checkpoint, and damaged files.

The subject of the chain faults is the differencing disk (the checkpoint's .avhdx) whose chain
breaks; the symptom is the guide's: Merge-VHD of that checkpoint into its parent fails.
"""

from __future__ import annotations

import ntpath
from dataclasses import replace

from nestlab.simulator import storage
from nestlab.simulator.actions import cmd, run
from nestlab.simulator.faults.base import Fault, Symptom, run_all
from nestlab.simulator.faults.symptoms import CHAIN_BROKEN
from nestlab.simulator.faults.where import q, reachable, relink
from nestlab.simulator.model import Edge, Lab, stable_guid, vhd_id

SECTION = "Snapshot/Checkpoint and differencing disk issues"
ID_MISMATCH = "There is a mismatch in the identifiers of the parent virtual hard disk and differencing disk"
CORRUPT = "The file or directory is corrupted and unreadable"


def _whole_checkpoints(lab: Lab) -> list[str]:
    """Differencing disks whose parent is declared, present and matching (a chain that works)."""
    found = []
    for vhd in lab.nodes("vhd"):
        record = lab[vhd]
        owner = lab.owner(vhd)
        if record.type == "differencing" and lab.out(vhd, Edge.PARENT) and storage.chain_error(lab, owner, record.path) is None:
            found.append(vhd)
    return found


def _parent_path(lab: Lab, child: str) -> str:
    return lab[child].parent


def _merge(lab: Lab, child: str, text: str) -> Symptom:
    """The guide's symptom: merging the checkpoint fails. The VM using it is turned off first, as a
    merge needs (a running VM holds its disk open)."""
    owner = lab.owner(child)
    line = f"Merge-VHD -Path {q(lab[child].path)} -DestinationPath {q(_parent_path(lab, child))}"
    users = tuple(f"Stop-VM -Name {q(lab[vm].name)} -TurnOff" for vm in lab.into(child, Edge.DISK))
    return Symptom(owner, line, setup=users, expect_error=text)


# -- vhd-parent-missing ------------------------------------------------------------------------


def _files_missing(lab: Lab, owner: str, paths: tuple[str, ...]) -> None:
    lab.update_platform(owner, files_missing=paths)
    relink(lab, owner)


def _delete_parent(lab: Lab, child: str) -> None:
    owner = lab.owner(child)
    _files_missing(lab, owner, (*lab.platform(owner).files_missing, _parent_path(lab, child)))


def _restore_parent(lab: Lab, child: str) -> None:
    """The parent restored from backup to ParentPath (the guide: then retry the merge)."""
    owner = lab.owner(child)
    parent = _parent_path(lab, child).lower()
    _files_missing(lab, owner, tuple(p for p in lab.platform(owner).files_missing if p.lower() != parent))


vhd_parent_missing = Fault(
    id="vhd-parent-missing",
    category="storage",
    kind="state",
    section=SECTION,
    description="a differencing disk's parent file is gone",
    find=_whole_checkpoints,
    apply=_delete_parent,
    shows=lambda lab, child: _merge(lab, child, CHAIN_BROKEN),
    mend=_restore_parent,
    aspect="disk",
)

# -- vhd-parent-moved --------------------------------------------------------------------------


def moved_path(path: str) -> str:
    """The same file name in a sibling folder 'Moved' (D:\\VMs\\L1\\L1.vhdx -> D:\\VMs\\Moved\\L1.vhdx)."""
    folder, file = ntpath.split(path)
    return ntpath.join(ntpath.dirname(folder) or folder, "Moved", file)


def _movable(lab: Lab) -> list[str]:
    """Checkpoints whose parent no VM holds open (a running VM's own disk cannot be moved)."""
    return [c for c in _whole_checkpoints(lab) if not lab.into(lab.out(c, Edge.PARENT)[0], Edge.DISK)
            and lab.vhd_by_path(lab.owner(c), moved_path(_parent_path(lab, c))) is None]


def _move_parent(lab: Lab, child: str) -> None:
    """The parent file moves to another folder; it keeps its identity, its children still name the old path."""
    owner = lab.owner(child)
    (parent,) = lab.out(child, Edge.PARENT)
    record = lab[parent]
    identity = lab.disk_id(parent)
    for kid in lab.into(parent, Edge.PARENT):
        lab.update(kid, parent_disk_id=storage.expected_parent_id(lab, kid))
    lab.remove(parent)
    moved = lab.add(vhd_id(owner, moved_path(record.path)), replace(record, path=moved_path(record.path), disk_id=identity))
    lab.link(owner, moved, Edge.HAS)
    relink(lab, owner)


def _reconnect(lab: Lab, child: str) -> None:
    """Beyond the guide: Set-VHD -ParentPath points the checkpoint at the parent's new place."""
    owner = lab.owner(child)
    run_all(lab, [run(owner, cmd("Set-VHD", Path=lab[child].path, ParentPath=moved_path(_parent_path(lab, child))))])


vhd_parent_moved = Fault(
    id="vhd-parent-moved",
    category="storage",
    kind="state",
    section=SECTION,
    description="the parent is gone from ParentPath but a disk with the expected identity exists elsewhere on the host",
    find=_movable,
    apply=_move_parent,
    shows=lambda lab, child: _merge(lab, child, CHAIN_BROKEN),
    mend=_reconnect,
    aspect="disk",
)

# -- vhd-chain-broken --------------------------------------------------------------------------

vhd_chain_broken = Fault(
    id="vhd-chain-broken",
    category="storage",
    kind="state",
    section=SECTION,
    description="the file at ParentPath is not the disk the child was made from (its DiskIdentifier differs)",
    find=_whole_checkpoints,
    apply=lambda lab, child: lab.update(child, parent_disk_id=stable_guid("replaced-parent", child)),
    shows=lambda lab, child: _merge(lab, child, ID_MISMATCH),
    # the matching parent restored from backup: the file at ParentPath is again the one the child expects
    mend=lambda lab, child: lab.update(child, parent_disk_id=None),
    aspect="disk",
)

# -- vhd-corrupt -------------------------------------------------------------------------------


def _in_use(lab: Lab) -> set[str]:
    """Disks in the chain of a VM's drive: what Get-VMHardDiskDrive and ParentPath lead to (a file
    no VM uses, like the source left after a conversion, is seen by no probe)."""
    return {node for vm in lab.all_vms() for disk in lab.disks(vm) if disk in lab for node in lab.chain(disk)}


def _sound_disks(lab: Lab) -> list[str]:
    used = _in_use(lab)
    return [v for v in lab.nodes("vhd") if v in used and reachable(lab, lab.owner(v))
            and storage.chain_error(lab, lab.owner(v), lab[v].path) is None]


def _corrupt(flag: bool):
    def change(lab: Lab, vhd: str) -> None:
        owner = lab.owner(vhd)
        path = lab[vhd].path
        rest = tuple(p for p in lab.platform(owner).files_corrupt if p.lower() != path.lower())
        lab.update_platform(owner, files_corrupt=(*rest, path) if flag else rest)

    return change


vhd_corrupt = Fault(
    id="vhd-corrupt",
    category="storage",
    kind="state",
    section=SECTION,
    description="the file is damaged (hardware failure)",
    find=_sound_disks,
    apply=_corrupt(True),
    shows=lambda lab, vhd: Symptom(lab.owner(vhd), f"Test-VHD -Path {q(lab[vhd].path)}", expect_error=CORRUPT),
    mend=_corrupt(False),  # restored from backup onto sound hardware
    aspect="disk",
)

FAULTS = (vhd_parent_missing, vhd_parent_moved, vhd_chain_broken, vhd_corrupt)
