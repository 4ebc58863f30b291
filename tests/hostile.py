"""The hostile-input corpus: named, malformed or malicious tokens and cookies.

Each case is built against the book's recommended verifier
(``sessionlab.recommended.tokens.verify_token``) or session-cookie loader
(``sessionlab.recommended.sessions.SessionCookie.loads``) and names the exception type that must
reject it; ``options`` holds any keyword the case passes to the verifier (none do today). Categories:
algorithm tricks, untrusted key headers, encoding, JSON shape, claim types (NumericDates as
JSON numbers), text that is not UTF-8, media types, crit/b64/kid misuse, RFC 9068 claims, and
keys under the floor in every form. ``tests/test_hostile.py`` runs every case; the abuse test sends them to
the running servers. Times are fixed so every case is reproducible.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import warnings
from dataclasses import dataclass, field
from typing import Any

import itsdangerous
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sessionlab.lab.clock import ManualClock
from sessionlab.recommended.sessions import CookieTooLargeError, SessionCookie
from sessionlab.recommended.tokens import (
    MAX_LIFETIME,
    InvalidTokenTypeError,
    KeyPair,
    TokenLifetimeError,
    TokenTooLargeError,
    UntrustedHeaderError,
    b64url_encode,
    demo_keys,
    generate_keys,
)

NOW = 1_800_000_000
AUDIENCE = "https://app.example"
ISSUER = "https://login.example"
LIFETIME = 600


@dataclass(frozen=True)
class TokenCase:
    name: str
    token: Any
    expected: type[Exception]
    keys: KeyPair
    #: Extra keyword arguments for ``verify_token`` (for checks a caller opts into).
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CookieCase:
    name: str
    value: Any
    expected: type[Exception]


def _json_segment(value: Any) -> str:
    return b64url_encode(json.dumps(value, separators=(",", ":")).encode())


def _hs256(header_b64: str, payload_b64: str, secret: bytes) -> str:
    mac = hmac.new(secret, f"{header_b64}.{payload_b64}".encode(), hashlib.sha256).digest()
    return f"{header_b64}.{payload_b64}.{b64url_encode(mac)}"


def claims(**overrides: Any) -> dict[str, Any]:
    base = {"sub": "alice", "iat": NOW, "exp": NOW + LIFETIME, "aud": AUDIENCE, "iss": ISSUER}
    base |= {"client_id": "app", "jti": "j-0"}  # RFC 9068 §2.2, as every at+jwt token needs
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def valid_token(keys: KeyPair, **overrides: Any) -> str:
    """A token the verifier accepts at ``NOW`` (with ``overrides`` applied to the claims)."""
    return jwt.encode(
        claims(**overrides), keys.signing_key, algorithm=keys.algorithm, headers={"typ": "at+jwt"}
    )


def _signed_raw(keys: KeyPair, header: Any, payload_json: str) -> str:
    """HS256-sign arbitrary header and payload text, bypassing PyJWT's encoder."""
    header_b64 = _json_segment(header)
    payload_b64 = b64url_encode(payload_json.encode())
    return _hs256(header_b64, payload_b64, keys.signing_key)


