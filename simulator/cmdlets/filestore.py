"""A simulated host's own files: what a client copies in (pypsrp `Client.copy`, Ansible's put_file),
what a script writes ([System.IO.File], Set-Content, New-Item), read back by Get-Content, Get-Item,
Test-Path, Get-FileHash, Remove-Item, Move-Item and by a later fetch on the same host.

The store lives on the host's graph node, like `pending_boot`: state of the running host, not of
the lab file (a saved lab holds the booted configuration; uploaded files are not part of it). A new
dict is stored on every change because `Lab.copy()` shares node attribute values between copies.

Paths are Windows paths: case-insensitive, `\\` and `/` alike, a drive letter. A folder exists if
it is one of a fresh Windows installation's (`BASE_FOLDERS`), was made with New-Item, or holds a
file. Test-Path, Remove-Item and Get-ChildItem keep `cmdlets/vhd.py`'s meaning for the virtual
disk files that module models; this module answers first for the files it holds. Error texts and
ids are FileSystemProvider's (PowerShell's resources/FileSystemProviderStrings.resx and
SessionStateStrings.resx, e.g. "Cannot find path '…' because it does not exist.", PathNotFound).
"""

from __future__ import annotations

import hashlib
import ntpath
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime
from typing import Any, Iterable

from nestlab.simulator.cmdlets.base import TABLE, Call, Cmdlet, Ctx, Terminating, as_list, cmdlet, obj
from nestlab.simulator.psdata import ErrorRecord, PSObject

BASE_FOLDERS = ("C:\\", "C:\\Windows", "C:\\Windows\\System32", "C:\\Windows\\Temp", "C:\\Users", "C:\\Users\\Public",
                "C:\\Users\\Administrator", "C:\\Users\\Administrator\\Documents", "C:\\Users\\Administrator\\AppData",
                "C:\\Users\\Administrator\\AppData\\Local", "C:\\Users\\Administrator\\AppData\\Local\\Temp",
                "C:\\ProgramData", "C:\\Program Files", "C:\\Program Files (x86)")
WRITE_TIME = datetime(2026, 11, 20, 9, 0, 0)  # the simulated clock's start (pwsh.session.START)


@dataclass(frozen=True)
class Entry:
    """One file (`data` its bytes) or folder (`data` None), under the path as first written."""

    path: str
    data: bytes | None


def normal(path: str) -> str:
    """The store's key: `C:/Temp//x.txt\\` and `c:\\temp\\X.TXT` are one file."""
    return _normal_text(path) if type(path) is str else _normal_text.__wrapped__(str(path))


@lru_cache(maxsize=65_536)
def _normal_text(path: str) -> str:
    """`normal` of a str, remembered: the collector asks about each disk path several times
    (16,600 calls per 1,000 VMs, issue 17)."""
    text = path.replace("/", "\\")
    if text.lower().startswith("microsoft.powershell.core\\filesystem::"):
        text = text.split("::", 1)[1]
    drive, rest = ntpath.splitdrive(text)
    parts = [p for p in rest.split("\\") if p and p != "."]
    out: list[str] = []
    for part in parts:
        if part == "..":
            if out:
                out.pop()
        else:
            out.append(part)
    return (drive.upper() + "\\" + "\\".join(out)).lower()


_BASE_KEYS = frozenset(normal(f) for f in BASE_FOLDERS)  # the store's keys of the base folders, made once


def is_filesystem(path: str) -> bool:
    text = str(path)
    return (len(text) >= 2 and text[1] == ":" and text[0].isalpha()) or \
        text.lower().startswith("microsoft.powershell.core\\filesystem::")


def display(path: str) -> str:
    key = normal(path)
    text = str(path).replace("/", "\\")
    drive, rest = ntpath.splitdrive(text.split("::", 1)[-1])
    parts = [p for p in rest.split("\\") if p and p != "."]
    shown = drive.upper() + "\\" + "\\".join(parts)
    return shown if shown.lower() == key else key


def _files(ctx: Ctx) -> dict[str, Entry]:
    return ctx.lab.attributes(ctx.owner).get("files", {})


def _store(ctx: Ctx, files: dict[str, Entry]) -> None:
    ctx.lab.graph.nodes[ctx.owner]["files"] = files


