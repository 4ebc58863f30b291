"""JWT primitives the chapters share: keys, issuing, and the verifier the book recommends.

:func:`verify_token` is the one verifier readers are told to copy. It pins the algorithm,
requires ``exp``, ``iat`` and ``sub``, checks audience, issuer and the explicit ``typ`` header
(RFC 8725 §3.11), refuses headers that ask the verifier to fetch or trust a key named by the
token (``jku``, ``x5u``, ``jwk``, ``x5c``), and bounds the token's length before parsing it.
Every rejection is a subclass of :class:`jwt.PyJWTError`, so callers catch one type.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

__all__ = [
    "ALGORITHMS",
    "KeyPair",
    "TokenTooLargeError",
    "UntrustedHeaderError",
    "InvalidTokenTypeError",
    "b64url_encode",
    "b64url_decode",
    "demo_keys",
    "generate_keys",
    "issue_token",
    "verify_token",
    "read_unverified",
]

#: The algorithms the book compares; the JOSE name PyJWT expects for each.
ALGORITHMS = ("HS256", "RS256", "ES256", "EdDSA")
#: Tokens longer than this are refused before any parsing (a cookie cannot hold more anyway).
MAX_TOKEN_LENGTH = 8192
#: Header parameters that make a verifier fetch or trust a key chosen by the token's sender.
UNTRUSTED_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c"})
#: A fixed private scalar for the ES256 demo key (public by design: demo key, never reuse).
_DEMO_EC_SCALAR = int("de70" + "00" * 29 + "01", 16)
_DEMO_KEY_DIR = Path(__file__).resolve().parents[1] / "demo_keys"


class TokenTooLargeError(jwt.DecodeError):
    """The token is longer than the verifier is willing to parse."""


class UntrustedHeaderError(jwt.InvalidTokenError):
    """The header names its own key (``jku``, ``x5u``, ``jwk``, ``x5c``); the verifier never trusts that."""


class InvalidTokenTypeError(jwt.InvalidTokenError):
    """The ``typ`` header is not the one this verifier accepts (e.g. an ID token used as an access token)."""


@dataclass(frozen=True)
class KeyPair:
    """A signing key and the key that verifies it (the same bytes for HMAC)."""

    algorithm: str
    signing_key: Any
    verification_key: Any
    label: str = ""


def b64url_encode(data: bytes) -> str:
    """Base64url without padding, as JWS uses it (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of :func:`b64url_encode`; raises :class:`jwt.DecodeError` on anything else."""
    if (
        not isinstance(text, str)
        or any(c not in _B64URL_ALPHABET for c in text)
        or len(text) % 4 == 1
    ):
        raise jwt.DecodeError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise jwt.DecodeError("not base64url") from exc


_B64URL_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def generate_keys(algorithm: str, *, rsa_bits: int = 2048) -> KeyPair:
    """Fresh keys from ``secrets`` / ``cryptography``: what real code should do."""
    if algorithm == "HS256":
        secret = secrets.token_bytes(32)  # as long as the SHA-256 output (RFC 7518 §3.2)
        return KeyPair(algorithm, secret, secret, "fresh")
    if algorithm == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    elif algorithm == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(f"unsupported algorithm {algorithm!r}; choose from {ALGORITHMS}")
    return KeyPair(algorithm, private, private.public_key(), "fresh")


def demo_keys(algorithm: str, *, rsa_bits: int = 2048) -> KeyPair:
    """Fixed, public keys that make example tokens reproducible. Demo keys: never reuse."""
    if algorithm == "HS256":
        secret = b"demo key, never reuse: 32 bytes."
        return KeyPair(algorithm, secret, secret, "demo key, never reuse")
    if algorithm == "RS256":
        pem = (_DEMO_KEY_DIR / f"rsa{rsa_bits}-demo-never-reuse.pem").read_bytes()
        private = serialization.load_pem_private_key(pem, password=None)
    elif algorithm == "ES256":
        private = ec.derive_private_key(_DEMO_EC_SCALAR, ec.SECP256R1())
    elif algorithm == "EdDSA":
        private = ed25519.Ed25519PrivateKey.from_private_bytes(b"demo key, never reuse: ed25519..")
    else:
        raise ValueError(f"unsupported algorithm {algorithm!r}; choose from {ALGORITHMS}")
    return KeyPair(algorithm, private, private.public_key(), "demo key, never reuse")


def issue_token(
    claims: dict[str, Any],
    keys: KeyPair,
    *,
    now: int,
    lifetime: int,
    audience: str | None = None,
    issuer: str | None = None,
    typ: str = "at+jwt",
    kid: str | None = None,
) -> str:
    """Sign ``claims`` with ``iat = now`` and ``exp = now + lifetime`` (whole seconds, explicit clock)."""
    if lifetime <= 0:
        raise ValueError("lifetime must be positive")
    payload = dict(claims)
    payload.update(iat=int(now), exp=int(now) + int(lifetime))
    if audience is not None:
        payload["aud"] = audience
    if issuer is not None:
        payload["iss"] = issuer
    headers = {"typ": typ}
    if kid is not None:
        headers["kid"] = kid
    return jwt.encode(payload, keys.signing_key, algorithm=keys.algorithm, headers=headers)


def verify_token(
    token: str,
    keys: KeyPair,
    *,
    audience: str,
    issuer: str,
    typ: str = "at+jwt",
    leeway: int = 0,
    required: tuple[str, ...] = ("exp", "iat", "sub", "aud", "iss"),
) -> dict[str, Any]:
    """Verify a token the way the book recommends and return its claims.

    Raises a subclass of :class:`jwt.PyJWTError` for every kind of bad token: too large,
    malformed or non-canonical encoding, duplicate claim names, wrong algorithm, bad
    signature, expired, not yet valid, wrong audience or issuer, missing claims, untrusted
    key headers, wrong ``typ``; and :class:`jwt.InvalidKeyError` for a key too weak to trust.
    """
    _check_key_strength(keys)
    header = _parse_strictly(token)
    found = UNTRUSTED_HEADERS.intersection(header)
    if found:
        raise UntrustedHeaderError(f"header names its own key: {sorted(found)}")
    decoded = jwt.api_jwt.decode_complete(
        token,
        keys.verification_key,
        algorithms=[keys.algorithm],
        audience=audience,
        issuer=issuer,
        leeway=leeway,
        options={"require": list(required), "strict_aud": True},
    )
    if decoded["header"].get("typ") != typ:
        raise InvalidTokenTypeError(f"typ is {decoded['header'].get('typ')!r}, expected {typ!r}")
    return decoded["payload"]


def _parse_strictly(token: str) -> dict[str, Any]:
    """Refuse anything but three canonical base64url segments holding JSON objects without
    duplicate names (RFC 7519 §4 allows rejecting duplicates); return the header."""
    if not isinstance(token, str):
        raise jwt.DecodeError("a token must be a str")
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenTooLargeError(
            f"token is {len(token)} characters; the limit is {MAX_TOKEN_LENGTH}"
        )
    segments = token.split(".")
    if len(segments) != 3:
        raise jwt.DecodeError(f"a JWS has 3 segments, this has {len(segments)}")
    raw = [b64url_decode(segment) for segment in segments]
    if any(b64url_encode(data) != segment for data, segment in zip(raw, segments, strict=True)):
        raise jwt.DecodeError("non-canonical base64url")
    header, payload = (_json_object(data) for data in raw[:2])
    return header


def _json_object(data: bytes) -> dict[str, Any]:
    def no_duplicates(pairs):
        names = [name for name, _ in pairs]
        if len(names) != len(set(names)):
            raise jwt.DecodeError("duplicate member names")
        return dict(pairs)

    try:
        value = json.loads(data, object_pairs_hook=no_duplicates)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        if isinstance(exc, jwt.DecodeError):
            raise
        raise jwt.DecodeError(f"not JSON: {type(exc).__name__}") from exc
    if not isinstance(value, dict):
        raise jwt.DecodeError(
            f"a JOSE header and a claims set are JSON objects, not {type(value).__name__}"
        )
    return value


def _check_key_strength(keys: KeyPair) -> None:
    """Refuse keys too weak to rely on (RFC 7518 §3.2: an HMAC key at least as long as the hash)."""
    key = keys.verification_key
    if keys.algorithm.startswith("HS"):
        if not isinstance(key, bytes | str) or len(key) < 32:
            raise jwt.InvalidKeyError("an HS256 key needs at least 32 bytes")
    elif keys.algorithm.startswith(("RS", "PS")) and getattr(key, "key_size", 2048) < 2048:
        raise jwt.InvalidKeyError("an RSA key needs at least 2048 bits")


def read_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload of a token *without checking anything*: anyone can do this."""
    header_b64, payload_b64, _signature = token.split(".")
    return json.loads(b64url_decode(header_b64)), json.loads(b64url_decode(payload_b64))
