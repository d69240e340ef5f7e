"""nestlab: a simulation and test-lab harness for Hyper-V nested virtualization.

Everything installs under this one namespace. The repository keeps the design's top-level folders
(`simulator/`, `diagnosis/`, `lab/`, `steps/`), which pyproject.toml maps to `nestlab.simulator`,
`nestlab.diagnosis`, `nestlab.lab` and `nestlab.steps`; nothing else lands at the top of
site-packages, where those short names belong to other distributions.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """`nestlab.__version__`, read from the installed metadata only when asked: importlib.metadata
    costs more than the rest of the CLI's start-up (issue 17; bench/startup.py)."""
    if name != "__version__":
        raise AttributeError(f"module 'nestlab' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nestlab")
    except PackageNotFoundError:  # imported from a checkout that was never installed
        return "0+unknown"