def read(ctx: Ctx, path: str) -> bytes | None:
    """A file's bytes, or None where there is no such file."""
    entry = _files(ctx).get(normal(path))
    return entry.data if entry is not None else None


def is_folder(ctx: Ctx, path: str) -> bool:
    key = normal(path)
    if key in _BASE_KEYS:
        return True
    entry = _files(ctx).get(key)
    if entry is not None:
        return entry.data is None
    prefix = key.rstrip("\\") + "\\"
    return any(k.startswith(prefix) for k in _files(ctx))


def exists(ctx: Ctx, path: str) -> bool:
    return read(ctx, path) is not None or is_folder(ctx, path)


def write(ctx: Ctx, path: str, data: bytes) -> None:
    """Create or replace a file: its folder must exist, as CreateFile's does."""
    if not is_folder(ctx, ntpath.dirname(display(path))):
        raise FileNotFound(f"Could not find a part of the path '{display(path)}'.", "DirectoryNotFoundException")
    if is_folder(ctx, path):
        raise FileNotFound(f"Access to the path '{display(path)}' is denied.", "UnauthorizedAccessException")
    files = dict(_files(ctx))
    old = files.get(normal(path))
    files[normal(path)] = Entry(old.path if old else display(path), bytes(data))
    _store(ctx, files)


def make_folder(ctx: Ctx, path: str) -> None:
    files = dict(_files(ctx))
    files[normal(path)] = Entry(display(path), None)
    _store(ctx, files)


def delete(ctx: Ctx, path: str) -> bool:
    """Remove a file, or a folder and everything under it; False when there was nothing."""
    key = normal(path)
    files = dict(_files(ctx))
    gone = [k for k in files if k == key or k.startswith(key.rstrip("\\") + "\\")]
    for k in gone:
        del files[k]
    _store(ctx, files)
    return bool(gone)


def children(ctx: Ctx, path: str) -> list[Entry]:
    prefix = normal(path).rstrip("\\") + "\\"
    return [e for k, e in _files(ctx).items() if k.startswith(prefix) and "\\" not in k[len(prefix):]]


class FileNotFound(Exception):
    """A .NET IO exception's message and short type name (what File.* methods throw)."""

    def __init__(self, message: str, kind: str = "FileNotFoundException") -> None:
        super().__init__(message)
        self.kind = kind


# -- the objects Get-Item and New-Item return -----------------------------------------------------------

def item(ctx: Ctx, path: str) -> PSObject:
    """A System.IO.FileInfo or DirectoryInfo with the properties a script reads first."""
    entry = _files(ctx).get(normal(path))
    full = entry.path if entry else display(path)
    name = ntpath.basename(full.rstrip("\\")) or full
    data = read(ctx, path)
    if data is None:
        return obj("System.IO.DirectoryInfo", [
            ("Name", name), ("FullName", full), ("Parent", ntpath.basename(ntpath.dirname(full.rstrip("\\")))),
            ("Exists", True), ("Root", full[:3]), ("Extension", ""), ("Mode", "d-----"),
            ("CreationTime", WRITE_TIME), ("LastWriteTime", WRITE_TIME), ("Attributes", "Directory"),
            ("PSPath", f"Microsoft.PowerShell.Core\\FileSystem::{full}"), ("PSIsContainer", True)], name)
    return obj("System.IO.FileInfo", [
        ("Name", name), ("Length", len(data)), ("DirectoryName", ntpath.dirname(full)),
        ("Directory", ntpath.dirname(full)), ("IsReadOnly", False), ("Exists", True), ("FullName", full),
        ("Extension", ntpath.splitext(full)[1]), ("Mode", "-a----"), ("CreationTime", WRITE_TIME),
        ("LastWriteTime", WRITE_TIME), ("Attributes", "Archive"),
        ("PSPath", f"Microsoft.PowerShell.Core\\FileSystem::{full}"), ("PSIsContainer", False)], name)


def path_not_found(call: Call, path: str, *, terminating: bool = False) -> ErrorRecord:
    return ErrorRecord(f"Cannot find path '{path}' because it does not exist.",
                       f"PathNotFound,{call.cmdlet.class_name}", "ObjectNotFound", target_name=path, target_type="String",
                       activity=call.cmdlet.name, reason="ItemNotFoundException",
                       exception_type="System.Management.Automation.ItemNotFoundException", terminating=terminating)