def token_cases() -> list[TokenCase]:
    hs = demo_keys("HS256")
    rs = demo_keys("RS256")
    ed = demo_keys("EdDSA")
    es = demo_keys("ES256")
    good_ed = valid_token(ed)
    head, body, sig = good_ed.split(".")
    rsa_public_pem = rs.verification_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    cases: list[TokenCase] = []

    def add(name, token, expected, keys=ed, **options):
        cases.append(TokenCase(name, token, expected, keys, options))

    # alg "none" in every spelling, with and without a signature segment
    for spelling in ("none", "None", "NONE", "nOnE"):
        unsigned = f"{_json_segment({'alg': spelling, 'typ': 'at+jwt'})}.{body}."
        add(f"alg {spelling} without signature", unsigned, jwt.InvalidAlgorithmError)
    add(
        "alg none with a signature",
        f"{_json_segment({'alg': 'none', 'typ': 'at+jwt'})}.{body}.{sig}",
        jwt.InvalidAlgorithmError,
    )
    # algorithm confusion: HS256 keyed with the RSA public key, sent to an RS256 verifier
    confused = _hs256(
        _json_segment({"alg": "HS256", "typ": "at+jwt"}),
        b64url_encode(json.dumps(claims()).encode()),
        rsa_public_pem,
    )
    add("RS256 to HS256 key confusion", confused, jwt.InvalidAlgorithmError, rs)
    add(
        "PEM public key configured as an HMAC secret",
        confused,
        jwt.InvalidKeyError,
        KeyPair("HS256", rsa_public_pem, rsa_public_pem),
    )
    jwk_json = jwt.algorithms.RSAAlgorithm.to_jwk(rs.verification_key)
    add(
        "JWK public key configured as an HMAC secret",
        valid_token(hs),
        jwt.InvalidKeyError,
        KeyPair("HS256", jwk_json, jwk_json),
    )
    add("HS256 token sent to an EdDSA verifier", valid_token(hs), jwt.InvalidAlgorithmError)
    # headers that name their own key
    attacker = generate_keys("EdDSA")
    attacker_jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(attacker.verification_key))
    for name, extra in [
        ("embedded jwk header", {"jwk": attacker_jwk}),
        ("jku pointing elsewhere", {"jku": "http://127.0.0.1:9/jwks.json"}),
        ("x5u pointing elsewhere", {"x5u": "http://127.0.0.1:9/cert.pem"}),
        ("x5c certificate chain", {"x5c": ["MIIB"]}),
    ]:
        forged = jwt.encode(
            claims(), attacker.signing_key, algorithm="EdDSA", headers={"typ": "at+jwt", **extra}
        )
        add(name, forged, UntrustedHeaderError)
    # kid tricks: the verifier never looks a key up by kid, so these are just bad signatures
    for name, kid in [
        ("kid path traversal", "../../../../dev/null"),
        ("kid SQL injection", "x' UNION SELECT 'k"),
    ]:
        header = _json_segment({"alg": "HS256", "typ": "at+jwt", "kid": kid})
        add(
            name,
            _hs256(header, b64url_encode(json.dumps(claims()).encode()), b""),
            jwt.InvalidSignatureError,
            hs,
        )
    add(
        "unknown crit header",
        jwt.encode(
            claims(),
            ed.signing_key,
            algorithm="EdDSA",
            headers={"typ": "at+jwt", "crit": ["exp-ext"], "exp-ext": 1},
        ),
        jwt.InvalidTokenError,
    )
    # structure and encoding
    add("empty signature", f"{head}.{body}.", jwt.InvalidSignatureError)
    add(
        "signature of another token",
        f"{head}.{body}.{valid_token(ed, sub='bob').split('.')[2]}",
        jwt.InvalidSignatureError,
    )
    add(
        "tampered payload",
        f"{head}.{_json_segment(claims(sub='admin'))}.{sig}",
        jwt.InvalidSignatureError,
    )
    add("signed with another key", valid_token(attacker), jwt.InvalidSignatureError)
    add(
        "ECDSA all-zero signature (psychic signature)",
        f"{_json_segment({'alg': 'ES256', 'typ': 'at+jwt'})}.{body}.{b64url_encode(bytes(64))}",
        jwt.InvalidSignatureError,
        es,
    )
    add("empty string", "", jwt.DecodeError)
    add("one segment", head, jwt.DecodeError)
    add("two segments", f"{head}.{body}", jwt.DecodeError)
    add("four segments", f"{good_ed}.{sig}", jwt.DecodeError)
    add("non-base64url characters", f"{head}.{body[:-2]}+/.{sig}", jwt.DecodeError)
    add("base64 padding", f"{head}.{body}==.{sig}", jwt.DecodeError)
    add("whitespace inside", f"{head}.{body}\n.{sig}", jwt.DecodeError)
    add(
        "non-canonical base64url (altered trailing bits)",
        f"{head}.{body}.{sig[:-1]}{_flip_low_bits(sig[-1])}",
        jwt.DecodeError,
    )
    add("non-ASCII characters", f"{head}.{body}é.{sig}", jwt.DecodeError)
    add("bytes instead of text", good_ed.encode(), jwt.DecodeError)
    add("1 MB token", "a" * 1_000_000 + "." + body + "." + sig, TokenTooLargeError)
    # JSON that is hostile or not an object
    add(
        "deeply nested JSON payload",
        _signed_raw(hs, {"alg": "HS256", "typ": "at+jwt"}, "[" * 3000 + "]" * 3000),
        jwt.DecodeError,
        hs,
    )
    add(
        "duplicate claim names",
        _signed_raw(
            hs, {"alg": "HS256", "typ": "at+jwt"}, json.dumps(claims())[:-1] + ',"sub":"admin"}'
        ),
        jwt.DecodeError,
        hs,
    )
    duplicate_header = b64url_encode(b'{"alg":"EdDSA","alg":"none","typ":"at+jwt"}')
    add("duplicate header names", f"{duplicate_header}.{body}.{sig}", jwt.DecodeError)
    for name, payload in [
        ("payload is a list", "[1,2]"),
        ("payload is a string", '"alice"'),
        ("payload is a number", "42"),
        ("payload is not JSON", "sub=alice"),
    ]:
        add(name, _signed_raw(hs, {"alg": "HS256", "typ": "at+jwt"}, payload), jwt.DecodeError, hs)
    add("header is not a JSON object", f"{_json_segment(['EdDSA'])}.{body}.{sig}", jwt.DecodeError)
    # claims of the wrong type
    for claim, value, expected in [
        ("exp", "tomorrow", jwt.DecodeError),
        ("nbf", "later", jwt.DecodeError),
        ("iat", "now", jwt.exceptions.InvalidIssuedAtError),
        ("aud", 42, jwt.InvalidAudienceError),
        ("aud", [AUDIENCE, "https://other.example"], jwt.InvalidAudienceError),
        ("iss", 42, jwt.InvalidIssuerError),
        ("sub", 42, jwt.exceptions.InvalidSubjectError),
        ("jti", 42, jwt.exceptions.InvalidJTIError),
    ]:
        raw = _signed_raw(
            hs, {"alg": "HS256", "typ": "at+jwt"}, json.dumps(claims(**{claim: value}))
        )
        add(f"{claim} of type {type(value).__name__}", raw, expected, hs)
    # claims that say no
    add(
        "expired",
        valid_token(ed, iat=NOW - 2 * LIFETIME, exp=NOW - LIFETIME),
        jwt.ExpiredSignatureError,
    )
    add("not yet valid (nbf)", valid_token(ed, nbf=NOW + 60), jwt.ImmatureSignatureError)
    add(
        "issued in the future (iat), refusal asked for",
        valid_token(ed, iat=NOW + 60),
        jwt.ImmatureSignatureError,
        ed,
        reject_future_iat=True,
    )
    null_nbf = json.dumps({**claims(), "nbf": None})
    add(
        "nbf null",
        _signed_raw(hs, {"alg": "HS256", "typ": "at+jwt"}, null_nbf),
        jwt.DecodeError,
        hs,
    )
    add(
        "lives longer than the verifier's maximum",
        valid_token(ed, exp=NOW + MAX_LIFETIME + 1),
        TokenLifetimeError,
    )
    add(
        "aud array without the audience, arrays allowed",
        valid_token(ed, aud=["https://other.example"]),
        jwt.InvalidAudienceError,
        ed,
        audience_in_array=True,
    )
    add(
        "aud array with a non-string, arrays allowed",
        valid_token(ed, aud=[AUDIENCE, 42]),
        jwt.InvalidAudienceError,
        ed,
        audience_in_array=True,
    )
    add("wrong audience", valid_token(ed, aud="https://other.example"), jwt.InvalidAudienceError)
    add("wrong issuer", valid_token(ed, iss="https://evil.example"), jwt.InvalidIssuerError)
    add("missing exp", valid_token(ed, exp=None), jwt.MissingRequiredClaimError)
    add("missing sub", valid_token(ed, sub=None), jwt.MissingRequiredClaimError)
    id_token = jwt.encode(claims(), ed.signing_key, algorithm="EdDSA", headers={"typ": "JWT"})
    add("ID token (typ JWT) used as an access token", id_token, InvalidTokenTypeError)
    add(
        "no typ header",
        jwt.encode(claims(), ed.signing_key, algorithm="EdDSA", headers={"typ": None}),
        InvalidTokenTypeError,
    )
    cases.extend(_careless_issuer_cases())
    cases.extend(_weak_key_cases())
    short = KeyPair("HS256", b"secret", b"secret")
    with (
        warnings.catch_warnings()
    ):  # PyJWT warns about the short key while signing: that is the point
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        add("HMAC key too short", valid_token(short), jwt.InvalidKeyError, short)
    return cases


