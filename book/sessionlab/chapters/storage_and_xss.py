"""A bank with a reflected-XSS bug (vulnerable on purpose) and the attacker's collector, for the XSS chapter.

:func:`create_xss_bank` extends the book's reference session app (HttpOnly session cookie) with
a JWT login whose front end keeps the token in ``localStorage``, an API that accepts that token
as a bearer token, and a search page that pastes its query into the HTML unescaped: the
injection point. :func:`create_loot_collector` is the attacker's server on another site; it keeps
every request body it receives, under the name in its path, which is the evidence of what was
stolen (one list per victim, so that victims in three browser engines can be attacked at once).
The bank's front end (``/bank.js``) can also keep a credential where no page script reaches it:
a session ID held only by a Web Worker (``/bank-worker.js``), and a non-extractable signing key.
"""

from __future__ import annotations

import asyncio
import base64
import html
import secrets
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from flask import Flask, Response, abort, jsonify, request

from sessionlab.lab.registry import registered_app
from sessionlab.recommended.jwt_app import set_token_cookie
from sessionlab.recommended.session_app import create_session_app
from sessionlab.recommended.sessions import MemorySessionStore, SessionCookie
from sessionlab.recommended.tokens import generate_keys, issue_token, verify_token
from sessionlab.recommended.webauth import bearer_token, check_password

__all__ = [
    "JWT_COOKIE",
    "SHORT_LIFETIME",
    "TOKEN_AUDIENCE",
    "TOKEN_ISSUER",
    "TOKEN_LIFETIME",
    "BANK_JS",
    "WORKER_JS",
    "create_xss_bank",
    "create_loot_collector",
    "signature_verifies",
    "wait_for_loot",
]

TOKEN_AUDIENCE = "bank-api"
TOKEN_ISSUER = "bank"
TOKEN_CLIENT_ID = "bank-web"
TOKEN_LIFETIME = 3600  # one hour, a common access-token lifetime
#: The short-lived variant of the controls: five minutes, a common "short expiry".
SHORT_LIFETIME = 300
#: The cookie that carries the JWT in the HttpOnly control.
JWT_COOKIE = "jwt"
#: The bank's front end, served as ``/bank.js``.
BANK_JS = (Path(__file__).with_suffix(".js")).read_text()
#: The Web Worker that holds a session ID in its own memory, served as ``/bank-worker.js``.
WORKER_JS = """// A session ID that only this worker holds: the page sends messages, never sees the ID.
let sessionId = null;
onmessage = async (event) => {
  const [port] = event.ports;
  if (event.data.login) {
    const body = new URLSearchParams(event.data.login);
    const response = await fetch("/api/session-login", {method: "POST", body});
    sessionId = (await response.json()).session_id;
    port.postMessage(response.status);
  } else {  // any other message: call the API with the ID, answer with the response's body
    const headers = {Authorization: "Bearer " + sessionId};
    port.postMessage(await (await fetch(event.data.call, {headers})).text());
  }
};
"""


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>'
        f'<script src="/bank.js"></script></head><body><h1>{title}</h1>{body}</body></html>'
    )


def _bank_sample():
    from sessionlab.lab.fixtures import book_users

    yield "XSS bank (vulnerable on purpose)", create_xss_bank(book_users())
    yield (
        "XSS bank with CSP",
        create_xss_bank(book_users(), content_security_policy="default-src 'self'"),
    )


