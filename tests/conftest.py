"""Fixtures the unit tests share."""

from __future__ import annotations

import pytest

from nestlab.simulator import labfile
from nestlab.simulator.model import Lab


@pytest.fixture
def lab() -> Lab:
    """A fresh builtin:reference for each test: tests change it freely."""
    return labfile.load("builtin:reference")
