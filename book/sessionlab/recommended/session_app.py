"""The book's reference session app: server-side sessions done the boring, correct way.

Chapters show this code with ``show_source`` and run it over real HTTP; the hostile-input tests
in ``tests/`` attack the very same app. Users and roles live in a dict that stands in for the
database, and are read on every request, so a change applies to the next request.

Options cover the variants chapters compare (the cookie's name and ``SameSite``, CSRF
protection on or off, HTML pages for the browser chapters, the toy bank's ``/transfer``);
the defaults are the reference configuration. The parts it is built from (password check,
login throttle, Fetch Metadata check, security headers) live in :mod:`.webauth`.
"""

from __future__ import annotations

import hmac
import html
import secrets
from typing import Any

import itsdangerous
from flask import Flask, abort, jsonify, make_response, redirect, request
from werkzeug.security import generate_password_hash

from sessionlab.lab.registry import registered_app
from sessionlab.recommended import webauth
from sessionlab.recommended.sessions import MemorySessionStore, SessionCookie
from sessionlab.recommended.webauth import (
    LoginThrottle,
    add_security_headers,
    add_transfer_route,
    check_password,
    cross_site_refusal,
    html_page,
)

__all__ = ["COOKIE_NAME", "SAMESITE_VALUES", "create_session_app"]

COOKIE_NAME = "session"
#: ``None`` sends no ``SameSite`` attribute at all (the browser's default applies).
SAMESITE_VALUES = ("Strict", "Lax", "None", None)
_DEFAULT = object()


def _sample():
    from sessionlab.lab.fixtures import book_users

    def parts():
        store = MemorySessionStore(idle_timeout=900, absolute_timeout=3600)
        return store, SessionCookie([secrets.token_bytes(32)], max_age=3600), book_users()

    yield "session app (reference, plain http)", create_session_app(*parts(), secure=False)
    yield (
        "session app (__Host- cookie, Secure)",
        create_session_app(*parts(), cookie_name="__Host-session", secure=True),
    )
    yield (
        "session app (bank pages, no CSRF token, SameSite=None)",
        create_session_app(
            *parts(), pages=True, transfer=True, csrf_protection=False, samesite="None", secure=True
        ),
    )


@registered_app("reference session app", sample=_sample)
def create_session_app(
    store,
    cookie: SessionCookie,
    users: dict[str, dict[str, Any]],
    *,
    secure: bool = True,
    samesite: str | None = "Lax",
    csrf_protection: bool = True,
    cookie_name: str = COOKIE_NAME,
    pages: bool = False,
    transfer: bool = False,
    login_throttle: LoginThrottle | None = _DEFAULT,  # type: ignore[assignment]
    hsts: bool = False,
) -> Flask:
    """Log in, a protected page, an admin page, log out, log out everywhere, a password change
    and an administrator's "end sessions" and "disable"; every state change CSRF-checked.

    ``secure``: the cookie's ``Secure`` flag, on by default (deploy it so, with
    ``cookie_name="__Host-session"`` to stop cookie tossing from sibling subdomains); the
    chapters that talk plain HTTP on loopback with ``requests``, which sends no ``Secure``
    cookie over http, pass ``secure=False`` and say so. ``samesite``: one of
    :data:`SAMESITE_VALUES`.
    ``csrf_protection=False`` is *vulnerable on purpose*: log-out and transfers then need no
    CSRF token. ``pages``: an HTML login form at ``/`` and an account page at ``/account``
    (login then answers with a redirect). ``transfer``: the toy bank's ``POST /transfer``.
    ``login_throttle``: a :class:`LoginThrottle` (default: 10 failures per user per 15
    minutes); ``None`` turns throttling off (*weaker*). ``hsts``: send
    ``Strict-Transport-Security`` (for an app behind HTTPS). The cookie carries no
    ``Max-Age``: it ends with the browser session, and the store's timeouts end it sooner.
    """
    if samesite not in SAMESITE_VALUES:
        raise ValueError('samesite must be "Strict", "Lax", "None" or None')
    throttle = LoginThrottle() if login_throttle is _DEFAULT else login_throttle
    app = Flask(__name__)
    attributes = dict(path="/", httponly=True, secure=secure, samesite=samesite)

    def current_session():
        value = request.cookies.get(cookie_name)
        if value is None:
            return None
        try:
            session_id = cookie.loads(value)
        except itsdangerous.BadData:
            return None
        return store.get(session_id)

    def require_session():
        session = current_session()
        if session is None or not _active(users, session.user_id):
            abort(401)
        return session

    def require_csrf(session) -> None:
        if not csrf_protection:
            return
        sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
        if not hmac.compare_digest(sent.encode(), session.data["csrf_token"].encode()):
            abort(403)

    @app.after_request
    def security_headers(response):
        return add_security_headers(response, hsts=hsts)

    @app.post("/login")
    def login():
        # Login CSRF: a cross-site form must not log the victim into the attacker's account.
        if cross_site_refusal(request.headers, request.host_url) is not None:
            abort(403)
        username = request.form.get("username", "")
        if throttle is not None and (wait := throttle.begin(username)):
            response = make_response(jsonify(error="too many failed logins"), 429)
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        password_ok = check_password(users, username, request.form.get("password", ""))
        if not password_ok or not _active(users, username):
            if pages:  # the failure was counted by begin()
                body = '<p id="result">Wrong user name or password</p>'
                return make_response(html_page("Log in", body), 401)
            abort(401)
        if throttle is not None:
            throttle.succeeded(username)
        # A brand-new ID at login: an ID planted before login (session fixation) is worthless.
        old = current_session()
        if old is not None:
            store.delete(old.session_id)
        session = store.create(username, {"csrf_token": secrets.token_urlsafe(32)})
        if pages:
            response = redirect("/account", code=303)
        else:
            response = jsonify(user=username, csrf_token=session.data["csrf_token"])
        response.set_cookie(cookie_name, cookie.dumps(session.session_id), **attributes)
        return response

    @app.get("/me")
    def me():
        session = require_session()
        return jsonify(user=session.user_id, role=users[session.user_id]["role"])

    @app.get("/admin")
    def admin():
        session = require_session()
        if users[session.user_id]["role"] != "admin":
            abort(403)
        return jsonify(admin=session.user_id)

    @app.post("/logout")
    def logout():
        session = require_session()
        require_csrf(session)
        store.delete(session.session_id)
        response = jsonify(logged_out=True)
        response.delete_cookie(cookie_name, **attributes)
        return response

    @app.post("/logout-everywhere")
    def logout_everywhere():
        session = require_session()
        require_csrf(session)
        ended = store.delete_user(session.user_id)
        response = jsonify(sessions_ended=ended)
        response.delete_cookie(cookie_name, **attributes)
        return response

    def set_cookie(response, session) -> None:
        response.set_cookie(cookie_name, cookie.dumps(session.session_id), **attributes)

    _add_account_routes(app, store, users, require_session, require_csrf, set_cookie)
    if pages:
        _add_pages(app, current_session, users, csrf_protection)
    if transfer:

        def authenticate() -> tuple[str | None, str]:
            session = current_session()
            if session is None or not _active(users, session.user_id):
                return None, ""
            return session.user_id, session.data["csrf_token"]

        add_transfer_route(app, authenticate, csrf_protection=csrf_protection)
    # For a chapter that adds a route: the app's own session lookup and CSRF check, so a fix here
    # reaches that route too (``require_session()`` aborts 401, ``require_csrf(session)`` 403).
    app.extensions["session_app"] = {
        "current_session": current_session,
        "require_session": require_session,
        "require_csrf": require_csrf,
    }
    return app


