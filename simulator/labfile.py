"""Lab files (spec/lab-format.md) ⇄ Lab: one import for reading, mapping and saving.

The work is in three modules, each one concern: `labread` (text or `builtin:NAME` -> validated
data -> Lab, every error one line), `labmap` (the single mapping between lab-file keys and the
model's records), `labsave` (Lab -> text kept in the user's document, comments and all -> file,
atomically). Their public names are importable from here, as before the split, so callers
write `from nestlab.simulator import labfile` and `labfile.load(...)`.
"""

from __future__ import annotations

from nestlab.simulator.errors import BadInput
from nestlab.simulator.labmap import PLATFORM_KEYS, lab_from_data, lab_to_data, link_derived_edges, plain
from nestlab.simulator.labread import (
    BUILTIN_DIR,
    C_LOADER,
    builtin_names,
    format_path,
    load,
    loads,
    parse,
    resolve,
    validate,
    yaml_error,
)
from nestlab.simulator.labsave import dumps, save, write_atomic

__all__ = [
    "BUILTIN_DIR", "BadInput", "C_LOADER", "PLATFORM_KEYS", "builtin_names", "dumps", "format_path", "lab_from_data",
    "lab_to_data", "link_derived_edges", "load", "loads", "parse", "plain", "resolve", "save", "validate",
    "write_atomic", "yaml_error",
]
