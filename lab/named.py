"""A session whose hosts are called what they call themselves.

A psrp:// target is reached by an address (`127.0.0.1`, `hv01.lab.example`), an inventory entry
by its `name:`; but the collector names each host by what it says it is (Win32_ComputerSystem
DNSHostName, else Name: `diagnosis.parse.computer_name`), and so findings, resolution contexts and
journal steps say `HV01/L1`. A command for `HV01` sent to a session that only knows `127.0.0.1`
is "not a host of this target". `named` asks each host its name once, with the collector's own
probe and rule, and wraps the session so both names reach it; the addresses it returns carry the
host's own name too, so a journal written with them names its hosts as its steps do.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from nestlab.diagnosis import parse as evidence
from nestlab.lab.psrp_session import HostAddress
from nestlab.simulator.errors import BadInput, SessionError
from nestlab.simulator.model import NodeId
from nestlab.simulator.psdata import Result
from nestlab.simulator.session_protocol import Request, Runs, Session, answered
from nestlab.simulator.psparse import parse

NAME_PROBE = "Get-CimInstance -ClassName Win32_ComputerSystem"  # the collector's "cs" probe


class NamedSession(Runs):
    """`inner`, with each host also reachable by its own name (`names`: own name → inner host)."""

    def __init__(self, inner: Session, names: dict[str, str]) -> None:
        self.inner = inner
        self.names = names

    def hosts(self) -> list[str]:
        return list(self.names)

    def _inner(self, host: str) -> str:
        return self.names.get(host, host)

    def send(self, requests: Sequence[Request]) -> list[Result]:
        inner = [replace(r, where=NodeId((self._inner(r.host), *r.vm))) for r in requests]
        return answered(requests, self.inner.send(inner))

    def close(self) -> None:
        self.inner.close()



def own_name(session: Session, host: str) -> str:
    """What `host` calls itself; its session name when it cannot say (unreachable: the diagnosis says why)."""
    try:
        result = session.run(host, parse(NAME_PROBE))
    except SessionError:
        return host
    return evidence.computer_name({"cs": result}) or host


def named(session: Session, addresses: Sequence[HostAddress]) -> tuple[NamedSession, list[HostAddress]]:
    """The session under its hosts' own names, and the addresses renamed to match."""
    names: dict[str, str] = {}
    renamed = []
    for address in addresses:
        own = own_name(session, address.name)
        if own in names and names[own] != address.name:
            raise BadInput(f"{address.name}: calls itself {own}, as {names[own]} does: two entries for one host?")
        names[own] = address.name
        renamed.append(replace(address, name=own))
    return NamedSession(session, names), renamed