def _signed_bytes(keys: KeyPair, header: bytes, payload: bytes) -> str:
    """HS256-sign raw header and payload bytes: what a careless issuer's own encoder produces."""
    return _hs256(b64url_encode(header), b64url_encode(payload), keys.signing_key)


def _careless_issuer_cases() -> list[TokenCase]:
    """Tokens correctly signed by the real issuer's key whose contents break the contract:
    NumericDates of the wrong JSON type, text that is not UTF-8 JSON, types that are not ours,
    crit/b64/kid misuse, and RFC 9068 tokens without their required claims."""
    hs = demo_keys("HS256")
    header = b'{"alg":"HS256","typ":"at+jwt"}'
    body = json.dumps(claims()).encode()
    cases: list[TokenCase] = []

    def add(name, token, expected, keys=hs, **options):
        cases.append(TokenCase(name, token, expected, keys, options))

    # NumericDate (RFC 7519 §2): a JSON number, which PyJWT's int() coercion does not enforce
    for claim, error in [
        ("exp", jwt.DecodeError),
        ("nbf", jwt.DecodeError),
        ("iat", jwt.exceptions.InvalidIssuedAtError),
    ]:
        for label, value in [
            ("numeric string", str(NOW + 60 if claim == "exp" else NOW - 60)),
            ("boolean", True),
            ("list", [NOW]),
        ]:
            raw = json.dumps(claims(**{claim: value})).encode()
            add(f"{claim} as a {label}", _signed_bytes(hs, header, raw), error)
    for label, text in [("NaN", "NaN"), ("Infinity", "Infinity"), ("1e400 (infinite)", "1e400")]:
        raw = json.dumps(claims(exp=0)).replace('"exp": 0', f'"exp": {text}').encode()
        add(f"exp {label}", _signed_bytes(hs, header, raw), jwt.DecodeError)
    # not UTF-8 (RFC 7515 §5.2, RFC 7519 §7.2); json.loads(bytes) would accept most of these
    text = json.dumps(claims())
    for label, raw in [
        ("UTF-16-LE", text.encode("utf-16-le")),
        ("UTF-16 with BOM", text.encode("utf-16")),
        ("UTF-32-BE", text.encode("utf-32-be")),
        ("UTF-8 with BOM", text.encode("utf-8-sig")),
        (
            "invalid UTF-8 byte",
            text.encode().replace(b"alice", b"al\xffce"),
        ),
        ("overlong UTF-8", text.encode().replace(b"alice", b"al\xc1\xa9ce")),
    ]:
        add(f"claims in {label}", _signed_bytes(hs, header, raw), jwt.DecodeError)
    add(
        "header in UTF-16-LE",
        _signed_bytes(hs, header.decode().encode("utf-16-le"), body),
        jwt.DecodeError,
    )
    add(
        "header with a UTF-8 BOM",
        _signed_bytes(hs, b"\xef\xbb\xbf" + header, body),
        jwt.DecodeError,
    )
    # typ that is another media type, or not a string
    for typ in ["jwt", "application/jwt", "text/at+jwt", "at+jwt; charset=utf-8", "at+jwt ", 1]:
        typed = json.dumps({"alg": "HS256", "typ": typ}).encode()
        add(f"typ {typ!r}", _signed_bytes(hs, typed, body), InvalidTokenTypeError)
    # crit, b64 and kid misuse
    for label, extra in [
        ("empty crit", {"crit": []}),
        ("crit b64 (unencoded payload)", {"crit": ["b64"], "b64": False}),
        ("kid not a string", {"kid": 7}),
    ]:
        raw_header = json.dumps({"alg": "HS256", "typ": "at+jwt", **extra}).encode()
        add(label, _signed_bytes(hs, raw_header, body), jwt.InvalidTokenError)
    # RFC 9068 §2.2: an at+jwt token carries client_id and jti
    for label, extra in [
        ("without client_id", {"client_id": None}),
        ("without jti", {"jti": None}),
    ]:
        raw = json.dumps(claims(**extra)).encode()
        add(f"at+jwt {label}", _signed_bytes(hs, header, raw), jwt.MissingRequiredClaimError)
    raw = json.dumps(claims(client_id=7)).encode()
    add("at+jwt with a numeric client_id", _signed_bytes(hs, header, raw), jwt.InvalidTokenError)
    return cases


