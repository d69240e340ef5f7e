"""System.IO for scripts: [System.IO.File], FileStream, FileInfo/DirectoryInfo, [System.IO.Path]'s
temp files, and `$ExecutionContext.SessionState.Path`, over the simulated host's file store.

The engine never touches the lab: every read and write goes through the Executor as the cmdlets
a script could call itself (Get-Content/Set-Content -Encoding Byte, Test-Path, Remove-Item,
Move-Item, New-Item; `simulator/cmdlets/filestore.py` holds the files). So a file pypsrp's
copy.ps1 wrote is what a later fetch.ps1, Get-FileHash or Test-Path on the same host sees.
A FileStream keeps its bytes in memory and writes them back on Flush/Close/Dispose, as a
buffered FileStream does. Exception texts are mscorlib's (FileNotFoundException "Could not find
file '…'.", DirectoryNotFoundException "Could not find a part of the path '…'.", IOException
"The file '…' already exists.").
"""

from __future__ import annotations

import ntpath
from typing import Any

from nestlab.simulator.cmdlets.filestore import decode_text
from nestlab.simulator.psdata import Command, PSEnum
from nestlab.simulator.pwsh import dotnet
from nestlab.simulator.pwsh.dotnet import Bytes, DotNetType, as_bytes, instance, method_error, register
from nestlab.simulator.pwsh.values import DotNet, enumerate_value, to_number, to_str

PROCESS_DIRECTORY = "C:\\Windows\\system32"  # a remote session's process (wsmprovhost.exe) working folder
LOCATION = "C:\\Users\\Administrator\\Documents"  # its PowerShell location ($pwd)


# -- the store, through the Executor ----------------------------------------------------------------------

def _run(session: Any, command: Command) -> Any:
    return session.execute(session.context, (command,))


def read(session: Any, path: str) -> bytes | None:
    result = _run(session, Command.of("Get-Content", LiteralPath=path, Encoding="Byte", Raw=True))
    if result.errors:
        return None
    out = list(result.output)
    if len(out) == 1 and isinstance(out[0], (bytes, bytearray, list)):
        return as_bytes(out[0])
    return as_bytes(out)


def script_text(data: bytes) -> str:
    """A .ps1 file's text: a BOM says its encoding; without one, UTF-8 (Ansible's and pypsrp's uploads)."""
    return decode_text(data)


def write(session: Any, path: str, data: bytes, method: str, args: list[Any]) -> None:
    result = _run(session, Command.of("Set-Content", LiteralPath=path, Value=bytes(data), Encoding="Byte"))
    if result.errors:
        raise method_error(method, args, f"Could not find a part of the path '{path}'.", "DirectoryNotFoundException")


def is_file(session: Any, path: str) -> bool:
    result = _run(session, Command.of("Test-Path", LiteralPath=path, PathType="Leaf"))
    return bool(result.output and result.output[0] is True)


def is_folder(session: Any, path: str) -> bool:
    result = _run(session, Command.of("Test-Path", LiteralPath=path, PathType="Container"))
    return bool(result.output and result.output[0] is True)


def full_path(path: Any, base: str = PROCESS_DIRECTORY) -> str:
    """Path.GetFullPath: relative to the process folder; `..` and `.` folded, `/` as `\\`."""
    text = to_str(path).replace("/", "\\")
    if not (len(text) >= 2 and text[1] == ":"):
        text = ntpath.join(base, text) if not text.startswith("\\") else base[:2] + text
    return ntpath.normpath(text)


def _missing(method: str, args: list[Any], path: str) -> Exception:
    return method_error(method, args, f"Could not find file '{path}'.", "FileNotFoundException")


# -- FileStream -------------------------------------------------------------------------------------------

