"""The download-token pattern: sessions on the application server, a JWT per download elsewhere.

The essay's own example of what JWT is good for (joepie91, "Stop using JWT for sessions", 2016): the user logs in to an
*application server* that keeps ordinary server-side sessions; for every download it issues a
short-lived, single-file, audience-bound token signed with its private key; a separate,
stateless *download server* that holds only the public key checks that token and streams the
file. This module holds all three parts the chapters run:

* :func:`issue_download_token` and :func:`issue_exchange_token`: what the application server signs;
* :func:`create_app_server`: the book's reference session app (:mod:`sessionlab.apps`) plus
  ``POST /download-token``;
* :func:`authorise_download` and :func:`create_download_app`: the download server's whole check
  and the WSGI app around it, started as its own process with
  ``python -m sessionlab.chapters.download_tokens --port N --public-key PATH --files DIR [--jti-cache]``;
* :class:`JtiCache`: the optional replay guard, whose size is bounded by the token lifetime;
* :func:`create_exchange_service`: the microservice variant of part 2 of the essay
  (joepie91, 2016), a stateful service that swaps a single-use token, once, for its own
  session.

Status codes of the download server (``GET``/``HEAD /files/<name>``): the server never answers
a bad request with a 5xx. The mapping follows RFC 6750 §3.1 where it applies.

===================================================================  ======
Request                                                              Status
===================================================================  ======
valid token for this file, file exists, first use                    200 (206/416 for ``Range``:
                                                                     with a cache, the token is used)
no token at all (no ``Authorization``, no ``?token=``)               401, ``WWW-Authenticate: Bearer``
``Authorization`` that is not ``Bearer <token>``                     401 ``invalid_token``
token malformed, too long, bad signature, ``alg`` not the pinned     401 ``invalid_token``
one (``none``, HS256 with the public key as secret, ...), wrong
``typ``, wrong ``aud`` or ``iss``, expired, ``iat`` in the future,
missing ``sub``/``file``/``jti``/``exp``/``iat``, claims of the
wrong JSON type, lifetime (``exp - iat``) above ``max_lifetime``
token in both the header and the query, or ``?token=`` twice          400 ``invalid_request``
valid token, but its ``file`` claim names another file               403 ``insufficient_scope``
valid token for this file, but no such file (or an unsafe name)      404
valid token already used (only with a :class:`JtiCache`)             409
replay cache full of unexpired entries (only with a cache)           429, ``Retry-After``
any other path                                                       404
any method other than GET, HEAD, OPTIONS                             405
request line or headers the HTTP server cannot parse                 400, 414 or 431 (werkzeug)
an unexpected error inside the app (a bug)                           400, logged; never 500
===================================================================  ======

Checks run in that order (authenticate, then authorise, then look up, then burn the ``jti``), so
a caller without a valid token learns nothing about which files exist, and a token is only used
up by a request that is about to be served.
"""

from __future__ import annotations

import argparse
import heapq
import hmac
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import itsdangerous
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from flask import Flask, abort, jsonify, request, send_from_directory
from werkzeug.exceptions import HTTPException, NotFound

from sessionlab.recommended.session_app import COOKIE_NAME, create_session_app
from sessionlab.recommended.sessions import SessionCookie
from sessionlab.recommended.tokens import KeyPair, issue_token, verify_token

__all__ = [
    "DOWNLOAD_TOKEN_TYPE",
    "EXCHANGE_TOKEN_TYPE",
    "DOWNLOAD_AUDIENCE",
    "APP_ISSUER",
    "DEFAULT_LIFETIME",
    "MAX_LIFETIME",
    "Decision",
    "JtiCache",
    "issue_download_token",
    "issue_exchange_token",
    "authorise_download",
    "create_download_app",
    "create_app_server",
    "create_exchange_service",
    "load_public_key",
    "main",
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
#: also what bounds the replay cache (an entry is kept until its token expires).
MAX_LIFETIME = 300
#: Longest ``jti`` the replay cache stores (the issuer's are 22 characters).
MAX_JTI_LENGTH = 128
_BEARER = re.compile(r"Bearer ([A-Za-z0-9._~+/-]+=*)\Z")
_REQUIRED_CLAIMS = ("exp", "iat", "sub", "aud", "iss", "jti", "file")


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
        claims,
        keys,
        now=now,
        lifetime=lifetime,
        audience=audience,
        issuer=issuer,
        typ=EXCHANGE_TOKEN_TYPE,
    )


