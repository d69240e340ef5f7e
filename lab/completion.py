"""Shell completion of nestlab's arguments (click's): targets, builtin labs and fault ids.

Click completes subcommands and options by itself (`lab/cli.py` lists subcommands from the table,
importing none). The functions here are the `shell_complete=` of the arguments that name a
target, a lab or a fault; they import what they read only when a shell asks, so they cost a
command nothing when it runs. Files are listed here rather than left to the shell, so that
`inventory:PA<TAB>` completes the path after the scheme the same way in bash, zsh and fish.
"""

from __future__ import annotations

import glob
import os
from typing import Any

from click.shell_completion import CompletionItem

SCHEMES = {
    "builtin:": "a lab shipped with nestlab",
    "psrp://": "a Windows host over PSRP: psrp://[user@]host[:port]",
    "inventory:": "every host of an inventory file",
}
LAB_SUFFIXES = (".yaml", ".yml")


def complete_target(ctx: Any, param: Any, incomplete: str) -> list[CompletionItem]:
    """Any TARGET: a lab file, builtin:NAME, inventory:PATH, or the start of psrp://."""
    if incomplete.startswith("builtin:"):
        return _builtins(incomplete)
    if incomplete.startswith("inventory:"):
        return _files(incomplete[len("inventory:"):], prefix="inventory:")
    if incomplete.lower().startswith("psrp:"):
        return []  # a host name: nothing here knows the user's hosts
    return _schemes(incomplete, SCHEMES) + _files(incomplete)


def complete_lab(ctx: Any, param: Any, incomplete: str) -> list[CompletionItem]:
    """A LAB: a lab file or builtin:NAME."""
    if incomplete.startswith("builtin:"):
        return _builtins(incomplete)
    return _schemes(incomplete, {"builtin:": SCHEMES["builtin:"]}) + _files(incomplete)


def complete_fault(ctx: Any, param: Any, incomplete: str) -> list[CompletionItem]:
    """A root-cause id of the fault catalog (`nestlab faults`)."""
    from nestlab.simulator.faults import CATALOG

    return [CompletionItem(fault_id, help=fault.description) for fault_id, fault in CATALOG.items()
            if fault_id.startswith(incomplete)]


def _builtins(incomplete: str) -> list[CompletionItem]:
    from nestlab.simulator import labfile

    names = (f"builtin:{name}" for name in labfile.builtin_names())
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def _schemes(incomplete: str, schemes: dict[str, str]) -> list[CompletionItem]:
    return [CompletionItem(scheme, help=text) for scheme, text in schemes.items() if scheme.startswith(incomplete)]


def _files(incomplete: str, *, prefix: str = "") -> list[CompletionItem]:
    """Lab files and folders whose path starts with `incomplete` (hidden ones only when asked)."""
    found = []
    for path in sorted(glob.glob(glob.escape(os.path.expanduser(incomplete)) + "*")):
        if os.path.isdir(path):
            found.append(CompletionItem(prefix + path + os.sep))
        elif path.endswith(LAB_SUFFIXES):
            found.append(CompletionItem(prefix + path))
    return found