def file_stream(session: Any, path: str, data: bytes, *, position: int = 0, can_read: bool = True,
                can_write: bool = True) -> DotNet:
    state = {"buffer": bytearray(data), "position": position, "dirty": False, "open": True}

    def check_open(method: str) -> None:
        if not state["open"]:
            raise method_error(method, [], "Cannot access a closed file.", "ObjectDisposedException")

    def write_bytes(buffer: Any, offset: Any, count: Any) -> None:
        check_open("Write")
        if not can_write:
            raise method_error("Write", [buffer, offset, count], "Stream does not support writing.", "NotSupportedException")
        start, n = int(to_number(offset)), int(to_number(count))
        chunk = as_bytes(buffer)[start:start + n]
        at = state["position"]
        buf = state["buffer"]
        if at > len(buf):
            buf.extend(b"\0" * (at - len(buf)))
        buf[at:at + len(chunk)] = chunk
        state["position"] = at + len(chunk)
        state["dirty"] = True
        sync()

    def read_bytes(buffer: Any, offset: Any, count: Any) -> int:
        check_open("Read")
        start, n = int(to_number(offset)), int(to_number(count))
        if not isinstance(buffer, list) or start + n > len(buffer):
            raise method_error("Read", [buffer, offset, count], "Offset and length were out of bounds for the array or "
                               "count is greater than the number of elements from index to the end of the source "
                               "collection.", "ArgumentException")
        at = state["position"]
        chunk = bytes(state["buffer"][at:at + n])
        buffer[start:start + len(chunk)] = list(chunk)
        state["position"] = at + len(chunk)
        sync()
        return len(chunk)

    def seek(offset: Any, origin: Any = 0) -> int:
        check_open("Seek")
        where = origin.value if isinstance(origin, PSEnum) else int(to_number(origin)) if not isinstance(origin, str) \
            else {"begin": 0, "current": 1, "end": 2}[origin.lower()]
        base = (0, state["position"], len(state["buffer"]))[where]
        target = base + int(to_number(offset))
        if target < 0:
            raise method_error("Seek", [offset, origin], "An attempt was made to move the position before the beginning "
                               "of the stream.", "IOException")
        state["position"] = target
        sync()
        return target

    def flush(*_: Any) -> None:
        if state["dirty"]:
            write(session, path, bytes(state["buffer"]), "Flush", [])
            state["dirty"] = False

    def close() -> None:
        if state["open"]:
            flush()
            state["open"] = False

    def set_length(value: Any) -> None:
        n = int(to_number(value))
        del state["buffer"][n:]
        state["buffer"].extend(b"\0" * (n - len(state["buffer"])))
        state["dirty"] = True
        sync()

    def read_all() -> bytes:
        at = state["position"]
        state["position"] = len(state["buffer"])
        sync()
        return bytes(state["buffer"][at:])

    stream = instance("System.IO.FileStream", {"Name": path, "CanRead": can_read, "CanWrite": can_write,
                                               "CanSeek": True, "Length": len(data), "Position": position,
                                               "__read_all__": read_all},
                      {"Write": write_bytes, "Read": read_bytes, "Seek": seek, "Flush": flush, "Close": close,
                       "Dispose": close, "SetLength": set_length,
                       "ReadByte": lambda: read_byte(read_bytes),
                       "WriteByte": lambda b: write_bytes([b], 0, 1)}, settable=("Position",))

    def sync() -> None:
        stream.properties["Length"] = len(state["buffer"])
        stream.properties["Position"] = state["position"]

    # `$fs.Position = n` changes the property; read it back before each use
    for name in ("Write", "Read", "Seek", "ReadByte", "WriteByte"):
        stream.methods[name] = _after_position(stream, state, stream.methods[name])
    return stream


def _after_position(stream: DotNet, state: dict[str, Any], method: Any) -> Any:
    def call(*args: Any) -> Any:
        state["position"] = int(to_number(stream.properties["Position"]))
        return method(*args)
    return call


def read_byte(read_bytes: Any) -> int:
    one = [0]
    return one[0] if read_bytes(one, 0, 1) else -1


def open_file(session: Any, path: Any, mode: Any = 3, access: Any = None, *_: Any, method: str = "Open") -> DotNet:
    full = full_path(path)
    mode_value = mode.value if isinstance(mode, PSEnum) else dotnet.REGISTRY["System.IO.FileMode"].cast(mode).value
    access_value = 3 if access is None else (access.value if isinstance(access, PSEnum) else
                                            dotnet.REGISTRY["System.IO.FileAccess"].cast(access).value)
    if mode_value == 6 and access is None:
        access_value = 2
    args = [path, mode] + ([access] if access is not None else [])
    data = read(session, full)
    if is_folder(session, full):
        raise method_error(method, args, f"Access to the path '{full}' is denied.", "UnauthorizedAccessException")
    if mode_value in (3, 5) and data is None:  # Open, Truncate
        raise _missing(method, args, full)
    if mode_value == 1 and data is not None:  # CreateNew
        raise method_error(method, args, f"The file '{full}' already exists.", "IOException")
    if mode_value in (1, 2, 5) or data is None:
        data = b""
        write(session, full, data, method, args)
    position = len(data) if mode_value == 6 else 0
    return file_stream(session, full, data, position=position, can_read=bool(access_value & 1),
                       can_write=bool(access_value & 2))


# -- [System.IO.File] --------------------------------------------------------------------------------------

def _read_all_bytes(session: Any, path: Any) -> Bytes:
    data = read(session, full_path(path))
    if data is None:
        raise _missing("ReadAllBytes", [path], full_path(path))
    return Bytes(data)