def _paths(call: Call) -> list[str]:
    named = call.named  # canonical lower-case names (`bind`): -LiteralPath, else -Path (Call.names' order)
    if "literalpath" in named:
        paths = as_list(named["literalpath"])
    elif "path" in named:
        paths = as_list(named["path"])
    else:
        paths = [o["FullName"] if isinstance(o, PSObject) and "FullName" in o else o for o in call.input]
    return [str(p) for p in paths]


# -- cmdlets -----------------------------------------------------------------------------------------

def decode_text(data: bytes) -> str:
    """The text of a file as Get-Content and File.ReadAllText read it: BOM-detected UTF-8/UTF-16, else UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    return data.decode("utf-8", "replace")


def encode(text: str, encoding: str | None) -> bytes:
    """Set-Content's -Encoding (5.1: Default/ASCII write the ANSI page, Unicode UTF-16 LE with BOM, UTF8 with BOM)."""
    name = (encoding or "Default").lower()
    if name in ("unicode", "string"):
        return b"\xff\xfe" + text.encode("utf-16-le")
    if name == "bigendianunicode":
        return b"\xfe\xff" + text.encode("utf-16-be")
    if name == "utf8":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    if name == "utf32":
        return b"\xff\xfe\x00\x00" + text.encode("utf-32-le")
    return text.encode("cp1252", "replace")


@cmdlet("Get-Content", positional=("Path",), params=("Path", "LiteralPath", "Encoding", "Raw", "TotalCount", "Tail",
                                                     "ReadCount", "Delimiter", "Force", "Stream"),
        aliases={"First": "TotalCount", "Head": "TotalCount"}, cls="Microsoft.PowerShell.Commands.GetContentCommand")
def get_content(ctx: Ctx, call: Call) -> Iterable[Any]:
    out: list[Any] = []
    for path in _paths(call):
        data = read(ctx, path)
        if data is None:
            ctx.error(path_not_found(call, path))
            continue
        if str(call.get("Encoding") or "").lower() == "byte":  # -Raw: one byte[]; else each byte
            if call.flag("Raw"):
                out.append(data)
            else:
                out.extend(data)
            continue
        text = decode_text(data)
        if call.flag("Raw"):
            out.append(text)
            continue
        lines = text.replace("\r\n", "\n").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if call.has("TotalCount"):
            lines = lines[:int(call.get("TotalCount"))]
        if call.has("Tail"):
            lines = lines[-int(call.get("Tail")):] if int(call.get("Tail")) else []
        out.extend(lines)
    return out


@cmdlet("Set-Content", positional=("Path", "Value"), params=("Path", "LiteralPath", "Value", "Encoding", "NoNewline",
                                                             "Force", "PassThru", "Stream"),
        cls="Microsoft.PowerShell.Commands.SetContentCommand")
def set_content(ctx: Ctx, call: Call) -> Iterable[Any]:
    raw = call.get("Value")
    values = as_list(raw) if call.has("Value") else list(call.input)
    encoding = str(call.get("Encoding") or "")
    if encoding.lower() == "byte":
        data = bytes(raw) if isinstance(raw, (bytes, bytearray)) else bytes(int(v) & 0xFF for v in values)
    else:
        newline = "" if call.flag("NoNewline") else "\r\n"
        data = encode("".join(("" if v is None else str(v)) + newline for v in values), encoding)
    for path in _paths(call):
        try:
            write(ctx, path, data)
        except FileNotFound as error:
            ctx.error(ErrorRecord(f"Could not find a part of the path '{display(path)}'.",
                                  f"GetContentWriterDirectoryNotFoundError,{call.cmdlet.class_name}", "ObjectNotFound",
                                  target_name=display(path), activity=call.cmdlet.name, reason=error.kind,
                                  exception_type=f"System.IO.{error.kind}"))
    return []


@cmdlet("New-Item", positional=("Path",), params=("Path", "Name", "ItemType", "Value", "Force", "Credential"),
        aliases={"Type": "ItemType"}, cls="Microsoft.PowerShell.Commands.NewItemCommand")