class JtiCache:
    """Remember the ``jti`` of every token used, until that token expires; refuse a second use.

    Entries leave the cache when their token's ``exp`` arrives (a heap ordered by ``exp``), so
    the cache never holds more than the tokens used within one lifetime: its size is bounded
    by request rate × the longest lifetime the server accepts, not by uptime. ``max_entries``
    is a hard ceiling against a burst; when it is reached :meth:`claim` raises
    :class:`CacheFullError` rather than forget an unexpired entry (forgetting would allow a replay).
    """

    class CacheFullError(Exception):
        """Every slot holds an unexpired token; the caller should answer 429 and retry later."""

    def __init__(self, *, clock: Callable[[], float] = time.time, max_entries: int = 100_000):
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self.clock = clock
        self.max_entries = max_entries
        self._expiry: dict[str, int] = {}
        self._heap: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    def _purge(self, now: float) -> int:
        purged = 0
        while self._heap and self._heap[0][0] <= now:  # a token is refused at exp already
            exp, jti = heapq.heappop(self._heap)
            if self._expiry.get(jti) == exp:
                del self._expiry[jti]
                purged += 1
        return purged

    def purge_expired(self) -> int:
        """Drop the entries whose tokens have expired; returns how many went."""
        with self._lock:
            return self._purge(self.clock())

    def claim(self, jti: str, exp: int) -> bool:
        """``True`` the first time ``jti`` is seen (and remember it until ``exp``), ``False`` after."""
        with self._lock:
            self._purge(self.clock())
            if jti in self._expiry:
                return False
            if len(self._expiry) >= self.max_entries:
                raise self.CacheFullError(f"{len(self._expiry)} unexpired entries")
            self._expiry[jti] = exp
            heapq.heappush(self._heap, (exp, jti))
            return True


@dataclass(frozen=True)
class Decision:
    """What the download server does with one request: a status, a reason, the verified claims."""

    status: int
    reason: str
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return self.status == 200


def authorise_download(
    token: str | None,
    requested_file: str,
    keys: KeyPair,
    *,
    files_dir: Path,
    audience: str = DOWNLOAD_AUDIENCE,
    issuer: str = APP_ISSUER,
    max_lifetime: int = MAX_LIFETIME,
    jti_cache: JtiCache | None = None,
) -> Decision:
    """The download server's whole check of one request, in order; never raises on bad input."""
    if not token:
        return Decision(401, "no token")
    try:
        claims = verify_token(
            token,
            keys,
            audience=audience,
            issuer=issuer,
            typ=DOWNLOAD_TOKEN_TYPE,
            required=_REQUIRED_CLAIMS,
        )
    except Exception as exc:  # noqa: BLE001 - fail closed: anything that is not a verified token is a 401
        return Decision(401, f"invalid token: {type(exc).__name__}")
    file_claim, jti, exp, iat = claims["file"], claims["jti"], claims["exp"], claims["iat"]
    if (
        not isinstance(file_claim, str)
        or not isinstance(jti, str)
        or not 0 < len(jti) <= MAX_JTI_LENGTH
    ):
        return Decision(401, "invalid token: malformed file or jti claim")
    if (
        type(exp) is not int or type(iat) is not int
    ):  # PyJWT also accepts numeric strings and floats
        return Decision(401, "invalid token: exp and iat must be integers")
    if exp - iat > max_lifetime:
        return Decision(401, f"invalid token: lifetime above {max_lifetime} s")
    if file_claim != requested_file:  # file names are not secrets: a plain comparison is fine
        return Decision(403, "token is for another file", claims)
    if not _is_servable(files_dir, requested_file):
        return Decision(404, "no such file", claims)
    if jti_cache is not None:
        try:
            first_use = jti_cache.claim(jti, exp)
        except JtiCache.CacheFullError:
            return Decision(429, "replay cache full", claims)
        if not first_use:
            return Decision(409, "token already used", claims)
    return Decision(200, "ok", claims)


