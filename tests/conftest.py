"""Fixtures the unit tests share."""

from __future__ import annotations

import secrets
from typing import Any, Iterator, NamedTuple

import pytest

from nestlab.simulator import labfile
from nestlab.simulator.model import Lab


@pytest.fixture
def lab() -> Lab:
    """A fresh builtin:reference for each test: tests change it freely."""
    return labfile.load("builtin:reference")


class ServedReference(NamedTuple):
    """builtin:reference served on loopback (bench.endpoint.served), its password in NESTLAB_PASSWORD."""

    lab: Lab
    server: Any  # a LabServer
    addresses: list  # lab.psrp_session.HostAddress, one a host
    password: str

    @property
    def psrp_url(self) -> str:
        """HV01 as a `psrp://` target (`nestlab diagnose`, `pytest --lab=`)."""
        return f"psrp://nestlab@127.0.0.1:{self.server.servers['HV01'].port}?transport=http&auth=basic"


@pytest.fixture
def served_reference(monkeypatch) -> Iterator[ServedReference]:
    from bench.endpoint import served

    password = "pw-" + secrets.token_urlsafe(18)
    monkeypatch.setenv("NESTLAB_PASSWORD", password)
    lab = labfile.load("builtin:reference")
    with served(lab, password) as (server, addresses):
        yield ServedReference(lab, server, addresses, password)
