"""A toy bank and an attacker's page, for the chapters on CSRF and on blocked cookies.

:func:`create_bank_app` is a configuration, not an app of its own: the session-cookie bank is
the reference session app (:func:`~sessionlab.recommended.session_app.create_session_app`) with
its HTML pages and ``/transfer``; the header bank is the JWT app
(:func:`~sessionlab.recommended.jwt_app.create_jwt_app`) with a single-page front end and
the same ``/transfer``. The JWT-cookie bank keeps a JWT with a ``csrf`` claim in the cookie
(the JWT app has no cookie mode yet), built from the same parts. The bank's own records are
the evidence: ``app.ledger`` lists the transfers it executed and ``app.refusals`` the ones it
turned down, each with the ``Sec-Fetch-Site`` header the browser sent.

:func:`create_attacker_app` (from :mod:`.webauth`) is the other site: a page with a hidden form
that posts a transfer to the bank as soon as it loads.

The defaults are the safe ones: ``SameSite=Lax``, a CSRF token, ``HttpOnly`` and ``Secure``
cookies (browsers accept ``Secure`` over plain http on ``127.0.0.1`` and ``localhost``).
"""

from __future__ import annotations

import html
import json
import secrets
import time
from typing import Any

import jwt
from flask import Flask, make_response, redirect, request

from sessionlab.lab.fixtures import PASSWORD, make_users
from sessionlab.lab.registry import registered_app
from sessionlab.recommended import jwt_app
from sessionlab.recommended.session_app import LOGIN_FORM, TRANSFER_FORM, create_session_app
from sessionlab.recommended.sessions import MemorySessionStore, SessionCookie
from sessionlab.recommended.tokens import generate_keys, issue_token, verify_token
from sessionlab.recommended.webauth import (
    add_security_headers,
    add_transfer_route,
    bearer_token,
    check_password,
    create_attacker_app,
    html_page,
    whole_number,
)

__all__ = ["CREDENTIALS", "TOKEN_STORAGES", "create_bank_app", "create_attacker_app"]

#: Where the bank keeps the logged-in user's credential.
CREDENTIALS = ("session-cookie", "jwt-cookie", "jwt-header")
#: Where the ``jwt-header`` page keeps its token between requests.
TOKEN_STORAGES = ("localStorage", "memory")
COOKIE_NAME = "bank_auth"
TOKEN_LIFETIME = 900  # seconds
_whole_number = whole_number


def _sample():
    for credential in CREDENTIALS:
        yield (
            f"bank ({credential}, SameSite=None)",
            create_bank_app(credential=credential, samesite="None"),
        )
    yield "bank (session cookie, no CSRF token)", create_bank_app(csrf_protection=False)
    yield (
        "bank (JWT cookie, no CSRF token)",
        create_bank_app(credential="jwt-cookie", csrf_protection=False),
    )


@registered_app("bank", sample=_sample)
def create_bank_app(
    *,
    credential: str = "session-cookie",
    samesite: str | None = "Lax",
    csrf_protection: bool = True,
    token_storage: str = "localStorage",  # noqa: S107 (a storage name, not a password)
    users: dict[str, dict[str, Any]] | None = None,
) -> Flask:
    """A bank with a login page, an account page and ``POST /transfer``.

    ``credential``: one of :data:`CREDENTIALS`. ``samesite``: ``"Strict"``, ``"Lax"`` or
    ``"None"`` for the cookie's attribute, or Python ``None`` to send no attribute at all (the
    browser's default applies). ``csrf_protection``: require a CSRF token in every transfer form
    (cookie credentials only; a header credential cannot be attached by another site's form);
    ``False`` is vulnerable on purpose. ``token_storage``: where the ``jwt-header`` page keeps
    its token (:data:`TOKEN_STORAGES`). ``users`` defaults to alice, a customer, with the
    book-wide demo password.
    """
    if credential not in CREDENTIALS:
        raise ValueError(f"credential must be one of {CREDENTIALS}")
    if samesite not in ("Strict", "Lax", "None", None):
        raise ValueError('samesite must be "Strict", "Lax", "None" or None')
    if token_storage not in TOKEN_STORAGES:
        raise ValueError(f"token_storage must be one of {TOKEN_STORAGES}")
    users = users if users is not None else make_users(alice=(PASSWORD, "customer"))
    if credential == "session-cookie":
        store = MemorySessionStore(idle_timeout=900, absolute_timeout=8 * 3600)
        cookie = SessionCookie(secrets.token_bytes(32), max_age=8 * 3600)
        return create_session_app(
            store, cookie, users, secure=True, samesite=samesite, cookie_name=COOKIE_NAME,
            csrf_protection=csrf_protection, pages=True, transfer=True,
        )  # fmt: skip
    keys = generate_keys("HS256")
    if credential == "jwt-header":
        return _header_bank(keys, users, token_storage)
    return _jwt_cookie_bank(keys, users, samesite, csrf_protection)


