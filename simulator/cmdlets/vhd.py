"""Virtual disk cmdlets: Get-VHD, Test-VHD, Merge-VHD, Set-VHD, Convert-VHD, and Test-Path.

Object shape: samples/get-vhd-fl-differencing.txt sample A (VERBATIM Format-List order). Errors
carry the virtdisk texts of simulator.storage; the wrapper sentences of Test-VHD, Merge-VHD and
Set-VHD are RECONSTRUCTED (no capture found), the code lines are real.
"""

from __future__ import annotations

import fnmatch
import ntpath
from functools import lru_cache
from typing import Iterable

from nestlab.simulator import behaviour, storage
from nestlab.simulator.cmdlets import enums
from nestlab.simulator.cmdlets.base import GIB, Call, Ctx, as_list, cmdlet, obj
from nestlab.simulator.cmdlets.registry_keys import key_exists
from nestlab.simulator.cmdlets.shapes import VARIES, Shape
from nestlab.simulator.model import Edge, Vhd
from nestlab.simulator.psdata import ErrorRecord, PSObject

VHD_TYPE = "Microsoft.Vhd.PowerShell.VirtualHardDisk"


def _paths(call: Call) -> list[str]:
    """-Path, or what is piped in: each object's Path (a drive, a disk), then each text (a path that
    Select-Object -ExpandProperty ParentPath expanded), as strings. The input is read in one pass,
    each object's Path looked up once: a collection pipes every drive of a place into Get-VHD."""
    named = call.named  # canonical lower-case names (`bind`): -Path, else -LiteralPath (Call.names' order)
    given = named["path"] if "path" in named else named["literalpath"] if "literalpath" in named else _NO_PATH
    if given is not _NO_PATH:
        return [str(p) for p in as_list(given)]
    found: list[str] = []
    texts: list[str] = []
    for item in call.input:
        if isinstance(item, str):  # asked first: a text is no PSObject, but asking that runs Mapping's ABC check
            texts.append(str(item))
        elif isinstance(item, PSObject):
            path = item.get("Path", _NO_PATH)
            if path is not _NO_PATH:
                found.append(str(path))
    found += texts
    return found


_NO_PATH = object()  # an object without a Path property (PSObject.get's default)


def vhd_error(call: Call, message: str, fqid: str, category: str, path: str) -> ErrorRecord:
    return ErrorRecord(message, f"{fqid},{call.cmdlet.class_name}", category, target_name=path, target_type="String",
                       activity=call.cmdlet.name, reason="VirtualizationException",
                       exception_type="Microsoft.HyperV.PowerShell.VirtualizationException", terminating=False)


def not_a_vhd(call: Call, path: str) -> ErrorRecord:
    """A path with no file: the module's own parameter check, before virtdisk is asked anything.

    VERBATIM text, InvalidArgument and `InvalidParameter,…` for Get-VHD (openzfsonwindows#381) and
    Mount-VHD (PS-AutoLab-Env#159); the same check guards every VHD cmdlet that takes -Path.
    """
    return vhd_error(call, f"'{path}' is not an existing virtual hard disk file.", "InvalidParameter",
                     "InvalidArgument", path)


# samples/get-vhd-fl-differencing.txt sample A, in its Format-List order; VARIES: set per disk.
VHD_SHAPE = Shape(VHD_TYPE, [
    ("ComputerName", VARIES), ("Path", VARIES), ("VhdFormat", VARIES), ("VhdType", VARIES), ("FileSize", VARIES),
    ("Size", VARIES), ("MinimumSize", VARIES), ("LogicalSectorSize", 512), ("PhysicalSectorSize", 4096),
    ("BlockSize", VARIES), ("ParentPath", VARIES), ("DiskIdentifier", VARIES),
    ("FragmentationPercentage", None), ("Alignment", 1), ("Attached", VARIES), ("DiskNumber", None),
    ("IsPMEMCompatible", False), ("AddressAbstractionType", "None"), ("Number", None),
])


