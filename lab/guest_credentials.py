"""Guest credentials for PowerShell Direct (`Invoke-Command -VMName … -Credential …`).

A real Hyper-V host lets PowerShell Direct into a guest only with the guest's own account:
`-Credential` is mandatory in Invoke-Command's VMName parameter set (PowerShell-Docs). The host's
WinRM login is not the guest's. Where a guest's login comes from:

- per VM, in an inventory entry: `guests: {L1: {user: '.\\Administrator', password_env: L1_PASSWORD}}`
  (or `password_file: PATH`); a host-wide `guest_user:` for every other guest of that host;
- for every guest: `nestlab --guest-user USER …`, `pytest --guest-user USER`, a psrp:// target's
  `?guest_user=USER`, or the environment's NESTLAB_GUEST_USER.

The password is never in argv, an inventory or a target: it comes from an environment variable
(NESTLAB_GUEST_PASSWORD unless the entry names another), else a file (`password_file`, or
NESTLAB_GUEST_PASSWORD_FILE; first line, mode not checked), else a prompt when there is a terminal.
No guest user anywhere: the wrapper goes without `-Credential`, as before (the served lab lets
that in; a real host refuses it with its own error).
"""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from nestlab.simulator.errors import BadInput

GUEST_USER_ENV = "NESTLAB_GUEST_USER"
GUEST_PASSWORD_ENV = "NESTLAB_GUEST_PASSWORD"
GUEST_PASSWORD_FILE_ENV = "NESTLAB_GUEST_PASSWORD_FILE"

_configured_user: str | None = None  # `nestlab --guest-user` / `pytest --guest-user`, for this process


@dataclass(frozen=True)
class GuestLogin:
    """Where one guest's credential comes from (never the secret itself)."""

    user: str
    password_env: str = GUEST_PASSWORD_ENV
    password_file: str | None = None


@dataclass(frozen=True)
class GuestCredential:
    """A guest's user and password; `repr` never shows the password."""

    user: str
    password: str = field(repr=False)


def set_guest_user(user: str | None) -> None:
    """The run's guest user for every guest no inventory entry names (`--guest-user`)."""
    global _configured_user
    _configured_user = user or None


def default_login() -> GuestLogin | None:
    """`--guest-user`, else NESTLAB_GUEST_USER; None when neither says."""
    user = _configured_user or os.environ.get(GUEST_USER_ENV) or None
    return GuestLogin(user) if user else None


def resolve(login: GuestLogin, *, where: str, prompt: bool | None = None) -> GuestCredential:
    """The credential of `login`: its environment variable, else its file, else a prompt."""
    password = os.environ.get(login.password_env)
    if not password:
        path = login.password_file or os.environ.get(GUEST_PASSWORD_FILE_ENV)
        if path:
            password = _first_line(Path(path), where)
    if not password and (prompt if prompt is not None else sys.stdin.isatty()):
        password = getpass.getpass(f"Password for {login.user} in {where}: ")
    if not password:
        raise BadInput(f"{where}: no guest password for {login.user}: set {login.password_env}, "
                       f"{GUEST_PASSWORD_FILE_ENV} or run interactively")
    return GuestCredential(login.user, password)


def _first_line(path: Path, where: str) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{where}: cannot read the guest password file {path}: {exc.strerror or exc}") from None
    return text.splitlines()[0] if text else ""


def parse_guests(where: str, entry: dict) -> tuple[str | None, tuple[tuple[str, GuestLogin], ...]]:
    """An inventory entry's `guest_user` and `guests:` → (host-wide user, ((VM, login), …))."""
    user = entry.get("guest_user")
    if user is not None and (not isinstance(user, str) or not user):
        raise BadInput(f"{where}: guest_user must be a user name")
    guests = entry.get("guests") or {}
    if not isinstance(guests, dict):
        raise BadInput(f"{where}: guests must map VM names to {{user, password_env | password_file}}")
    logins = []
    for vm, spec in guests.items():
        here = f"{where}: guests.{vm}"
        if not isinstance(spec, dict) or not isinstance(spec.get("user"), str) or not spec["user"]:
            raise BadInput(f"{here}: needs a 'user'")
        if "password" in spec:
            raise BadInput(f"{here}: a password never goes in an inventory; name password_env or password_file")
        unknown = sorted(set(spec) - {"user", "password_env", "password_file"})
        if unknown:
            raise BadInput(f"{here}: unknown key {unknown[0]!r} (known: user, password_env, password_file)")
        logins.append((str(vm), GuestLogin(spec["user"], str(spec.get("password_env") or GUEST_PASSWORD_ENV),
                                           str(spec["password_file"]) if spec.get("password_file") else None)))
    return user, tuple(logins)
