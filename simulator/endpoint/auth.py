"""HTTP Basic authentication for the served endpoint: a wrong user or password is HTTP 401.

WinRM answers 401 with a `WWW-Authenticate` challenge for each scheme it offers; pypsrp turns the
401 into AuthenticationError. Only Basic is offered (loopback tests and containers), so a client
must use `auth='basic'` (with `encryption='never'` over http). Comparison is constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass, field

CHALLENGE = 'Basic realm="WSMAN"'


@dataclass(frozen=True)
class Credentials:
    """The one account the endpoint accepts. `repr` never shows the password."""

    user: str
    password: str = field(repr=False)

    def accepts(self, authorization: str | None) -> bool:
        """Whether an `Authorization` header carries this user and password (Basic)."""
        if not authorization or not authorization.lower().startswith("basic "):
            return False
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, _, password = decoded.partition(":")
        user_ok = hmac.compare_digest(user.lower().encode(), self.user.lower().encode())
        password_ok = hmac.compare_digest(password.encode(), self.password.encode())
        return user_ok and password_ok
