"""Chapter 02's contrast, *vulnerable on purpose*: a login kept in Flask's default session.

Flask's built-in ``flask.session`` stores nothing on the server: it serialises the whole
session dict into the cookie and signs it with itsdangerous. A login built on it, the way many
tutorials write one, is a stateless token in all but format: its logout cannot reach a copy of
the cookie. The fix is the reference app, :func:`sessionlab.recommended.session_app.create_session_app`.
"""

from __future__ import annotations

import secrets
from typing import Any

import flask

from sessionlab.lab.registry import registered_app
from sessionlab.recommended.webauth import check_password

__all__ = ["create_client_side_app"]


def _sample():
    from sessionlab.lab.fixtures import book_users

    yield (
        "Flask default session (client-side)",
        create_client_side_app(book_users(), secret_key=secrets.token_bytes(32)),
    )


@registered_app("Flask default session (vulnerable on purpose)", sample=_sample)
def create_client_side_app(users: dict[str, dict[str, Any]], *, secret_key: bytes) -> flask.Flask:
    """Log in, ``/me`` and log out on Flask's signed client-side session (no server state)."""
    app = flask.Flask("client_side_session")
    app.secret_key = secret_key

    @app.post("/login")
    def login():
        username = flask.request.form.get("username", "")
        if not check_password(users, username, flask.request.form.get("password", "")):
            flask.abort(401)
        flask.session["user"] = username
        flask.session["role"] = users[username]["role"]  # copied in: stale once it changes
        return {"user": username}

    @app.get("/me")
    def me():
        if "user" not in flask.session:
            flask.abort(401)
        return {"user": flask.session["user"], "role": flask.session["role"]}

    @app.post("/logout")
    def logout():
        flask.session.clear()  # empties the browser's copy; nothing on the server to delete
        return {"logged_out": True}

    return app
