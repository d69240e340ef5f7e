"""A self-signed certificate for `nestlab serve --tls`, made on the fly with `cryptography`.

The certificate names `localhost` and the bind address, so a client that is given the file as
its CA bundle (pypsrp `cert_validation=PATH`) validates it fully; otherwise it must opt out.

`serving_certificate` leaves only the public certificate on disk: the private key is written to
a 0600 file in a 0700 directory only for as long as `SSLContext.load_cert_chain` (which reads
files, not bytes) takes, then removed, so no stop of the server — SIGTERM, SIGKILL, a crash —
can leave it behind.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class CertificateFiles:
    cert: Path
    key: Path


def self_signed(directory: Path, host: str = "127.0.0.1") -> CertificateFiles:
    """Write cert.pem and key.pem (0600) for `host` and localhost into `directory`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nestlab-serve")])
    alt_names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        alt_names.append(x509.DNSName(host))
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = CertificateFiles(directory / "cert.pem", directory / "key.pem")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(files.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key_pem)
    return files


def server_context(files: CertificateFiles) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(files.cert), str(files.key))
    return context


def temporary_certificate(host: str = "127.0.0.1") -> tuple[CertificateFiles, tempfile.TemporaryDirectory]:
    """A certificate in a private temporary directory; the caller keeps the directory alive."""
    holder = tempfile.TemporaryDirectory(prefix="nestlab-tls-")
    return self_signed(Path(holder.name), host), holder


def serving_certificate(host: str = "127.0.0.1") -> tuple[ssl.SSLContext, tempfile.TemporaryDirectory]:
    """A server context for `host` and the private directory holding its certificate (no key)."""
    holder = tempfile.TemporaryDirectory(prefix="nestlab-tls-")
    try:
        files = self_signed(Path(holder.name), host)
        try:
            context = server_context(files)
        finally:
            files.key.unlink(missing_ok=True)
    except BaseException:
        holder.cleanup()
        raise
    return context, holder