def _weak_key_cases() -> list[TokenCase]:
    """Keys under the documented floor in every form a caller might pass one: the token is
    valid for the key, so only the floor refuses it."""
    cases: list[TokenCase] = []
    pem_1024 = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    public_1024 = pem_1024.public_key()
    public_1024_pem = public_1024.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    p384 = ec.generate_private_key(ec.SECP384R1())
    weak: list[tuple[str, KeyPair, type[Exception]]] = [
        (
            "HS256 key as a 31-character str",
            KeyPair("HS256", "k" * 31, "k" * 31),
            jwt.InvalidKeyError,
        ),
        (
            "HS256 key as a 16-byte bytearray",
            KeyPair("HS256", b"k" * 16, bytearray(b"k" * 16)),
            jwt.InvalidKeyError,
        ),
        (
            "HS256 key as a memoryview",
            KeyPair("HS256", b"k" * 16, memoryview(b"k" * 16)),
            jwt.InvalidKeyError,
        ),
        (
            "HS384 key of 32 bytes (needs 48)",
            KeyPair("HS384", b"k" * 32, b"k" * 32),
            jwt.InvalidKeyError,
        ),
        (
            "HS512 key of 48 bytes (needs 64)",
            KeyPair("HS512", b"k" * 48, b"k" * 48),
            jwt.InvalidKeyError,
        ),
        ("HS256 key as an int", KeyPair("HS256", b"k" * 32, 2**300), jwt.InvalidKeyError),
        ("RSA 1024-bit key object", KeyPair("RS256", pem_1024, public_1024), jwt.InvalidKeyError),
        (
            "RSA 1024-bit key as PEM bytes",
            KeyPair("RS256", pem_1024, public_1024_pem),
            jwt.InvalidKeyError,
        ),
        (
            "RSA 1024-bit key as PEM str",
            KeyPair("RS256", pem_1024, public_1024_pem.decode()),
            jwt.InvalidKeyError,
        ),
        ("ES256 with a P-384 key", KeyPair("ES256", p384, p384.public_key()), jwt.InvalidKeyError),
        ("key pair for alg none", KeyPair("none", None, None), jwt.InvalidAlgorithmError),
    ]
    for name, keys, expected in weak:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
            try:
                token = valid_token(keys)
            except (jwt.PyJWTError, TypeError, ValueError):
                token = valid_token(demo_keys("HS256"))  # PyJWT would not even sign with it
        cases.append(TokenCase(name, token, expected, keys))
    return cases


