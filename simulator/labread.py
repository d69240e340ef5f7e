"""Reading lab files: text (or `builtin:NAME`) -> validated data -> Lab, or every error, one line each.

Loading reads YAML 1.2 with ruamel's safe loader (libyaml-backed when `ruamel.yaml[libyaml]` is
installed; `state: Off` stays "Off"), validates the whole document in one pydantic call
(``labschema.LAB_FILE``) plus the cross-reference checks, and only when something is wrong parses
the text again in round-trip mode, whose CommentedMaps know the line of every key and item:
errors are rare, loads are not. Every error is one line ``FILE:LINE: PATH: MESSAGE``;
``load``/``loads`` raise BadInput with all of them, ``validate`` returns them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

from nestlab import gc_pause
from nestlab.simulator import yamlguard
from nestlab.simulator.errors import BadInput
from nestlab.simulator.labmap import lab_from_data, plain
from nestlab.simulator.labschema import LAB_FILE, Loc, Problem, quoted, reference_problems
from nestlab.simulator.model import Lab

# ----------------------------------------------------------------------------------------------
# Reading: text -> data -> Lab, or every error
# ----------------------------------------------------------------------------------------------


def loads(text: str, filename: str = "<text>") -> Lab:
    """A Lab from lab-file text; BadInput with every error line if the text is not a valid lab."""
    with gc_pause.paused():
        data, errors = _checked(text, filename)
        if errors:
            raise BadInput(errors[0], lines=errors)
        lab = lab_from_data(data)
    lab.source = text
    return lab


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
            self.resolved: dict[tuple[str, bool], Any] = {}  # this load's plain scalars, each resolved once

        @property
        def processing_version(self) -> tuple[int, int]:
            """Always 1.2; ruamel's lookup raises and catches an AttributeError per scalar here."""
            return (1, 2)

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            """Plain scalars repeat (true, Running, TCP …): resolve each distinct one once per load.

            Per load, not per process: a process-wide table (bounded at 4,096 scalars, stop 17)
            held every scalar of a 1,000-VM lab after its first load, so a second load resolved
            none, while a 10,000-VM lab overflowed it and resolved most — a best-of-N bench
            flattered at small sizes, its 10× ratio tilted (stop 22)."""
            if kind is ScalarNode and implicit[0]:
                key = (value, implicit[1])
                tag = self.resolved.get(key)
                if tag is None:
                    tag = self.resolved[key] = VersionedResolver.resolve(self, kind, value, implicit)
                return tag
            return VersionedResolver.resolve(self, kind, value, implicit)

    return CSafeLoader12


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
