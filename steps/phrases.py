"""Step phrases: the text a scenario writes, with quoted arguments that never swallow quotes.

pytest-bdd's `parsers.parse` matches `{name}` lazily but anchors the whole line, so
`the fault "{id}"` would also match `the fault "a" on "b"` (with id `a" on "b`). Every quoted
argument therefore gets the type `Q` (anything but a double quote). Steps are written with plain
`"{name}"` for readability; `phrase()` adds the type.
"""

from __future__ import annotations

import re

from parse import with_pattern
from pytest_bdd import parsers


@with_pattern(r'[^"]*')
def _quoted(text: str) -> str:
    return text


_QUOTED_ARG = re.compile(r'"\{(\w+)\}"')


def phrase(text: str) -> parsers.parse:
    """A parse-style step parser whose `"{arg}"` arguments stop at the closing quote."""
    return parsers.parse(_QUOTED_ARG.sub(r'"{\1:Q}"', text), extra_types={"Q": _quoted})


def readable(pattern: str) -> str:
    """The phrase as a person writes it: `"{fault_id:Q}"` → `"<fault_id>"`, `{port:d}` → `<port>`."""
    return re.sub(r"\{(\w+)(?::\w+)?\}", r"<\1>", pattern)
