"""Guide section "Snapshot/Checkpoint and differencing disk issues" (category storage).

A differencing disk's parent can be gone (0x80070002 / 0xC03A000D), gone but present elsewhere
on the host (reconnect it), present but not the disk the child was made from (0xC03A000E: only
Test-VHD shows it — the identifier a child expects is not a value a host prints), or damaged.
"""

from __future__ import annotations

from pathlib import PureWindowsPath
from typing import Iterator

from nestlab.diagnosis.evidence import Evidence, Fact
from nestlab.diagnosis.findings import EvidenceItem
from nestlab.diagnosis.rules.common import (
    GUIDE,
    Hit,
    Manual,
    Run,
    cmd,
    name_of,
    on_owner,
    platform_test,
    platforms,
    platforms_where,
    ps,
    rule,
    running,
    seen,
    shown,
)
from nestlab.simulator.model import Edge, Lab, Platform, vhd_id
from nestlab.simulator.psdata import Command

REFERENCE = GUIDE + "Snapshot/Checkpoint and differencing disk issues"

PARENT_NOT_FOUND = "0xC03A000D"
ID_MISMATCH = "0xC03A000E"
TIMESTAMP_MISMATCH = "0xC03A000F"
MISMATCH_TEXT = "mismatch in the identifiers"
CHAIN_SYMPTOMS = ("vhd-merge-fails", "vm-start-fails")


def vhd_owners(lab: Lab) -> tuple[str, ...]:
    """The hosts and guests whose disks we saw: every platform (common.platforms)."""
    return platforms(lab)


def children(lab: Lab) -> tuple[tuple[str, str, str], ...]:
    """(owner, child VHD id, declared parent path) of every differencing disk (three rules read
    them: kept per lab state, Lab.memo)."""
    return lab.memo(("rules.storage.children",), lambda: tuple(_children(lab)))


def _children(lab: Lab) -> Iterator[tuple[str, str, str]]:
    for owner in vhd_owners(lab):
        for vhd in lab.owned(owner, "vhd"):
            record = lab[vhd]
            if record.type == "differencing" and record.parent:
                yield owner, vhd, record.parent


def parent_missing(ev: Evidence, owner: str, path: str) -> bool:
    """Test-Path says no, or the file is listed missing, or Get-VHD never found it."""
    fact = ev.of(vhd_id(owner, path)).test_path
    if fact is not None:
        return not fact.value
    missing = {p.lower() for p in ev.lab.platform(owner).files_missing}
    return path.lower() in missing or ev.lab.vhd_by_path(owner, path) is None


def orphans(ev: Evidence) -> tuple[tuple[str, str, str], ...]:
    """The `children` whose parent is missing (parent_missing): vhd-parent-missing and
    vhd-parent-moved both start from them; found once per evidence."""
    cached = ev.memo.get("rules.storage.orphans")
    if cached is None:
        cached = ev.memo["rules.storage.orphans"] = tuple(
            (owner, child, path) for owner, child, path in children(ev.lab) if parent_missing(ev, owner, path))
    return cached


def parent_search(ev: Evidence, owner: str, child: str, path: str) -> Fact | None:
    """The search for a missing parent's file name, filed under the parent's path (or the child's)."""
    return ev.of(vhd_id(owner, path)).parent_search or ev.of(child).parent_search


def _leaf(path: str) -> str:
    return PureWindowsPath(path).name.lower()


def moved_to(ev: Evidence, owner: str, child: str, path: str) -> list[str]:
    """Where a missing parent turned up: a search for its file name, or a disk of that name on the host."""
    found: list[str] = []
    search = parent_search(ev, owner, child, path)
    if search is not None:
        found.extend(p for p in search.value or () if p.lower() != path.lower())
    missing = {p.lower() for p in ev.lab.platform(owner).files_missing}
    for vhd in ev.lab.owned(owner, "vhd"):
        other = ev.lab[vhd].path
        if _leaf(other) == _leaf(path) and other.lower() != path.lower() and other.lower() not in missing:
            found.append(other)
    return list(dict.fromkeys(found))


def _chain_items(ev: Evidence, owner: str, child: str, path: str) -> tuple[EvidenceItem, ...]:
    record = ev.lab[child]
    test = ev.of(vhd_id(owner, path)).test_path or Fact(cmd("Test-Path", Path=path), "Result", False)
    return (shown(ev, child, cmd("Get-VHD", Path=record.path), "ParentPath", path), test.item())


def _users(lab: Lab, vhd: str) -> list[str]:
    """The VMs whose disks are this VHD or a child of it."""
    users = list(lab.into(vhd, Edge.DISK))
    for child in lab.into(vhd, Edge.PARENT):
        users.extend(_users(lab, child))
    return users


def _offline(lab: Lab, vhd: str, commands: list[Command]) -> tuple[Run, ...]:
    """Commands on the disk's owner, with every running VM that uses it stopped around them."""
    result = list(commands)
    for vm in dict.fromkeys(_users(lab, vhd)):
        if running(lab, vm):
            result = [ps("Stop-VM", Name=name_of(vm)), *result, ps("Start-VM", Name=name_of(vm))]
    return on_owner(lab.owner(vhd), *result)


@rule("vhd-parent-missing", category="storage", severity="error", reference=REFERENCE)
def vhd_parent_missing(ev: Evidence) -> Iterator[Hit]:
    for owner, child, path in orphans(ev):
        if moved_to(ev, owner, child, path):
            continue
        record = ev.lab[child]
        yield Hit(
            subject=child,
            summary=f"The parent {path} of differencing disk {record.path} is gone; the chain is broken (0x80070002 / 0xC03A000D)",
            evidence=_chain_items(ev, owner, child, path) + _search_items(ev, child),
            resolution=(Manual(f"Restore {path} from backup to that exact path"),
                        *on_owner(owner, ps("Merge-VHD", Path=record.path, DestinationPath=path))),
            explains=CHAIN_SYMPTOMS,
        )


