"""Saving labs: Lab -> lab-file text (into the document it was loaded from, when there is one) -> file.

``lab.source`` holds the text a lab was loaded from. Saving parses it in round-trip mode and writes
the lab's current state into that document — the user's comments, key order and quoting stay, a
key the user wrote stays (with its current value), a new non-default value is added at the end of
its mapping — and a lab without a source is written fresh in lab-format.md's key order, leaving
out defaults. Files are written atomically (`write_atomic`).
"""

from __future__ import annotations

import copy
import io
import os
import tempfile
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import SingleQuotedScalarString

from nestlab.simulator.errors import BadInput
from nestlab.simulator.labmap import lab_to_data
from nestlab.simulator.model import Lab

# ----------------------------------------------------------------------------------------------
# Writing: Lab -> text (into the loaded document when there is one) -> file, atomically
# ----------------------------------------------------------------------------------------------


def dumps(lab: Lab) -> str:
    """The lab as lab-file text: the same lab gives the same bytes."""
    buffer = io.StringIO()
    _writer().dump(_document(lab), buffer)
    return buffer.getvalue()


def save(lab: Lab, path: str | Path | None = None) -> Path:
    """Write the lab to `path` (default: where it was loaded from) via a temp file and os.replace.

    On any failure the old file is untouched and no temp file is left. Afterwards the lab's source
    is the text written, so the next save keeps the same comments.
    """
    if path is None and lab.source_path is None:
        raise BadInput(f"lab {lab.name!r} was not loaded from a file: say where to save it")
    target = Path(path if path is not None else lab.source_path)  # type: ignore[arg-type]
    text = dumps(lab)
    write_atomic(target, text)
    lab.source, lab.source_path = text, str(target)
    return target


def write_atomic(target: Path, text: str) -> None:
    """Temp file in the target's folder, fsync, os.replace: readers see the old or the new file."""
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if target.exists():
            os.chmod(temp, target.stat().st_mode & 0o7777)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _writer() -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.width = 4096  # one flow mapping per line, never wrapped
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.brace_single_entry_mapping_in_flow_sequence = True  # `[{switch: X}]` stays as written
    return yaml


def _document(lab: Lab) -> Any:
    source = _source_document(lab)
    if source is None:
        return _to_yaml(lab_to_data(lab), None)
    _merge_map(source, lab_to_data(lab, defaults=True), lab_to_data(lab))
    return source


def _source_document(lab: Lab) -> CommentedMap | None:
    """A fresh round-trip copy of the document the lab was loaded from (never mutate lab.source)."""
    if isinstance(lab.source, str):
        reader = YAML(typ="rt", pure=True)
        reader.preserve_quotes = True
        try:
            document = reader.load(lab.source)
        except YAMLError:
            return None
    elif isinstance(lab.source, CommentedMap):
        document = copy.deepcopy(lab.source)
    else:
        return None
    return document if isinstance(document, CommentedMap) else None


_BLOCK_KEYS = (None, "hosts", "vms", "guest", "security")
"""Parts written as indented blocks; every other mapping of scalars is one `{flow: line}`."""


def _to_yaml(value: Any, key: str | None) -> Any:
    """Plain data as ruamel nodes in the style of the builtin labs."""
    if isinstance(value, dict):
        node = CommentedMap((k, _to_yaml(v, k)) for k, v in value.items())
        if key not in _BLOCK_KEYS and not any(isinstance(v, (dict, list)) for v in value.values()):
            node.fa.set_flow_style()
        return node
    if isinstance(value, list):
        node = CommentedSeq(_to_yaml(v, key) for v in value)
        if not any(isinstance(v, (dict, list)) for v in value):
            node.fa.set_flow_style()
        return node
    if isinstance(value, str) and "\\" in value:
        return SingleQuotedScalarString(value)
    return value


def _merge_map(node: CommentedMap, full: dict, brief: dict) -> None:
    """Write `full` into `node` in place: its keys keep their place; new non-default keys go last."""
    for key in [k for k in node if k not in full]:
        del node[key]
    for key, value in full.items():
        if key in node:
            merged = _merged(node[key], value, brief.get(key), key)
            if merged is not node[key]:
                node[key] = merged
        elif key in brief:
            node[key] = _to_yaml(brief[key], key)


def _merged(old: Any, full: Any, brief: Any, key: str) -> Any:
    if isinstance(full, dict):
        if isinstance(old, CommentedMap):
            _merge_map(old, full, brief or {})
            return old
        return _to_yaml(brief if brief is not None else full, key)
    if isinstance(full, list):
        if isinstance(old, CommentedSeq):
            _merge_seq(old, full, brief if brief is not None else full, key)
            return old
        return _to_yaml(full, key)
    return old if _same_scalar(old, full) else _to_yaml(full, key)


def _merge_seq(node: CommentedSeq, full: list, brief: list, key: str) -> None:
    """Items are matched by identity (name, path, …) so comments follow the item they were on."""
    by_ident: dict[Any, int] = {}
    for i, item in enumerate(node):
        by_ident.setdefault(_ident(item), i)
    used: set[int] = set()
    items = []
    for position, (f, b) in enumerate(zip(full, brief)):
        match = _match(node, position, _ident(f), by_ident, used)
        if match is None:
            items.append(_to_yaml(b, key))
        else:
            used.add(match)
            items.append(_merged(node[match], f, b, key))
    if len(items) == len(node) and all(a is b for a, b in zip(items, node)):
        return
    del node[:]
    node.extend(items)


def _match(node: CommentedSeq, position: int, ident: Any, by_ident: dict, used: set[int]) -> int | None:
    if position < len(node) and position not in used and _ident(node[position]) in (ident, None):
        return position
    found = by_ident.get(ident)
    return found if found is not None and found not in used else None


_IDENT_KEYS = ("name", "path", "adapter", "drive", "port", "listen_port", "external_port")


def _ident(item: Any) -> Any:
    if isinstance(item, dict):
        for key in _IDENT_KEYS:
            if key in item:
                return (key, item[key])
        return None
    if isinstance(item, list):
        return None
    return ("value", item)


def _same_scalar(old: Any, new: Any) -> bool:
    """Equal and of the same kind (True == 1 in Python, not in a lab file)."""
    return isinstance(old, bool) == isinstance(new, bool) and old == new
