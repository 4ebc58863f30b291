"""A toy bank and an attacker's page, for the chapters on CSRF and on blocked cookies.

:func:`create_bank_app` builds a bank that keeps its credential in one of three places: a
server-side session behind a cookie, a JWT in a cookie, or a JWT that the page keeps in
``localStorage`` (or only in memory) and sends in an ``Authorization`` header. The bank's own
records are the evidence: ``app.ledger`` lists the transfers it executed and ``app.refusals``
the ones it turned down, each with the ``Sec-Fetch-Site`` header the browser sent.

:func:`create_attacker_app` is the other site: a page with a hidden form that posts a transfer
to the bank as soon as it loads.

The defaults are the safe ones: ``SameSite=Lax``, a CSRF token, ``HttpOnly`` and ``Secure``
cookies (browsers accept ``Secure`` over plain http on ``127.0.0.1`` and ``localhost``).
"""

from __future__ import annotations

import hmac
import html
import json
import secrets
import time
from typing import Any

import itsdangerous
import jwt
from flask import Flask, jsonify, make_response, redirect, request
from werkzeug.security import check_password_hash

from sessionlab.lab.fixtures import make_users
from sessionlab.recommended.sessions import MemorySessionStore, SessionCookie
from sessionlab.recommended.tokens import generate_keys, issue_token, verify_token

__all__ = ["CREDENTIALS", "TOKEN_STORAGES", "create_bank_app", "create_attacker_app"]