def _flip_low_bits(char: str) -> str:
    """Another base64url character that differs from ``char`` only in its two lowest bits."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    index = alphabet.index(char)
    return alphabet[index ^ 1]


COOKIE_KEY = b"cookie key for tests, not a secret!!"
OLD_COOKIE_KEY = b"retired cookie key, not a secret either"


def cookie_loader(clock: ManualClock | None = None) -> SessionCookie:
    return SessionCookie([COOKIE_KEY], max_age=3600, clock=clock or ManualClock(NOW))


def cookie_cases() -> list[CookieCase]:
    clock = ManualClock(NOW)
    good = cookie_loader(clock).dumps("sid-" + "a" * 39)
    value, timestamp, signature = good.rsplit(".", 2)
    far_future = b64url_encode(bytes([0x7F, 0xFF, 0xFF, 0xFF]))
    cases = [
        CookieCase(
            "tampered signature",
            f"{value}.{timestamp}.{signature[:-2]}AA",
            itsdangerous.BadTimeSignature,
        ),
        CookieCase(
            "tampered session ID",
            f"sid-{'b' * 39}.{timestamp}.{signature}",
            itsdangerous.BadTimeSignature,
        ),
        CookieCase(
            "tampered timestamp", f"{value}.{far_future}.{signature}", itsdangerous.BadTimeSignature
        ),
        CookieCase(
            "expired timestamp",
            SessionCookie([COOKIE_KEY], max_age=3600, clock=ManualClock(NOW - 7200)).dumps("sid"),
            itsdangerous.SignatureExpired,
        ),
        CookieCase(
            "signed in the future",
            SessionCookie([COOKIE_KEY], max_age=3600, clock=ManualClock(NOW + 7200)).dumps("sid"),
            itsdangerous.SignatureExpired,
        ),
        CookieCase(
            "wrong salt",
            SessionCookie([COOKIE_KEY], max_age=3600, salt="other", clock=clock).dumps("sid"),
            itsdangerous.BadTimeSignature,
        ),
        CookieCase(
            "old key after its rotation window",
            SessionCookie([OLD_COOKIE_KEY], max_age=3600, clock=clock).dumps("sid"),
            itsdangerous.BadTimeSignature,
        ),
        CookieCase("truncated", good[: len(good) // 2], itsdangerous.BadSignature),
        CookieCase("signature removed", f"{value}.{timestamp}", itsdangerous.BadSignature),
        CookieCase("no separators", value, itsdangerous.BadSignature),
        CookieCase("empty", "", itsdangerous.BadSignature),
        CookieCase("oversized", good + "A" * 5000, CookieTooLargeError),
        CookieCase("non-ASCII", good.replace(value[-1], "é", 1), itsdangerous.BadSignature),
        CookieCase("cookie as bytes", good.encode(), itsdangerous.BadSignature),
        CookieCase(
            "non-canonical signature encoding",
            f"{value}.{timestamp}.{signature[:-1]}{_flip_low_bits(signature[-1])}",
            itsdangerous.BadSignature,
        ),
        CookieCase(
            "a JWT in the session cookie",
            valid_token(demo_keys("HS256")),
            itsdangerous.BadTimeSignature,
        ),
    ]
    return cases