def _read_all_text(session: Any, path: Any, *encoding: Any) -> str:
    data = read(session, full_path(path))
    if data is None:
        raise _missing("ReadAllText", [path, *encoding], full_path(path))
    return decode_text(data)  # File.ReadAllText: a BOM decides, else UTF-8


def _text_bytes(text: Any, encoding: Any = None) -> bytes:
    if isinstance(encoding, DotNet) and "GetBytes" in encoding.methods:
        return bytes(encoding.methods["GetPreamble"]()) + as_bytes(encoding.methods["GetBytes"](text))
    return to_str(text).encode("utf-8")  # UTF-8 without a BOM, File.WriteAllText's default


def _write_all_text(session: Any, path: Any, text: Any, *encoding: Any) -> None:
    write(session, full_path(path), _text_bytes(text, *encoding), "WriteAllText", [path, text, *encoding])


def _append_all_text(session: Any, path: Any, text: Any, *encoding: Any) -> None:
    old = read(session, full_path(path)) or b""
    write(session, full_path(path), old + _text_bytes(text, *encoding), "AppendAllText", [path, text, *encoding])


def _delete(session: Any, path: Any) -> None:
    if is_file(session, full_path(path)):
        _run(session, Command.of("Remove-Item", LiteralPath=full_path(path), Force=True))


def _move(session: Any, source: Any, destination: Any) -> None:
    src, dst = full_path(source), full_path(destination)
    if not is_file(session, src):
        raise _missing("Move", [source, destination], src)
    if is_file(session, dst):
        raise method_error("Move", [source, destination], "Cannot create a file when that file already exists.\r\n",
                           "IOException")
    if not is_folder(session, ntpath.dirname(dst)):
        raise method_error("Move", [source, destination], "Could not find a part of the path.",
                           "DirectoryNotFoundException")
    _run(session, Command.of("Move-Item", LiteralPath=src, Destination=dst))


def _copy(session: Any, source: Any, destination: Any, overwrite: Any = False) -> None:
    src, dst = full_path(source), full_path(destination)
    data = read(session, src)
    if data is None:
        raise _missing("Copy", [source, destination], src)
    if is_file(session, dst) and not overwrite:
        raise method_error("Copy", [source, destination], f"The file '{dst}' already exists.", "IOException")
    write(session, dst, data, "Copy", [source, destination])


register(DotNetType("System.IO.File", statics={
    "create": lambda s, p, *rest: open_file(s, p, 2, 3, method="Create"),
    "open": lambda s, p, mode, *rest: open_file(s, p, mode, *rest, method="Open"),
    "openread": lambda s, p: open_file(s, p, 3, 1, method="OpenRead"),
    "openwrite": lambda s, p: open_file(s, p, 4, 2, method="OpenWrite"),
    "exists": lambda s, p: p is not None and is_file(s, full_path(p)),
    "delete": _delete, "move": _move, "copy": _copy,
    "readallbytes": _read_all_bytes,
    "writeallbytes": lambda s, p, b: write(s, full_path(p), as_bytes(b), "WriteAllBytes", [p, b]),
    "readalltext": _read_all_text, "writealltext": _write_all_text, "appendalltext": _append_all_text,
    "readalllines": lambda s, p, *e: _read_all_text(s, p, *e).replace("\r\n", "\n").rstrip("\n").split("\n"),
    "writealllines": lambda s, p, lines, *e: _write_all_text(s, p, "".join(to_str(x) + "\r\n"
                                                                             for x in enumerate_value(lines)), *e),
}))


def _create_directory(session: Any, path: Any) -> DotNet:
    full = full_path(path)
    if not is_folder(session, full):
        _run(session, Command.of("New-Item", Path=full, ItemType="Directory", Force=True))
    return directory_info(session, full)


def _delete_directory(session: Any, path: Any, recursive: Any = False) -> None:
    full = full_path(path)
    if not is_folder(session, full):
        raise method_error("Delete", [path, recursive], f"Could not find a part of the path '{full}'.",
                           "DirectoryNotFoundException")
    listed = _run(session, Command.of("Get-ChildItem", LiteralPath=full))
    if list(listed.output) and not recursive:
        raise method_error("Delete", [path], "The directory is not empty.\r\n", "IOException")
    _run(session, Command.of("Remove-Item", LiteralPath=full, Recurse=True, Force=True))


register(DotNetType("System.IO.Directory", statics={
    "exists": lambda s, p: p is not None and is_folder(s, full_path(p)),
    "createdirectory": _create_directory, "delete": _delete_directory}))


# -- FileInfo, DirectoryInfo (a snapshot, as .NET's until Refresh()) -------------------------------------

