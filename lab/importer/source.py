"""A bundle as files with a context: which host or guest each file describes.

Our bundles carry manifest.json (lab/bundle.py), which says for every file the host and the
PowerShell Direct path (`vm`) it ran on and the command. A customer's folder or zip has no
manifest: files at its top describe one host, and a subfolder named after a VM holds that VM's
guest (deeper folders, deeper guests). A folder holding only folders holds one folder per host.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from nestlab.simulator.errors import BadInput

MANIFEST = "manifest.json"
TEXT_SUFFIXES = {".txt", ".log", ".out", ".ps1out", ".json", ""}


@dataclass(frozen=True)
class BundleFile:
    name: str  # path inside the bundle, as messages show it
    text: str
    context: tuple[str, ...]  # (host, vm, vm …); host "" = not named by the bundle's layout
    command: str | None = None


@dataclass(frozen=True)
class Bundle:
    name: str
    files: tuple[BundleFile, ...]
    manifest: dict | None


def read_bundle(path: Path) -> Bundle:
    texts = _read_texts(path)
    manifest = _manifest(path, texts)
    if manifest is not None:
        files = _from_manifest(path, texts, manifest)
    else:
        files = _from_layout(texts)
    if not files:
        raise BadInput(f"{path}: no command output files in the bundle")
    return Bundle(path.stem if path.suffix.lower() == ".zip" else path.name, tuple(files), manifest)


def _read_texts(path: Path) -> dict[str, str]:
    if not path.exists():
        raise BadInput(f"{path}: no such file or directory")
    raw: dict[str, bytes] = {}
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file():
                raw[p.relative_to(path).as_posix()] = p.read_bytes()
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    raw[info.filename] = zf.read(info)
    else:
        raw[path.name] = path.read_bytes()
    return {name: _decode(path, name, data) for name, data in raw.items() if PurePosixPath(name).suffix.lower() in TEXT_SUFFIXES}


def _decode(path: Path, name: str, data: bytes) -> str:
    """Windows PowerShell's `>` writes UTF-16 LE with a BOM; everything else is UTF-8 (or ANSI)."""
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _manifest(path: Path, texts: dict[str, str]) -> dict | None:
    names = [n for n in texts if PurePosixPath(n).name == MANIFEST]
    if not names:
        return None
    name = min(names, key=len)
    try:
        data = json.loads(texts.pop(name))
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}/{name}:{exc.lineno}: manifest is not JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise BadInput(f"{path}/{name}:1: manifest has no 'entries' list")
    prefix = str(PurePosixPath(name).parent)
    data["_prefix"] = "" if prefix == "." else prefix + "/"
    return data


def _from_manifest(path: Path, texts: dict[str, str], manifest: dict) -> list[BundleFile]:
    files = []
    for i, entry in enumerate(manifest["entries"]):
        if not entry.get("file"):
            continue  # listed, not run (netsh trace without --trace)
        name = manifest["_prefix"] + entry["file"]
        if name not in texts:
            if entry.get("status") == "ok":
                raise BadInput(f"{path}/{MANIFEST}: entry {i} names {entry['file']!r}, which is not in the bundle")
            continue
        context = (str(entry.get("host", "")), *map(str, entry.get("vm") or ()))
        files.append(BundleFile(name, texts[name], context, entry.get("command")))
    return files


def _from_layout(texts: dict[str, str]) -> list[BundleFile]:
    parts = {name: PurePosixPath(name).parts for name in texts}
    # strip folders that only wrap the bundle (a zip's top folder)
    while parts and all(len(p) > 1 for p in parts.values()) and len({p[0] for p in parts.values()}) == 1:
        parts = {n: p[1:] for n, p in parts.items()}
    hosts_are_folders = all(len(p) > 1 for p in parts.values())
    files = []
    for name, p in parts.items():
        folders = p[:-1]
        context = folders if hosts_are_folders else ("", *folders)
        files.append(BundleFile(name, texts[name], tuple(context)))
    return files
