"""The exceptions that mean "your input is wrong" or "this host could not be asked".

`BadInput` is the root: the CLI prints any of them as one line (or one line per problem) and
exits 2. Below it, `SessionError` is what a Session raises about one host, so a collector can
catch it per host and go on with the others; its kinds say *why*, because a missing password or
refused credentials are not an unreachable host, and the person fixes each differently:

    BadInput
    └── SessionError (.host)
        ├── HostUnreachable   refused, timed out, dropped, or answered garbage
        └── AuthFailed        no credential to offer, or the host refused the one offered
"""


class BadInput(Exception):
    """Bad input from a person or a peer (lab file, argument, text import, network answer).

    `str()` is the whole message: one line per problem, each saying what and where.
    """

    def __init__(self, message: str, *, lines: list[str] | None = None) -> None:
        self.lines = lines or [message]
        super().__init__("\n".join(self.lines))


class SessionError(BadInput):
    """One host of a session could not be asked; `host` names it, `str()` says why in one line."""

    kind = "unreachable"  # how a collection gap names it (diagnosis.findings.CollectionGap)

    def __init__(self, host: str, message: str) -> None:
        self.host = host
        super().__init__(message)


class HostUnreachable(SessionError):
    """The host refused, timed out, dropped the connection or answered something unreadable."""


class AuthFailed(SessionError):
    """No credential for the host (no password set, none stored, no terminal to ask), or the host
    rejected the one offered. The host itself may be fine."""

    kind = "auth-failed"
