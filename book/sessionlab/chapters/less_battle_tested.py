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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

from sessionlab.lab.registry import registered_app
from sessionlab.recommended.tokens import b64url_decode, b64url_encode

__all__ = [
    "Deployment",
    "NaiveVerificationError",
    "create_attacker_key_server",
    "library_versions",
    "outcome_of",
    "run_node_libraries",
    "run_python_libraries",
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


# ---------------------------------------------------------------------------------------------
# The attacker's own server (it serves the jku key set and the x5u certificate). Registered, so
# the abuse sweep attacks it like every other app the book serves.
# ---------------------------------------------------------------------------------------------


def _sample_attacker_sites():
    yield "attacker's key server", create_attacker_key_server({"keys": []}, b"")


@registered_app("attacker-key-server", sample=_sample_attacker_sites)
def create_attacker_key_server(key_set: dict, certificate_pem: bytes):
    """The attacker's site: ``/jwks.json`` and ``/cert.pem``, which the naive verifier fetches."""
    from flask import Flask, Response, jsonify

    site = Flask("attacker-key-server")
    site.add_url_rule("/jwks.json", "jwks", lambda: jsonify(key_set))
    site.add_url_rule(
        "/cert.pem", "cert", lambda: Response(certificate_pem, mimetype="application/x-pem-file")
    )
    return site


# ---------------------------------------------------------------------------------------------
# The library matrix. Not vulnerable on purpose: these functions call real JWT libraries the way
# their documentation recommends ("documented") and the way a hurried developer plausibly does
# ("hurried": no claim options, the algorithm left to the library or to the token, and, for an
# RS256 service that issues its own tokens, the key pair it has at hand). "decode only" is the
# most common real bug: reading the claims with verification off.
# ---------------------------------------------------------------------------------------------

NODE_DIR = Path(__file__).resolve().parents[3] / "node" / "jwt-libraries"


@dataclass(frozen=True)
class Deployment:
    """What a verifier is configured with: an algorithm, the key it verifies with, its own key."""

    algorithm: str
    verification_key: Any  # a public key object, or the HMAC secret (bytes)
    own_key: Any  # the private key for RS256 (what a self-issuing service has), else the secret


def _pyjwt(style):
    import jwt

    def run(token, d, audience, issuer, now):
        if style == "documented":
            key, options = d.verification_key, {"require": ["exp", "iat"]}
            kwargs = {"algorithms": [d.algorithm], "audience": audience, "issuer": issuer}
        elif style == "hurried":
            key, options = d.verification_key, {"verify_aud": False}  # own_key: AttributeError
            kwargs = {"algorithms": [jwt.get_unverified_header(token).get("alg")]}
        else:
            key, options, kwargs = None, {"verify_signature": False}, {}
        # The decode-only style runs without algorithms on purpose: verification is off.
        jwt.decode(token, key, options=options, **kwargs)  # without algorithms (decode only)

    return run


def _joserfc(style):
    from joserfc import jwk, jwt
    from joserfc.jwt import JWTClaimsRegistry

    def run(token, d, audience, issuer, now):
        if d.algorithm.startswith("HS"):
            key = jwk.OctKey.import_key(d.verification_key)
        else:
            chosen = d.verification_key if style == "documented" else d.own_key
            key = jwk.RSAKey.import_key(chosen)
        if style == "documented":
            decoded = jwt.decode(token, key, algorithms=[d.algorithm])
            JWTClaimsRegistry(
                now=now,
                iss={"essential": True, "value": issuer},
                aud={"essential": True, "value": audience},
                exp={"essential": True},
            ).validate(decoded.claims)
        else:
            jwt.decode(token, key)  # hurried: without algorithms, claims never validated

    return run


def _jwcrypto(style):
    from jwcrypto import jwk, jwt

    def run(token, d, audience, issuer, now):
        if d.algorithm.startswith("HS"):
            key = jwk.JWK(kty="oct", k=b64url_encode(d.verification_key))
        else:
            chosen = d.verification_key if style == "documented" else d.own_key
            key = jwk.JWK.from_pyca(chosen)
        if style == "documented":
            claims = {"iss": issuer, "aud": audience, "exp": None}
            jwt.JWT(jwt=token, key=key, algs=[d.algorithm], check_claims=claims)
        else:
            jwt.JWT(jwt=token, key=key)

    return run


def _authlib(style):
    import warnings

    with warnings.catch_warnings(record=True):  # authlib.jose is deprecated in favour of joserfc
        from authlib.jose import JsonWebToken, jwt

    def run(token, d, audience, issuer, now):
        key = d.verification_key if d.algorithm.startswith("HS") else None
        if style == "documented":
            key = key if key is not None else d.verification_key
            options = {"iss": {"essential": True, "value": issuer}}
            options["aud"] = {"essential": True, "value": audience}
            options["exp"] = {"essential": True}
            JsonWebToken([d.algorithm]).decode(token, key, claims_options=options).validate(now=now)
        else:
            key = key if key is not None else d.own_key
            jwt.decode(token, key)  # without algorithms, and no .validate()

    return run


PYTHON_STYLES = {
    "PyJWT, documented": _pyjwt("documented"),
    "PyJWT, hurried": _pyjwt("hurried"),
    "PyJWT, decode only": _pyjwt("decode only"),
    "joserfc, documented": _joserfc("documented"),
    "joserfc, hurried": _joserfc("hurried"),
    "jwcrypto, documented": _jwcrypto("documented"),
    "jwcrypto, hurried": _jwcrypto("hurried"),
    "Authlib, documented": _authlib("documented"),
    "Authlib, hurried": _authlib("hurried"),
}


def library_versions() -> dict[str, str]:
    """The versions under test: Python's from their metadata, Node's from the lock file."""
    from importlib.metadata import version

    lock = json.loads((NODE_DIR / "package-lock.json").read_text())["packages"]
    found = {name: version(name) for name in ("PyJWT", "joserfc", "jwcrypto", "Authlib")}
    for name in ("jsonwebtoken", "jose"):
        found[name] = lock[f"node_modules/{name}"]["version"]
    return found


def refusal_types() -> tuple[type[BaseException], ...]:
    """The exceptions with which each verifier under test says "refused" (its documented base
    classes). Anything else a verifier raises is a crash, which the tables mark as such."""
    import warnings

    import itsdangerous
    import joserfc.errors
    import jwcrypto.common
    import jwt

    with warnings.catch_warnings():  # authlib.jose warns that it is deprecated on import
        warnings.simplefilter("ignore")
        import authlib.jose.errors

    return (
        jwt.PyJWTError,
        joserfc.errors.JoseError,
        jwcrypto.common.JWException,
        authlib.jose.errors.JoseError,
        itsdangerous.BadData,
        NaiveVerificationError,
    )


def refusal_or_crash(error: BaseException) -> str:
    """The exception's name for a documented refusal; ``"crash: <name>"`` for anything else."""
    name = type(error).__name__
    return name if isinstance(error, refusal_types()) else f"crash: {name}"


def outcome_of(run, *args, **kwargs) -> str:
    """``"accepted"``, the name of the refusal the call raised, or ``"crash: <name>"``."""
    import warnings

    try:
        with warnings.catch_warnings(record=True):  # weak keys on purpose; not results
            run(*args, **kwargs)
        return "accepted"
    except Exception as error:  # tabulated by refusal_or_crash: a crash is not a refusal
        return refusal_or_crash(error)


def run_python_libraries(cases, deployments, *, audience, issuer, now) -> dict[str, dict[str, str]]:
    """``{case: {"library, style": outcome}}`` for every Python library and calling style."""
    return {
        name: {
            style: outcome_of(run, token, deployments[deployment], audience, issuer, now)
            for style, run in PYTHON_STYLES.items()
        }
        for name, (deployment, token) in cases.items()
    }


def run_node_libraries(cases, deployments, *, audience, issuer, now) -> dict[str, dict[str, str]]:
    """The same through ``node/jwt-libraries/gallery.mjs`` (jsonwebtoken and jose, one process)."""
    import base64
    import shutil
    import subprocess

    from cryptography.hazmat.primitives import serialization as ser

    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules").is_dir():
        raise RuntimeError("Node.js 20 and `npm ci` in node/jwt-libraries are needed (make node)")

    def describe(d):
        if d.algorithm.startswith("HS"):
            return {"alg": d.algorithm, "key": base64.b64encode(d.verification_key).decode()}
        public = d.verification_key.public_bytes(
            ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo
        )
        private = d.own_key.private_bytes(
            ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()
        )
        return {"alg": d.algorithm, "key": public.decode(), "private": private.decode()}

    request = {
        "now": now,
        "audience": audience,
        "issuer": issuer,
        "deployments": {name: describe(d) for name, d in deployments.items()},
        "cases": [{"name": n, "deployment": d, "token": t} for n, (d, t) in cases.items()],
    }
    done = subprocess.run(
        [node, "gallery.mjs"],
        cwd=NODE_DIR,
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


#: The fifteen library calls of chapter 24's matrix, and the three that only decode.
_EVERY_CALL = sorted(
    f"{library}, {style}"
    for library, styles in {
        "Authlib": ("documented", "hurried"),
        "PyJWT": ("decode only", "documented", "hurried"),
        "jose": ("decode only", "documented", "hurried"),
        "joserfc": ("documented", "hurried"),
        "jsonwebtoken": ("decode only", "documented", "hurried"),
        "jwcrypto": ("documented", "hurried"),
    }.items()
    for style in styles
)
_DECODE_ONLY = ["PyJWT, decode only", "jose, decode only", "jsonwebtoken, decode only"]
#: The calls written in a hurry: none of them checks the audience or the issuer.
_HURRIED = [call for call in _EVERY_CALL if call.endswith("hurried")]


def _decode_only_and(*calls: str) -> list[str]:
    return sorted({*_DECODE_ONLY, *calls})


def _all_but(*calls: str) -> list[str]:
    return [call for call in _EVERY_CALL if call not in calls]


#: Chapter 24's matrix, asserted as a whole: for each attack, the library calls that accepted it.
LIBRARY_MATRIX_ACCEPTED: dict[str, list[str]] = {
    "control: a genuine token": _EVERY_CALL,
    "alg: none": _DECODE_ONLY,
    "alg: None": _DECODE_ONLY,
    "alg: NONE": _DECODE_ONLY,
    "RS256 → HS256 key confusion": _DECODE_ONLY,
    "weak HMAC secret, cracked offline": _all_but("jwcrypto, documented", "jwcrypto, hurried"),
    "kid path traversal → empty key": _DECODE_ONLY,
    "kid SQL injection → chosen key": _DECODE_ONLY,
    "jku → attacker's key set": _DECODE_ONLY,
    "x5u → attacker's certificate": _DECODE_ONLY,
    "embedded jwk header": _DECODE_ONLY,
    "unknown crit extension": [
        "jose, decode only",
        "jsonwebtoken, decode only",
        "jsonwebtoken, documented",
        "jsonwebtoken, hurried",
    ],
    "expired an hour ago": _decode_only_and("Authlib, hurried", "joserfc, hurried"),
    "not valid yet (nbf)": _decode_only_and(
        "Authlib, hurried", "joserfc, hurried", "jwcrypto, documented"
    ),
    "issued for another audience": _decode_only_and(*_HURRIED),
    "issued by another issuer": _decode_only_and(*_HURRIED),
    "ID token used as access token": _all_but("jose, documented"),
    "signature never verified (payload edited)": _DECODE_ONLY,
    "null signature (RS256, empty)": _DECODE_ONLY,
    "empty secret": _DECODE_ONLY,
    "JWE encrypted to the public key": [],
    "control: the weak deployment's genuine token": _all_but(
        "jwcrypto, documented", "jwcrypto, hurried"
    ),
}


# --- ASVS 5.0 V9 (self-contained tokens), scored from the gallery's outcomes -------------------
# These rows and the CVE history below are data, not broken code: they are the chapter's yardsticks.

#: OWASP ASVS 5.0.0, V9 Self-contained Tokens: each requirement, in short, and the gallery rows
#: that test it. A verifier passes a requirement when it refuses every one of those rows.
#: 9.2.4 binds the token *issuer* (one key for several audiences needs an audience restriction),
#: so no verifier can pass or fail it: it is N/A for every column.
ASVS_V9: dict[str, tuple[str, tuple[str, ...]]] = {
    "v5.0.0-9.1.1": (
        "validated by signature or MAC before the contents are accepted",
        ("signature never verified (payload edited)", "null signature (RS256, empty)"),
    ),
    "v5.0.0-9.1.2": (
        "only allowlisted algorithms, never 'None'; key confusion prevented",
        (
            "alg: none",
            "alg: None",
            "alg: NONE",
            "RS256 → HS256 key confusion",
            "JWE encrypted to the public key",
        ),
    ),
    "v5.0.0-9.1.3": (
        "keys only from trusted, pre-configured sources (jku, x5u, jwk allowlisted)",
        (
            "jku → attacker's key set",
            "x5u → attacker's certificate",
            "embedded jwk header",
            "kid path traversal → empty key",
            "kid SQL injection → chosen key",
        ),
    ),
    "v5.0.0-9.2.1": (
        "accepted only within its validity time span (nbf and exp)",
        ("expired an hour ago", "not valid yet (nbf)"),
    ),
    "v5.0.0-9.2.2": (
        "the correct type for the intended purpose (access token, not ID token)",
        ("ID token used as access token",),
    ),
    "v5.0.0-9.2.3": (
        "only tokens meant for this service (aud against an allowlist)",
        ("issued for another audience",),
    ),
    "v5.0.0-9.2.4": ("issuer: one key for several audiences needs an audience restriction", ()),
}


def asvs_v9(outcomes: dict[str, str]) -> dict[str, str]:
    """PASS / FAIL / N/A per ASVS V9 requirement for one verifier, with the evidence.

    ``outcomes`` maps each gallery row to ``"accepted"`` or the refusal's error. A FAIL names the
    rows that were accepted. Nothing here asserts: the chapter asserts the whole matrix.
    """
    verdicts = {}
    for requirement, (_, rows) in ASVS_V9.items():
        if not rows:
            verdicts[requirement] = "N/A (issuer's duty)"
            continue
        missing = [row for row in rows if row not in outcomes]
        if missing:
            raise KeyError(f"{requirement}: the gallery has no row {missing[0]!r}")
        accepted = [row for row in rows if outcomes[row] == "accepted"]
        verdicts[requirement] = f"FAIL: {'; '.join(accepted)}" if accepted else "PASS"
    return verdicts


# --- CVE history: one rule, both sides, the same period -----------------------------------------

CVE_RULE = (
    "Every CVE published from 2013 to the book's date whose record (NVD, CVE or GitHub advisory) "
    "says that a bug in a tested package, or in the code that package uses to check its "
    "credential, let a request be accepted under a credential it should not be accepted under: "
    "forged, another user's, or one that should be dead. The credential is the session cookie, "
    "session ID or token the package issues and checks; bugs in how a user first signs in "
    "(passwords, OAuth, e-mail links, passkeys, second factors) and in other credentials a plugin "
    "adds (API keys, an OAuth provider's tokens) are out, as are CSRF defences, on both sides. "
    "Denial of service, XSS, open redirects, code execution and data leaks whose record names no "
    "credential accepted are out, on both sides. Session side: Django's sessions and auth, Flask "
    "and Werkzeug, Rack and rack-session, express-session and cookie-signature, Rails (Action "
    "Pack's session stores and the Rails parts that set the session cookie), PHP's session "
    "extension, Starlette's SessionMiddleware, @fastify/session, gorilla/sessions, iron-session, "
    "better-auth (database sessions), django-rest-knox. JWT side: PyJWT, joserfc, jwcrypto, "
    "Authlib, jsonwebtoken, jose, next-auth and @auth/core (JWT sessions by default), "
    "express-jwt, passport-jwt, djangorestframework-simplejwt, fastapi-users."
)

#: What the attacker gets, from worst to least bad.
CVE_IMPACTS = (
    "forge a credential without the key",
    "take over another user's session or token",
    "accept a genuine credential outside its rules",
    "keep or revive a credential that should be dead",
)

#: The records found by the rule. Each row was checked against the record named in "record"
#: (the CVE list record, cvelistV5, and the GitHub advisory it names). Flask's CVE-2025-47278
#: (SECRET_KEY_FALLBACKS reversed) is not a row: its record says sessions stay signed and no
#: integrity is lost, so it lets no request through under a credential it should refuse.
CVE_HISTORY: list[dict[str, str | int]] = [
    # Session frameworks
    {
        "side": "session",
        "cve": "CVE-2013-0263",
        "year": 2013,
        "package": "Rack",
        "affected": "1.1–1.5 before 1.1.6/1.2.8/1.3.10/1.4.5/1.5.2",
        "what": "HMAC of Rack::Session::Cookie compared in variable time: cookie guessed, "
        "privileges gained, code executed",
        "impact": CVE_IMPACTS[0],
        "record": "GHSA-xc85-32mf-xpv8",
    },
    {
        "side": "session",
        "cve": "CVE-2014-0482",
        "year": 2014,
        "package": "Django",
        "affected": "before 1.4.14, 1.5.9, 1.6.6, 1.7c3",
        "what": "RemoteUserMiddleware with RemoteUserBackend: authenticated users hijack sessions",
        "impact": CVE_IMPACTS[1],
        "record": "NVD CVE-2014-0482",
    },
    {
        "side": "session",
        "cve": "CVE-2015-3982",
        "year": 2015,
        "package": "Django",
        "affected": "1.8 before 1.8.2",
        "what": "cached_db session.flush() set an empty session key that users then shared",
        "impact": CVE_IMPACTS[1],
        "record": "NVD CVE-2015-3982",
    },
    {
        "side": "session",
        "cve": "CVE-2016-1000236",
        "year": 2016,
        "package": "cookie-signature (express-session's signer)",
        "affected": "before 1.0.6 (CVE record); before 1.0.4 (GHSA)",
        "what": "signature compared in variable time: signed cookie guessable",
        "impact": CVE_IMPACTS[0],
        "record": "CVE record; GHSA-92vm-wfm5-mxvv",
    },
    {
        "side": "session",
        "cve": "CVE-2019-16782",
        "year": 2019,
        "package": "Rack",
        "affected": "before 1.6.12 and 2.0.8",
        "what": "session ID found by timing the store's lookup: session hijacked",
        "impact": CVE_IMPACTS[1],
        "record": "GHSA-hrqr-hxpp-chr3",
    },
    {
        "side": "session",
        "cve": "CVE-2023-30861",
        "year": 2023,
        "package": "Flask",
        "affected": "before 2.2.5, 2.3.x before 2.3.2",
        "what": "no Vary: Cookie on a refreshed permanent session: a caching proxy hands one "
        "client's session cookie to others",
        "impact": CVE_IMPACTS[1],
        "record": "NVD CVE-2023-30861",
    },
    {
        "side": "session",
        "cve": "CVE-2025-46336",
        "year": 2025,
        "package": "rack-session",
        "affected": "2.0.0 to before 2.1.1",
        "what": "Rack::Session::Pool: a long request restores a session the user logged out of",
        "impact": CVE_IMPACTS[3],
        "record": "GHSA-9j94-67jr-4cqj",
    },
    {
        "side": "session",
        "cve": "CVE-2026-39324",
        "year": 2026,
        "package": "rack-session",
        "affected": "2.0.0 to before 2.1.2",
        "what": "Rack::Session::Cookie with secrets: a cookie that fails decryption falls back to "
        "a default decoder and is accepted without any secret",
        "impact": CVE_IMPACTS[0],
        "record": "NVD CVE-2026-39324",
    },
    {
        "side": "session",
        "cve": "CVE-2011-4718",
        "year": 2011,
        "package": "PHP sessions",
        "affected": "PHP before 5.5.2 (record published 2013)",
        "what": "session fixation: an ID the attacker chose is adopted, and the session hijacked "
        "(the fix is session.use_strict_mode, still off by default)",
        "impact": CVE_IMPACTS[1],
        "record": "CVE record (cvelistV5)",
    },
    {
        "side": "session",
        "cve": "CVE-2016-7125",
        "year": 2016,
        "package": "PHP sessions",
        "affected": "PHP before 5.6.25, 7.x before 7.0.10",
        "what": "invalid session names skipped while parsing: an attacker who controls a session "
        "name injects arbitrary session data",
        "impact": CVE_IMPACTS[0],
        "record": "CVE record (cvelistV5)",
    },
    {
        "side": "session",
        "cve": "CVE-2024-26144",
        "year": 2024,
        "package": "Rails (Active Storage)",
        "affected": "5.2.0 to before 7.1.0 (fixed in 6.1.7.7 and 7.0.8.1)",
        "what": "blobs served with the session's Set-Cookie and Cache-Control: public: a caching "
        "proxy makes users share sessions",
        "impact": CVE_IMPACTS[1],
        "record": "GHSA-8h22-8cf7-hq6g",
    },
    {
        "side": "session",
        "cve": "CVE-2025-32441",
        "year": 2025,
        "package": "Rack",
        "affected": "2.x before 2.2.14",
        "what": "Rack::Session::Pool: a concurrent request restores a session deleted at logout",
        "impact": CVE_IMPACTS[3],
        "record": "GHSA-vpfw-47h7-xj4g",
    },
    {
        "side": "session",
        "cve": "CVE-2026-117499",
        "year": 2026,
        "package": "@fastify/session",
        "affected": "before 11.1.6",
        "what": "rolling sessions: a request in flight across logout saves the destroyed session "
        "back, and the replayed cookie works again",
        "impact": CVE_IMPACTS[3],
        "record": "CVE record (cvelistV5)",
    },
    {
        "side": "session",
        "cve": "CVE-2026-126076",
        "year": 2026,
        "package": "Rails (Action Pack)",
        "affected": "8.1.4 and earlier listed as affected; fixed in 8.1.4.1",
        "what": "Action Dispatch CacheStore: a destroyed session can be restored",
        "impact": CVE_IMPACTS[3],
        "record": "GHSA-2586-8ghr-69fj (rubygems.org advisory list)",
    },
    {
        "side": "session",
        "cve": "CVE-2026-134321",
        "year": 2026,
        "package": "better-auth",
        "affected": "0.8.1-beta.5 to before 1.7.16",
        "what": "secondary-storage session lists updated non-atomically and routes that trust the "
        "cookie cache: revoked sessions stay valid",
        "impact": CVE_IMPACTS[3],
        "record": "CVE record (cvelistV5)",
    },
    # JWT libraries
    {
        "side": "JWT",
        "cve": "CVE-2020-15084",
        "year": 2020,
        "package": "express-jwt",
        "affected": "5.3.3 and earlier",
        "what": "algorithms not required: with jwks-rsa as the secret, key confusion bypasses "
        "authorization",
        "impact": CVE_IMPACTS[0],
        "record": "GHSA-6g6m-m6h5-w9gf",
    },
    {
        "side": "JWT",
        "cve": "CVE-2023-48309",
        "year": 2023,
        "package": "next-auth",
        "affected": "before 4.24.5",
        "what": "a JWT next-auth issued for an interrupted OAuth flow (state, PKCE, nonce) accepted "
        "as the session token: a mock user passes the default middleware",
        "impact": CVE_IMPACTS[2],
        "record": "GHSA-v64w-49xw-qq89",
    },
    {
        "side": "JWT",
        "cve": "CVE-2024-22513",
        "year": 2024,
        "package": "djangorestframework-simplejwt",
        "affected": "5.3.1 and earlier (GHSA); before 5.5.1 (PYSEC-2026-1305)",
        "what": "tokens of a disabled (inactive) user still authenticate",
        "impact": CVE_IMPACTS[3],
        "record": "GHSA-5vcc-86wm-547q",
    },
    {
        "side": "JWT",
        "cve": "CVE-2026-73421",
        "year": 2026,
        "package": "next-auth",
        "affected": "5.0.0-beta.0 to before 5.0.0-beta.32",
        "what": "on a server configuration error auth() returns a truthy error object: routes "
        "that check only that a session exists admit every visitor",
        "impact": CVE_IMPACTS[0],
        "record": "CVE record (cvelistV5); GHSA-8fpg-xm3f-6cx3",
    },
    {
        "side": "JWT",
        "cve": "CVE-2015-9235",
        "year": 2015,
        "package": "jsonwebtoken",
        "affected": "before 4.2.2",
        "what": "HS256 token verified with an RSA public key",
        "impact": CVE_IMPACTS[0],
        "record": "NVD CVE-2015-9235",
    },
    {
        "side": "JWT",
        "cve": "CVE-2017-11424",
        "year": 2017,
        "package": "PyJWT",
        "affected": "1.5.0 and earlier",
        "what": "PKCS#1 PEM public keys not refused as HMAC secrets: key confusion",
        "impact": CVE_IMPACTS[0],
        "record": "NVD CVE-2017-11424",
    },
    {
        "side": "JWT",
        "cve": "CVE-2022-23539",
        "year": 2022,
        "package": "jsonwebtoken",
        "affected": "8.5.1 and earlier",
        "what": "legacy, insecure key types accepted for verification",
        "impact": CVE_IMPACTS[0],
        "record": "NVD CVE-2022-23539",
    },
    {
        "side": "JWT",
        "cve": "CVE-2022-23540",
        "year": 2022,
        "package": "jsonwebtoken",
        "affected": "8.5.1 and earlier",
        "what": "verify() without algorithms falls back to none",
        "impact": CVE_IMPACTS[0],
        "record": "NVD CVE-2022-23540",
    },
    {
        "side": "JWT",
        "cve": "CVE-2022-23541",
        "year": 2022,
        "package": "jsonwebtoken",
        "affected": "8.5.1 and earlier",
        "what": "key callback lets RS tokens verify as HS256",
        "impact": CVE_IMPACTS[0],
        "record": "NVD CVE-2022-23541",
    },
    {
        "side": "JWT",
        "cve": "CVE-2022-29217",
        "year": 2022,
        "package": "PyJWT",
        "affected": "1.5.0 to 2.3.0",
        "what": "OpenSSH public keys not refused as HMAC secrets",
        "impact": CVE_IMPACTS[0],
        "record": "NVD CVE-2022-29217",
    },
    {
        "side": "JWT",
        "cve": "CVE-2022-3102",
        "year": 2022,
        "package": "jwcrypto",
        "affected": "before 1.4",
        "what": "a JWE encrypted to the public key accepted where a signed JWS was expected",
        "impact": CVE_IMPACTS[0],
        "record": "jwcrypto 1.4 notes",
    },
    {
        "side": "JWT",
        "cve": "CVE-2024-37568",
        "year": 2024,
        "package": "Authlib",
        "affected": "before 1.3.1",
        "what": "HMAC verification with an asymmetric public key when decode names no algorithm",
        "impact": CVE_IMPACTS[0],
        "record": "NVD CVE-2024-37568",
    },
    {
        "side": "JWT",
        "cve": "CVE-2024-53861",
        "year": 2024,
        "package": "PyJWT",
        "affected": "2.10.0",
        "what": "iss checked as a substring: a token whose iss is part of the expected "
        "issuer passes (the record rates the likely impact as denial of service)",
        "impact": CVE_IMPACTS[2],
        "record": "NVD CVE-2024-53861",
    },
    {
        "side": "JWT",
        "cve": "CVE-2025-59420",
        "year": 2025,
        "package": "Authlib",
        "affected": "before 1.6.4",
        "what": "unknown crit header parameters accepted",
        "impact": CVE_IMPACTS[2],
        "record": "GHSA-9ggr-2464-2j32",
    },
    {
        "side": "JWT",
        "cve": "CVE-2026-27962",
        "year": 2026,
        "package": "Authlib",
        "affected": "before 1.6.9",
        "what": "with key=None, the key in the token's jwk header verifies the token",
        "impact": CVE_IMPACTS[0],
        "record": "GHSA-wvwj-cvrp-7pv5",
    },
    {
        "side": "JWT",
        "cve": "CVE-2026-28498",
        "year": 2026,
        "package": "Authlib",
        "affected": "before 1.6.9",
        "what": "ID token at_hash/c_hash check fails open on an unknown alg",
        "impact": CVE_IMPACTS[0],
        "record": "CVE record; GHSA-m344-f55w-2m6j",
    },
    {
        "side": "JWT",
        "cve": "CVE-2026-28802",
        "year": 2026,
        "package": "Authlib",
        "affected": "1.6.5 to before 1.6.7",
        "what": "alg: none with an empty signature passes verification",
        "impact": CVE_IMPACTS[0],
        "record": "CVE record; GHSA-7wc2-qxgw-g8gg",
    },
    {
        "side": "JWT",
        "cve": "CVE-2026-32597",
        "year": 2026,
        "package": "PyJWT",
        "affected": "before 2.12.0",
        "what": "unknown crit extensions accepted",
        "impact": CVE_IMPACTS[2],
        "record": "GHSA-752w-5fwx-jx9f",
    },
    {
        "side": "JWT",
        "cve": "CVE-2026-48526",
        "year": 2026,
        "package": "PyJWT",
        "affected": "before 2.13.0",
        "what": "a public-key JWK accepted as an HMAC secret when HMAC and asymmetric "
        "algorithms are both allowed",
        "impact": CVE_IMPACTS[0],
        "record": "CVE record; GHSA-xgmm-8j9v-c9wx",
    },
    {
        "side": "JWT",
        "cve": "CVE-2026-48523",
        "year": 2026,
        "package": "PyJWT",
        "affected": "2.9.0 to before 2.13.0",
        "what": "with a PyJWK key, the key's algorithm verifies, not the allow-listed header alg",
        "impact": CVE_IMPACTS[2],
        "record": "CVE record; GHSA-jq35-7prp-9v3f",
    },
    {
        "side": "JWT",
        "cve": "CVE-2026-102266",
        "year": 2026,
        "package": "PyJWT",
        "affected": "2.13.0 to before 2.14.0",
        "what": "an oct JWK with an empty k verifies HMAC tokens: the empty-key check skipped",
        "impact": CVE_IMPACTS[0],
        "record": "CVE record; GHSA-9j54-fg26-wv3r",
    },
    {
        "side": "JWT",
        "cve": "CVE-2026-102267",
        "year": 2026,
        "package": "PyJWT",
        "affected": "before 2.14.0",
        "what": "PyJWKClient follows a redirect off the trusted JWKS URL: verification keys "
        "substituted",
        "impact": CVE_IMPACTS[0],
        "record": "CVE record; GHSA-9v7f-9g4p-ffgj",
    },
    {
        "side": "JWT",
        "cve": "CVE-2026-102268",
        "year": 2026,
        "package": "PyJWT",
        "affected": "before 2.14.0",
        "what": "PEM detection misses mutated public-key PEMs: key confusion",
        "impact": CVE_IMPACTS[0],
        "record": "CVE record; GHSA-ffc3-869f-jxw9",
    },
    {
        "side": "JWT",
        "cve": "CVE-2026-102269",
        "year": 2026,
        "package": "PyJWT",
        "affected": "before 2.14.0",
        "what": "non-canonical signature segment: a revoked raw token passes as a new one",
        "impact": CVE_IMPACTS[3],
        "record": "CVE record; GHSA-hxm8-2xgr-2p9m",
    },
    {
        "side": "JWT",
        "cve": "CVE-2026-102271",
        "year": 2026,
        "package": "PyJWT",
        "affected": "2.4.0 to before 2.14.0",
        "what": "DER public keys not refused as HMAC secrets: key confusion",
        "impact": CVE_IMPACTS[0],
        "record": "CVE record; GHSA-p4g4-x82p-q773",
    },
    {
        "side": "JWT",
        "cve": "CVE-2026-102272",
        "year": 2026,
        "package": "PyJWT",
        "affected": "2.13.0 to before 2.14.0",
        "what": "a BOM-prefixed public JWK passes the HMAC key guard: key confusion",
        "impact": CVE_IMPACTS[0],
        "record": "CVE record; GHSA-r6x4-923q-g947",
    },
    {
        "side": "JWT",
        "cve": "CVE-2026-102273",
        "year": 2026,
        "package": "PyJWT",
        "affected": "2.13.0 to before 2.14.0",
        "what": "HMAC key guard misses public JWK containers: key confusion",
        "impact": CVE_IMPACTS[0],
        "record": "CVE record; GHSA-w2cx-738m-mc7w",
    },
    {
        "side": "JWT",
        "cve": "CVE-2026-102275",
        "year": 2026,
        "package": "PyJWT",
        "affected": "2.1.0 to before 2.15.0",
        "what": "an OKP private JWK whose d does not match its x: the thumbprint names the "
        "trusted key while another key signs (a sender-constrained token used without its key)",
        "impact": CVE_IMPACTS[2],
        "record": "CVE record; GHSA-x33g-cr3x-6449",
    },
]


#: Records of the packages the rule added that it leaves out, each with the reason, so the
#: selection can be audited: every CVE the search found for those packages is here or above.
CVE_LEFT_OUT: dict[str, str] = {
    "CVE-2022-24858": "next-auth: open redirect",
    "CVE-2022-31093": "next-auth: an invalid callbackUrl times the route out (denial of service)",
    "CVE-2022-31127": "next-auth: HTML injected into the sign-in e-mail (phishing)",
    "CVE-2022-31186": "next-auth: provider secret written to the log (a leak, no credential accepted)",
    "CVE-2022-35924": "next-auth: e-mail sign-in to several addresses (how a user signs in)",
    "CVE-2023-27490": "next-auth: OAuth checks stripped from the authorization URL (how a user signs in)",
    "CVE-2026-73418": "next-auth / @auth/core: getToken() throws on a malformed Bearer header "
    "(denial of service; the record says no authentication is bypassed)",
    "CVE-2026-73419": "next-auth / @auth/core: OAuth check cookies not bound to their provider "
    "(account linking, how a user signs in)",
    "CVE-2026-73420": "next-auth / @auth/core: e-mail normalised after validation (how a user signs in)",
    "CVE-2025-61928": "better-auth: API keys created without authentication (another credential)",
    "CVE-2025-71399": "better-auth: extra slashes bypass disabledPaths and rate limits "
    "(no credential accepted)",
    "CVE-2025-71402": "better-auth: a forged multi-session cookie deletes other sessions "
    "(sessions revoked, none accepted)",
    "CVE-2025-71404": "better-auth: reflected XSS on the error page",
    "CVE-2026-45337": "better-auth: device authorization bound to any session (how a device signs in)",
    "CVE-2026-67336": "better-auth: the OIDC provider plugin advertises alg none and plain PKCE "
    "(another credential: the provider's tokens)",
    "CVE-2026-110862": "better-auth: OAuth state reused as a magic-link token (how a user signs in)",
    "CVE-2026-110864": "better-auth: OAuth proxy profiles forged (how a user signs in)",
    "CVE-2026-121802": "@better-auth/expo: caller-supplied state signed (how a user signs in)",
    "CVE-2026-126067": "Rails: session cookies without a SameSite attribute (a CSRF defence)",
    "CVE-2015-6835": "PHP: use-after-free in the session deserializer (code execution or "
    "denial of service; the record names no credential accepted)",
}

#: Packages the rule added for which the search found no CVE at all (GHSA-only advisories and
#: vendor notes without a CVE identifier are not CVEs; the rule counts CVEs).
CVE_NONE_FOUND = (
    "iron-session",
    "passport-jwt",
    "fastapi-users",
    "django-rest-knox",
    "gorilla/sessions",
    "Starlette SessionMiddleware",
)


def cve_counts() -> dict[str, dict[str, int]]:
    """Records per side and per impact, in the order of :data:`CVE_IMPACTS`."""
    counts = {side: dict.fromkeys(CVE_IMPACTS, 0) for side in ("session", "JWT")}
    for row in CVE_HISTORY:
        counts[str(row["side"])][str(row["impact"])] += 1
    return counts


#: Chapter 24's ASVS V9 matrix, asserted as a whole: for each requirement, the verifiers that FAIL.
ASVS_V9_FAILS: dict[str, list[str]] = {
    "v5.0.0-9.1.1": ["PyJWT, decode only", "jose, decode only", "jsonwebtoken, decode only"],
    "v5.0.0-9.1.2": [
        "PyJWT, decode only",
        "jose, decode only",
        "jsonwebtoken, decode only",
        "naive verifier",
    ],
    "v5.0.0-9.1.3": [
        "PyJWT, decode only",
        "jose, decode only",
        "jsonwebtoken, decode only",
        "naive verifier",
    ],
    "v5.0.0-9.2.1": [
        "Authlib, hurried",
        "PyJWT, decode only",
        "jose, decode only",
        "joserfc, hurried",
        "jsonwebtoken, decode only",
        "jwcrypto, documented",
        "naive verifier",
    ],
    "v5.0.0-9.2.2": [
        "Authlib, documented",
        "Authlib, hurried",
        "PyJWT, decode only",
        "PyJWT, documented",
        "PyJWT, hurried",
        "PyJWT, minimal call",
        "jose, decode only",
        "jose, hurried",
        "joserfc, documented",
        "joserfc, hurried",
        "jsonwebtoken, decode only",
        "jsonwebtoken, documented",
        "jsonwebtoken, hurried",
        "jwcrypto, documented",
        "jwcrypto, hurried",
        "naive verifier",
    ],
    "v5.0.0-9.2.3": [
        "Authlib, hurried",
        "PyJWT, decode only",
        "PyJWT, hurried",
        "jose, decode only",
        "jose, hurried",
        "joserfc, hurried",
        "jsonwebtoken, decode only",
        "jsonwebtoken, hurried",
        "jwcrypto, hurried",
        "naive verifier",
    ],
    "v5.0.0-9.2.4": [],
}
