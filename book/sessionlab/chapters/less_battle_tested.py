"""A hand-rolled JWT verifier that is VULNERABLE ON PURPOSE. Never use it; never copy it.

!!! WARNING: every function in this module is deliberately broken. !!!

It exists only so that the chapter "Implementations are less battle-tested" can run real
attacks against the mistakes real JWT libraries have shipped (that chapter cites the CVEs), and
show the book's verifier, :func:`sessionlab.tokens.verify_token`, refusing the same tokens. Code
that verifies tokens uses ``verify_token``, not this.

Each mistake is marked ``FLAW:`` where it happens. The verifier follows the token's own
instructions, as the JOSE header invites it to (RFC 7515 §4.1): it lets ``alg`` choose the
algorithm (``none`` included, in any spelling), uses a public key as an HMAC secret, trusts a key
embedded in the header (``jwk``) or fetched from a URL the header names (``jku``, ``x5u``), looks
``kid`` up in a file path or an SQL query built from the raw string, ignores ``crit``, and checks
no claim at all (``exp``, ``nbf``, ``aud``, ``iss``, ``typ``).

It has one safety belt that real vulnerable code lacks: it fetches only ``http://127.0.0.1``
URLs, so the book never reaches the internet.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

from sessionlab.recommended.tokens import b64url_decode

__all__ = [
    "NaiveVerificationError",
    "fetch_loopback",
    "file_key_lookup",
    "naive_verify",
    "sql_key_lookup",
]

#: Fetches made by :func:`fetch_loopback`, for the chapter to count (URL per fetch).
FETCH_LOG: list[str] = []


class NaiveVerificationError(Exception):
    """The naive verifier refused a token (it refuses very little)."""


def fetch_loopback(url: str) -> bytes:
    """GET ``url``; the one safety belt: only plain http on 127.0.0.1 is ever fetched."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or parts.hostname != "127.0.0.1":
        raise NaiveVerificationError(
            f"refusing to fetch {url!r}: the book only fetches from 127.0.0.1"
        )
    FETCH_LOG.append(url)
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only, checked above)
        return response.read()


def file_key_lookup(directory: str | Path) -> Callable[[str], bytes]:
    """Key for a ``kid`` read from ``directory / kid``. FLAW: ``kid`` can climb out (``../``)."""
    base = str(directory)

    def lookup(kid: str) -> bytes:
        # FLAW: the attacker's string becomes a path; "../../../dev/null" reads an empty key.
        return Path(base, kid).read_bytes()

    return lookup


def sql_key_lookup(database: str | Path) -> Callable[[str], bytes]:
    """Key for a ``kid`` from table ``keys(kid, key)``. FLAW: the query is built by string formatting."""

    def lookup(kid: str) -> bytes:
        with sqlite3.connect(database) as db:
            # FLAW: SQL injection; kid = "x' UNION SELECT 'chosen' --" selects a key of the attacker's choice.
            row = db.execute(f"SELECT key FROM keys WHERE kid = '{kid}'").fetchone()  # noqa: S608
        if row is None:
            raise NaiveVerificationError(f"unknown kid {kid!r}")
        return row[0].encode() if isinstance(row[0], str) else row[0]

    return lookup


def naive_verify(
    token: str,
    *,
    default_key: Any,
    key_for_kid: Callable[[str], bytes] | None = None,
    fetch: Callable[[str], bytes] = fetch_loopback,
) -> dict[str, Any]:
    """Return the claims of ``token`` if its signature checks out by the token's own rules. BROKEN."""
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = json.loads(b64url_decode(header_b64))
    claims = json.loads(b64url_decode(payload_b64))
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    signature = b64url_decode(signature_b64)

    # FLAW: the token chooses the algorithm, and "none" (any spelling) means "do not check".
    alg = str(header.get("alg", ""))
    if alg.lower() == "none":
        return claims

    # FLAW: the token chooses the key, too.
    key = _key_named_by_header(header, default_key, key_for_kid, fetch)

    if alg == "HS256":
        # FLAW: whatever the key is (a public key included) becomes the HMAC secret.
        expected = hmac.new(_as_secret(key), signing_input, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, signature):
            raise NaiveVerificationError("bad HMAC")
    elif alg == "RS256":
        try:
            _as_rsa_public_key(key).verify(
                signature, signing_input, padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature as exc:
            raise NaiveVerificationError("bad RSA signature") from exc
    else:
        raise NaiveVerificationError(f"unsupported alg {alg!r}")

    # FLAW: no exp, nbf, aud, iss or typ check, and "crit" is ignored.
    return claims


def _key_named_by_header(header, default_key, key_for_kid, fetch):
    if "jwk" in header:
        # FLAW: a key the token carries verifies the token (CVE-2018-0114 was this).
        return RSAAlgorithm.from_jwk(json.dumps(header["jwk"]))
    if "jku" in header:
        # FLAW: a key set fetched from a URL chosen by the token's sender.
        key_set = json.loads(fetch(header["jku"]))
        jwk = next(
            (k for k in key_set["keys"] if k.get("kid") == header.get("kid")), key_set["keys"][0]
        )
        return RSAAlgorithm.from_jwk(json.dumps(jwk))
    if "x5u" in header:
        # FLAW: a certificate fetched from the sender's URL, with no chain or name validation.
        return x509.load_pem_x509_certificate(fetch(header["x5u"])).public_key()
    if "kid" in header and key_for_kid is not None:
        return key_for_kid(str(header["kid"]))
    return default_key


def _as_secret(key) -> bytes:
    if isinstance(key, bytes):
        return key
    if isinstance(key, str):
        return key.encode()
    # FLAW: a public key object turns into its PEM text, which the attacker also has.
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _as_rsa_public_key(key) -> rsa.RSAPublicKey:
    if isinstance(key, bytes | str):
        key = serialization.load_pem_public_key(key.encode() if isinstance(key, str) else key)
    if not isinstance(key, rsa.RSAPublicKey):
        raise NaiveVerificationError("not an RSA public key")
    return key
