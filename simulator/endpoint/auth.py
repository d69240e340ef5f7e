"""Who may talk to the served endpoint: HTTP Basic per request, or Negotiate/NTLM per connection.

WinRM answers 401 with one `WWW-Authenticate` challenge per scheme it offers (here `Negotiate`
and `Basic realm="WSMAN"`); pypsrp turns the 401 into AuthenticationError. Basic is checked on
every request, in constant time. Negotiate is Windows' default over http: a handshake of 401s
carrying tokens, after which the *connection* is authenticated (later requests carry no
Authorization header) and its session keys seal the messages (encryption.py). pyspnego is
the acceptor; it wraps raw NTLM (pywinrm, requests-ntlm) as well as SPNEGO (pypsrp). Kerberos
and CredSSP are not offered: a simulated host has no domain.

Nothing here ever logs or raises with a credential in it.
"""

from __future__ import annotations

import base64
import hmac
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from nestlab.simulator.endpoint import ntlm_store

BASIC_CHALLENGE = 'Basic realm="WSMAN"'
CHALLENGE = BASIC_CHALLENGE  # kept for callers that only speak Basic
NEGOTIATE_SCHEMES = ("negotiate", "ntlm")
FAILURE_FLOOR = 0.005  # seconds a refused Negotiate token always takes (see ConnectionLogin._negotiate)


@dataclass(frozen=True)
class Credentials:
    """The one account the endpoint accepts. `repr` never shows the password."""

    user: str
    password: str = field(repr=False)

    def accepts(self, authorization: str | None) -> bool:
        """Whether an `Authorization` header carries this user and password (Basic).

        Anything malformed (not base64, not ASCII, not UTF-8) is simply a wrong credential. The
        user and the password are both compared, always, so a wrong user costs the same time as
        a wrong password.
        """
        if not authorization or not authorization[:6].lower() == "basic ":
            return False
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except ValueError:  # binascii.Error, UnicodeDecodeError and non-ASCII text are all ValueErrors
            return False
        user, _, password = decoded.partition(":")
        user_ok = hmac.compare_digest(user.lower().encode(), self.user.lower().encode())
        password_ok = hmac.compare_digest(password.encode(), self.password.encode())
        return user_ok and password_ok


class Outcome(Enum):
    ACCEPTED = "accepted"  # go on with the request
    CHALLENGE = "challenge"  # no credential offered: 401 with the schemes (not a failure)
    CONTINUE = "continue"  # a Negotiate handshake under way: 401 with the next token (not a failure)
    DENIED = "denied"  # a wrong or malformed credential: 401, counted against the client


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    scheme: str = ""  # the scheme name to answer a token under ("Negotiate" or "NTLM")
    token: bytes | None = None  # the acceptor's next token, for WWW-Authenticate


class ConnectionLogin:
    """What one HTTP connection has proved: nothing yet, a handshake under way, or a session.

    A session is the completed Negotiate context: it stays for the connection (as WinRM's does)
    and seals and unseals that connection's encrypted messages.
    """

    def __init__(self, credentials: Credentials, host: str) -> None:
        self.credentials = credentials
        self.host = host
        self.session: Any = None  # a completed spnego context
        self._pending: Any = None

    def check(self, authorization: str | None) -> Verdict:
        if authorization is None:
            return Verdict(Outcome.ACCEPTED if self.session is not None else Outcome.CHALLENGE)
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "basic":
            return Verdict(Outcome.ACCEPTED if self.credentials.accepts(authorization) else Outcome.DENIED)
        if scheme.lower() in NEGOTIATE_SCHEMES and negotiate_offered():
            return self._negotiate("NTLM" if scheme.lower() == "ntlm" else "Negotiate", value)
        return Verdict(Outcome.DENIED)

    def _negotiate(self, scheme: str, value: str) -> Verdict:
        import spnego

        try:
            token = base64.b64decode(value.strip(), validate=True)
        except ValueError:
            token = b""
        if not token:
            self._pending = None
            return Verdict(Outcome.DENIED)
        if self._pending is None or _is_first_token(token):
            self._pending = spnego.server(hostname=self.host, service="host", protocol="negotiate")
        began = time.perf_counter()
        try:
            reply = self._pending.step(token)
        except Exception:  # pyspnego raises its own errors, struct errors, ValueErrors … on a bad token
            self._pending = None
            # pyspnego gives up on an unknown user ~0.1 ms sooner than it rejects a wrong password;
            # every refused token takes at least FAILURE_FLOOR, so neither shows in the answer's time
            time.sleep(max(0.0, FAILURE_FLOOR - (time.perf_counter() - began)))
            return Verdict(Outcome.DENIED)
        if not self._pending.complete:
            return Verdict(Outcome.CONTINUE, scheme, reply)
        context, self._pending = self._pending, None
        principal = str(context.client_principal or "")
        if principal.rpartition("\\")[2].lower() != self.credentials.user.lower():
            return Verdict(Outcome.DENIED)  # an account of another endpoint of this process
        self.session = context
        return Verdict(Outcome.ACCEPTED, scheme, reply)


def negotiate_offered() -> bool:
    """Negotiate needs the in-memory NTLM user file (ntlm_store); without it only Basic is offered."""
    return ntlm_store.available()


def challenges() -> list[str]:
    """The `WWW-Authenticate` values of a 401, Windows' order: Negotiate, then Basic."""
    return (["Negotiate"] if negotiate_offered() else []) + [BASIC_CHALLENGE]


def _is_first_token(token: bytes) -> bool:
    """An NTLM NEGOTIATE message, or a SPNEGO NegTokenInit (an ASN.1 [APPLICATION 0])."""
    return token.startswith(b"\x60") or (token.startswith(b"NTLMSSP\x00") and token[8:12] == b"\x01\x00\x00\x00")