@registered_app("storage_and_xss.bank", sample=_bank_sample)
def create_xss_bank(
    users: dict[str, dict[str, Any]], *, content_security_policy: str | None = None
) -> Flask:
    """The reference session app plus a JWT login, a bearer-token API and a reflected-XSS search page.

    ``content_security_policy``: sent as a ``Content-Security-Policy`` header on every page
    when given (the page's own script is the external ``/bank.js``, so ``script-src 'self'``
    keeps the bank working).
    """
    store = MemorySessionStore(idle_timeout=1800, absolute_timeout=8 * 3600)
    cookie = SessionCookie([secrets.token_bytes(32)], max_age=8 * 3600)
    # POST /login, GET /me: an HttpOnly cookie (not Secure: plain http on loopback)
    app = create_session_app(store, cookie, users, secure=False)
    token_keys = generate_keys("HS256")

    def _checked_user() -> str:
        """The form's user name if its password is right; otherwise the request ends with 401."""
        username = request.form.get("username", "")
        if not check_password(users, username, request.form.get("password", "")):
            abort(401)
        return username

    def _token_for(username: str, lifetime: int) -> str:
        claims = {"sub": username, "role": users[username]["role"]}
        return issue_token(
            claims,
            token_keys,
            now=int(time.time()),
            lifetime=lifetime,
            audience=TOKEN_AUDIENCE,
            issuer=TOKEN_ISSUER,
            client_id=TOKEN_CLIENT_ID,
        )

    @app.get("/")
    def home():
        return _page("Bank", "<p>Welcome.</p>")

    @app.get("/bank.js")
    def bank_js():
        return Response(BANK_JS, mimetype="text/javascript")

    @app.get("/bank-worker.js")
    def bank_worker_js():
        return Response(WORKER_JS, mimetype="text/javascript")

    @app.post("/api/token-login")
    def token_login():
        username = _checked_user()
        short = request.args.get("lifetime") == "short"
        return jsonify(
            access_token=_token_for(username, SHORT_LIFETIME if short else TOKEN_LIFETIME)
        )

    @app.get("/api/me")
    def api_me():
        token = bearer_token(request.headers.get("Authorization"))
        if token is None:
            abort(401)
        try:
            claims = verify_token(token, token_keys, audience=TOKEN_AUDIENCE, issuer=TOKEN_ISSUER)
        except jwt.PyJWTError:
            abort(401)
        return jsonify(user=claims["sub"], role=claims["role"])

    # The controls: the same two kinds of credential, each kept in the other place. An opaque,
    # revocable session ID that the front end keeps in localStorage and sends as a bearer token,
    # and a stateless JWT that the server sets as an HttpOnly cookie.
    def _session_of_bearer():
        session_id = bearer_token(request.headers.get("Authorization"))
        session = store.get(session_id) if session_id else None
        if session is None:
            abort(401)
        return session_id, session

    @app.post("/api/session-login")
    def session_id_login():
        username = _checked_user()
        return jsonify(session_id=store.create(username).session_id)

    @app.get("/api/session-me")
    def session_id_me():
        _, session = _session_of_bearer()
        return jsonify(user=session.user_id, role=users[session.user_id]["role"])

    @app.post("/api/session-logout")
    def session_id_logout():
        session_id, _ = _session_of_bearer()
        store.delete(session_id)
        return "", 204

    @app.post("/jwt-cookie-login")
    def jwt_cookie_login():
        username = _checked_user()
        response = jsonify(ok=True)
        token = _token_for(username, TOKEN_LIFETIME)
        set_token_cookie(response, JWT_COOKIE, token, lifetime=TOKEN_LIFETIME, samesite="Lax")
        return response

    @app.get("/jwt-cookie-me")
    def jwt_cookie_me():
        try:
            claims = verify_token(
                request.cookies.get(JWT_COOKIE, ""),
                token_keys,
                audience=TOKEN_AUDIENCE,
                issuer=TOKEN_ISSUER,
            )
        except jwt.PyJWTError:
            abort(401)
        return jsonify(user=claims["sub"], role=claims["role"])

    @app.post("/jwt-cookie-logout")
    def jwt_cookie_logout():
        if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            abort(403)
        response = Response(status=204)
        response.delete_cookie(JWT_COOKIE, secure=True, httponly=True, samesite="Lax")
        return response  # stateless: the browser forgets the token; the server cannot

    @app.get("/search")
    def search():
        query = request.args.get("q", "")
        # VULNERABLE ON PURPOSE: the query goes into the HTML unescaped (reflected XSS).
        return _page("Search", f"<p>No results for {query}</p>")

    @app.get("/search-escaped")
    def search_escaped():
        query = request.args.get("q", "")
        # The fix: escape untrusted text for the HTML context it lands in.
        return _page("Search", f"<p>No results for {html.escape(query)}</p>")

    if content_security_policy is not None:

        @app.after_request
        def add_csp(response):
            if response.mimetype == "text/html":
                response.headers["Content-Security-Policy"] = content_security_policy
            return response

    return app


def _collector_sample():
    yield "XSS loot collector", create_loot_collector({})


@registered_app("storage_and_xss.collector", sample=_collector_sample)
def create_loot_collector(loot: dict[str, list[str]]):
    """The attacker's server: append the body of every ``POST /collect/<victim>`` to
    ``loot[victim]`` (a new list for a new name), answer 204."""

    app = Flask(__name__)

    @app.post("/collect/<victim>")
    def collect(victim):
        loot.setdefault(victim, []).append(request.get_data(as_text=True))
        return "", 204

    return app


async def wait_for_loot(
    loot: dict[str, list[str]], victim: str, count: int = 1, timeout: float = 60.0
) -> list[str]:
    """Wait (without blocking the event loop) until ``loot[victim]`` holds ``count`` items; return
    them. ``timeout`` only bounds a failure: the wait ends as soon as the requests are in."""
    deadline = time.monotonic() + timeout
    while len(loot.get(victim, ())) < count:
        if time.monotonic() > deadline:
            got = len(loot.get(victim, ()))
            raise TimeoutError(f"the attacker received {got} of {count} expected requests")
        await asyncio.sleep(0.02)
    return list(loot[victim])


def signature_verifies(public_jwk: dict[str, str], message: bytes, signature: str) -> bool:
    """Whether ``signature`` (WebCrypto's ECDSA P-256 signature: raw ``r || s``, base64) signs
    ``message`` under the public key ``public_jwk`` (a JWK, as WebCrypto exports it)."""
    raw = base64.b64decode(signature)
    if len(raw) != 64:
        return False
    der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))

    def coordinate(name: str) -> int:
        return int.from_bytes(base64.urlsafe_b64decode(public_jwk[name] + "=="))

    numbers = ec.EllipticCurvePublicNumbers(coordinate("x"), coordinate("y"), ec.SECP256R1())
    try:
        numbers.public_key().verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
