"""WinRM message encryption over http: a SOAP message sealed with the Negotiate session's keys.

The framing is MS-WSMV 2.2.9.1 "Encrypted Message Types" as Windows sends it (and pypsrp's
and pywinrm's encryption modules read and write it): the HTTP Content-Type is
`multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"`
and the body is two MIME parts,

    --Encrypted Boundary\\r\\n
    \\tContent-Type: application/HTTP-SPNEGO-session-encrypted\\r\\n
    \\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=N\\r\\n
    --Encrypted Boundary\\r\\n
    \\tContent-Type: application/octet-stream\\r\\n
    <signature length, u32 little-endian><signature><sealed message>--Encrypted Boundary--\\r\\n

where N is the plaintext length. Sealing is pyspnego's `wrap_winrm`/`unwrap_winrm` (for NTLM a
16-byte signature and RC4 over the message, no padding).
"""

from __future__ import annotations

import re
import struct
from typing import Any

PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = "Encrypted Boundary"
CONTENT_TYPE = f'multipart/encrypted;protocol="{PROTOCOL}";boundary="{BOUNDARY}"'
_LENGTH = re.compile(rb"OriginalContent:[^\r\n]*?Length=([0-9]{1,9})")
_OCTETS = b"\tContent-Type: application/octet-stream\r\n"


class BadEncryptedMessage(ValueError):
    """The body is not a sealed message this connection's session can open."""


def is_encrypted(content_type: str | None) -> bool:
    return (content_type or "").lower().startswith("multipart/encrypted")


def unwrap(body: bytes, session: Any) -> bytes:
    """The SOAP message inside an encrypted body, its length and signature checked."""
    head, marker, rest = body.partition(_OCTETS)
    length = _LENGTH.search(head)
    if not marker or length is None or f"--{BOUNDARY}".encode() not in head:
        raise BadEncryptedMessage("not a multipart/encrypted WinRM message")
    closing = f"--{BOUNDARY}--\r\n".encode()
    if not rest.endswith(closing) or len(rest) < 4 + len(closing):
        raise BadEncryptedMessage("the encrypted part has no closing boundary")
    payload = rest[: -len(closing)]
    (signature_length,) = struct.unpack("<I", payload[:4])
    if signature_length > len(payload) - 4:
        raise BadEncryptedMessage("the signature length is past the end of the message")
    signature, sealed = payload[4 : 4 + signature_length], payload[4 + signature_length :]
    try:
        message = session.unwrap_winrm(signature, sealed)
    except Exception:  # pyspnego: a wrong signature is its BadMICError; anything else is as bad
        raise BadEncryptedMessage("the message signature does not verify") from None
    if len(message) != int(length.group(1)):
        raise BadEncryptedMessage("the decrypted length differs from OriginalContent's Length")
    return message


def wrap(message: bytes, session: Any) -> bytes:
    """`message` sealed for the client, framed as Windows frames it."""
    sealed = session.wrap_winrm(message)
    head = (
        f"--{BOUNDARY}\r\n"
        f"\tContent-Type: {PROTOCOL}\r\n"
        f"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={len(message) + sealed.padding_length}\r\n"
        f"--{BOUNDARY}\r\n"
    ).encode()
    return head + _OCTETS + struct.pack("<I", len(sealed.header)) + sealed.header + sealed.data + f"--{BOUNDARY}--\r\n".encode()
