"""Disk chains: resolution, Test-VHD, Merge-VHD, Set-VHD -ParentPath, with the real virtdisk errors."""

from __future__ import annotations

from dataclasses import replace


from nestlab.simulator import labfile, powershell, storage
from nestlab.simulator.model import Edge, Vhd, vhd_id

CHILD = "D:\\VMs\\L1\\L1_8F2A.avhdx"
PARENT = "D:\\VMs\\L1\\L1.vhdx"
MOVED = "E:\\Archive\\L1.vhdx"


def ps(lab, line, context="HV01"):
    return powershell.run_line(lab, context, line)


def move_parent(lab):
    """The parent file leaves ParentPath and turns up elsewhere with the same identity."""
    identity = lab.disk_id(vhd_id("HV01", PARENT))
    lab.update(vhd_id("HV01", CHILD), parent_disk_id=identity)
    node = lab.add(vhd_id("HV01", MOVED), Vhd(path=MOVED, type="fixed", size_gb=127, disk_id=identity))
    lab.link("HV01", node, Edge.HAS)
    lab.update_platform("HV01", files_missing=(PARENT,))
    labfile.link_derived_edges(lab, "HV01")


def test_healthy_chain(lab):
    assert storage.chain_paths(lab, "HV01", CHILD) == [CHILD, PARENT]
    assert storage.chain_error(lab, "HV01", CHILD) is None
    assert ps(lab, f"Test-VHD -Path '{CHILD}'").output == (True,)


def test_missing_parent_gives_0xC03A000D_and_get_vhd_still_shows_parentpath(lab):
    lab.update_platform("HV01", files_missing=(PARENT,))
    result = ps(lab, f"Test-VHD -Path '{CHILD}'")
    assert result.output == (False,)
    assert "The chain of virtual hard disks is broken." in result.first_error().message
    assert "(0xC03A000D)" in result.first_error().message
    (vhd,) = ps(lab, f"Get-VHD -Path '{CHILD}'").output
    assert vhd["ParentPath"] == PARENT
    assert ps(lab, f"Test-Path -Path '{PARENT}'").output == (False,)
    missing = ps(lab, f"Get-VHD -Path '{PARENT}'").first_error()  # docs/fidelity.md: the real text and category
    assert (missing.message, missing.category) == (f"'{PARENT}' is not an existing virtual hard disk file.", "InvalidArgument")
    assert missing.fully_qualified_error_id == "InvalidParameter,Microsoft.Vhd.PowerShell.Cmdlets.GetVHD"


def test_merge_with_missing_parent_fails_with_both_codes_of_the_guide(lab):
    ps(lab, "Stop-VM L1")
    lab.update_platform("HV01", files_missing=(PARENT,))
    message = ps(lab, f"Merge-VHD -Path '{CHILD}' -DestinationPath '{PARENT}'").first_error().message
    assert "(0x80070002)" in message and "(0xC03A000D)" in message


def test_identity_mismatch_gives_0xC03A000E(lab):
    lab.update(vhd_id("HV01", CHILD), parent_disk_id=lab.disk_id(vhd_id("HV01", PARENT)))
    lab.update(vhd_id("HV01", PARENT), disk_id="11111111-2222-3333-4444-555555555555")  # replaced by another disk
    error = ps(lab, f"Test-VHD -Path '{CHILD}'").first_error()
    assert "mismatch in the identifiers of the parent virtual hard disk and differencing disk" in error.message
    assert "(0xC03A000E)" in error.message


def test_corrupt_file(lab):
    lab.update_platform("HV01", files_corrupt=(PARENT,))
    assert "corrupted and unreadable" in ps(lab, f"Test-VHD -Path '{CHILD}'").first_error().message
    assert ps(lab, f"Get-VHD -Path '{PARENT}'").first_error().fully_qualified_error_id == \
        "OperationFailed,Microsoft.Vhd.PowerShell.Cmdlets.GetVHD"