def _verified_claims(token: str | None, keys) -> dict[str, Any] | None:
    if token is None:
        return None
    try:
        return verify_token(token, keys, audience=jwt_app.AUDIENCE, issuer=jwt_app.ISSUER)
    except jwt.PyJWTError:
        return None


def _header_bank(keys, users, token_storage: str) -> Flask:
    """The JWT app, with a single-page front end that sends ``Authorization: Bearer``."""
    app = jwt_app.create_jwt_app(keys, users, lifetime=TOKEN_LIFETIME)

    @app.get("/")
    def home():
        return html_page("Bank", _SPA_BODY.replace("STORAGE", json.dumps(token_storage)))

    def authenticate() -> tuple[str | None, str]:
        claims = _verified_claims(bearer_token(request.headers.get("Authorization")), keys)
        return (claims["sub"], "") if claims else (None, "")

    add_transfer_route(
        app,
        authenticate,
        csrf_protection=False,
        json_replies=lambda: bool(request.headers.get("Authorization")),
    )
    app.after_request(add_security_headers)
    return app


def _jwt_cookie_bank(keys, users, samesite: str | None, csrf_protection: bool) -> Flask:
    """A JWT in an ``HttpOnly`` cookie; its ``csrf`` claim is the CSRF token (no server state)."""
    app = Flask(__name__)

    @app.get("/")
    def home():
        return html_page("Bank", LOGIN_FORM)

    @app.post("/login")
    def login():
        username = request.form.get("username", "")
        if not check_password(users, username, request.form.get("password", "")):
            body = '<p id="result">Wrong user name or password</p>'
            return make_response(html_page("Bank", body), 401)
        claims = {"sub": username, "csrf": secrets.token_urlsafe(32)}
        token = issue_token(claims, keys, now=int(time.time()), lifetime=TOKEN_LIFETIME,
                            audience=jwt_app.AUDIENCE, issuer=jwt_app.ISSUER,
                            client_id=jwt_app.CLIENT_ID)  # fmt: skip
        response = redirect("/account", code=303)
        response.set_cookie(
            COOKIE_NAME, token, path="/", httponly=True, secure=True, samesite=samesite
        )
        return response

    def authenticate() -> tuple[str | None, str]:
        claims = _verified_claims(request.cookies.get(COOKIE_NAME), keys)
        return (claims["sub"], claims.get("csrf", "")) if claims else (None, "")

    @app.get("/account")
    def account():
        user, csrf_token = authenticate()
        if user is None:
            return make_response(html_page("Bank", '<p id="result">Not logged in</p>'), 401)
        hidden = (
            f'<input type="hidden" name="csrf_token" value="{html.escape(csrf_token)}">'
            if csrf_protection
            else ""
        )
        return html_page(
            "Account", TRANSFER_FORM.replace("HIDDEN", hidden).replace("USER", html.escape(user))
        )

    add_transfer_route(app, authenticate, csrf_protection=csrf_protection)
    app.after_request(add_security_headers)
    return app


# A single-page app: the token lives in localStorage or in a variable, never in a cookie.
_SPA_BODY = """<h1>Bank</h1>
<p id="error" hidden></p>
<form id="login-form">
  <input id="username" name="username" autocomplete="username">
  <input id="password" name="password" type="password" autocomplete="current-password">
  <button id="login">Log in</button>
</form>
<form id="transfer-form" hidden>
  <input id="to" name="to"> <input id="amount" name="amount" inputmode="numeric">
  <button id="send">Send</button>
</form>
<script>
const storage = STORAGE;
let tokenInMemory = null;
const keep = (token) => {
  if (storage === "memory") { tokenInMemory = token; } else { localStorage.setItem("bank_jwt", token); }
};
const recall = () => (storage === "memory" ? tokenInMemory : localStorage.getItem("bank_jwt"));
const fail = (e) => {
  const p = document.getElementById("error");
  p.textContent = `${e.name}: ${e.message}`;
  p.hidden = false;
};
const showTransfer = () => {
  document.getElementById("login-form").hidden = true;
  document.getElementById("transfer-form").hidden = false;
};
try { if (recall()) { showTransfer(); } } catch (e) { fail(e); }
document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const response = await fetch("/login", { method: "POST", body: new FormData(event.target) });
    keep((await response.json()).access_token);
    showTransfer();
  } catch (e) { fail(e); }
});
document.getElementById("transfer-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  let headers = {};
  try { const token = recall(); if (token) { headers = { Authorization: `Bearer ${token}` }; } } catch (e) { fail(e); }
  const response = await fetch("/transfer", { method: "POST", headers, body: new FormData(event.target) });
  const result = document.createElement("p");
  result.id = "result";
  result.textContent = response.ok ? (await response.json()).message : `Refused: ${response.status}`;
  document.body.append(result);
});
</script>"""