def _is_servable(files_dir: Path, name: str) -> bool:
    """A plain file directly inside ``files_dir``: no separators, no dot-files, no NUL."""
    if not name or "/" in name or "\\" in name or "\x00" in name or name.startswith("."):
        return False
    try:
        return (Path(files_dir) / name).is_file()
    except (OSError, ValueError):
        return False


def _bearer_token(req) -> tuple[str | None, str | None]:
    """(token, problem) from ``Authorization: Bearer`` or ``?token=``; problem is an RFC 6750 error."""
    header = req.headers.get("Authorization")
    query = req.args.getlist("token")
    if header is not None and query:
        return None, "invalid_request"
    if len(query) > 1:
        return None, "invalid_request"
    if header is not None:
        match = _BEARER.match(header)
        return (match.group(1), None) if match else (None, "invalid_token")
    return (query[0], None) if query else (None, None)


def create_download_app(
    keys: KeyPair,
    files_dir: str | os.PathLike,
    *,
    audience: str = DOWNLOAD_AUDIENCE,
    issuer: str = APP_ISSUER,
    max_lifetime: int = MAX_LIFETIME,
    jti_cache: JtiCache | None = None,
) -> Flask:
    """The stateless download server: verifies a download token per request and streams the file.

    ``keys`` needs only a verification (public) key. With ``jti_cache`` each token works once.
    """
    files_dir = Path(files_dir).resolve()
    app = Flask(__name__)

    def refuse(status: int, reason: str, error: str | None = None):
        response = jsonify(error=error or reason, reason=reason)
        response.status_code = status
        response.headers["Cache-Control"] = "no-store"
        if status == 401:
            response.headers["WWW-Authenticate"] = (
                'Bearer error="invalid_token"' if error else "Bearer"
            )
        elif status == 403:
            response.headers["WWW-Authenticate"] = 'Bearer error="insufficient_scope"'
        elif status == 429:
            response.headers["Retry-After"] = str(max_lifetime)
        return response

    @app.route("/files/<path:name>", methods=["GET"])
    def download(name: str):
        token, problem = _bearer_token(request)
        if problem == "invalid_request":
            return refuse(400, "token sent more than once", "invalid_request")
        if problem == "invalid_token":
            return refuse(401, "Authorization is not a Bearer token", "invalid_token")
        decision = authorise_download(
            token,
            name,
            keys,
            files_dir=files_dir,
            audience=audience,
            issuer=issuer,
            max_lifetime=max_lifetime,
            jti_cache=jti_cache,
        )
        if not decision.allowed:
            error = {401: "invalid_token" if token else None, 403: "insufficient_scope"}.get(
                decision.status
            )
            return refuse(decision.status, decision.reason, error)
        try:
            response = send_from_directory(files_dir, name, as_attachment=True, max_age=0)
        except NotFound:
            return refuse(404, "no such file")
        # The token may sit in the URL: keep it out of caches and out of Referer headers.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.get("/healthz")
    def health():
        return jsonify(status="ok", jti_cache=None if jti_cache is None else len(jti_cache))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code >= 500:  # never expected; refuse rather than fail open
            return refuse(400, "bad request")
        response = refuse(exc.code, exc.name)
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        # A bug must not become a 5xx or, worse, a download: log it and refuse the request.
        app.logger.exception("refused a request after an unexpected error")
        return refuse(400, "bad request")

    return app


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

    The user logs in with a session (``/login``); ``POST /download-token`` with form field
    ``file`` and the ``X-CSRF-Token`` header returns a one-minute download URL for a file the
    user is granted in ``grants`` (user -> file names): 401 without a session, 403 without the
    CSRF token or the grant.
    """
    app = create_session_app(store, cookie, users, secure=secure)

    def current_session():
        value = request.cookies.get(COOKIE_NAME)
        if value is None:
            return None
        try:
            return store.get(cookie.loads(value))
        except itsdangerous.BadData:
            return None

    @app.post("/download-token")
    def download_token():
        session = current_session()
        if session is None or session.user_id not in users:
            abort(401)
        sent = request.headers.get("X-CSRF-Token", "")
        if not hmac.compare_digest(sent.encode(), session.data["csrf_token"].encode()):
            abort(403)
        file_name = request.form.get("file", "")
        if file_name not in grants.get(session.user_id, set()):
            abort(403)
        token = issue_download_token(
            session.user_id, file_name, signing_keys, now=int(clock()), lifetime=lifetime,
            audience=audience, issuer=issuer,
        )  # fmt: skip
        url = f"{download_url}/files/{quote(file_name, safe='')}?token={token}"
        return jsonify(url=url, token=token, expires_in=lifetime)

    return app


def create_exchange_service(
    keys: KeyPair,
    store,
    cookie: SessionCookie,
    *,
    audience: str,
    issuer: str = APP_ISSUER,
    used: JtiCache | None = None,
    cookie_name: str = "service_session",
    secure: bool = False,
) -> Flask:
    """A stateful microservice: ``POST /exchange`` (form ``token``) swaps a single-use token for a session.

    The token is checked like a download token (``typ: exchange+jwt``, ``aud`` = this service)
    and its ``jti`` is burned, so a second exchange gets 409. From then on the service uses its
    own session (``GET /me``, ``POST /logout``), which it can end whenever it likes.
    """
    used = used if used is not None else JtiCache()
    app = Flask(__name__)

    @app.post("/exchange")
    def exchange():
        try:
            claims = verify_token(
                request.form.get("token", ""), keys, audience=audience, issuer=issuer,
                typ=EXCHANGE_TOKEN_TYPE, required=("exp", "iat", "sub", "aud", "iss", "jti"),
            )  # fmt: skip
            jti, exp = claims["jti"], claims["exp"]
            if (
                not isinstance(jti, str)
                or not isinstance(exp, int)
                or exp - claims["iat"] > MAX_LIFETIME
            ):
                raise ValueError("malformed claims")
        except Exception:  # noqa: BLE001 - fail closed
            abort(401)
        try:
            first_use = used.claim(jti, exp)
        except JtiCache.CacheFullError:
            abort(429)
        if not first_use:
            abort(409)
        session = store.create(str(claims["sub"]))
        response = jsonify(user=session.user_id)
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
        store.delete(require_session().session_id)
        return jsonify(logged_out=True)

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


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sessionlab.chapters.download_tokens --port N --public-key PATH --files DIR [--jti-cache]``."""
    from sessionlab.lab.servers import run_wsgi_forever

    parser = argparse.ArgumentParser(
        prog="python -m sessionlab.chapters.download_tokens", description=main.__doc__
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--public-key", required=True, help="PEM public key of the token issuer")
    parser.add_argument("--files", required=True, help="folder whose plain files are served")
    parser.add_argument(
        "--jti-cache", action="store_true", help="refuse a token's second use (409)"
    )
    parser.add_argument("--audience", default=DOWNLOAD_AUDIENCE)
    parser.add_argument("--issuer", default=APP_ISSUER)
    parser.add_argument("--max-lifetime", type=int, default=MAX_LIFETIME)
    args = parser.parse_args(argv)

    keys = load_public_key(args.public_key)
    app = create_download_app(
        keys, args.files, audience=args.audience, issuer=args.issuer, max_lifetime=args.max_lifetime,
        jti_cache=JtiCache() if args.jti_cache else None,
    )  # fmt: skip

    print(
        f"download server on 127.0.0.1:{args.port} ({keys.algorithm}, jti cache {'on' if args.jti_cache else 'off'})"
    )
    run_wsgi_forever(app, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
