"""The NTLM accounts the served endpoints accept, kept in memory for pyspnego's NTLM acceptor.

pyspnego's pure-Python NTLM acceptor finds the account of an AUTHENTICATE message in the
"NTLM user file" named by the environment variable NTLM_USER_FILE, and nowhere else (pyspnego
0.12 `spnego/_ntlm.py`: `_get_credential_file`, `_get_credential`; `spnego.server(credentials=…)`
is honoured only for Kerberos on Windows). The password must never reach a disk, so the file is
an anonymous in-memory file (`memfd_create`, Linux) reached as /proc/PID/fd/N, holding the
accounts in the smbpasswd layout pyspnego reads (`DOMAIN\\USER:UID:LM:NT:[U]:LCT-0`) — the NT
hash, not the password. It lives as long as the process and is never inherited (close-on-exec).

One store serves every endpoint of the process; each registers its account under the domains
a Windows client may give for a local account: none, ".", and the host's own name.
"""

from __future__ import annotations

import base64
import os
import threading

_lock = threading.Lock()
_accounts: dict[tuple[str, str], tuple[str, int]] = {}  # (DOMAIN, USER) upper → (line, users)
_descriptor: int | None = None
LINE_WIDTH = 640  # bytes per line; an account whose line is longer (a name of ~500 bytes) is left out


def available() -> bool:
    """Whether an in-memory user file can be made here (Linux: memfd and /proc)."""
    return hasattr(os, "memfd_create") and os.path.isdir(f"/proc/{os.getpid()}/fd")


def register(user: str, password: str, host: str) -> None:
    """Accept `user` with `password` (as `user`, `.\\user` and `HOST\\user`) in every endpoint."""
    nt_hash = _nt_hash(password)
    with _lock:
        for domain in ("", ".", host):
            key = (domain.upper(), user.upper())
            line = f"{domain}\\{user}" if domain else user
            entry = f"{line}:0:{'0' * 32}:{nt_hash}:[U]:LCT-00000000"
            _, users = _accounts.get(key, ("", 0))
            _accounts[key] = (entry, users + 1)
        _write()


def unregister(user: str, host: str) -> None:
    with _lock:
        for domain in ("", ".", host):
            key = (domain.upper(), user.upper())
            entry, users = _accounts.get(key, ("", 0))
            if users <= 1:
                _accounts.pop(key, None)
            else:
                _accounts[key] = (entry, users - 1)
        _write()


def _nt_hash(password: str) -> str:
    from spnego._ntlm_raw.crypto import ntowfv1  # pyspnego's MD4: OpenSSL 3 may lack it

    return base64.b16encode(ntowfv1(password)).decode()


def _write() -> None:
    """Rewrite the in-memory file and point NTLM_USER_FILE at it (called with the lock held).

    A handshake on another thread may read the file meanwhile, so it is never empty or cut
    mid-line: every line has the same width (padded in the unused last field), the new lines are
    written over the old ones first and the file is shortened after, so a reader sees whole
    lines, new ones first, and at worst a stale account of an endpoint that just stopped.
    """
    global _descriptor
    if _descriptor is None:
        _descriptor = os.memfd_create("nestlab-ntlm-users", os.MFD_CLOEXEC)
    lines = [entry.encode() for entry, _ in _accounts.values()]
    text = b"".join(line.ljust(LINE_WIDTH - 1) + b"\n" for line in lines if len(line) < LINE_WIDTH)
    os.pwrite(_descriptor, text, 0)
    os.ftruncate(_descriptor, len(text))
    os.environ["NTLM_USER_FILE"] = f"/proc/{os.getpid()}/fd/{_descriptor}"