def vhd_object(ctx: Ctx, node: str, computer_name: str | None = None) -> PSObject:
    """One disk as Get-VHD writes it. `computer_name`: the place's name, when the caller lists many disks."""
    lab = ctx.lab
    record: Vhd = lab[node]
    kind = record.type
    size, file_size, minimum = _sizes(record.size_gb, kind)
    shape = _VHD_BY_TYPE[kind]  # fixed, dynamic or differencing (a KeyError for any other)
    attached = False
    for vm in lab.into(node, Edge.DISK):
        if behaviour.is_running(lab, vm):
            attached = True
            break
    path = record.path
    return shape.make({
        "ComputerName": ctx.computer_name if computer_name is None else computer_name, "Path": path,
        "VhdFormat": _VHD if path[-4:].lower() == ".vhd" and is_vhd_file(path) else _VHDX,  # a .vhdx at a glance
        "FileSize": file_size,
        "Size": size, "MinimumSize": minimum,
        "ParentPath": record.parent or "", "DiskIdentifier": lab.disk_id(node, record), "Attached": attached,
    })


@lru_cache(maxsize=256)  # (size, kind) of a lab's disks: a handful of pairs
def _sizes(size_gb: float, kind: str) -> tuple[int, int, int]:
    """A disk's Size, FileSize and MinimumSize in bytes, as ints made once per (size, kind): every
    object of such a disk shares them (ints above 256 are new objects per computation, and the
    evidence keeps each disk's object twice: its own, and as a parent or a chain's link)."""
    size = int(size_gb * GIB)
    file_size = size + 4194304 if kind == "fixed" else size * 2 // 5 if kind == "dynamic" else _DIFFERENCING_FILE_SIZE
    return size, file_size, size - 1032192


def is_vhd_file(path: str) -> bool:
    """`ntpath.splitext(path)[1].lower() == ".vhd"` (a .vhd file, not .vhdx), without splitext's walk.

    The extension is the text from the last dot, when that dot is in the file's name and the name has
    something before it other than dots ('.vhd' alone has no extension): every Get-VHD object asks
    (tests/test_cmdlet_shapes.py holds the two to the same answers)."""
    if path[-4:].lower() != ".vhd":
        return False
    name = path[max(path.rfind("\\"), path.rfind("/")) + 1:-4]
    return name.strip(".") != ""


_DIFFERENCING_FILE_SIZE = 1115684864
_VHD, _VHDX = enums.vhd_format("VHD"), enums.vhd_format("VHDX")
_VHD_TYPES = {kind: enums.vhd_type(kind.capitalize()) for kind in ("fixed", "dynamic", "differencing")}
_BLOCK_SIZES = {"fixed": 0, "dynamic": 33554432, "differencing": 1048576}
# a disk's type and block size follow from its kind: the constants of one template per kind
_VHD_BY_TYPE = {kind: VHD_SHAPE.fixing({"VhdType": vhd_type, "BlockSize": _BLOCK_SIZES[kind]})
                for kind, vhd_type in _VHD_TYPES.items()}


