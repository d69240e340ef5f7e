"""Plain data from YAML events, built without recursion and within limits a hostile file cannot pass.

A lab file comes from whoever wrote it. The parsers under ruamel compose a node tree recursively
(libyaml's composer in C: 100,000 nested `[` overflow the C stack, SIGSEGV; ruamel's in Python:
RecursionError at about a thousand levels), and a constructor that follows aliases builds what
they point at as many times as they are used (a 609-byte "billion laughs" is 387 million strings).
So the loader never composes a tree: it reads the parser's events one at a time (libyaml's and
ruamel's event parsers keep their state on the heap, not the stack) and builds dicts, lists and
scalars with an explicit stack, refusing, as soon as the event that crosses the line arrives:

- a document longer than `Limits.max_chars` (checked before any parsing);
- nesting deeper than `Limits.max_depth` (a lab file needs about a dozen levels);
- an alias inside the node its anchor names (`hosts: &h [*h]`: a structure that contains itself);
- aliases that together stand for more than `Limits.max_alias_nodes` nodes (each use of an alias
  counts every node under its anchor, aliases within it included, so nested laughs are counted
  as what they would expand to, long before anything is expanded).

Each refusal is a `Refused` error (a ruamel MarkedYAMLError, so it carries the line), which the lab
file loader reports as one `FILE:LINE: …` line. An alias yields the very object its anchor built
(as ruamel's constructor does), so nothing is copied either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ruamel.yaml.composer import ComposerError
from ruamel.yaml.constructor import ConstructorError, DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import (
    AliasEvent, DocumentStartEvent, MappingEndEvent, MappingStartEvent, ScalarEvent, SequenceEndEvent,
    SequenceStartEvent, StreamEndEvent,
)
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode


@dataclass(frozen=True)
class Limits:
    """What a lab file may be. The largest benchmarked lab (10,000 VMs) is 7 MB, 10 levels deep, no aliases."""

    max_chars: int = 64 * 2**20
    max_depth: int = 100
    max_alias_nodes: int = 100_000


LIMITS = Limits()


class Refused(MarkedYAMLError):
    """A document the loader will not build (too long, too deep, or aliases that expand too far)."""


STR = "tag:yaml.org,2002:str"
MAP = "tag:yaml.org,2002:map"
SEQ = "tag:yaml.org,2002:seq"
MERGE = "tag:yaml.org,2002:merge"
_NO_KEY = object()
_MERGE_KEY = object()  # `<<` as a key: what follows is merged in

NextEvent = Callable[[], Any]  # the parser's get_event: the next event, None after the stream's end
Resolve = Callable[[Any, Any, Any], Any]  # a resolver's resolve(kind, value, implicit) -> tag
Construct = Callable[[Any], Any]  # a constructor's construct_object(node) for a scalar of any tag


def check_length(text: str, limits: Limits | None = None) -> None:
    """Before any parsing: a document longer than any lab file is refused (at its first line)."""
    limits = limits or LIMITS
    if len(text) > limits.max_chars:
        raise Refused(None, None, f"{len(text):,} characters, more than a lab file may have "
                      f"({limits.max_chars:,})", _Mark(0))


class _Frame:
    """A mapping or sequence being built: its container, its anchor, the nodes under it so far."""

    __slots__ = ("data", "is_map", "anchor", "size", "key", "key_mark", "merged", "mark")

    def __init__(self, data: Any, anchor: str | None, mark: Any) -> None:
        self.data = data
        self.is_map = isinstance(data, dict)
        self.anchor = anchor
        self.size = 1
        self.key: Any = _NO_KEY
        self.key_mark: Any = None
        self.merged: set[Any] = set()  # keys a merge (`<<: *base`) put in: an explicit key overrides them
        self.mark = mark


def build(next_event: NextEvent, resolve: Resolve, construct: Construct, limits: Limits | None = None) -> Any:
    """The single document of an event stream as plain data (None for an empty stream).

    Builds what ruamel's SafeConstructor builds for the tags a lab file uses (str, int, float,
    bool, null, timestamps; mappings with merge keys; sequences), refusing duplicate keys as it does.
    """
    limits = limits or LIMITS
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, int]] = {}
    open_anchors: set[str] = set()
    expanded = 0
    documents = 0
    root: Any = None
    scalars: dict[tuple[str, str], Any] = {}
    plain_tags: dict[tuple[str, Any], str] = {}  # (text, implicit) -> the tag a plain scalar resolves to

    def add(value: Any, size: int, mark: Any, tag: str = "") -> None:
        nonlocal root
        if not stack:
            root = value
            return
        frame = stack[-1]
        frame.size += size
        if not frame.is_map:
            frame.data.append(value)
        elif frame.key is _NO_KEY:
            _check_key(frame, value, mark)
            frame.key, frame.key_mark = (_MERGE_KEY if tag == MERGE else value), mark
        else:
            _put(frame, frame.key, value, frame.key_mark)
            frame.key = _NO_KEY

    while True:
        event = next_event()
        if event is None or isinstance(event, StreamEndEvent):
            return root
        if isinstance(event, ScalarEvent):
            if event.ctag is None:  # plain (`_tag` would resolve it), and keys and values repeat
                plain = (event.value, event.implicit)
                tag = plain_tags.get(plain) or plain_tags.setdefault(
                    plain, str(resolve(ScalarNode, event.value, event.implicit)))
            else:
                tag = _tag(event, resolve, ScalarNode, event.value)
            if tag in (STR, MERGE):
                value: Any = event.value
            else:
                key = (tag, event.value)
                if key not in scalars:
                    scalars[key] = construct(ScalarNode(tag, event.value, event.start_mark, event.end_mark,
                                                        style=event.style))
                value = scalars[key]
            if event.anchor is not None:
                anchors[event.anchor] = (value, 1)
            add(value, 1, event.start_mark, tag)
        elif isinstance(event, AliasEvent):
            name = event.anchor
            if name in open_anchors:
                raise Refused(None, None, f"alias *{name} is inside the node its anchor &{name} names "
                              "(a structure that contains itself)", event.start_mark)
            if name not in anchors:
                raise ComposerError(None, None, f"found undefined alias {name!r}", event.start_mark)
            value, size = anchors[name]
            expanded += size
            if expanded > limits.max_alias_nodes:
                raise Refused(None, None, f"aliases stand for more than {limits.max_alias_nodes:,} nodes "
                              f"(*{name} alone for {size:,}); write the data out instead", event.start_mark)
            add(value, size, event.start_mark)
        elif isinstance(event, (MappingStartEvent, SequenceStartEvent)):
            if len(stack) >= limits.max_depth:
                raise Refused(None, None, f"nested more than {limits.max_depth} levels deep", event.start_mark)
            is_map = isinstance(event, MappingStartEvent)
            tag = _tag(event, resolve, MappingNode if is_map else SequenceNode, None)
            if tag != (MAP if is_map else SEQ):
                raise ConstructorError(None, None, f"tag {tag} is not one a lab file uses", event.start_mark)
            if event.anchor is not None:
                open_anchors.add(event.anchor)
            stack.append(_Frame({} if is_map else [], event.anchor, event.start_mark))
        elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
            frame = stack.pop()
            if frame.anchor is not None:
                open_anchors.discard(frame.anchor)
                anchors[frame.anchor] = (frame.data, frame.size)
            add(frame.data, frame.size, frame.mark)
        elif isinstance(event, DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise ComposerError("expected a single document in the stream", None,
                                    "but found another document", event.start_mark)


def _tag(event: Any, resolve: Resolve, kind: Any, value: Any) -> str:
    tag = getattr(event, "ctag", None) or event.tag
    if tag is None or str(tag) == "!":
        tag = resolve(kind, value, event.implicit)
    return str(tag)


def _check_key(frame: _Frame, key: Any, mark: Any) -> None:
    try:
        hash(key)
    except TypeError:
        raise ConstructorError("while constructing a mapping", frame.mark, "found unhashable key", mark) from None


def _put(frame: _Frame, key: Any, value: Any, mark: Any) -> None:
    data = frame.data
    if key is _MERGE_KEY:
        sources = value if isinstance(value, list) else [value]
        if not all(isinstance(s, dict) for s in sources):
            raise ConstructorError("while constructing a mapping", frame.mark,
                                   "expected a mapping or list of mappings for merging", mark)
        for source in sources:  # the first source wins over later ones; explicit keys over all
            for k, v in source.items():
                if k not in data:
                    data[k] = v
                    frame.merged.add(k)
        return
    if key in data and key not in frame.merged:
        raise DuplicateKeyError("while constructing a mapping", frame.mark, f'found duplicate key "{key}"', mark)
    frame.merged.discard(key)
    data[key] = value


class _Mark:
    """A position for a refusal made before the parser has produced any (line 0 is the first)."""

    def __init__(self, line: int) -> None:
        self.line, self.column, self.name = line, 0, "<text>"

    def __str__(self) -> str:
        return f'  in "{self.name}", line {self.line + 1}, column {self.column + 1}'
