"""Virtual disks: chain resolution and the errors Hyper-V's VHD stack gives for broken chains.

A differencing disk names its parent by path (ParentPath, read from the child's own metadata, so
Get-VHD shows it even when the parent is gone) and by identity (the parent's DiskIdentifier when
the child was made). Opening the chain fails at the first link that does not hold:
  - the file itself is missing                       0x80070002 ERROR_FILE_NOT_FOUND
  - the parent file is missing                       0xC03A000D ERROR_VHD_PARENT_VHD_NOT_FOUND
  - the parent's identity differs from the recorded  0xC03A000E ERROR_VHD_CHILD_PARENT_ID_MISMATCH
  - a file is damaged                                0x80070570 ERROR_FILE_CORRUPT
Texts: samples/error-vhd-chain.txt table C (virtdisk codes); 0x80070570 is Win32's
ERROR_FILE_CORRUPT "The file or directory is corrupted and unreadable.".
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from nestlab.simulator.labfile import link_derived_edges
from nestlab.simulator.model import Edge, Lab, Platform, Vhd, stable_guid, vhd_id

FILE_NOT_FOUND = ("0x80070002", "The system cannot find the file specified.")
PARENT_NOT_FOUND = ("0xC03A000D", "The chain of virtual hard disks is broken. The system cannot locate the parent "
                    "virtual hard disk for the differencing disk.")
ID_MISMATCH = ("0xC03A000E", "The chain of virtual hard disks is corrupted. There is a mismatch in the identifiers "
               "of the parent virtual hard disk and differencing disk.")
CORRUPT = ("0x80070570", "The file or directory is corrupted and unreadable.")


@dataclass(frozen=True)
class ChainError:
    """The first broken link of a chain: which file, the HRESULT and its system message."""

    path: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.message} ({self.code})"


def exists(lab: Lab, owner: str, path: str) -> bool:
    """Test-Path: a declared disk whose file is not listed as missing."""
    return _exists(lab, owner, lab.platform(owner), path)


def _exists(lab: Lab, owner: str, platform: Platform, path: str) -> bool:
    return found(lab, owner, platform, path) is not None


def found(lab: Lab, owner: str, platform: Platform, path: str) -> str | None:
    """The declared disk at `path` whose file is not listed as missing (Test-Path's answer), else None.

    The node itself, so that a caller which goes on to read the disk (Get-VHD, a chain's walk) does
    not look the path up a second time."""
    missing = platform.files_missing
    if missing and _listed(path, missing):
        return None
    return lab.vhd_by_path(owner, path)


def is_corrupt(lab: Lab, owner: str, path: str) -> bool:
    return is_corrupt_on(lab.platform(owner), path)


def is_corrupt_on(platform: Platform, path: str) -> bool:
    """is_corrupt, for a caller that has read the owner's platform already (Get-VHD, chain_error)."""
    corrupt = platform.files_corrupt
    return bool(corrupt) and _listed(path, corrupt)


def _listed(path: str, files: tuple[str, ...]) -> bool:
    """Whether a platform's list of missing or damaged files names `path` (Windows paths ignore case).

    Most platforms list none, and every Get-VHD and Test-VHD of each disk of the chain asks: the
    callers skip the scan for an empty list."""
    lowered = path.lower()
    return path in files or any(p.lower() == lowered for p in files)


def expected_parent_id(lab: Lab, child: str) -> str:
    """The identity the child recorded for its parent when it was made."""
    record: Vhd = lab[child]
    if record.parent_disk_id:
        return record.parent_disk_id
    owner = lab.owner(child)
    parent = lab.vhd_by_path(owner, record.parent or "")
    if parent is not None:
        return lab.disk_id(parent)
    return stable_guid("vhd", owner, (record.parent or "").lower())


def chain_error(lab: Lab, owner: str, path: str) -> ChainError | None:
    """Open a disk and its ancestors as Start-VM, Test-VHD and Merge-VHD do; None when whole."""
    platform = lab.platform(owner)  # the files it lists as missing or damaged, read once for the chain
    node = found(lab, owner, platform, path)  # each disk of the chain is looked up once
    if node is None:
        return ChainError(path, *FILE_NOT_FOUND)
    return chain_error_from(lab, owner, platform, path, node)


def chain_error_from(lab: Lab, owner: str, platform: Platform, path: str, node: str) -> ChainError | None:
    """chain_error for a disk the caller has found already (`found`: Test-VHD asks that first)."""
    seen: set[str] = set()
    current = path
    corrupt = bool(platform.files_corrupt)  # most platforms list no damaged file: no scan per link
    record: Vhd = lab[node]
    while True:
        if corrupt and is_corrupt_on(platform, current):
            return ChainError(current, *CORRUPT)
        if record.type != "differencing" or not record.parent:
            return None
        if node in seen:
            return None
        seen.add(node)
        parent = record.parent
        parent_node = found(lab, owner, platform, parent)
        if parent_node is None:
            return ChainError(current, *PARENT_NOT_FOUND)
        parent_record: Vhd = lab[parent_node]  # read once: its identity here, its own link next
        if _mismatched(lab, owner, node, record, parent_node, parent_record):
            return ChainError(current, *ID_MISMATCH)
        current, node, record = parent, parent_node, parent_record


def _mismatched(lab: Lab, owner: str, child: str, record: Vhd, parent: str, parent_record: Vhd) -> bool:
    """Whether the parent's identity differs from what the child expects (`expected_parent_id`).

    A child that recorded its parent's identity expects that one. One that did not (every disk of a
    generated lab) expects the identity of the disk its ParentPath names among its owner's disks: for
    a child of the chain's owner, that is `parent` itself (`found` looked that path up), which
    cannot differ from itself; only a child held by another owner is worked out in full."""
    if record.parent_disk_id:
        return lab.disk_id(parent, parent_record) != record.parent_disk_id
    if lab.owner(child) == owner:
        return False
    return lab.disk_id(parent, parent_record) != expected_parent_id(lab, child)


def chain_paths(lab: Lab, owner: str, path: str) -> list[str]:
    """Child first, following ParentPath as far as the files exist."""
    paths = [path]
    node = lab.vhd_by_path(owner, path)
    while node is not None and lab[node].parent and exists(lab, owner, lab[node].parent):
        parent = lab[node].parent
        if parent in paths:
            break
        paths.append(parent)
        node = lab.vhd_by_path(owner, parent)
    return paths


def merge(lab: Lab, owner: str, child_path: str, destination: str | None = None) -> ChainError | None:
    """Merge-VHD: fold the child into its parent; VMs using the child now use the parent."""
    error = chain_error(lab, owner, child_path)
    if error is not None:
        return error
    child = lab.vhd_by_path(owner, child_path)
    record: Vhd = lab[child]
    if record.type != "differencing" or not record.parent:
        return ChainError(child_path, "0x80070057", "The parameter is incorrect.")
    parent = lab.vhd_by_path(owner, record.parent)
    if destination and lab[parent].path.lower() != destination.lower():
        return ChainError(child_path, "0x80070057", "The parameter is incorrect.")
    for vm in lab.into(child, Edge.DISK):
        lab.unlink(vm, child, Edge.DISK)
        lab.link(vm, parent, Edge.DISK)
    for other in lab.into(child, Edge.PARENT):
        lab.update(other, parent=lab[parent].path, parent_disk_id=lab.disk_id(parent))
    lab.remove(child)
    link_derived_edges(lab, owner)
    return None


def reconnect(lab: Lab, owner: str, child_path: str, new_parent: str, *, ignore_id: bool = False) -> ChainError | None:
    """Set-VHD -ParentPath: point a differencing disk at its parent's new location."""
    child = lab.vhd_by_path(owner, child_path)
    if child is None or not exists(lab, owner, child_path):
        return ChainError(child_path, *FILE_NOT_FOUND)
    if not exists(lab, owner, new_parent):
        return ChainError(new_parent, *FILE_NOT_FOUND)
    target = lab.vhd_by_path(owner, new_parent)
    expected = expected_parent_id(lab, child)
    if not ignore_id and lab.disk_id(target) != expected:
        return ChainError(child_path, *ID_MISMATCH)
    lab.update(child, parent=lab[target].path, parent_disk_id=lab.disk_id(target) if ignore_id else expected)
    link_derived_edges(lab, owner)
    return None


def convert(lab: Lab, owner: str, path: str, destination: str, vhd_type: str) -> ChainError | None:
    """Convert-VHD: a new file of the given type with the source's content; VMs keep the source."""
    error = chain_error(lab, owner, path)
    if error is not None:
        return error
    source: Vhd = lab[lab.vhd_by_path(owner, path)]
    new_type = vhd_type.lower()
    if lab.vhd_by_path(owner, destination) is not None:
        return ChainError(destination, "0x80070050", "The file exists.")
    record = replace(source, path=destination, type=new_type, disk_id=None, parent_disk_id=None,
                     parent=source.parent if new_type == "differencing" else None)
    node = lab.add(vhd_id(owner, destination), record)
    lab.link(owner, node, Edge.HAS)
    link_derived_edges(lab, owner)
    return None



def move(lab: Lab, owner: str, path: str, new_path: str) -> str:
    """Move a disk file (Move-VMStorage): its identity goes with it, children follow its new path."""
    old = lab.vhd_by_path(owner, path)
    record: Vhd = lab[old]
    children = [c for c in lab.owned(owner, "vhd") if (lab[c].parent or "").lower() == path.lower()]
    expected = {c: expected_parent_id(lab, c) for c in children}
    node = lab.add(vhd_id(owner, new_path), replace(record, path=new_path, disk_id=lab.disk_id(old)))
    for u, _, key in list(lab.graph.in_edges(old, keys=True)):
        lab.link(u, node, Edge(key))
    for _, v, key in list(lab.graph.out_edges(old, keys=True)):
        lab.link(node, v, Edge(key))
    lab.remove(old)
    for child in children:
        lab.update(child, parent=new_path, parent_disk_id=expected[child])
    link_derived_edges(lab, owner)
    return node
