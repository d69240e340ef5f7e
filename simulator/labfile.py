"""Lab files (spec/lab-format.md) ⇄ Lab: load with every error reported, save keeping comments.

Loading reads YAML 1.2 with ruamel's safe loader (libyaml-backed when `ruamel.yaml[libyaml]` is
installed; `state: Off` stays "Off"),
validates the whole document in one pydantic call (``labschema.LAB_FILE``) plus the cross-reference
checks, and only when something is wrong parses the text again in round-trip mode, whose
CommentedMaps know the line of every key and item: errors are rare, loads are not.

Every error is one line ``FILE:LINE: PATH: MESSAGE``; ``load``/``loads`` raise BadInput with all of
them, ``validate`` returns them.

``lab.source`` holds the text a lab was loaded from. Saving parses it in round-trip mode and writes
the lab's current state into that document — the user's comments, key order and quoting stay, a
key the user wrote stays (with its current value), a new non-default value is added at the end of
its mapping — and a lab without a source is written fresh in lab-format.md's key order, leaving
out defaults. ``lab_from_data`` and ``lab_to_data`` stay the single mapping between keys and model.
"""

from __future__ import annotations

import copy
import gc
import io
import os
import tempfile
from contextlib import contextmanager
from dataclasses import MISSING, fields, is_dataclass
from pathlib import Path
from typing import Any, Iterator

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarstring import SingleQuotedScalarString

from nestlab.simulator import yamlguard
from nestlab.simulator.errors import BadInput
from nestlab.simulator.labschema import KEY_ORDER, LAB_FILE, Loc, Problem, quoted, reference_problems
from nestlab.simulator.model import (
    VM,
    Adapter,
    Cpu,
    DeviceGuardRegistry,
    Edge,
    FirewallRule,
    Guest,
    Host,
    Lab,
    Listener,
    Memory,
    Nat,
    Network,
    Nic,
    OSInfo,
    PortProxyRule,
    Processor,
    Security,
    Services,
    StaticMapping,
    Switch,
    Vhd,
    Volume,
    adapter_id,
    host_id,
    nat_id,
    network_id,
    nic_id,
    switch_id,
    vhd_id,
    vm_id,
)

PLATFORM_KEYS = (
    "os", "hyperv_installed", "hypervisor_launch", "security", "services",
    "integration_services_current", "volumes", "portproxy", "firewall", "files_missing", "files_corrupt",
)


# ----------------------------------------------------------------------------------------------
# data -> Lab
# ----------------------------------------------------------------------------------------------


def _os(d: dict | None) -> OSInfo:
    return OSInfo(**(d or {}))


def _security(d: dict | None) -> Security:
    d = dict(d or {})
    if "registry" in d:
        d["registry"] = DeviceGuardRegistry(**(d["registry"] or {}))
    if "blocking_software" in d:
        d["blocking_software"] = tuple(d["blocking_software"] or ())
    return Security(**d)


