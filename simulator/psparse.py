"""PowerShell command-line text → structured `Command`s (for `nestlab ps` and fault scripts).

Only the subset people type to look at or fix a Hyper-V lab: a pipeline of cmdlets with named
parameters (`-Name value`, `-Switch`, `-Flag:$false`), positional arguments, quoted strings,
`$true`/`$false`/`$null`, numbers with PowerShell's size suffixes (4GB), comma lists, hashtables
(`@{Metadata='true'}`) and script blocks (`{ Get-VM }`, kept as their text so Invoke-Command can
parse them again). Native commands (netsh, bcdedit, reg …) get every token as a positional
argument, as cmd.exe would pass them. Nothing is ever evaluated.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from nestlab.simulator.errors import BadInput
from nestlab.simulator.psdata import Command

NATIVE = {"netsh", "bcdedit", "reg", "systeminfo", "net", "ipconfig", "msinfo32", "hostname", "whoami"}

RANGE_COMMAND = "Range-Expression"  # not a cmdlet: how a leading `a..b` is carried to the dispatcher

ALIASES = {
    "fl": "Format-List", "ft": "Format-Table", "select": "Select-Object", "where": "Where-Object",
    "?": "Where-Object", "icm": "Invoke-Command", "gsv": "Get-Service", "gcim": "Get-CimInstance",
    "gp": "Get-ItemProperty", "%": "ForEach-Object", "foreach": "ForEach-Object", "sasv": "Start-Service", "gci": "Get-ChildItem", "measure": "Measure-Object",
}

_SIZE = {"kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40, "pb": 1 << 50}
_NUMBER = re.compile(r"^(-?\d+(?:\.\d+)?)(kb|mb|gb|tb|pb)?$", re.IGNORECASE)


def parse(text: str) -> tuple[Command, ...]:
    """Parse one PowerShell line into a pipeline; BadInput says what is wrong and where."""
    segments = _split_pipeline(text)
    if not segments:
        raise BadInput(f"empty command line: {text!r}")
    return tuple(_parse_command(seg, text) for seg in segments)


def _split_pipeline(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    quote = ""
    start = 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "{(":
            depth += 1
        elif ch in "})":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if quote:
        raise BadInput(f"unterminated string in {text!r}")
    if depth:
        raise BadInput(f"unbalanced braces or parentheses in {text!r}")
    parts.append(text[start:])
    stripped = [p.strip() for p in parts]
    if any(not p for p in stripped) and len(stripped) > 1:
        raise BadInput(f"empty pipeline element in {text!r}")
    return [p for p in stripped if p]


def _top_level_split(text: str, is_separator: Callable[[str], bool]) -> list[str]:
    """Split where `is_separator(ch)` holds outside quotes, braces and parentheses."""
    out: list[str] = []
    cur = ""
    depth = 0
    quote = ""
    for ch in text:
        if quote:
            cur += ch
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            cur += ch
        elif ch in "{(":
            depth += 1
            cur += ch
        elif ch in "})":
            depth -= 1
            cur += ch
        elif depth == 0 and is_separator(ch):
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def _tokens(segment: str) -> list[str]:
    """Split on blanks outside quotes, braces and @{…}; commas stay inside a token."""
    out = [tok for tok in _top_level_split(segment, str.isspace) if tok]
    # "a, b" written with blanks after commas: glue the list back together
    glued: list[str] = []
    for tok in out:
        if glued and (glued[-1].endswith(",") or tok.startswith(",")) and not tok.startswith("-"):
            glued[-1] += tok
        else:
            glued.append(tok)
    return glued


RANGE = re.compile(r"^(\d+)\.\.(\S+)$")


def _parse_command(segment: str, line: str) -> Command:
    tokens = _tokens(segment)
    name = tokens[0]
    m = RANGE.match(name)
    if m and len(tokens) == 1:  # a range expression `1..$env:NUMBER_OF_PROCESSORS` starting a pipeline
        return Command(RANGE_COMMAND, (), (int(m.group(1)), m.group(2)))
    if name.startswith("&"):
        name = name[1:].strip() or (tokens.pop(1) if len(tokens) > 1 else "")
    name = _unquote(name)
    base = name.lower().removesuffix(".exe")
    if base in NATIVE:
        return Command(base, (), tuple(_unquote(t) for t in tokens[1:]))
    name = ALIASES.get(name.lower(), name)
    params: list[tuple[str, Any]] = []
    args: list[Any] = []
    i = 1
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("-") and len(tok) > 1 and not _NUMBER.match(tok):
            pname, _, attached = tok[1:].partition(":")
            if attached:
                params.append((pname, value(attached)))
            elif i + 1 < len(tokens) and not _is_param(tokens[i + 1]):
                params.append((pname, value(tokens[i + 1])))
                i += 1
            else:
                params.append((pname, True))
        else:
            args.append(value(tok))
        i += 1
    return Command(name, tuple(params), tuple(args))


def _is_param(tok: str) -> bool:
    return tok.startswith("-") and len(tok) > 1 and not _NUMBER.match(tok) and tok[1].isalpha()


def _unquote(tok: str) -> str:
    if len(tok) >= 2 and tok[0] == tok[-1] and tok[0] in "'\"":
        return tok[1:-1]
    return tok


def value(tok: str) -> Any:
    """A PowerShell literal as Python: list, bool, None, int, dict, script-block text or string."""
    if tok.startswith("@{") and tok.endswith("}"):
        return _hashtable(tok[2:-1])
    if tok.startswith("{") and tok.endswith("}"):
        return ScriptBlock(tok[1:-1].strip())
    if tok.startswith("@(") and tok.endswith(")"):
        tok = tok[2:-1]
    parts = _split_commas(tok)
    if len(parts) > 1:
        return [value(p) for p in parts]
    tok = tok.strip()
    if len(tok) >= 2 and tok[0] == tok[-1] and tok[0] in "'\"":
        return tok[1:-1]
    low = tok.lower()
    if low == "$true":
        return True
    if low == "$false":
        return False
    if low == "$null":
        return None
    m = _NUMBER.match(tok)
    if m:
        number = float(m.group(1)) * _SIZE.get((m.group(2) or "").lower(), 1)
        return int(number) if number == int(number) else number
    return tok


def _split_commas(tok: str) -> list[str]:
    parts = _top_level_split(tok, lambda ch: ch == ",")
    return [p for p in parts if p.strip()] if len(parts) > 1 else parts


def _hashtable(body: str) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for item in re.split(r";|\n", body):
        if not item.strip():
            continue
        key, sep, val = item.partition("=")
        if not sep:
            raise BadInput(f"hashtable entry without '=': {item.strip()!r}")
        table[_unquote(key.strip())] = value(val.strip())
    return table


class ScriptBlock(str):
    """The text of a `{ … }` script block; Invoke-Command parses it again with `parse`."""