def new_item(ctx: Ctx, call: Call) -> Iterable[Any]:
    kind = str(call.get("ItemType") or "File").lower()
    out = []
    for folder in as_list(call.get("Path")) or ["C:\\Users\\Administrator\\Documents"]:
        path = ntpath.join(str(folder), str(call.get("Name"))) if call.has("Name") else str(folder)
        if not is_filesystem(path):
            raise Terminating(ErrorRecord(f"Cannot find drive. A drive with the name '{path.split(':', 1)[0]}' does "
                                          "not exist.", f"DriveNotFound,{call.cmdlet.class_name}", "ObjectNotFound",
                                          target_name=path.split(':', 1)[0], activity=call.cmdlet.name,
                                          reason="DriveNotFoundException",
                                          exception_type="System.Management.Automation.DriveNotFoundException"))
        if exists(ctx, path) and not (call.flag("Force") and (kind == "file") == (read(ctx, path) is not None)):
            ctx.error(ErrorRecord(f"An item with the specified name {display(path)} already exists.",
                                  f"{'DirectoryExist' if kind == 'directory' else 'NewItemIOError'},"
                                  f"{call.cmdlet.class_name}", "ResourceExists", target_name=display(path),
                                  activity=call.cmdlet.name, reason="IOException", exception_type="System.IO.IOException"))
            continue
        if kind == "directory":
            parent = ntpath.dirname(display(path).rstrip("\\"))
            while parent and not is_folder(ctx, parent):  # New-Item makes missing parent folders
                make_folder(ctx, parent)
                parent = ntpath.dirname(parent.rstrip("\\"))
            make_folder(ctx, path)
        else:
            value = call.get("Value")
            try:
                write(ctx, path, b"" if value is None else str(value).encode("utf-8"))
            except FileNotFound as error:
                ctx.error(ErrorRecord(str(error), f"NewItemIOError,{call.cmdlet.class_name}", "WriteError",
                                      target_name=display(path), activity=call.cmdlet.name, reason=error.kind,
                                      exception_type=f"System.IO.{error.kind}"))
                continue
        out.append(item(ctx, path))
    return out


@cmdlet("Get-Item", positional=("Path",), params=("Path", "LiteralPath", "Force", "Stream", "Filter", "Include",
                                                  "Exclude"), cls="Microsoft.PowerShell.Commands.GetItemCommand")
def get_item(ctx: Ctx, call: Call) -> Iterable[Any]:
    out = []
    for path in _paths(call):
        if exists(ctx, path):
            out.append(item(ctx, path))
        else:
            ctx.error(path_not_found(call, path))
    return out


@cmdlet("Move-Item", positional=("Path", "Destination"), params=("Path", "LiteralPath", "Destination", "Force",
                                                                 "PassThru"),
        cls="Microsoft.PowerShell.Commands.MoveItemCommand")
def move_item(ctx: Ctx, call: Call) -> Iterable[Any]:
    destination = str(call.get("Destination"))
    for path in _paths(call):
        data = read(ctx, path)
        if data is None:
            ctx.error(path_not_found(call, path))
            continue
        target = ntpath.join(destination, ntpath.basename(display(path))) if is_folder(ctx, destination) else destination
        if read(ctx, target) is not None and not call.flag("Force"):
            ctx.error(ErrorRecord("Cannot create a file when that file already exists.",
                                  f"MoveFileInfoItemIOError,{call.cmdlet.class_name}", "WriteError", target_name=path,
                                  activity=call.cmdlet.name, reason="IOException", exception_type="System.IO.IOException"))
            continue
        write(ctx, target, data)
        delete(ctx, path)
    return []


@cmdlet("Get-FileHash", positional=("Path",), params=("Path", "LiteralPath", "InputStream", "Algorithm"),
        cls="Microsoft.PowerShell.Commands.GetFileHashCommand")