def test_reconnect_a_moved_parent_then_start(lab):
    ps(lab, "Stop-VM L1")
    move_parent(lab)
    assert "0xC03A000D" in ps(lab, "Start-VM L1").first_error().message
    assert ps(lab, f"Set-VHD -Path '{CHILD}' -ParentPath '{MOVED}'").ok
    assert ps(lab, f"Test-VHD -Path '{CHILD}'").output == (True,)
    assert ps(lab, "Start-VM L1").ok


def test_reconnect_to_a_different_disk_is_refused(lab):
    move_parent(lab)
    lab.update(vhd_id("HV01", MOVED), disk_id="99999999-2222-3333-4444-555555555555")
    error = ps(lab, f"Set-VHD -Path '{CHILD}' -ParentPath '{MOVED}'").first_error()
    assert "(0xC03A000E)" in error.message
    assert lab[vhd_id("HV01", CHILD)].parent == PARENT


def test_merge_folds_the_child_into_the_parent(lab):
    assert ps(lab, f"Merge-VHD -Path '{CHILD}' -DestinationPath '{PARENT}'").first_error().category == "ResourceBusy"
    ps(lab, "Stop-VM L1")
    assert ps(lab, f"Merge-VHD -Path '{CHILD}' -DestinationPath '{PARENT}'").ok
    assert ps(lab, "Get-VMHardDiskDrive -VMName L1").output[0]["Path"] == PARENT
    assert ps(lab, "Start-VM L1").ok


def test_convert_vhd_creates_a_fixed_copy(lab):
    source = "C:\\VMs\\L2-web\\L2-web.vhdx"
    lab.update(vhd_id("HV01/L1", source), type="dynamic")
    assert ps(lab, f"Convert-VHD -Path '{source}' -DestinationPath 'C:\\VMs\\L2-web\\fixed.vhdx' -VHDType Fixed",
              "HV01/L1").ok
    (vhd,) = ps(lab, "Get-VHD -Path 'C:\\VMs\\L2-web\\fixed.vhdx'", "HV01/L1").output
    assert vhd["VhdType"].name == "Fixed"
    assert replace(lab[vhd_id("HV01/L1", source)]).type == "dynamic"


def test_get_childitem_finds_a_moved_parent_on_any_drive(lab):
    move_parent(lab)
    found = ps(lab, "Get-ChildItem -Path C:\\,D:\\,E:\\ -Recurse -Filter L1.vhdx").output
    assert [f["FullName"] for f in found] == [MOVED]


def test_move_vmstorage_moves_the_chain_and_keeps_it_whole(lab):
    assert ps(lab, "Move-VMStorage -VMName L1 -DestinationStoragePath 'C:\\VMs\\L1'").ok
    (drive,) = ps(lab, "Get-VMHardDiskDrive -VMName L1").output
    assert drive["Path"] == "C:\\VMs\\L1\\L1_8F2A.avhdx"
    assert storage.chain_paths(lab, "HV01", drive["Path"]) == ["C:\\VMs\\L1\\L1_8F2A.avhdx", "C:\\VMs\\L1\\L1.vhdx"]
    assert ps(lab, f"Test-VHD -Path '{drive['Path']}'").output == (True,)


def test_a_links_identity_check_answers_what_the_expected_parent_id_answers(lab):
    # storage._mismatched skips the parent's id for a child of the chain's owner that recorded none (it
    # would be compared with itself): it must agree with disk_id != expected_parent_id in every case
    child, parent = vhd_id("HV01", CHILD), vhd_id("HV01", PARENT)

    def agree():
        record, parent_record = lab[child], lab[parent]
        full = lab.disk_id(parent) != storage.expected_parent_id(lab, child)
        assert storage._mismatched(lab, "HV01", child, record, parent, parent_record) == full  # noqa: SLF001
        return full

    assert not agree()  # no identity recorded: the parent's own
    lab.update(child, parent_disk_id=lab.disk_id(parent))
    assert not agree()
    lab.update(parent, disk_id="11111111-2222-3333-4444-555555555555")
    assert agree()  # recorded, and the parent was replaced by another disk
    lab.update(child, parent_disk_id=None)
    assert not agree()