#: Where the bank keeps the logged-in user's credential.
CREDENTIALS = ("session-cookie", "jwt-cookie", "jwt-header")
#: Where the ``jwt-header`` page keeps its token between requests.
TOKEN_STORAGES = ("localStorage", "memory")
COOKIE_NAME = "bank_auth"
TOKEN_LIFETIME = 900  # seconds
AUDIENCE = ISSUER = "bank"


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
    (cookie credentials only; a header credential cannot be attached by another site's form).
    ``token_storage``: where the ``jwt-header`` page keeps its token (:data:`TOKEN_STORAGES`).
    ``users`` defaults to alice with password ``"correct horse battery staple"``.
    """
    if credential not in CREDENTIALS:
        raise ValueError(f"credential must be one of {CREDENTIALS}")
    if samesite not in ("Strict", "Lax", "None", None):
        raise ValueError('samesite must be "Strict", "Lax", "None" or None')
    if token_storage not in TOKEN_STORAGES:
        raise ValueError(f"token_storage must be one of {TOKEN_STORAGES}")
    users = (
        users
        if users is not None
        else make_users(alice=("correct horse battery staple", "customer"))
    )

    app = Flask(__name__)
    app.ledger = []  # transfers the bank executed
    app.refusals = []  # transfers it turned down, and why
    store = MemorySessionStore(idle_timeout=900, absolute_timeout=8 * 3600)
    session_cookie = SessionCookie(secrets.token_bytes(32), max_age=8 * 3600)
    keys = generate_keys("HS256")

    def log_in(username: str) -> tuple[str, str]:
        """Create the credential for ``username``; return it and the CSRF token bound to it."""
        csrf_token = secrets.token_urlsafe(32)
        if credential == "session-cookie":
            session = store.create(username, {"csrf_token": csrf_token})
            return session_cookie.dumps(session.session_id), csrf_token
        claims = (
            {"sub": username, "csrf": csrf_token}
            if credential == "jwt-cookie"
            else {"sub": username}
        )
        token = issue_token(
            claims,
            keys,
            now=int(time.time()),
            lifetime=TOKEN_LIFETIME,
            audience=AUDIENCE,
            issuer=ISSUER,
        )
        return token, csrf_token

    def authenticate() -> tuple[str | None, str]:
        """The user behind this request's credential, and the CSRF token that belongs to it."""
        if credential == "jwt-header":
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme != "Bearer" or not token:
                return None, ""
        else:
            token = request.cookies.get(COOKIE_NAME)
            if token is None:
                return None, ""
        if credential == "session-cookie":
            try:
                session = store.get(session_cookie.loads(token))
            except itsdangerous.BadData:
                return None, ""
            return (session.user_id, session.data["csrf_token"]) if session else (None, "")
        try:
            claims = verify_token(token, keys, audience=AUDIENCE, issuer=ISSUER)
        except jwt.PyJWTError:
            return None, ""
        return claims["sub"], claims.get("csrf", "")

    def record(book: list, user: str | None, status: int, reason: str) -> dict[str, Any]:
        row = {
            "user": user or "(nobody)",
            "to": request.form.get("to", ""),
            "amount": _whole_number(request.form.get("amount", "0") or "0"),
            "sec_fetch_site": request.headers.get("Sec-Fetch-Site", "(not sent)"),
            "status": status,
            "reason": reason,
        }
        book.append(row)
        return row

    def reply(status: int, message: str):
        if credential == "jwt-header" and request.headers.get("Authorization"):
            return jsonify(status=status, message=message), status
        return make_response(
            _page("Transfer", f'<p id="result">{html.escape(message)}</p>'), status
        )

    @app.get("/")
    def home():
        if credential == "jwt-header":
            return _page("Bank", _SPA_BODY.replace("STORAGE", json.dumps(token_storage)))
        return _page("Bank", _LOGIN_FORM)

    @app.post("/login")
    def login():
        username = request.form.get("username", "")
        user = users.get(username)
        if user is None or not check_password_hash(
            user["password_hash"], request.form.get("password", "")
        ):
            return make_response(
                _page("Bank", '<p id="result">Wrong user name or password</p>'), 401
            )
        value, _csrf = log_in(username)
        if credential == "jwt-header":
            return jsonify(token=value)
        response = redirect("/account", code=303)
        response.set_cookie(
            COOKIE_NAME, value, path="/", httponly=True, secure=True, samesite=samesite
        )
        return response

    @app.get("/account")
    def account():
        user, csrf_token = authenticate()
        if user is None:
            return make_response(_page("Bank", '<p id="result">Not logged in</p>'), 401)
        hidden = (
            f'<input type="hidden" name="csrf_token" value="{html.escape(csrf_token)}">'
            if csrf_protection
            else ""
        )
        return _page(
            "Account", _TRANSFER_FORM.replace("HIDDEN", hidden).replace("USER", html.escape(user))
        )

    @app.post("/transfer")
    def transfer():
        user, csrf_expected = authenticate()
        if user is None:
            record(app.refusals, None, 401, "no valid credential")
            return reply(401, "Refused: not logged in")
        if csrf_protection and credential != "jwt-header":
            sent = request.form.get("csrf_token", "")
            if not csrf_expected or not hmac.compare_digest(sent.encode(), csrf_expected.encode()):
                record(app.refusals, user, 403, "missing or wrong CSRF token")
                return reply(403, "Refused: CSRF token missing or wrong")
        amount = _whole_number(request.form.get("amount", ""))
        if amount is None or amount <= 0:
            record(app.refusals, user, 400, "amount is not a positive whole number")
            return reply(400, "Refused: the amount must be a positive whole number")
        row = record(app.ledger, user, 200, "executed")
        return reply(200, f"Sent {row['amount']} to {row['to']}")

    return app


def _whole_number(text: str) -> int | None:
    """``text`` as an int if it is a plain, reasonably sized whole number, else ``None``."""
    text = text.strip()
    if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 12:
        return None
    return int(text)


def create_attacker_app(bank_url: str, *, to: str = "mallory", amount: int = 1000) -> Flask:
    """Another site whose page posts a transfer to ``bank_url`` as soon as it loads."""
    app = Flask(__name__)
    action = html.escape(f"{bank_url}/transfer")

    @app.get("/")
    def prize():
        return f"""<!doctype html>
<title>You won a prize!</title>
<h1>Claim your prize</h1>
<form id="forged" method="post" action="{action}">
  <input type="hidden" name="to" value="{html.escape(to)}">
  <input type="hidden" name="amount" value="{int(amount)}">
</form>
<script>document.getElementById("forged").submit();</script>"""

    return app


def _page(title: str, body: str) -> str:
    return f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{title}</title><body>{body}</body></html>'


_LOGIN_FORM = """<h1>Log in</h1>
<form method="post" action="/login">
  <input id="username" name="username" autocomplete="username">
  <input id="password" name="password" type="password" autocomplete="current-password">
  <button id="login">Log in</button>
</form>"""

_TRANSFER_FORM = """<h1>Hello, USER</h1>
<form method="post" action="/transfer">
  HIDDEN
  <input id="to" name="to"> <input id="amount" name="amount" inputmode="numeric">
  <button id="send">Send</button>
</form>"""

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
    keep((await response.json()).token);
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
