"""Where the data nestlab ships lives: builtin labs, customer cases, the guide's features.

They are package data of `nestlab.fixtures` (the folder fixtures/) and `nestlab.features`
(features/), found through importlib.resources rather than relative to a source file, so the
same lookup works in a checkout, an editable install and an installed wheel (issue 15).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

FIXTURES = "nestlab.fixtures"
FEATURES = "nestlab.features"
SHIPPED_ROOTS = {"fixtures": FIXTURES, "features": FEATURES}


def folder(package: str) -> Path:
    """A data package as a real folder (the code globs and opens files in it)."""
    found = files(package)
    if not isinstance(found, Path):  # a zip import: nestlab is always installed unpacked
        raise RuntimeError(f"{package}: package data is not a folder on disk ({found!r})")
    return found


def builtin_labs_dir() -> Path:
    """fixtures/labs: one `NAME.yaml` per `builtin:NAME`."""
    return folder(FIXTURES) / "labs"


def cases_dir() -> Path:
    """fixtures/cases: one folder per customer case (nestlab.steps.cases)."""
    return folder(FIXTURES) / "cases"


def features_dir() -> Path:
    """features/: the guide's scenarios, runnable with `pytest --pyargs nestlab.features`."""
    return folder(FEATURES)


def shipped(relative: str | Path) -> Path | None:
    """A repository-relative data path (`features/labs/x.yaml`) in the installed package, if shipped.

    Feature files name their labs relative to the repository; run from an installed wheel the
    repository is not there, so the same path is looked up in the package data instead."""
    parts = Path(relative).parts
    if len(parts) < 2 or parts[0] not in SHIPPED_ROOTS:
        return None
    candidate = folder(SHIPPED_ROOTS[parts[0]]).joinpath(*parts[1:])
    return candidate if candidate.exists() else None