def get_file_hash(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    """Hash upper-case hex, SHA256 by default (Get-FileHash's documented output: Algorithm, Hash, Path)."""
    algorithm = str(call.get("Algorithm") or "SHA256").upper()
    if algorithm not in ("SHA1", "SHA256", "SHA384", "SHA512", "MD5"):
        raise Terminating(ErrorRecord(
            f"Cannot validate argument on parameter 'Algorithm'. The argument \"{call.get('Algorithm')}\" does not "
            'belong to the set "SHA1,SHA256,SHA384,SHA512,MACTripleDES,MD5,RIPEMD160" specified by the ValidateSet '
            "attribute. Supply an argument that is in the set and then try the command again.",
            f"ParameterArgumentValidationError,{call.cmdlet.class_name}", "InvalidData", activity=call.cmdlet.name,
            reason="ParameterBindingValidationException",
            exception_type="System.Management.Automation.ParameterBindingValidationException"))
    out = []
    for path in _paths(call):
        data = read(ctx, path)
        if data is None:
            ctx.error(path_not_found(call, path))
            continue
        digest = hashlib.new(algorithm.lower(), data).hexdigest().upper()
        out.append(obj("Microsoft.Powershell.Utility.FileHash", [("Algorithm", algorithm), ("Hash", digest),
                                                                ("Path", _files(ctx)[normal(path)].path)]))
    return out


# -- Test-Path, Remove-Item, Get-ChildItem: this store first, then vhd.py's virtual disks ---------------

def _first(name: str, handle) -> None:
    """Register `name` again with `handle(ctx, call, earlier)`: the store answers for its own paths and
    hands every other call to the cmdlet registered before (vhd.py's), unchanged."""
    earlier: Cmdlet = TABLE[name.lower()]

    def func(ctx: Ctx, call: Call) -> Iterable[Any]:
        return handle(ctx, call, earlier)

    TABLE[name.lower()] = Cmdlet(earlier.name, func, earlier.positional,
                                 tuple(dict.fromkeys((*(earlier.params or ()), *EXTRA.get(name, ())))),
                                 earlier.aliases, earlier.cls)


EXTRA = {"Test-Path": ("Filter", "Include", "Exclude", "Credential", "OlderThan", "NewerThan")}


def _test_path(ctx: Ctx, call: Call, earlier: Cmdlet) -> Iterable[Any]:
    paths = _paths(call)
    if _files(ctx):
        stored = any(exists(ctx, p) for p in paths if is_filesystem(p))
    else:  # an empty store holds its base folders only (what `exists` answers there): most places, most paths
        stored = any(normal(p) in _BASE_KEYS for p in paths if is_filesystem(p))
    if not stored:
        return earlier.func(ctx, call)
    kind = str(call.get("PathType") or "Any").lower()
    out = []
    rest = {k: v for k, v in call.named.items() if k != "path"}  # -Path would name every path again
    for path in paths:
        if not exists(ctx, path):
            out.extend(earlier.func(ctx, Call(call.cmdlet, {**rest, "literalpath": path}, call.arguments, [])))
            continue
        out.append(kind == "any" or (kind == "container") == is_folder(ctx, path))
    return out


def _remove_item(ctx: Ctx, call: Call, earlier: Cmdlet) -> Iterable[Any]:
    others = []
    for path in _paths(call):
        if is_filesystem(path) and (read(ctx, path) is not None or normal(path) in _files(ctx)):
            if read(ctx, path) is None and children(ctx, path) and not call.flag("Recurse"):
                ctx.error(ErrorRecord(f"The item at {display(path)} has children and the Recurse parameter was not "
                                      "specified.", f"DirectoryNotEmpty,{call.cmdlet.class_name}", "WriteError",
                                      target_name=display(path), activity=call.cmdlet.name, reason="IOException",
                                      exception_type="System.IO.IOException"))
                continue
            delete(ctx, path)
        else:
            others.append(path)
    if others:
        return earlier.func(ctx, Call(call.cmdlet, {**{k: v for k, v in call.named.items() if k != "path"},
                                                    "literalpath": others}, call.arguments, []))
    return []


def _get_childitem(ctx: Ctx, call: Call, earlier: Cmdlet) -> Iterable[Any]:
    folders = call.names("Path", "LiteralPath") or []
    mine = [item(ctx, e.path) for f in folders if is_filesystem(str(f)) for e in children(ctx, str(f))]
    return [*earlier.func(ctx, call), *mine]


_first("Test-Path", _test_path)
_first("Remove-Item", _remove_item)
_first("Get-ChildItem", _get_childitem)
