"""JWT primitives the chapters share: keys, issuing, and the verifier the book recommends.

:func:`verify_token` is the one verifier readers are told to copy. It pins the algorithm,
requires ``exp``, ``iat`` and ``sub`` (and, for an ``at+jwt`` access token, RFC 9068's
``client_id`` and ``jti``), checks audience, issuer and the explicit ``typ`` header (RFC 8725
§3.11), refuses headers that ask the verifier to fetch or trust a key named by the token
(``jku``, ``x5u``, ``jwk``, ``x5c``), and bounds the token's length before parsing it.
Every rejection is a subclass of :class:`jwt.PyJWTError`, so callers catch one type.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

__all__ = [
    "ALGORITHMS",
    "DEMO_JTI",
    "KeyPair",
    "MAX_LIFETIME",
    "RFC9068_CLAIMS",
    "TokenLifetimeError",
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
#: The longest lifetime (``exp - iat``) ``verify_token`` accepts by default: one day. The book's
#: access tokens live minutes; a token that claims to live longer was minted by mistake or by
#: someone who should not hold the key.
MAX_LIFETIME = 86_400
#: The claims RFC 9068 §2.2 requires of an ``at+jwt`` access token (``exp`` and ``iat`` always
#: come from :func:`issue_token`'s clock).
RFC9068_CLAIMS = ("iss", "aud", "sub", "client_id", "jti")
#: A fixed ``jti`` as long as :func:`issue_token`'s random ones, for examples that print tokens
#: and must print the same ones on every run (with :func:`demo_keys`). Demo value, never reuse.
DEMO_JTI = "demo-jti-never-reuse22"
#: Header parameters that make a verifier fetch or trust a key chosen by the token's sender.
UNTRUSTED_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c"})


class TokenTooLargeError(jwt.DecodeError):
    """The token is longer than the verifier is willing to parse."""


class UntrustedHeaderError(jwt.InvalidTokenError):
    """The header names its own key (``jku``, ``x5u``, ``jwk``, ``x5c``); the verifier never trusts that."""


class TokenLifetimeError(jwt.InvalidTokenError):
    """The token claims a lifetime (``exp - iat``) longer than the verifier accepts."""


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
    """Fixed, public keys that make example tokens reproducible. Demo keys: never reuse.

    The keys live in :mod:`sessionlab.lab.demo_keys`, imported only here, so a process that
    only verifies tokens never loads a private key.
    """
    from sessionlab.lab.demo_keys import demo_private_key

    private = demo_private_key(algorithm, rsa_bits=rsa_bits)
    if private is None:
        raise ValueError(f"unsupported algorithm {algorithm!r}; choose from {ALGORITHMS}")
    if algorithm == "HS256":
        return KeyPair(algorithm, private, private, "demo key, never reuse")
    return KeyPair(algorithm, private, private.public_key(), "demo key, never reuse")


def issue_token(
    claims: dict[str, Any],
    keys: KeyPair,
    *,
    now: int,
    lifetime: int,
    audience: str | list[str] | None = None,
    issuer: str | None = None,
    typ: str = "at+jwt",
    kid: str | None = None,
    client_id: str | None = None,
    jti: str | None = None,
) -> str:
    """Sign ``claims`` with ``iat = now`` and ``exp = now + lifetime`` (whole seconds, explicit clock).

    The default type, ``at+jwt``, is an OAuth access token (RFC 9068), and such a token is
    always conformant: it carries ``iss``, ``aud``, ``sub``, ``client_id`` and a ``jti``
    (RFC 9068 §2.2), the ``jti`` 128 random bits from :mod:`secrets` unless ``claims`` or
    ``jti`` gives one (pass it only to make an example reproducible). An ``at+jwt`` token
    without ``issuer``, ``audience``, a ``sub`` claim or ``client_id`` is refused with
    :class:`ValueError` before anything is signed. A token that is not an access token gets a
    ``typ`` of its own (RFC 8725 §3.11), and then only ``iat`` and ``exp`` are added.
    """
    if lifetime <= 0:
        raise ValueError("lifetime must be positive")
    payload = dict(claims)
    payload.update(iat=int(now), exp=int(now) + int(lifetime))
    if audience is not None:
        payload["aud"] = audience
    if issuer is not None:
        payload["iss"] = issuer
    if client_id is not None:
        payload["client_id"] = client_id
    if jti is not None:
        payload["jti"] = jti
    if _media_type(typ) == "application/at+jwt":
        payload.setdefault("jti", secrets.token_urlsafe(16))
        missing = [name for name in RFC9068_CLAIMS if payload.get(name) is None]
        if missing:
            raise ValueError(
                f"an at+jwt access token needs {', '.join(missing)} (RFC 9068 §2.2); "
                "give them, or a typ of its own for a token that is not an access token"
            )
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
    require_rfc9068: bool = True,
    max_lifetime: int | None = MAX_LIFETIME,
    audience_in_array: bool = False,
    reject_future_iat: bool = False,
) -> dict[str, Any]:
    """Verify a token the way the book recommends and return its claims.

    The contract, checked in this order; every refusal is a subclass of :class:`jwt.PyJWTError`:

    1. The key (before the token is looked at): ``keys.algorithm`` is one PyJWT implements and
       not ``none``; an HMAC secret is ``bytes``, ``bytearray``, ``memoryview`` or ``str``
       (counted in UTF-8 bytes) of at least the hash's length (HS256 32, HS384 48, HS512 64
       bytes; RFC 7518 §3.2) and not a PEM, SSH, DER or JWK text; an RSA key, in whatever form,
       has at least 2048 bits; an EC key is on its algorithm's curve. Otherwise
       :class:`jwt.InvalidKeyError` (:class:`jwt.InvalidAlgorithmError` for the algorithm).
    2. The encoding: a ``str`` of at most :data:`MAX_TOKEN_LENGTH` characters
       (:class:`TokenTooLargeError`), three segments of canonical, unpadded base64url, each
       of the first two the UTF-8 encoding (strictly: no BOM, no UTF-16 or UTF-32, RFC 7515
       §5.2, RFC 7519 §7.2) of a JSON object without duplicate member names or the non-JSON
       constants ``NaN`` and ``Infinity``. Otherwise :class:`jwt.DecodeError`.
    3. The header: no ``jku``, ``x5u``, ``jwk`` or ``x5c`` (:class:`UntrustedHeaderError`);
       ``kid``, if present, a string; no ``crit`` (this verifier understands no extension) and
       no ``b64`` (:class:`jwt.InvalidTokenError`); ``alg`` exactly ``keys.algorithm``
       (:class:`jwt.InvalidAlgorithmError`).
    4. The signature (:class:`jwt.InvalidSignatureError`).
    5. The claims: every name in ``required`` present and not null
       (:class:`jwt.MissingRequiredClaimError`); ``exp``, ``nbf`` and ``iat`` JSON numbers
       (RFC 7519 NumericDate: not strings, not booleans, not ``null`` where present;
       :class:`jwt.DecodeError` for ``exp`` and ``nbf``, :class:`jwt.exceptions.InvalidIssuedAtError`
       for ``iat``); ``nbf`` not in the future and ``exp`` in the future, within ``leeway``
       seconds (:class:`jwt.ImmatureSignatureError`, :class:`jwt.ExpiredSignatureError`); a
       future ``iat`` is refused the same way only with ``reject_future_iat=True`` (RFC 7519
       does not ask for it, and an issuer whose clock runs ahead would otherwise be refused
       outright at ``leeway=0``); ``exp - iat`` at most ``max_lifetime`` seconds, so a token
       minted to live for a year by a leaked or misused key is refused
       (:class:`TokenLifetimeError`; ``None`` switches the check off); ``iss`` the string
       ``issuer`` (:class:`jwt.InvalidIssuerError`); ``aud`` the single string ``audience``
       (:class:`jwt.InvalidAudienceError`), or, with ``audience_in_array=True`` (RFC 7519
       §4.1.3's semantics), a non-empty array of strings that contains it; ``sub`` and ``jti``
       strings.
    6. The type: ``typ`` compared as a media type (RFC 7515 §4.1.9: case-insensitive, an
       ``application/`` prefix optional, so ``at+jwt``, ``AT+JWT`` and ``application/at+jwt``
       are one type, RFC 9068 §4), else :class:`InvalidTokenTypeError`.
    7. A token whose type is ``at+jwt`` also carries the string claims ``client_id`` and
       ``jti`` (RFC 9068 §2.2; :class:`jwt.MissingRequiredClaimError`), as every token
       :func:`issue_token` signs with that type does. ``require_rfc9068=False`` accepts one
       without them (an access token from an issuer that predates RFC 9068).

    The token is parsed once; PyJWT's algorithm objects check the signature.
    """
    algorithm, prepared_key = _prepared_key(keys)
    header, payload, signing_input, signature = _parse_strictly(token)
    _check_header(header, algorithm)
    if not algorithm.verify(signing_input, prepared_key, signature):
        raise jwt.InvalidSignatureError("Signature verification failed")
    _check_claims(
        payload,
        audience=audience,
        issuer=issuer,
        leeway=leeway,
        required=required,
        max_lifetime=max_lifetime,
        audience_in_array=audience_in_array,
        reject_future_iat=reject_future_iat,
    )
    found_typ = header.get("typ")
    if not isinstance(found_typ, str) or _media_type(found_typ) != _media_type(typ):
        raise InvalidTokenTypeError(f"typ is {found_typ!r}, expected {typ!r}")
    if require_rfc9068 and _media_type(typ) == "application/at+jwt":
        for claim in ("client_id", "jti"):
            if payload.get(claim) is None:
                raise jwt.MissingRequiredClaimError(claim)
        if not isinstance(payload["client_id"], str):
            raise jwt.InvalidTokenError("client_id must be a string")
    return payload


def _media_type(value: str) -> str:
    """RFC 7515 §4.1.9: compare case-insensitively, with ``application/`` implied when absent."""
    value = value.lower()
    return value if "/" in value else "application/" + value


_ALGORITHM_OBJECTS = {
    name: algorithm
    for name, algorithm in jwt.algorithms.get_default_algorithms().items()
    if name != "none"
}
#: RFC 7518 §3.2: an HMAC key at least as long as the hash output.
HMAC_MIN_KEY_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
MIN_RSA_BITS = 2048
_PREPARED: dict[tuple[str, Any], Any] = {}


def _prepared_key(keys: KeyPair) -> tuple[Any, Any]:
    """The PyJWT algorithm object and the key it verifies with, after the strength floor.

    Prepared keys are cached (PyJWT's HMAC preparation tries to parse the secret as PEM, DER
    and JSON, which costs more than the HMAC itself)."""
    algorithm = _ALGORITHM_OBJECTS.get(keys.algorithm)
    if algorithm is None:
        raise jwt.InvalidAlgorithmError(f"unsupported algorithm {keys.algorithm!r}")
    key = keys.verification_key
    if isinstance(key, bytearray | memoryview):
        key = bytes(key)
    try:
        return algorithm, _PREPARED[keys.algorithm, key]
    except (KeyError, TypeError):
        pass
    prepared = _check_key_strength(keys.algorithm, algorithm, key)
    try:
        if len(_PREPARED) >= 64:
            _PREPARED.clear()
        _PREPARED[keys.algorithm, key] = prepared
    except TypeError:  # an unhashable key object: prepared again on every call
        pass
    return algorithm, prepared


def _check_key_strength(name: str, algorithm: Any, key: Any) -> Any:
    """Refuse keys too weak to rely on, whatever form they come in; return the prepared key."""
    if name in HMAC_MIN_KEY_BYTES:
        if isinstance(key, str):
            key = key.encode("utf-8")
        if not isinstance(key, bytes):
            raise jwt.InvalidKeyError(f"an {name} key is bytes or str, not {type(key).__name__}")
        if len(key) < HMAC_MIN_KEY_BYTES[name]:
            raise jwt.InvalidKeyError(
                f"an {name} key needs at least {HMAC_MIN_KEY_BYTES[name]} bytes"
            )
    try:
        prepared = algorithm.prepare_key(key)  # refuses PEM/SSH/DER/JWK text as an HMAC secret
    except jwt.InvalidKeyError:
        raise
    except (TypeError, ValueError) as exc:
        raise jwt.InvalidKeyError(f"not a usable {name} key: {type(exc).__name__}") from exc
    if name.startswith(("RS", "PS")) and prepared.key_size < MIN_RSA_BITS:
        raise jwt.InvalidKeyError(f"an RSA key needs at least {MIN_RSA_BITS} bits")
    return prepared


def _parse_strictly(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Refuse anything but three canonical base64url segments, the first two UTF-8 JSON objects
    without duplicate names (RFC 7519 §4 allows rejecting duplicates); parse each once."""
    if not isinstance(token, str):
        raise jwt.DecodeError("a token must be a str")
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenTooLargeError(
            f"token is {len(token)} characters; the limit is {MAX_TOKEN_LENGTH}"
        )
    segments = token.split(".")
    if len(segments) != 3:
        raise jwt.DecodeError(f"a JWS has 3 segments, this has {len(segments)}")
    header_raw, payload_raw, signature = (_canonical_b64url(segment) for segment in segments)
    header = _json_object(header_raw)
    payload = _json_object(payload_raw)
    signing_input = token[: len(segments[0]) + 1 + len(segments[1])].encode("ascii")
    return header, payload, signing_input, signature


_B64URL_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


def _canonical_b64url(segment: str) -> bytes:
    """Decode one segment, refusing padding, other alphabets and non-zero trailing bits."""
    if len(segment) % 4 == 1 or not _B64URL_SEGMENT.fullmatch(segment):
        raise jwt.DecodeError("not base64url")
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if b64url_encode(data) != segment:
        raise jwt.DecodeError("non-canonical base64url")
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise jwt.DecodeError("duplicate member names")
    return result


def _no_constants(name: str) -> None:
    raise jwt.DecodeError(f"{name} is not JSON (RFC 8259)")


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        # Decode strictly first: json.loads(bytes) would accept UTF-16, UTF-32 and a BOM.
        value = json.loads(
            data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constants
        )
    except jwt.DecodeError:
        raise
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise jwt.DecodeError(f"not UTF-8 JSON: {type(exc).__name__}") from exc
    if not isinstance(value, dict):
        raise jwt.DecodeError(
            f"a JOSE header and a claims set are JSON objects, not {type(value).__name__}"
        )
    return value


def _check_header(header: dict[str, Any], algorithm: Any) -> None:
    found = UNTRUSTED_HEADERS.intersection(header)
    if found:
        raise UntrustedHeaderError(f"header names its own key: {sorted(found)}")
    if "kid" in header and not isinstance(header["kid"], str):
        raise jwt.InvalidTokenError("Key ID header parameter must be a string")
    if "crit" in header or "b64" in header:
        raise jwt.InvalidTokenError("this verifier understands no critical extension")
    alg = header.get("alg")
    if not isinstance(alg, str) or _ALGORITHM_OBJECTS.get(alg) is not algorithm:
        raise jwt.InvalidAlgorithmError("The specified alg value is not allowed")


def _numeric_date(payload: dict[str, Any], claim: str, error: type[Exception]) -> float | None:
    if claim not in payload:
        return None
    value = payload[claim]
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        raise error(
            f"{claim} must be a JSON number (RFC 7519 NumericDate), not {type(value).__name__}"
        )
    return value


def _check_claims(
    payload: dict[str, Any],
    *,
    audience: str,
    issuer: str,
    leeway: float,
    required: tuple[str, ...],
    max_lifetime: float | None = MAX_LIFETIME,
    audience_in_array: bool = False,
    reject_future_iat: bool = False,
) -> None:
    for claim in required:
        if payload.get(claim) is None:
            raise jwt.MissingRequiredClaimError(claim)
    now = time.time()
    iat = _numeric_date(payload, "iat", jwt.exceptions.InvalidIssuedAtError)
    if reject_future_iat and iat is not None and iat > now + leeway:
        raise jwt.ImmatureSignatureError("The token is not yet valid (iat)")
    nbf = _numeric_date(payload, "nbf", jwt.DecodeError)
    if nbf is not None and nbf > now + leeway:
        raise jwt.ImmatureSignatureError("The token is not yet valid (nbf)")
    exp = _numeric_date(payload, "exp", jwt.DecodeError)
    if exp is not None and exp <= now - leeway:
        raise jwt.ExpiredSignatureError("Signature has expired")
    if max_lifetime is not None and exp is not None and iat is not None:
        if exp - iat > max_lifetime:
            raise TokenLifetimeError(
                f"the token lives {exp - iat:g} s; this verifier accepts at most {max_lifetime:g} s"
            )
    if "iss" not in payload:
        raise jwt.MissingRequiredClaimError("iss")
    if not isinstance(payload["iss"], str) or payload["iss"] != issuer:
        raise jwt.InvalidIssuerError("Invalid issuer")
    if not payload.get("aud"):
        raise jwt.MissingRequiredClaimError("aud")
    aud = payload["aud"]
    if audience_in_array and isinstance(aud, list):
        if not all(isinstance(item, str) for item in aud) or audience not in aud:
            raise jwt.InvalidAudienceError("Audience doesn't match")
    elif not isinstance(aud, str) or aud != audience:
        raise jwt.InvalidAudienceError("Audience doesn't match (strict)")
    if "sub" in payload and not isinstance(payload["sub"], str):
        raise jwt.exceptions.InvalidSubjectError("Subject must be a string")
    if "jti" in payload and not isinstance(payload["jti"], str):
        raise jwt.exceptions.InvalidJTIError("JWT ID must be a string")


def read_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload of a token *without checking anything*: anyone can do this."""
    header_b64, payload_b64, _signature = token.split(".")
    return json.loads(b64url_decode(header_b64)), json.loads(b64url_decode(payload_b64))
