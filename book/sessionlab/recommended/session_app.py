"""The book's reference session app: server-side sessions done the boring, correct way.

Chapters show this code with ``{literalinclude}`` and run it over real HTTP; the hostile-input
tests in ``tests/`` attack the very same app. Users and roles live in a dict that stands in for
the database, and are read on every request, so a change applies to the next request.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

import itsdangerous
from flask import Flask, abort, jsonify, request
from werkzeug.security import check_password_hash

from sessionlab.recommended.sessions import SessionCookie

__all__ = ["COOKIE_NAME", "create_session_app"]

COOKIE_NAME = "session"


def create_session_app(
    store, cookie: SessionCookie, users: dict[str, dict[str, Any]], *, secure: bool = False
) -> Flask:
    """Log in, a protected page, an admin page, log out, log out everywhere; CSRF-checked."""
    app = Flask(__name__)

    def set_session_cookie(response, value: str, max_age: int) -> None:
        response.set_cookie(
            COOKIE_NAME,
            value,
            max_age=max_age,
            path="/",
            httponly=True,
            secure=secure,
            samesite="Lax",
        )

    def current_session():
        value = request.cookies.get(COOKIE_NAME)
        if value is None:
            return None
        try:
            session_id = cookie.loads(value)
        except itsdangerous.BadData:
            return None
        return store.get(session_id)

    def require_session():
        session = current_session()
        if session is None or session.user_id not in users:
            abort(401)
        return session

    def require_csrf(session) -> None:
        sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
        if not hmac.compare_digest(sent.encode(), session.data["csrf_token"].encode()):
            abort(403)

    @app.post("/login")
    def login():
        username = request.form.get("username", "")
        password = request.form.get("password", "")
        user = users.get(username)
        if user is None or not check_password_hash(user["password_hash"], password):
            abort(401)
        # A brand-new ID at login: an ID planted before login (session fixation) is worthless.
        old = current_session()
        if old is not None:
            store.delete(old.session_id)
        session = store.create(username, {"csrf_token": secrets.token_urlsafe(32)})
        response = jsonify(user=username, csrf_token=session.data["csrf_token"])
        set_session_cookie(response, cookie.dumps(session.session_id), cookie.max_age)
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
        response.delete_cookie(COOKIE_NAME, path="/", httponly=True, secure=secure, samesite="Lax")
        return response

    @app.post("/logout-everywhere")
    def logout_everywhere():
        session = require_session()
        require_csrf(session)
        ended = store.delete_user(session.user_id)
        response = jsonify(sessions_ended=ended)
        response.delete_cookie(COOKIE_NAME, path="/", httponly=True, secure=secure, samesite="Lax")
        return response

    return app
