"""PSRP's session key exchange (MS-PSRP 2.2.2.3 PUBLIC_KEY, 2.2.2.4 ENCRYPTED_SESSION_KEY, 3.2.5.4.4):
what lets a client send a SecureString the server can read.

The client sends its RSA public key as a CAPI PUBLICKEYBLOB (BLOBHEADER 06 02 0000 0000A400,
then RSAPUBKEY "RSA1", bit length, exponent, and the modulus little-endian). The server answers
with a fresh 256-bit AES key encrypted with it (RSAES-PKCS1-v1_5) in a CAPI SIMPLEBLOB: BLOBHEADER
01 02 0000 CALG_AES_256 (0x6610), ALG_ID CALG_RSA_KEYX (0xA400), then the ciphertext byte-reversed,
which is how pypsrp reads it (powershell.py `_process_encrypted_session_key`: strip 12 bytes,
reverse). A SecureString is then UTF-16-LE text, PKCS#7-padded, AES-CBC with a zero IV.
"""

from __future__ import annotations

import base64
import os
import re
import struct

from cryptography.hazmat.primitives import padding as symmetric_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from nestlab.simulator.endpoint import wsman

ENCRYPTED_SESSION_KEY = 0x00010006
PUBLIC_KEY_REQUEST = 0x00010007
CALG_AES_256 = 0x6610
CALG_RSA_KEYX = 0xA400


def public_key(blob: bytes) -> rsa.RSAPublicKey:
    """The RSA key of a PUBLICKEYBLOB; anything else is the PowerShell plugin's fault (a ValueError)."""
    if len(blob) < 20 or blob[0] != 0x06 or blob[8:12] != b"RSA1":
        raise wsman.plugin_error("PUBLIC_KEY is not a CAPI PUBLICKEYBLOB of an RSA key.")
    bits, exponent = struct.unpack("<II", blob[12:20])
    modulus = blob[20 : 20 + bits // 8]
    if len(modulus) != bits // 8 or not 1024 <= bits <= 16384 or exponent < 3 or exponent % 2 == 0:
        raise wsman.plugin_error(f"PUBLIC_KEY modulus of {len(modulus) * 8} bits or exponent {exponent} is not usable.")
    try:
        return rsa.RSAPublicNumbers(exponent, int.from_bytes(modulus, "little")).public_key()
    except ValueError:
        raise wsman.plugin_error("PUBLIC_KEY is not a valid RSA key.") from None


def encrypted_session_key(client_key: rsa.RSAPublicKey) -> tuple[bytes, str]:
    """(the new session key, the ENCRYPTED_SESSION_KEY message body)."""
    session_key = os.urandom(32)
    encrypted = client_key.encrypt(session_key, padding.PKCS1v15())
    blob = struct.pack("<BBHII", 0x01, 0x02, 0, CALG_AES_256, CALG_RSA_KEYX) + encrypted[::-1]
    body = f'<Obj RefId="0"><MS><S N="EncryptedSessionKey">{base64.b64encode(blob).decode()}</S></MS></Obj>'
    return session_key, body


def decrypt_secure_string(session_key: bytes, text: str) -> str:
    decryptor = Cipher(algorithms.AES(session_key), modes.CBC(b"\x00" * 16)).decryptor()
    padded = decryptor.update(base64.b64decode(text)) + decryptor.finalize()
    unpadder = symmetric_padding.PKCS7(128).unpadder()
    return (unpadder.update(padded) + unpadder.finalize()).decode("utf-16-le")


def encrypt_secure_string(session_key: bytes, text: str) -> str:
    padder = symmetric_padding.PKCS7(128).padder()
    padded = padder.update(text.encode("utf-16-le")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(session_key), modes.CBC(b"\x00" * 16)).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


_SECURE = re.compile(r"<SS(\s[^>]*)?>([^<]*)</SS>")


def reveal(body: str, session_key: bytes | None) -> str:
    """CLIXML with each <SS> of this session decrypted into an <S> (what the server's cmdlet is handed)."""
    if session_key is None or "<SS" not in body:
        return body

    def plain(match: re.Match[str]) -> str:
        text = decrypt_secure_string(session_key, match.group(2))
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return f"<S{match.group(1) or ''}>{escaped}</S>"

    return _SECURE.sub(plain, body)
