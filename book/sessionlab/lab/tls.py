"""Throwaway TLS for loopback demonstrations: a self-signed certificate and a server context."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sessionlab.lab.servers import LOOPBACK

__all__ = ["self_signed_certificate", "server_tls_context"]


def self_signed_certificate(*, hostname: str = LOOPBACK, days: int = 1) -> tuple[bytes, bytes]:
    """A fresh P-256 key and a self-signed certificate for ``hostname`` (PEM bytes each).

    For a loopback demonstration only: clients trust it explicitly (``cadata=``), never by
    switching certificate checks off.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    try:
        alt_names = [x509.IPAddress(ipaddress.ip_address(hostname))]
    except ValueError:
        alt_names = [x509.DNSName(hostname)]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def server_tls_context(certificate_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """A TLS server context for :func:`wiretap` holding ``certificate_pem`` and ``key_pem``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # load_cert_chain reads files only; the key lives on disk for the blink of this call.
    with tempfile.TemporaryDirectory(prefix="sessionlab-tls-") as folder:
        cert_path, key_path = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_path.write_bytes(certificate_pem)
        key_path.write_bytes(key_pem)
        key_path.chmod(0o600)
        context.load_cert_chain(cert_path, key_path)
    return context