def _platform_kwargs(d: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in PLATFORM_KEYS:
        if key not in d:
            continue
        value = d[key]
        if key == "os":
            value = _os(value)
        elif key == "security":
            value = _security(value)
        elif key == "services":
            value = Services(**(value or {}))
        elif key == "volumes":
            value = tuple(Volume(**v) for v in value or ())
        elif key == "portproxy":
            value = tuple(PortProxyRule(**v) for v in value or ())
        elif key == "firewall":
            value = tuple(FirewallRule(**v) for v in value or ())
        elif key in ("files_missing", "files_corrupt"):
            value = tuple(value or ())
        out[key] = value
    return out


def lab_from_data(data: dict) -> Lab:
    """A Lab from lab-file data (validated by the caller; `loads` does it). Defaults: the records'."""
    with _gc_paused():
        return _build_lab(data)


def _build_lab(data: dict) -> Lab:
    lab = Lab(str(data["lab"]), data.get("description"))
    for h in data.get("hosts") or ():
        hid = host_id(h["name"])
        kwargs = _platform_kwargs(h)
        for key in ("kind", "azure_size", "memory_gb"):
            if key in h:
                kwargs[key] = h[key]
        if "hyperv_installed" in h:
            kwargs["hyperv_installed"] = h["hyperv_installed"]
        if "cpu" in h:
            kwargs["cpu"] = Cpu(**(h["cpu"] or {}))
        lab.add(hid, Host(name=h["name"], **kwargs))
        for n in h.get("networks") or ():
            nid = lab.add(nic_id(hid, n["adapter"]), Nic(**n))
            lab.link(hid, nid, Edge.HAS)
            net = network_id(n["network"])
            if net not in lab:
                lab.add(net, Network(name=n["network"]))
            lab.link(nid, net, Edge.UPLINK)
        _build_owner(lab, hid, h, Edge.HOSTS)
    return lab


def _build_owner(lab: Lab, owner: str, d: dict, vm_edge: Edge) -> None:
    for s in d.get("switches") or ():
        sid = lab.add(switch_id(owner, s["name"]), Switch(**s))
        lab.link(owner, sid, Edge.HAS)
    for n in d.get("nat") or ():
        n = dict(n)
        n["static_mappings"] = tuple(StaticMapping(**m) for m in n.get("static_mappings") or ())
        nid = lab.add(nat_id(owner, n["name"]), Nat(**n))
        lab.link(owner, nid, Edge.HAS)
    for v in d.get("vhds") or ():
        vid = lab.add(vhd_id(owner, v["path"]), Vhd(**v))
        lab.link(owner, vid, Edge.HAS)
    link_derived_edges(lab, owner)
    for vm in d.get("vms") or ():
        _build_vm(lab, owner, vm, vm_edge)


def _build_vm(lab: Lab, owner: str, d: dict, edge: Edge) -> None:
    vid = vm_id(owner, d["name"])
    kwargs: dict[str, Any] = {k: d[k] for k in ("generation", "version", "state", "clustered", "workload") if k in d}
    if "version" in kwargs:
        kwargs["version"] = str(kwargs["version"])
    if "processor" in d:
        kwargs["processor"] = Processor(**(d["processor"] or {}))
    if "memory" in d:
        kwargs["memory"] = Memory(**(d["memory"] or {}))
    if "services" in d:
        kwargs["services"] = tuple(Listener(**s) for s in d["services"] or ())
    guest_data = d.get("guest") or {}
    kwargs["guest"] = Guest(**_platform_kwargs(guest_data))
    lab.add(vid, VM(name=d["name"], **kwargs))
    lab.link(owner, vid, edge)
    for a in d.get("adapters") or ():
        a = dict(a)
        switch = a.pop("switch", None)
        aid = lab.add(adapter_id(vid, a.get("name", "Network Adapter")), Adapter(**a))
        lab.link(vid, aid, Edge.HAS)
        if switch is not None:
            lab.link(aid, switch_id(owner, switch), Edge.ATTACHED)
    for path in d.get("disks") or ():
        target = lab.vhd_by_path(owner, path)
        lab.link(vid, target or vhd_id(owner, path), Edge.DISK)
    _build_owner(lab, vid, guest_data, Edge.RUNS)


def link_derived_edges(lab: Lab, owner: str) -> None:
    """(Re)compute the edges that follow from records (uplink, parent, nat): `Lab.relink`."""
    lab.relink(owner)


# ----------------------------------------------------------------------------------------------
# Lab -> data
# ----------------------------------------------------------------------------------------------


def plain(record: Any, *, defaults: bool = False) -> Any:
    """A record as lab-file data; without `defaults`, every field that has its default is left out.

    Whole-number floats are written as integers (`size_gb: 127`, not `127.0`).
    """
    if is_dataclass(record):
        out: dict[str, Any] = {}
        for f in fields(record):
            value = getattr(record, f.name)
            if not defaults and value == _default(f):
                continue
            out[f.name] = plain(value, defaults=defaults)
        return out
    if isinstance(record, tuple):
        return [plain(v, defaults=defaults) for v in record]
    if isinstance(record, float) and record.is_integer():
        return int(record)
    return record


def _default(f: Any) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return MISSING


def _ordered(data: dict, part: str) -> dict:
    return {key: data[key] for key in KEY_ORDER[part] if key in data}


def lab_to_data(lab: Lab, *, defaults: bool = False) -> dict:
    """The lab as file data in lab-format.md's key order; `defaults` keeps default values too."""
    data: dict[str, Any] = {"lab": lab.name}
    if lab.description or defaults:
        data["description"] = lab.description
    data["hosts"] = [_host_data(lab, h, defaults) for h in lab.hosts()]
    return data


def _host_data(lab: Lab, hid: str, defaults: bool) -> dict:
    d = plain(lab[hid], defaults=defaults)
    d["name"] = lab[hid].name
    nics = [plain(lab[n], defaults=defaults) for n in lab.owned(hid, "nic")]
    if nics or defaults:
        d["networks"] = nics
    d.update(_owner_data(lab, hid, defaults))
    return _ordered(d, "host")


def _owner_data(lab: Lab, owner: str, defaults: bool) -> dict:
    d: dict[str, Any] = {}
    for key, kind in (("switches", "switch"), ("nat", "nat"), ("vhds", "vhd")):
        items = [plain(lab[n], defaults=defaults) for n in lab.owned(owner, kind)]
        if items or defaults:
            d[key] = items
    vms = [_vm_data(lab, v, defaults) for v in lab.vms(owner)]
    if vms or defaults:
        d["vms"] = vms
    return d


def _vm_data(lab: Lab, vid: str, defaults: bool) -> dict:
    vm: VM = lab[vid]
    d = plain(vm, defaults=defaults)
    d["name"] = vm.name
    d.pop("guest", None)
    adapters = [_adapter_data(lab, aid, defaults) for aid in lab.adapters(vid)]
    if adapters or defaults:
        d["adapters"] = adapters
    disks = [lab[v].path if v in lab else _path_of_vhd_id(v) for v in lab.disks(vid)]
    if disks or defaults:
        d["disks"] = disks
    guest = plain(vm.guest, defaults=defaults)
    guest.update(_owner_data(lab, vid, defaults))
    if guest or defaults:
        d["guest"] = _ordered(guest, "guest")
    return _ordered(d, "vm")


def _adapter_data(lab: Lab, aid: str, defaults: bool) -> dict:
    d = plain(lab[aid], defaults=defaults)
    switch = lab.switch_of(aid)
    if switch is not None:
        d["switch"] = switch.split(":switch:", 1)[1]
    return _ordered(d, "adapter")


def _path_of_vhd_id(node_id: str) -> str:
    """A disk edge to a VHD node that was removed (a deleted disk) still names its path."""
    return node_id.split(":vhd:", 1)[1]


# ----------------------------------------------------------------------------------------------
# Reading: text -> data -> Lab, or every error
# ----------------------------------------------------------------------------------------------


def loads(text: str, filename: str = "<text>") -> Lab:
    """A Lab from lab-file text; BadInput with every error line if the text is not a valid lab."""
    with _gc_paused():
        data, errors = _checked(text, filename)
        if errors:
            raise BadInput(errors[0], lines=errors)
        lab = lab_from_data(data)
    lab.source = text
    return lab


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Loading allocates hundreds of thousands of containers and frees none of them, so every
    cyclic-GC pass it triggers is wasted work (a third of a 10,000-VM load); pause it meanwhile."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()  # what the load built lives on: spare the next collection a full scan of it
            gc.enable()


def load(target: str | Path) -> Lab:
    """A Lab from `builtin:NAME` or a path; BadInput with every error line if it is not valid."""
    path = resolve(str(target))
    lab = loads(_read(path), str(path))
    lab.source_path = str(path)
    return lab


def validate(text_or_path: str | Path) -> list[str]:
    """Every error of a lab file (or of lab-file text) as one line each; [] when it is valid."""
    if isinstance(text_or_path, Path) or _looks_like_target(text_or_path):
        try:
            path = resolve(str(text_or_path))
            text = _read(path)
        except BadInput as exc:
            return exc.lines
        return _checked(text, str(path))[1]
    return _checked(text_or_path, "<text>")[1]


def _looks_like_target(value: str) -> bool:
    if value.startswith("builtin:"):
        return True
    return "\n" not in value and (Path(value).suffix in (".yaml", ".yml") or Path(value).is_file())


def _read(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > yamlguard.LIMITS.max_chars:  # before reading it: a character is at least a byte
            raise BadInput(f"{path}:1: refused: {size:,} bytes, more than a lab file may have")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{path}: no such lab file") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror}") from None


def _checked(text: str, filename: str) -> tuple[Any, list[str]]:
    """(validated data, []) or (None, every error line sorted by line)."""
    try:
        raw = parse(text)
    except YAMLError as exc:
        return None, [yaml_error(filename, exc)]
    problems: list[Problem] = []
    data = None
    try:
        data = LAB_FILE.validate_python(raw)
    except ValidationError as exc:
        problems += [_from_pydantic(e) for e in exc.errors(include_url=False)]
    problems += reference_problems(raw)
    if not problems:
        return data, []
    return None, _error_lines(problems, text, filename)


def _c_loader() -> type | None:
    """ruamel's libyaml-based parser, when installed (`ruamel.yaml[libyaml]`), pinned to YAML 1.2.

    ruamel's own C loader classes resolve scalars by YAML 1.1 rules unless told the version, so
    this is the loader ``YAML(typ="safe")`` builds internally, with the version given.
    """
    try:
        from _ruamel_yaml_clibz import CParser  # type: ignore[import-not-found]
    except ImportError:
        try:
            from _ruamel_yaml import CParser  # type: ignore[import-not-found]
        except ImportError:
            return None

    class CSafeLoader12(CParser, SafeConstructor, VersionedResolver):  # type: ignore[misc, valid-type]
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            self._parser = self._composer = self
            SafeConstructor.__init__(self, loader=self)
            self.allow_duplicate_keys = False
            VersionedResolver.__init__(self, version=(1, 2), loadumper=self)

        @property
        def processing_version(self) -> tuple[int, int]:
            """Always 1.2; ruamel's lookup raises and catches an AttributeError per scalar here."""
            return (1, 2)

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            """Plain scalars repeat (true, Running, TCP …): resolve each distinct one once."""
            if kind is ScalarNode and implicit[0]:
                key = (value, implicit[1])
                tag = _RESOLVED.get(key)
                if tag is None:
                    tag = VersionedResolver.resolve(self, kind, value, implicit)
                    if len(_RESOLVED) < _RESOLVED_MAX:
                        _RESOLVED[key] = tag
                return tag
            return VersionedResolver.resolve(self, kind, value, implicit)

    return CSafeLoader12


_RESOLVED: dict[tuple[str, bool], Any] = {}
_RESOLVED_MAX = 4096  # bounded: names and addresses are unique, keywords and enums repeat
C_LOADER = _c_loader()


def parse(text: str) -> Any:
    """Plain data of a YAML 1.2 document: libyaml when installed (about 10x faster), else pure ruamel.

    libyaml is stricter than YAML 1.2 in places (a ':' inside a plain scalar of a flow mapping),
    so whatever it refuses goes to ruamel's own parser, which accepts it or reports the error.
    Either parser's events are built into data by `yamlguard.build`, iteratively and within its
    limits (depth, length, alias expansion): a hostile file is one `Refused` error, never a crash.
    """
    yamlguard.check_length(text)
    if C_LOADER is not None:
        try:
            loader = C_LOADER(text)
            return yamlguard.build(loader.get_event, loader.resolve, loader.construct_object)
        except yamlguard.Refused:
            raise
        except YAMLError:
            pass
    yaml = YAML(typ="safe", pure=True)
    events = yaml.parse(text)
    return yamlguard.build(lambda: next(events, None), yaml.resolver.resolve, yaml.constructor.construct_object)


def yaml_error(filename: str, exc: YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) if isinstance(exc, MarkedYAMLError) else None
    line = mark.line + 1 if mark is not None else 1
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    what = f"{context}: {problem}" if context else problem
    kind = "refused" if isinstance(exc, yamlguard.Refused) else "not readable YAML"
    return f"{filename}:{line}: {kind}: {' '.join(str(what).split())}"


_PYDANTIC_MESSAGES = {
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "int_parsing": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected a string",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "typed_dict_type": "expected a mapping",
}


def _from_pydantic(error: dict) -> Problem:
    loc: Loc = tuple(error["loc"])
    kind, ctx, got = error["type"], error.get("ctx") or {}, quoted(error.get("input"))
    if kind == "missing":
        return Problem(loc[:-1], f"missing required key {quoted(loc[-1])}")
    if kind == "extra_forbidden":
        return Problem(loc, f"unknown key {quoted(loc[-1])}", shown=loc[:-1])
    if kind in _PYDANTIC_MESSAGES:
        return Problem(loc, f"{_PYDANTIC_MESSAGES[kind]} (got {got})")
    if kind == "literal_error":
        return Problem(loc, f"must be {ctx['expected']} (got {got})")
    for bound, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        if bound in ctx:
            return Problem(loc, f"must be {sign} {plain(ctx[bound])} (got {got})")
    if "value" in ctx:  # labschema's own checks: the message already names the value
        return Problem(loc, error["msg"])
    return Problem(loc, f"{error['msg'][:1].lower()}{error['msg'][1:]} (got {got})")


def _error_lines(problems: list[Problem], text: str, filename: str) -> list[str]:
    """Problems as `FILE:LINE: PATH: MESSAGE`, sorted by line; lines come from a round-trip parse."""
    document = YAML(typ="rt", pure=True).load(text)
    placed = []
    for problem in problems:
        line = _line_of(document, problem.loc)
        message = problem.message
        if problem.also is not None:
            message = message.replace("{also}", str(_line_of(document, problem.also)))
        path = format_path(problem.loc if problem.shown is None else problem.shown)
        placed.append((line, path, f"{filename}:{line}: {path + ': ' if path else ''}{message}"))
    placed.sort(key=lambda p: (p[0], p[1]))
    return [p[2] for p in placed]


def _line_of(document: Any, loc: Loc) -> int:
    """1-based line of the deepest key or item of `loc` that exists in the document."""
    node, line = document, 0
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lc.item(part)[0]
        else:
            break
        node = node[part]
    return line + 1


def format_path(loc: Loc) -> str:
    """('hosts', 0, 'vms', 1, 'processor', 'count') -> 'hosts[0].vms[1].processor.count'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


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


# ----------------------------------------------------------------------------------------------
# Builtin labs
# ----------------------------------------------------------------------------------------------

from nestlab.resources import builtin_labs_dir  # noqa: E402 (package data: a checkout and a wheel alike)

BUILTIN_DIR = builtin_labs_dir()


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def resolve(target: str) -> Path:
    """`builtin:NAME` -> the shipped file; anything else is a path."""
    if target.startswith("builtin:"):
        name = target.split(":", 1)[1]
        if name not in builtin_names():
            raise BadInput(f"{target}: no such builtin lab (builtin labs: {', '.join(builtin_names())})")
        return BUILTIN_DIR / f"{name}.yaml"
    return Path(target)
