"""TARGET strings (spec/cli.md) → the Session that reaches them.

* `lab.yaml` — a lab file, simulated in process (SimSession);
* `builtin:NAME` — a lab shipped in fixtures/labs;
* `psrp://[user@]host[:port][?transport=https|http&auth=negotiate|ntlm|kerberos|credssp|basic]`
  — one Windows host through PSRP (https with certificate checks unless the target says http);
* `inventory:PATH` — every host of an inventory file (YAML: `hosts:` list of entries with
  `name`, `address`, optional `port`, `transport`, `auth`, `user`, `cert_validation`; other keys
  such as `vms` and `destructive` belong to their readers and are ignored here).

A target that cannot be understood is BadInput naming the target and what is wrong. Passwords
never come from a target: one in a psrp:// URL is refused without being echoed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from nestlab.simulator.errors import BadInput
from nestlab.lab.session import Session, SimSession

if TYPE_CHECKING:
    from nestlab.lab.psrp_session import HostAddress

# nestlab.lab.psrp_session (pypsrp, requests, cryptography) is imported only for psrp:// and
# inventory: targets: a lab file or builtin lab never loads it (issue 17, start-up)

KINDS = ("lab", "builtin", "psrp", "inventory")


@dataclass(frozen=True)
class Target:
    """A parsed TARGET: what it is, and enough to open a Session on it."""

    text: str
    kind: str
    lab_path: Path | None = None
    addresses: tuple[HostAddress, ...] = ()

    def open(self, *, timeout: float | None = None) -> Session:
        """The Session; for real hosts, `timeout` seconds (None or 0: no limit) bound all of it."""
        if self.kind in ("lab", "builtin"):
            from nestlab.simulator import labfile

            return SimSession(labfile.load(self.lab_path))
        from nestlab.lab.deadline import Deadline
        from nestlab.lab.psrp_session import PsrpSession

        return PsrpSession(self.addresses, deadline=Deadline(timeout) if timeout else None)


def parse_target(text: str) -> Target:
    text = text.strip()
    if not text:
        raise BadInput("empty target: give a lab file, builtin:NAME, psrp://host or inventory:PATH")
    if text.startswith("builtin:"):
        return _builtin(text)
    if text.lower().startswith("psrp://"):
        return Target(text, "psrp", addresses=(parse_psrp_url(text),))
    if text.startswith("inventory:"):
        return Target(text, "inventory", addresses=tuple(read_inventory(Path(text.split(":", 1)[1]))))
    if "://" in text:
        raise BadInput(f"{text}: unknown target scheme (use psrp://, builtin:, inventory: or a lab file)")
    path = Path(text)
    if not path.is_file():
        raise BadInput(f"{text}: no such lab file")
    return Target(text, "lab", lab_path=path)


def open_target(text: str, *, timeout: float | None = None) -> Session:
    return parse_target(text).open(timeout=timeout)


def _builtin(text: str) -> Target:
    from nestlab.simulator import labfile

    name = text.split(":", 1)[1]
    if name not in labfile.builtin_names():
        raise BadInput(f"{text}: no builtin lab {name!r} (builtin labs: {', '.join(labfile.builtin_names())})")
    return Target(text, "builtin", lab_path=labfile.resolve(text))


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
    unknown = sorted(set(options) - {"transport", "auth"})
    if unknown:
        raise BadInput(f"{text}: unknown option {unknown[0]!r} (known: transport, auth)")
    transport = options.get("transport", "https").lower()
    auth = options.get("auth", "negotiate").lower()
    if transport not in TRANSPORTS:
        raise BadInput(f"{text}: transport must be {' or '.join(TRANSPORTS)}, not {transport!r}")
    if auth not in AUTHS:
        raise BadInput(f"{text}: auth must be one of {', '.join(AUTHS)}, not {auth!r}")
    user = unquote(parts.username) if parts.username else None
    return HostAddress(name=parts.hostname, server=parts.hostname, port=port, user=user, transport=transport, auth=auth)


def read_inventory(path: Path) -> list[HostAddress]:
    from ruamel.yaml import YAML, YAMLError

    if not path.is_file():
        raise BadInput(f"inventory:{path}: no such file")
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        raise BadInput(f"{path}: not YAML: {' '.join(str(exc).split())[:160]}") from None
    hosts = data.get("hosts") if isinstance(data, dict) else None
    if not isinstance(hosts, list) or not hosts:
        raise BadInput(f"{path}: needs a non-empty 'hosts:' list")
    return [_inventory_host(path, index, entry) for index, entry in enumerate(hosts)]


def _inventory_host(path: Path, index: int, entry: Any) -> HostAddress:
    from nestlab.lab.psrp_session import HostAddress

    where = f"{path}: hosts[{index}]"
    if not isinstance(entry, dict) or not entry.get("name"):
        raise BadInput(f"{where}: each host needs a 'name'")
    if "password" in entry:
        raise BadInput(f"{where}: a password never goes in an inventory; set NESTLAB_PASSWORD or answer the prompt")
    port = entry.get("port")
    if port is not None and (not isinstance(port, int) or not 0 < port < 65536):
        raise BadInput(f"{where}: port must be a number from 1 to 65535")
    validation = entry.get("cert_validation", True)
    if not isinstance(validation, (bool, str)):
        raise BadInput(f"{where}: cert_validation must be true, false or a CA bundle path")
    try:
        return HostAddress(
            name=str(entry["name"]),
            server=str(entry.get("address") or entry["name"]),
            port=port,
            user=str(entry["user"]) if entry.get("user") else None,
            transport=str(entry.get("transport", "https")).lower(),
            auth=str(entry.get("auth", "negotiate")).lower(),
            cert_validation=validation,
        )
    except BadInput as exc:
        raise BadInput(f"{where}: {exc}") from None
