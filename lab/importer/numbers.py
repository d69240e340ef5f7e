"""Numbers as people paste them: PowerShell prints integers bare, but systeminfo, tables of
sizes and other locales' consoles group digits ("131,072", "131.072", "131 072") or use a
decimal comma ("1,46"). One reading, used everywhere, so a German bundle imports like an English one.
"""

from __future__ import annotations

import re

_SPACES = re.compile(r"[\s\u00a0\u202f']")
_GROUPED = re.compile(r"-?\d{1,3}(?:[.,]\d{3})+")


def parse_int(text: str) -> int:
    """An integer, with any locale's digit grouping; ValueError when it is not one."""
    s = _SPACES.sub("", text)
    if re.fullmatch(r"-?\d+", s):
        return int(s)
    if _GROUPED.fullmatch(s) and len(set(re.findall(r"[.,]", s))) == 1:
        return int(re.sub(r"[.,]", "", s))
    raise ValueError(f"not an integer: {text!r}")


def parse_decimal(text: str) -> float:
    """A decimal number in en-US ("1,234.5") or continental ("1.234,5", "1 234,5") notation.

    A single separator followed by exactly three digits is read as grouping ("1,024" = 1024),
    which is what systeminfo and PowerShell's size columns print; any other single separator
    is the decimal mark.
    """
    s = _SPACES.sub("", text)
    if re.fullmatch(r"-?\d+", s):
        return float(s)
    marks = re.findall(r"[.,]", s)
    if not re.fullmatch(r"-?[\d.,]+", s) or not marks:
        raise ValueError(f"not a number: {text!r}")
    if len(set(marks)) == 2:  # both: the last one is the decimal mark
        decimal = s[max(s.rfind("."), s.rfind(","))]
        group = "," if decimal == "." else "."
        return float(s.replace(group, "").replace(decimal, "."))
    mark = marks[0]
    if len(marks) > 1 or _GROUPED.fullmatch(s):
        return float(parse_int(s))
    return float(s.replace(mark, "."))