@cmdlet("Get-VHD", positional=("Path",), params=("Path", "DiskNumber", "VMId", "ComputerName"))
def get_vhd(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    out: list[PSObject] = []
    paths = _paths(call)
    if not paths:
        return out  # a guest's disks piped in: none
    lab, owner = ctx.lab, ctx.owner
    platform = lab.platform(owner)  # its missing and damaged files, read once for all the paths
    computer = ctx.computer_name
    # most platforms list no missing and no damaged file: then a path is only looked up (storage.found
    # and is_corrupt_on answer just that for empty lists), for each of the place's disks
    missing, corrupt = bool(platform.files_missing), bool(platform.files_corrupt)
    for path in paths:
        node = storage.found(lab, owner, platform, path) if missing else lab.vhd_by_path(owner, path)
        if node is None:
            ctx.error(not_a_vhd(call, path))
            continue
        if corrupt and storage.is_corrupt_on(platform, path):
            # "Getting the mounted storage instance for the path … failed." OperationFailed (public capture)
            ctx.error(vhd_error(call, f"Getting the mounted storage instance for the path '{path}' failed.\n"
                                      f"{storage.CORRUPT[1]}", "OperationFailed", "NotSpecified", path))
            continue
        out.append(vhd_object(ctx, node, computer))
    return out


@cmdlet("Test-VHD", positional=("Path",), params=("Path", "SupportPersistentReservations", "ComputerName"))
def test_vhd(ctx: Ctx, call: Call) -> Iterable[bool]:
    out = []
    lab, owner = ctx.lab, ctx.owner
    platform = lab.platform(owner)  # its missing and damaged files, read once for all the paths
    for path in _paths(call):
        node = storage.found(lab, owner, platform, path)  # the path looked up once: exists, then the chain
        if node is None:
            ctx.error(not_a_vhd(call, path))
            continue
        error = storage.chain_error_from(lab, owner, platform, path, node)
        if error is None:
            out.append(True)
            continue
        ctx.error(vhd_error(call, f"Failed to validate the virtual hard disk '{path}'.\n{error}",
                            "InvalidOperation", "InvalidOperation", path))
        out.append(False)
    return out


@cmdlet("Merge-VHD", positional=("Path", "DestinationPath"), params=("Path", "DestinationPath", "Force", "Passthru",
                                                                      "ComputerName"))
def merge_vhd(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    for path in _paths(call):
        if not storage.exists(ctx.lab, ctx.owner, path):
            ctx.error(not_a_vhd(call, path))
            continue
        node = ctx.lab.vhd_by_path(ctx.owner, path)
        if node is not None and any(behaviour.is_running(ctx.lab, vm) for vm in ctx.lab.into(node, Edge.DISK)):
            ctx.error(vhd_error(call, f"Failed to merge the virtual disk '{path}'.\nThe process cannot access the file "
                                      "because it is being used by another process. (0x80070020)",
                                "ObjectInUse", "ResourceBusy", path))
            continue
        error = storage.merge(ctx.lab, ctx.owner, path, call.get("DestinationPath"))
        if error is None:
            continue
        lines = [f"Failed to merge the virtual disk '{path}'."]
        if error.code == storage.PARENT_NOT_FOUND[0]:
            lines.append(f"{storage.FILE_NOT_FOUND[1]} ({storage.FILE_NOT_FOUND[0]})")  # the guide quotes both codes
        lines.append(str(error))
        ctx.error(vhd_error(call, "\n".join(lines), "OperationFailed", "NotSpecified", path))
    return []


@cmdlet("Set-VHD", positional=("Path", "ParentPath"), params=("Path", "ParentPath", "IgnoreIdMismatch", "LeafPath",
                                                            "PhysicalSectorSizeBytes", "Passthru", "ComputerName"))
def set_vhd(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    out = []
    for path in _paths(call):
        if not storage.exists(ctx.lab, ctx.owner, path):
            ctx.error(not_a_vhd(call, path))
            continue
        if call.has("ParentPath"):
            error = storage.reconnect(ctx.lab, ctx.owner, path, str(call.get("ParentPath")),
                                      ignore_id=call.flag("IgnoreIdMismatch"))
            if error is not None:
                ctx.error(vhd_error(call, f"Failed to set new parent for the virtual disk '{path}'.\n{error}",
                                    "OperationFailed", "NotSpecified", path))
                continue
        if call.flag("Passthru"):
            out.append(vhd_object(ctx, ctx.lab.vhd_by_path(ctx.owner, path)))
    return out


@cmdlet("Convert-VHD", positional=("Path", "DestinationPath"),
        params=("Path", "DestinationPath", "VHDType", "ParentPath", "DeleteSource", "Passthru", "ComputerName"))
def convert_vhd(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    out = []
    destination = str(call.get("DestinationPath") or "")
    for path in _paths(call):
        if not storage.exists(ctx.lab, ctx.owner, path):
            ctx.error(not_a_vhd(call, path))
            continue
        vtype = str(call.get("VHDType") or ctx.lab[ctx.lab.vhd_by_path(ctx.owner, path)].type if
                    storage.exists(ctx.lab, ctx.owner, path) else "dynamic")
        error = storage.convert(ctx.lab, ctx.owner, path, destination, vtype)
        if error is not None:
            ctx.error(vhd_error(call, f"Failed to convert the virtual disk '{path}'.\n{error}", "OperationFailed",
                                "NotSpecified", path))
            continue
        if call.flag("Passthru"):
            out.append(vhd_object(ctx, ctx.lab.vhd_by_path(ctx.owner, destination)))
    return out


@cmdlet("Test-Path", positional=("Path",), params=("Path", "LiteralPath", "PathType", "IsValid"))
def test_path(ctx: Ctx, call: Call) -> Iterable[bool]:
    out = []
    named = call.named  # canonical lower-case names (`bind`)
    for path in as_list(named["path"] if "path" in named else named.get("literalpath")):
        path = str(path)
        if path.upper().startswith(("HKLM:", "HKEY_LOCAL_MACHINE", "REGISTRY::")):
            out.append(key_exists(ctx, path))
            continue
        if storage.exists(ctx.lab, ctx.owner, path):
            out.append(True)
            continue
        folder = path.rstrip("\\").lower() + "\\"
        out.append(any(ctx.lab[v].path.lower().startswith(folder) and storage.exists(ctx.lab, ctx.owner, ctx.lab[v].path)
                       for v in ctx.lab.owned(ctx.owner, "vhd")))
    return out


@cmdlet("Remove-Item", positional=("Path",), params=("Path", "LiteralPath", "Force", "Recurse"),
        cls="Microsoft.PowerShell.Commands.RemoveItemCommand")
def remove_item(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    """Delete a VHD file no VM uses (the only files the simulator models).

    Added by the fault-catalog engineer (undo of dynamic-vhd: remove the converted copy); minimal.
    """
    from nestlab.simulator.model import Edge

    for path in _paths(call):
        node = ctx.lab.vhd_by_path(ctx.owner, path)
        if node is None:  # PowerShell's own texts for Remove-Item
            ctx.error(ErrorRecord(f"Cannot find path '{path}' because it does not exist.",
                                  f"PathNotFound,{call.cmdlet.class_name}", "ObjectNotFound", target_name=path,
                                  activity="Remove-Item", terminating=False))
            continue
        if ctx.lab.into(node, Edge.DISK) or ctx.lab.into(node, Edge.PARENT):
            ctx.error(ErrorRecord(f"Cannot remove item {path}: The process cannot access the file '{path}' because it "
                                  "is being used by another process.", f"RemoveFileSystemItemIOError,{call.cmdlet.class_name}",
                                  "WriteError", target_name=path, activity="Remove-Item", terminating=False))
            continue
        ctx.lab.remove(node)
    return []


@cmdlet("Get-ChildItem", positional=("Path",), params=("Path", "LiteralPath", "Recurse", "Include", "Filter", "File",
                                                      "Force", "ErrorAction"))
def get_childitem(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    """Only what a person uses here: the virtual disk files under a folder (-Recurse -Include *.vhdx …)."""
    folders = [str(f).rstrip("\\").lower() + "\\" for f in
               as_list(call.get("Path") if call.has("Path") else call.get("LiteralPath")) or ["C:\\"]]
    patterns = [str(p).lower() for p in as_list(call.get("Include")) or as_list(call.get("Filter"))] or ["*"]
    out = []
    for node in ctx.lab.owned(ctx.owner, "vhd"):
        record: Vhd = ctx.lab[node]
        path = record.path
        inside = any(path.lower().startswith(f) and (call.flag("Recurse") or "\\" not in path[len(f):])
                     for f in folders)
        if inside and storage.exists(ctx.lab, ctx.owner, path) and any(
                fnmatch.fnmatchcase(ntpath.basename(path).lower(), p) for p in patterns):
            out.append(obj("System.IO.FileInfo", [
                ("Name", ntpath.basename(path)), ("FullName", path), ("DirectoryName", ntpath.dirname(path)),
                ("Length", vhd_object(ctx, node)["FileSize"]), ("Extension", ntpath.splitext(path)[1]),
                ("Mode", "-a----"),
            ]))
    return out
