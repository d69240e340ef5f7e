"""TARGET strings (spec/cli.md) → the Session that reaches them: the CLI's side of the table.

Which kinds exist, and what each can do, is `lab.target_table` (shared with `pytest --lab`);
this module holds the CLI's openers it names:

* `lab.yaml` — a lab file, simulated in process (SimSession);
* `builtin:NAME` — a lab shipped in fixtures/labs;
* `psrp://[user@]host[:port][?transport=https|http&auth=negotiate|ntlm|kerberos|credssp|basic&guest_user=U]`
  — one Windows host through PSRP (https with certificate checks unless the target says http;
  `guest_user` logs PowerShell Direct into its guests, lab/guest_credentials.py);
* `inventory:PATH` — every host of an inventory file (`lab.inventory` reads it);
* `fleet:LAB` — the running containers of `nestlab up LAB`, read from Docker's listing (no file).

A target that cannot be understood is BadInput naming the target and what is wrong (an unknown
scheme lists the table). Passwords never come from a target: one in a psrp:// URL is refused
without being echoed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

from nestlab.simulator.errors import BadInput
from nestlab.lab import target_table
from nestlab.lab.session import Session, SimSession

if TYPE_CHECKING:
    from nestlab.lab.psrp_session import HostAddress

# nestlab.lab.psrp_session (pypsrp, requests, cryptography) is imported only for psrp://,
# inventory: and fleet: targets: a lab file or builtin lab never loads it (issue 17, start-up)

__all__ = ["KINDS", "Target", "parse_target", "open_target", "parse_psrp_url", "read_inventory"]

KINDS = tuple(s.name for s in target_table.schemes("cli"))


@dataclass(frozen=True)
class Target:
    """A parsed TARGET: what it is, and enough to open a Session on it."""

    text: str
    kind: str
    lab_path: Path | None = None
    addresses: tuple[HostAddress, ...] = ()

    @property
    def capabilities(self) -> target_table.Capabilities:
        return target_table.BY_NAME[self.kind].capabilities

    def open(self, *, timeout: float | None = None) -> Session:
        """The Session; for real hosts, `timeout` seconds (None or 0: no limit) bound all of it."""
        if self.lab_path is not None:
            from nestlab.simulator import labfile

            return SimSession(labfile.load(self.lab_path))
        from nestlab.lab.deadline import Deadline
        from nestlab.lab.psrp_session import PsrpSession

        return PsrpSession(self.addresses, deadline=Deadline(timeout) if timeout else None)


def parse_target(text: str) -> Target:
    scheme, argument = target_table.lookup(text, "cli")
    return scheme.opener("cli")(argument)


def open_target(text: str, *, timeout: float | None = None) -> Session:
    return parse_target(text).open(timeout=timeout)


def lab_file_target(argument: str) -> Target:
    path = Path(argument)
    if not path.is_file():
        raise BadInput(f"{argument}: no such lab file")
    return Target(argument, "lab", lab_path=path)


def builtin_target(name: str) -> Target:
    from nestlab.simulator import labfile

    text = f"builtin:{name}"
    if name not in labfile.builtin_names():
        raise BadInput(f"{text}: no builtin lab {name!r} (builtin labs: {', '.join(labfile.builtin_names())})")
    return Target(text, "builtin", lab_path=labfile.resolve(text))


def psrp_target(url: str) -> Target:
    return Target(url, "psrp", addresses=(parse_psrp_url(url),))


def read_inventory(path: Path) -> list[HostAddress]:
    from nestlab.lab.inventory import read_inventory as read

    return read(path)


def inventory_target(path: str) -> Target:
    return Target(f"inventory:{path}", "inventory", addresses=tuple(read_inventory(Path(path))))


def fleet_target(lab: str) -> Target:
    from nestlab.lab.target_fleet import fleet_hosts

    return Target(f"fleet:{lab}", "fleet", addresses=tuple(h.address for h in fleet_hosts(lab)))


def parse_psrp_url(text: str) -> HostAddress:
    from nestlab.lab.psrp_session import AUTHS, TRANSPORTS, HostAddress

    parts = urlsplit(text)
    if parts.password is not None:
        raise BadInput("psrp target: a password never goes in the target; set NESTLAB_PASSWORD or answer the prompt")
    if not parts.hostname:
        raise BadInput(f"{text}: no host in the psrp target")
    if parts.path not in ("", "/"):
        raise BadInput(f"{text}: a psrp target has no path (the endpoint is always /wsman)")
    try:
        port = parts.port
    except ValueError:
        raise BadInput(f"{text}: the port must be a number from 1 to 65535") from None
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - {"transport", "auth", "guest_user"})
    if unknown:
        raise BadInput(f"{text}: unknown option {unknown[0]!r} (known: transport, auth, guest_user)")
    transport = options.get("transport", "https").lower()
    auth = options.get("auth", "negotiate").lower()
    if transport not in TRANSPORTS:
        raise BadInput(f"{text}: transport must be {' or '.join(TRANSPORTS)}, not {transport!r}")
    if auth not in AUTHS:
        raise BadInput(f"{text}: auth must be one of {', '.join(AUTHS)}, not {auth!r}")
    user = unquote(parts.username) if parts.username else None
    return HostAddress(name=parts.hostname, server=parts.hostname, port=port, user=user, transport=transport, auth=auth,
                       guest_user=options.get("guest_user") or None)  # PowerShell Direct's -Credential (guest_credentials.py)
