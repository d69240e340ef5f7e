"""PowerShell's -like on names: `*`, `?` and `[...]` are wildcards, any other text matches itself.

Most names a collection passes are plain (`Get-WindowsFeature -Name Hyper-V`, `Get-Service vmms`),
and a plain pattern matches only the same text: that is a string comparison, not a pattern match
through `fnmatch` (which compiles, caches and runs a regular expression for each pair).
"""

from __future__ import annotations

import fnmatch

WILDCARDS = frozenset("*?[")


def like(text: str, pattern: str) -> bool:
    """`fnmatch.fnmatchcase(text, pattern)`: the callers lower both sides for PowerShell's case-blindness."""
    if WILDCARDS.isdisjoint(pattern):
        return text == pattern
    return fnmatch.fnmatchcase(text, pattern)
