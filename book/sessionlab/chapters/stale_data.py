"""Chapter 23's extra app: a Flask signed-cookie session (not a JWT) that copies the role into
the cookie at login, to show that client-side session data goes stale like a token's claims."""

from __future__ import annotations

import secrets
from typing import Any

import flask
from flask import abort, jsonify, request

from sessionlab.lab.registry import registered_app
from sessionlab.recommended.webauth import check_password

__all__ = ["create_cookie_session_app"]


def _sample():
    from sessionlab.lab.fixtures import book_users

    yield "Flask signed-cookie session, role in the cookie", create_cookie_session_app(book_users())


@registered_app("flask signed-cookie session", sample=_sample)
def create_cookie_session_app(users: dict[str, dict[str, Any]]) -> flask.Flask:
    """Flask's default (client-side, signed) session holding the user and a copy of the role."""
    app = flask.Flask(__name__)
    app.secret_key = secrets.token_bytes(32)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")

    @app.post("/login")
    def login():
        username = request.form.get("username", "")
        if not check_password(users, username, request.form.get("password", "")):
            abort(401)
        flask.session["user"] = username
        flask.session["role"] = users[username]["role"]  # copied into the cookie
        return jsonify(ok=True)

    @app.get("/admin")
    def admin():
        if flask.session.get("role") != "admin":
            abort(403)
        return jsonify(admin=flask.session.get("user"))

    return app