def _search_items(ev: Evidence, child: str) -> tuple[EvidenceItem, ...]:
    owner, path = ev.lab.owner(child), ev.lab[child].parent
    search = parent_search(ev, owner, child, path)
    return () if search is None else (search.item(),)


@rule("vhd-parent-moved", category="storage", severity="error", reference=REFERENCE)
def vhd_parent_moved(ev: Evidence) -> Iterator[Hit]:
    for owner, child, path in orphans(ev):
        found = moved_to(ev, owner, child, path)
        if not found:
            continue
        record = ev.lab[child]
        yield Hit(
            subject=child,
            summary=f"The parent of {record.path} is no longer at {path} but a disk of that name is at {found[0]}",
            evidence=_chain_items(ev, owner, child, path)
                     + (_search_items(ev, child) or (shown(ev, ev.lab.vhd_by_path(owner, found[0]) or vhd_id(owner, found[0]),
                                                            cmd("Get-VHD", Path=found[0]), "Path", found[0]),)),
            resolution=_offline(ev.lab, child, [ps("Set-VHD", Path=record.path, ParentPath=found[0])]),
            explains=CHAIN_SYMPTOMS,
        )


def test_vhd_error(ev: Evidence, owner: str, path: str) -> Fact | None:
    return ev.of(vhd_id(owner, path)).test_vhd_error


def failing_owners(ev: Evidence) -> frozenset[str]:
    """The hosts and guests where Test-VHD failed on some disk (its facts are filed under
    `vhd_id(owner, path)`): the only owners whose disks can have an error of their own. Once per evidence."""
    cached = ev.memo.get("rules.storage.failing_owners")
    if cached is None:
        cached = ev.memo["rules.storage.failing_owners"] = frozenset(
            node.partition(":vhd:")[0] for node, facts in ev.facts.items() if facts.test_vhd_error is not None)
    return cached


def own_test_vhd_error(ev: Evidence, owner: str, vhd: str) -> Fact | None:
    """Test-VHD's error on this disk, unless its parent fails Test-VHD too: Test-VHD opens the whole
    chain, so the child then only repeats its parent's error and the broken link is further up."""
    record = ev.lab[vhd]
    error = test_vhd_error(ev, owner, record.path)
    if error is None or (record.parent and test_vhd_error(ev, owner, record.parent) is not None):
        return None
    return error


def is_mismatch(message: str) -> bool:
    text = str(message)
    return ID_MISMATCH.lower() in text.lower() or TIMESTAMP_MISMATCH.lower() in text.lower() or MISMATCH_TEXT in text


@rule("vhd-chain-broken", category="storage", severity="error", reference=REFERENCE)
def vhd_chain_broken(ev: Evidence) -> Iterator[Hit]:
    failing = failing_owners(ev)
    if not failing:  # Test-VHD failed nowhere (most diagnoses): no chain to judge
        return
    for owner, child, path in children(ev.lab):
        if owner not in failing:
            continue
        error = own_test_vhd_error(ev, owner, child)
        if error is None or not is_mismatch(error.value) or parent_missing(ev, owner, path):
            continue
        yield Hit(
            subject=child,
            summary=f"{path} is not the disk {ev.lab[child].path} was made from (identifier mismatch, 0xC03A000E)",
            evidence=(shown(ev, child, cmd("Get-VHD", Path=ev.lab[child].path), "ParentPath", path), error.item()),
            resolution=(Manual(f"Restore the original {path} from backup (the file there now is a different disk), "
                               "then retry the merge"),
                        Manual("Only as a last resort: " + str(Run(ev.lab.owner(child), (
                            ps("Set-VHD", Path=ev.lab[child].path, ParentPath=path, IgnoreIdMismatch=True),))))),
            explains=CHAIN_SYMPTOMS,
        )


@platform_test("vhd-corrupt")
def _files_corrupt(platform: Platform) -> bool:
    return bool(platform.files_corrupt)


@rule("vhd-corrupt", category="storage", severity="error", reference=REFERENCE)
def vhd_corrupt(ev: Evidence) -> Iterator[Hit]:
    failing = failing_owners(ev)
    listed = set(platforms_where(ev.lab, "vhd-corrupt"))
    for owner in vhd_owners(ev.lab):
        if owner not in listed and owner not in failing:  # no damaged file listed, no Test-VHD failed (most)
            continue
        corrupt = list(ev.lab.platform(owner).files_corrupt)
        for vhd in ev.lab.owned(owner, "vhd") if owner in failing else ():
            error = own_test_vhd_error(ev, owner, vhd)
            if error is not None and not is_mismatch(error.value) and PARENT_NOT_FOUND.lower() not in str(error.value).lower():
                corrupt.append(ev.lab[vhd].path)
        for path in dict.fromkeys(corrupt):
            error = test_vhd_error(ev, owner, path)
            item = error.item() if error else seen(cmd("Test-VHD", Path=path), "Error", "the file is corrupt")
            yield Hit(
                subject=ev.lab.vhd_by_path(owner, path) or vhd_id(owner, path),
                summary=f"{path} on {owner} is damaged: Test-VHD fails",
                evidence=(item,),
                resolution=(Manual(f"Restore {path} from backup"),
                            Manual(f"Check {owner}'s disks for hardware errors (Get-PhysicalDisk | Get-StorageReliabilityCounter)")),
                explains=CHAIN_SYMPTOMS,
            )


RULES = (vhd_parent_missing, vhd_parent_moved, vhd_chain_broken, vhd_corrupt)
