"""nestlab: a simulation and test-lab harness for Hyper-V nested virtualization.

Everything installs under this one namespace. The repository keeps the design's top-level folders
(`simulator/`, `diagnosis/`, `lab/`, `steps/`), which pyproject.toml maps to `nestlab.simulator`,
`nestlab.diagnosis`, `nestlab.lab` and `nestlab.steps`; nothing else lands at the top of
site-packages, where those short names belong to other distributions.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nestlab")
except PackageNotFoundError:  # imported from a checkout that was never installed
    __version__ = "0+unknown"