def file_info(session: Any, path: Any) -> DotNet:
    full = full_path(path)
    data = read(session, full)
    info: DotNet

    def refresh() -> None:
        fresh = read(session, full)
        info.properties.update(Exists=fresh is not None, Length=len(fresh) if fresh is not None else None)

    info = instance("System.IO.FileInfo", {
        "Name": ntpath.basename(full), "FullName": full, "DirectoryName": ntpath.dirname(full),
        "Extension": ntpath.splitext(full)[1], "Exists": data is not None,
        "Length": len(data) if data is not None else None, "IsReadOnly": False},
        {"OpenRead": lambda: open_file(session, full, 3, 1, method="OpenRead"),
         "OpenWrite": lambda: open_file(session, full, 4, 2, method="OpenWrite"),
         "Open": lambda mode, *rest: open_file(session, full, mode, *rest),
         "Create": lambda: open_file(session, full, 2, 3, method="Create"),
         "Delete": lambda: _delete(session, full), "Refresh": refresh,
         "ToString": lambda: to_str(path)}, text=to_str(path))
    return info


def directory_info(session: Any, path: Any) -> DotNet:
    full = full_path(path)
    return instance("System.IO.DirectoryInfo", {
        "Name": ntpath.basename(full.rstrip("\\")) or full, "FullName": full, "Exists": is_folder(session, full),
        "Extension": ""}, {"ToString": lambda: to_str(path), "Create": lambda: _create_directory(session, full)},
        text=to_str(path))


register(DotNetType("System.IO.FileInfo", new=file_info))
register(DotNetType("System.IO.DirectoryInfo", new=directory_info))


# -- [System.IO.Path]'s temp files and names ---------------------------------------------------------------

def temp_path(session: Any) -> str:
    return ntpath.join(to_str(session.env.get("TEMP")) or "C:\\Windows\\TEMP", "")


def _temp_file_name(session: Any) -> str:
    """A new empty file `tmpXXXX.tmp` in %TEMP% (GetTempFileName creates it, as Windows' does)."""
    number = getattr(session, "temp_files", 0x1A2B)
    while True:
        number = (number + 1) & 0xFFFF
        candidate = ntpath.join(temp_path(session), f"tmp{number:X}.tmp")
        if not is_file(session, candidate):
            break
    session.temp_files = number
    write(session, candidate, b"", "GetTempFileName", [])
    return candidate


def _random_name(session: Any) -> str:
    number = getattr(session, "temp_files", 0x1A2B) * 2654435761 & 0xFFFFFFFFFFFF
    session.temp_files = getattr(session, "temp_files", 0x1A2B) + 1
    letters = "abcdefghijklmnopqrstuvwxyz012345"
    text = "".join(letters[(number >> (5 * i)) & 31] for i in range(11))
    return f"{text[:8]}.{text[8:]}"


register(DotNetType("System.IO.Path", statics={
    "gettempfilename": _temp_file_name, "gettemppath": temp_path, "getrandomfilename": _random_name,
    "getfullpath": lambda s, p: full_path(p),
    "getfilenamewithoutextension": lambda s, p: ntpath.splitext(ntpath.basename(to_str(p).replace("/", "\\")))[0],
    "getextension": lambda s, p: ntpath.splitext(to_str(p))[1],
    "getdirectoryname": lambda s, p: ntpath.dirname(to_str(p).replace("/", "\\")) or None,
    "ispathrooted": lambda s, p: ntpath.isabs(to_str(p)) or to_str(p)[1:2] == ":",
}))


# -- $ExecutionContext.SessionState ------------------------------------------------------------------------

def session_state(session: Any) -> DotNet:
    """The parts of SessionState scripts use: LanguageMode (FullLanguage: no WDAC policy here) and Path."""
    location = DotNet("System.Management.Automation.PathInfo", {"Path": LOCATION, "ProviderPath": LOCATION,
                                                                "Drive": "C"}, text=LOCATION)
    path = instance("System.Management.Automation.PathIntrinsics", {"CurrentLocation": location,
                                                                    "CurrentFileSystemLocation": location},
                    {"GetUnresolvedProviderPathFromPSPath": lambda p: full_path(p, LOCATION),
                     "GetResolvedPSPathFromPSPath": lambda p: [full_path(p, LOCATION)],
                     "IsProviderQualified": lambda p: "::" in to_str(p)})
    return DotNet("System.Management.Automation.SessionState", {"LanguageMode": PSEnum(
        "System.Management.Automation.PSLanguageMode", "FullLanguage", 0), "Path": path})


__all__ = ["file_stream", "open_file", "file_info", "session_state", "full_path"]