MIN_PASSWORD_LENGTH = 8


def _active(users, user_id: str) -> bool:
    """The user exists and is not disabled: checked on every request, like the role."""
    record = users.get(user_id)  # one read of the table
    return record is not None and not record.get("disabled")


def _add_account_routes(app: Flask, store, users, require_session, require_csrf, set_cookie):
    """A password change that can end the other sessions; an administrator ends or disables."""

    @app.post("/password")
    def change_password():
        session = require_session()
        require_csrf(session)
        new = request.form.get("new", "")
        if not check_password(users, session.user_id, request.form.get("old", "")):
            abort(401)
        if len(new) < MIN_PASSWORD_LENGTH:
            abort(400, f"a password has at least {MIN_PASSWORD_LENGTH} characters")
        method = users[session.user_id]["password_hash"].split("$", 1)[0]
        users[session.user_id]["password_hash"] = generate_password_hash(new, method=method)
        response = jsonify(changed=True)
        if request.form.get("end_other_sessions") == "1":
            store.delete_user(session.user_id)  # every session, this one too, then a new one
            fresh = store.create(session.user_id, {"csrf_token": session.data["csrf_token"]})
            set_cookie(response, fresh)
        return response

    def admin_target() -> str:
        session = require_session()
        require_csrf(session)
        return webauth.admin_target(users[session.user_id]["role"], users)

    @app.post("/admin/end-sessions")
    def admin_end_sessions():
        name = admin_target()
        return jsonify(user=name, sessions_ended=store.delete_user(name))

    @app.post("/admin/disable")
    def admin_disable():
        name = admin_target()
        users[name]["disabled"] = True  # kept, not deleted: an administrator can re-enable it
        return jsonify(user=name, disabled=True, sessions_ended=store.delete_user(name))


def _add_pages(app: Flask, current_session, users, csrf_protection: bool) -> None:
    """The HTML login form and the account page with its transfer form."""

    @app.get("/")
    def home():
        return html_page("Bank", LOGIN_FORM)

    @app.get("/account")
    def account():
        session = current_session()
        if session is None or not _active(users, session.user_id):
            return make_response(html_page("Bank", '<p id="result">Not logged in</p>'), 401)
        token = html.escape(session.data["csrf_token"])
        hidden = (
            f'<input type="hidden" name="csrf_token" value="{token}">' if csrf_protection else ""
        )
        body = TRANSFER_FORM.replace("HIDDEN", hidden).replace("USER", html.escape(session.user_id))
        return html_page("Account", body)


LOGIN_FORM = """<h1>Log in</h1>
<form method="post" action="/login">
  <input id="username" name="username" autocomplete="username">
  <input id="password" name="password" type="password" autocomplete="current-password">
  <button id="login">Log in</button>
</form>"""

TRANSFER_FORM = """<h1>Hello, USER</h1>
<form method="post" action="/transfer">
  HIDDEN
  <input id="to" name="to"> <input id="amount" name="amount" inputmode="numeric">
  <button id="send">Send</button>
</form>"""
