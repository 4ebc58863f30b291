"""The download-token pattern: sessions on the application server, a JWT per download elsewhere.

The essay's own example of what JWT is good for (joepie91, "Stop using JWT for sessions", 2016):
the user logs in to an *application server* that keeps ordinary server-side sessions; for every
download it issues a short-lived, single-file, audience-bound token signed with its private key;
a separate, stateless *download server* that holds only the public key checks that token and
streams the file. This module holds the three parts the chapter runs:

* :func:`issue_download_token` and :func:`issue_exchange_token`: what the application server signs;
* :func:`create_app_server`: the book's reference session app plus ``POST /download-token``,
  which uses that app's own session lookup and CSRF check (a fix there reaches this route);
* :func:`authorise_download` and :func:`create_download_app`: the download server's whole check
  and the WSGI app around it, started as its own process with ``python -m
  sessionlab.chapters.download_tokens --port N --public-key PATH --files DIR [--single-use]``.
  That process imports no private key (``--self-check`` shows it) and refuses a key pair that
  can sign;
* :func:`create_exchange_service`: the microservice variant of part 2 of the essay, a stateful
  service that swaps a single-use token, once, for its own session.

Single use relies on the book's one "set of ``jti`` until ``exp``"
(:class:`sessionlab.recommended.webauth.MemoryJtiStore`, or its Redis twin when several
download servers share it). Only a request that delivers the file uses the token up: ``HEAD``
(link previews, mail scanners, prefetchers) and a ``304`` revalidation check it without using it,
and with single use on the server ignores ``Range`` (RFC 9110 §14.2 lets it), so a token is never
spent on part of the file.

Status codes of the download server (``GET``/``HEAD /files/<name>``). Refusal bodies name only the
RFC 6750 error code, never the check that failed; every response is ``no-store`` with
``Referrer-Policy: no-referrer``, and the server never redirects (a ``//files/...`` path is a 404).

===================================================================  ======
Request                                                              Status
===================================================================  ======
valid token for this file, file exists (first use, with single use)  200
no token at all (no ``Authorization``, no ``?token=``)               401, ``WWW-Authenticate: Bearer``
``Authorization`` that is not ``Bearer <token>``; any bad token      401 ``invalid_token``
(malformed, bad signature, pinned ``alg`` not used, wrong ``typ``,
``aud`` or ``iss``, expired, missing or mistyped claims, lifetime
above ``max_lifetime``)
token in both the header and the query, or ``?token=`` twice          400 ``invalid_request``
valid token, but its ``file`` claim names another file               403 ``insufficient_scope``
valid token for this file, but no such plain file in the folder      404
(a symlink, a dot-file, a path with a separator)
valid token already used (only with single use)                      409
any other path, including ``//files/...``                            404
any method other than GET, HEAD, OPTIONS                             405
an unexpected error inside the app (a bug)                           400, logged; never 500
===================================================================  ======
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import itsdangerous
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from flask import Flask, abort, jsonify, request, send_file
from werkzeug.exceptions import HTTPException

from sessionlab.lab.registry import registered_app
from sessionlab.recommended.session_app import create_session_app
from sessionlab.recommended.sessions import MemorySessionStore, SessionCookie
from sessionlab.recommended.tokens import KeyPair, issue_token, verify_token
from sessionlab.recommended.webauth import MemoryJtiStore, bearer_token, cross_site_refusal

__all__ = [
    "APP_ISSUER",
    "DEFAULT_LIFETIME",
    "DOWNLOAD_AUDIENCE",
    "DOWNLOAD_TOKEN_TYPE",
    "EXCHANGE_TOKEN_TYPE",
    "MAX_LIFETIME",
    "Decision",
    "authorise_download",
    "create_app_server",
    "create_download_app",
    "create_exchange_service",
    "issue_download_token",
    "issue_exchange_token",
    "load_public_key",
    "main",
    "verify_only",
]

#: The explicit ``typ`` header of a download token (RFC 8725 §3.11): no other JWT passes for one.
DOWNLOAD_TOKEN_TYPE = "download+jwt"
#: The ``typ`` of a single-use token a stateful service exchanges for its own session.
EXCHANGE_TOKEN_TYPE = "exchange+jwt"
#: Who a download token is for (``aud``) and who issues it (``iss``).
DOWNLOAD_AUDIENCE = "https://downloads.sessionlab.test"
APP_ISSUER = "https://app.sessionlab.test"
#: A download token lives a minute: long enough to start a download, short enough to leak safely.
DEFAULT_LIFETIME = 60
#: The download server refuses tokens meant to live longer than this, whoever signed them; it is
#: also what bounds the single-use store (an entry is kept until its token expires).
MAX_LIFETIME = 300
#: Longest ``jti`` the single-use store keeps (the issuer's are 22 characters).
MAX_JTI_LENGTH = 128
_REQUIRED_CLAIMS = ("exp", "iat", "sub", "aud", "iss", "jti", "file")
#: What a refusal says: the RFC 6750 error code (or the HTTP reason), never which check failed.
_ERRORS = {400: "invalid_request", 401: "invalid_token", 403: "insufficient_scope"}


def issue_download_token(
    user: str,
    file_name: str,
    keys: KeyPair,
    *,
    now: int,
    lifetime: int = DEFAULT_LIFETIME,
    audience: str = DOWNLOAD_AUDIENCE,
    issuer: str = APP_ISSUER,
    jti: str | None = None,
    typ: str = DOWNLOAD_TOKEN_TYPE,
) -> str:
    """Sign a token that lets ``user`` download ``file_name`` once, from one audience, for ``lifetime`` s.

    Claims: ``sub``, ``file``, ``aud``, ``iss``, ``iat``, ``exp`` and a fresh 128-bit ``jti``
    (pass ``jti`` only to make an example reproducible); header ``typ: download+jwt``.
    """
    claims = {"sub": user, "file": file_name, "jti": jti or secrets.token_urlsafe(16)}
    return issue_token(
        claims, keys, now=now, lifetime=lifetime, audience=audience, issuer=issuer, typ=typ
    )


def issue_exchange_token(
    user: str,
    keys: KeyPair,
    *,
    now: int,
    audience: str,
    lifetime: int = DEFAULT_LIFETIME,
    issuer: str = APP_ISSUER,
    jti: str | None = None,
) -> str:
    """Sign a single-use token that a stateful service at ``audience`` swaps for its own session."""
    claims = {"sub": user, "jti": jti or secrets.token_urlsafe(16)}
    return issue_token(
        claims, keys, now=now, lifetime=lifetime, audience=audience, issuer=issuer,
        typ=EXCHANGE_TOKEN_TYPE,
    )  # fmt: skip


def verify_only(keys: KeyPair) -> KeyPair:
    """The same key pair without its private half: what a server that only checks tokens gets."""
    return KeyPair(keys.algorithm, None, keys.verification_key, f"{keys.label} (public key only)")


def _require_verify_only(keys: KeyPair) -> None:
    if keys.signing_key is not None:
        raise ValueError("a verifying service gets the public key only: pass verify_only(keys)")


@dataclass(frozen=True)
class Decision:
    """What the download server does with one request: a status, a reason, the verified claims.

    The reason is for the chapter and the logs; the HTTP refusal never shows it.
    """

    status: int
    reason: str
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return self.status == 200


def _checked_claims(token: str, keys: KeyPair, *, typ: str, required, **expected) -> dict:
    """Verify a token and the claims this module relies on; raises on anything else."""
    claims = verify_token(
        token, keys, typ=typ, required=required, reject_future_iat=True, **expected
    )
    jti, exp, iat = claims["jti"], claims["exp"], claims["iat"]
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
        raise ValueError("malformed jti claim")
    if type(exp) is not int or type(iat) is not int:
        raise ValueError("exp and iat must be integers")
    if exp - iat > MAX_LIFETIME:
        raise ValueError(f"lifetime above {MAX_LIFETIME} s")
    return claims


def authorise_download(
    token: str | None,
    requested_file: str,
    keys: KeyPair,
    *,
    files_dir: Path,
    audience: str = DOWNLOAD_AUDIENCE,
    issuer: str = APP_ISSUER,
    max_lifetime: int = MAX_LIFETIME,
    used: MemoryJtiStore | None = None,
    use_up: bool = True,
) -> Decision:
    """The download server's whole check of one request, in order; never raises on bad input.

    Authenticate (401), then authorise (403), then look the file up (404), then, with a
    single-use store ``used``, refuse a token already used (409). ``use_up=False`` checks
    without using the token up (``HEAD``, or before the response is known to deliver the file).
    """
    if not token:
        return Decision(401, "no token")
    try:
        claims = _checked_claims(
            token, keys, typ=DOWNLOAD_TOKEN_TYPE, required=_REQUIRED_CLAIMS,
            audience=audience, issuer=issuer,
        )  # fmt: skip
        if claims["exp"] - claims["iat"] > max_lifetime:
            raise ValueError(f"lifetime above {max_lifetime} s")
    except Exception as exc:  # noqa: BLE001 - fail closed: anything not a verified token is a 401
        return Decision(401, f"invalid token: {type(exc).__name__}")
    if claims["file"] != requested_file:  # file names are not secrets: a plain comparison is fine
        return Decision(403, "token is for another file", claims)
    if _servable_path(files_dir, requested_file) is None:
        return Decision(404, "no such file", claims)
    if used is not None:
        first_use = used.claim(claims["jti"], claims["exp"]) if use_up else None
        if first_use is False or (not use_up and used.contains(claims["jti"])):
            return Decision(409, "token already used", claims)
    return Decision(200, "ok", claims)


def _servable_path(files_dir: Path, name: str) -> Path | None:
    """A plain file directly inside ``files_dir``: no separators, dot-files, NUL or symlinks."""
    if not isinstance(name, str) or not name or name.startswith("."):
        return None
    if any(c in name for c in "/\\\x00"):
        return None
    path = Path(files_dir) / name
    try:
        if path.is_symlink() or not path.is_file():
            return None
        if path.resolve(strict=True).parent != Path(files_dir).resolve():
            return None
    except (OSError, ValueError):
        return None
    return path


def _token_from(req) -> tuple[str | None, int | None]:
    """(token, refusal status) from ``Authorization: Bearer`` or one ``?token=``."""
    header = req.headers.get("Authorization")
    query = req.args.getlist("token")
    if (header is not None and query) or len(query) > 1:
        return None, 400
    if header is not None:
        token = bearer_token(header)
        return (token, None) if token else (None, 401)
    return (query[0], None) if query else (None, None)


def _sample_keys() -> KeyPair:
    from sessionlab.recommended.tokens import generate_keys

    return generate_keys("EdDSA")


def _download_sample():
    files = Path(__file__).resolve().parents[1] / "data"
    public = verify_only(_sample_keys())
    yield "download server (stateless)", create_download_app(public, files)
    yield "download server (single use)", create_download_app(public, files, used=MemoryJtiStore())


@registered_app("download_tokens.download_server", sample=_download_sample)
def create_download_app(
    keys: KeyPair,
    files_dir: str | os.PathLike,
    *,
    audience: str = DOWNLOAD_AUDIENCE,
    issuer: str = APP_ISSUER,
    max_lifetime: int = MAX_LIFETIME,
    used: MemoryJtiStore | None = None,
) -> Flask:
    """The stateless download server: checks a download token per request and sends the file.

    ``keys`` must be verify-only (:func:`verify_only`): a key pair that can sign is refused.
    With ``used`` (a single-use store) each token delivers the file once.
    """
    _require_verify_only(keys)
    files_dir = Path(files_dir).resolve()
    app = Flask(__name__)
    # No redirects, ever: werkzeug would answer //files/x with a 308 whose Location, built from
    # the Host header, carries the token's query string.
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False

    def refuse(status: int):
        response = jsonify(error=_ERRORS.get(status, "refused"))
        response.status_code = status
        if status == 401:
            has_token = "Authorization" in request.headers or "token" in request.args
            response.headers["WWW-Authenticate"] = (
                'Bearer error="invalid_token"' if has_token else "Bearer"
            )
        elif status == 403:
            response.headers["WWW-Authenticate"] = 'Bearer error="insufficient_scope"'
        return response

    @app.after_request
    def never_cached(response):
        # The token may sit in the URL: keep it out of caches and out of Referer headers.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.pop("Location", None)
        return response

    @app.get("/files/<name>")
    def download(name: str):
        # One URL per file: no trailing slash, and no redirect whose Location carries the token.
        if request.path != f"/files/{name}":
            return refuse(404)
        token, problem = _token_from(request)
        if problem is not None:
            return refuse(problem)
        decision = authorise_download(
            token, name, keys, files_dir=files_dir, audience=audience, issuer=issuer,
            max_lifetime=max_lifetime, used=used, use_up=False,
        )  # fmt: skip
        if not decision.allowed:
            return refuse(decision.status)
        if used is not None:  # single use: a token is never spent on part of the file
            request.environ.pop("HTTP_RANGE", None)
            request.environ.pop("HTTP_IF_RANGE", None)
        path = _servable_path(files_dir, name)
        if path is None:
            return refuse(404)
        response = send_file(path, as_attachment=True, max_age=0, conditional=True, etag=True)
        delivers = request.method == "GET" and response.status_code in (200, 206)
        if used is not None and delivers:
            claims = decision.claims
            if not used.claim(claims["jti"], claims["exp"]):
                response.close()
                return refuse(409)
        return response

    @app.get("/healthz")
    def health():
        return jsonify(status="ok", single_use_entries=None if used is None else len(used))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code >= 500:  # never expected; refuse rather than fail open
            return refuse(400)
        response = refuse(exc.code)
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        # A bug must not become a 5xx or, worse, a download: log it and refuse the request.
        app.logger.exception("refused a request after an unexpected error")
        return refuse(400)

    return app


def _app_server_sample():
    from sessionlab.lab.fixtures import book_users

    store = MemorySessionStore(idle_timeout=900, absolute_timeout=3600)
    cookie = SessionCookie([secrets.token_bytes(32)], max_age=3600)
    users = book_users()
    grants = {name: {"report-q3.pdf"} for name in users}
    yield (
        "application server",
        create_app_server(
            store, cookie, users, grants, _sample_keys(), download_url="http://127.0.0.1:9"
        ),
    )


@registered_app("download_tokens.app_server", sample=_app_server_sample)
def create_app_server(
    store,
    cookie: SessionCookie,
    users: dict[str, dict[str, Any]],
    grants: dict[str, set[str]],
    signing_keys: KeyPair,
    *,
    download_url: str,
    audience: str = DOWNLOAD_AUDIENCE,
    issuer: str = APP_ISSUER,
    lifetime: int = DEFAULT_LIFETIME,
    clock: Callable[[], float] = time.time,
    secure: bool = False,
) -> Flask:
    """The application server: the reference session app plus ``POST /download-token``.

    ``POST /download-token`` with form field ``file`` and the ``X-CSRF-Token`` header returns
    a one-minute download URL for a file the user is granted in ``grants`` (user -> file
    names): 401 without a session, 403 without the CSRF token or the grant. The session lookup
    and the CSRF check are the reference app's own.
    """
    app = create_session_app(store, cookie, users, secure=secure)
    session_app = app.extensions["session_app"]

    @app.post("/download-token")
    def download_token():
        session = session_app["require_session"]()
        session_app["require_csrf"](session)
        file_name = request.form.get("file", "")
        if file_name not in grants.get(session.user_id, set()):
            abort(403)
        token = issue_download_token(
            session.user_id, file_name, signing_keys, now=int(clock()), lifetime=lifetime,
            audience=audience, issuer=issuer,
        )  # fmt: skip
        url = f"{download_url}/files/{quote(file_name, safe='')}?token={token}"
        response = jsonify(url=url, token=token, expires_in=lifetime)
        response.headers["Cache-Control"] = "no-store"
        return response

    return app


def _exchange_sample():
    store = MemorySessionStore(idle_timeout=900, absolute_timeout=3600)
    cookie = SessionCookie([secrets.token_bytes(32)], max_age=3600)
    keys = verify_only(_sample_keys())
    yield (
        "exchange service",
        create_exchange_service(keys, store, cookie, audience="https://chat.sessionlab.test"),
    )


@registered_app("download_tokens.exchange_service", sample=_exchange_sample)
def create_exchange_service(
    keys: KeyPair,
    store,
    cookie: SessionCookie,
    *,
    audience: str,
    issuer: str = APP_ISSUER,
    used: MemoryJtiStore | None = None,
    cookie_name: str = "service_session",
    secure: bool = False,
) -> Flask:
    """A stateful microservice: ``POST /exchange`` (form ``token``) swaps a single-use token for a session.

    ``keys`` must be verify-only. The token is checked like a download token (``typ:
    exchange+jwt``, ``aud`` = this service) and its ``jti`` is used up, so a second exchange gets
    409. A cross-site ``POST /exchange`` is refused (403, Fetch Metadata then Origin): otherwise
    another site could post its own ticket and log the victim in as the attacker (login CSRF).
    From then on the service uses its own session (``GET /me``, and ``POST /logout`` with the
    session's CSRF token in ``X-CSRF-Token``).
    """
    _require_verify_only(keys)
    used = used if used is not None else MemoryJtiStore()
    app = Flask(__name__)

    @app.after_request
    def never_cached(response):
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.post("/exchange")
    def exchange():
        if cross_site_refusal(request.headers, request.host_url) is not None:
            abort(403)
        try:
            claims = _checked_claims(
                request.form.get("token", ""), keys, typ=EXCHANGE_TOKEN_TYPE,
                required=("exp", "iat", "sub", "aud", "iss", "jti"), audience=audience,
                issuer=issuer,
            )  # fmt: skip
        except Exception:  # noqa: BLE001 - fail closed
            abort(401)
        if not used.claim(claims["jti"], claims["exp"]):
            abort(409)
        session = store.create(str(claims["sub"]), {"csrf_token": secrets.token_urlsafe(32)})
        response = jsonify(user=session.user_id, csrf_token=session.data["csrf_token"])
        response.set_cookie(
            cookie_name, cookie.dumps(session.session_id), max_age=cookie.max_age, path="/",
            httponly=True, secure=secure, samesite="Lax",
        )  # fmt: skip
        return response

    def require_session():
        value = request.cookies.get(cookie_name)
        try:
            session = store.get(cookie.loads(value)) if value else None
        except itsdangerous.BadData:
            session = None
        if session is None:
            abort(401)
        return session

    @app.get("/me")
    def me():
        return jsonify(user=require_session().user_id)

    @app.post("/logout")
    def logout():
        session = require_session()
        sent = request.headers.get("X-CSRF-Token", "")
        if not hmac.compare_digest(sent.encode(), session.data["csrf_token"].encode()):
            abort(403)
        store.delete(session.session_id)
        response = jsonify(logged_out=True)
        response.delete_cookie(cookie_name, path="/", httponly=True, secure=secure, samesite="Lax")
        return response

    return app


def load_public_key(path: str | os.PathLike) -> KeyPair:
    """A verify-only :class:`KeyPair` from a PEM public key; the algorithm follows the key type."""
    public = serialization.load_pem_public_key(Path(path).read_bytes())
    if isinstance(public, ed25519.Ed25519PublicKey):
        algorithm = "EdDSA"
    elif isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):
        algorithm = "ES256"
    elif isinstance(public, rsa.RSAPublicKey) and public.key_size >= 2048:
        algorithm = "RS256"
    else:
        raise ValueError("use an Ed25519, P-256 or RSA (2048 bits or more) public key")
    return KeyPair(algorithm, None, public, f"public key from {Path(path).name}")


def self_check(app: Flask, keys: KeyPair) -> dict[str, Any]:
    """What this process holds that could sign a token: run inside the download server's process."""
    private_types = (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)
    demo_modules = sorted(m for m in sys.modules if m.endswith("demo_keys"))
    return {
        "signing_key": keys.signing_key is not None,
        "private_key_objects": isinstance(keys.verification_key, private_types),
        "demo_key_modules": demo_modules,
        "app": getattr(app, "sessionlab_app", None),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sessionlab.chapters.download_tokens --port N --public-key PATH --files DIR``."""
    from sessionlab.lab.servers import run_wsgi_forever

    parser = argparse.ArgumentParser(
        prog="python -m sessionlab.chapters.download_tokens", description=main.__doc__
    )
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--public-key", required=True, help="PEM public key of the token issuer")
    parser.add_argument("--files", required=True, help="folder whose plain files are served")
    parser.add_argument("--single-use", action="store_true", help="a token delivers once (409)")
    parser.add_argument("--audience", default=DOWNLOAD_AUDIENCE)
    parser.add_argument("--issuer", default=APP_ISSUER)
    parser.add_argument("--max-lifetime", type=int, default=MAX_LIFETIME)
    parser.add_argument("--self-check", action="store_true", help="print what could sign; exit")
    args = parser.parse_args(argv)

    keys = load_public_key(args.public_key)
    app = create_download_app(
        keys, args.files, audience=args.audience, issuer=args.issuer, max_lifetime=args.max_lifetime,
        used=MemoryJtiStore() if args.single_use else None,
    )  # fmt: skip
    if args.self_check:
        print(json.dumps(self_check(app, keys)))
        return 0
    print(
        f"download server on 127.0.0.1:{args.port} ({keys.algorithm}, single use {args.single_use})"
    )
    run_wsgi_forever(app, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
