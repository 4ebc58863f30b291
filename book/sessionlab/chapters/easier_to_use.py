"""The same five features built three ways, for chapter 11 ("easier to use").

Each factory returns a small Flask app with the same routes: ``POST /login`` (form fields
``username`` and ``password``), ``GET /me`` (the protected page), ``GET /admin`` (admins only),
``POST /logout`` and ``POST /logout-everywhere``. The users table is a dict shared with the
caller, standing in for the database, so a test can change a role the way an administrator would.

* :func:`create_session_version` (version A): a signed session-ID cookie and a server-side
  session store, CSRF-checked.
* :func:`create_jwt_version` (version B): a stateless access token that carries user and role,
  sent in an ``Authorization: Bearer`` header; no server-side store.
* :func:`create_jwt_version_with_store` (version B plus a store): the same bearer JWT, but it
  carries a session ID that every request looks up, i.e. a stateful JWT.

The clients know how each version expects to be called: :class:`CookieClient` lets the cookie
jar do the work and adds the CSRF header; :class:`BearerClient` keeps the token itself, sends it
on every request and forgets it on log-out. ``copy()`` on either gives a second holder of the
same credential (another device's tab, or a thief), for the log-out tests.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

import itsdangerous
import jwt
import requests
from flask import Flask, abort, jsonify, request
from werkzeug.security import check_password_hash

from sessionlab.recommended.sessions import SessionCookie
from sessionlab.recommended.tokens import KeyPair, issue_token, verify_token

__all__ = [
    "AUDIENCE",
    "ISSUER",
    "ACCESS_TOKEN_LIFETIME",
    "create_session_version",
    "create_jwt_version",
    "create_jwt_version_with_store",
    "CookieClient",
    "BearerClient",
]

AUDIENCE = "https://app.example"
ISSUER = "https://app.example"
ACCESS_TOKEN_LIFETIME = 15 * 60  # seconds: a typical short-lived access token


def _password_ok(users: dict[str, dict[str, Any]], username: str, password: str) -> bool:
    user = users.get(username)
    return user is not None and check_password_hash(user["password_hash"], password)


def create_session_version(
    users: dict[str, dict[str, Any]], store, cookie: SessionCookie, *, secure: bool = True
) -> Flask:
    """Version A: server-side sessions. The cookie holds a signed, random session ID; the store holds the rest.

    ``secure=False`` only for tests over plain HTTP, whose clients would not send a ``Secure`` cookie.
    """
    app = Flask("version_a_sessions")

    def current_session():
        try:
            session = store.get(cookie.loads(request.cookies.get("session", "")))
        except itsdangerous.BadData:
            session = None
        if session is None or session.user_id not in users:
            abort(401)
        return session

    def require_csrf(session) -> None:
        if not hmac.compare_digest(
            request.headers.get("X-CSRF-Token", ""), session.data["csrf_token"]
        ):
            abort(403)

    @app.post("/login")
    def login():
        if not _password_ok(
            users, request.form.get("username", ""), request.form.get("password", "")
        ):
            abort(401)
        session = store.create(request.form["username"], {"csrf_token": secrets.token_urlsafe(32)})
        response = jsonify(csrf_token=session.data["csrf_token"])
        response.set_cookie(
            "session",
            cookie.dumps(session.session_id),
            httponly=True,
            secure=secure,
            samesite="Lax",
        )
        return response

    @app.get("/me")
    def me():
        return jsonify(user=current_session().user_id)

    @app.get("/admin")
    def admin():
        session = current_session()
        if users[session.user_id]["role"] != "admin":
            abort(403)
        return jsonify(admin=session.user_id)

    @app.post("/logout")
    def logout():
        session = current_session()
        require_csrf(session)
        store.delete(session.session_id)
        response = jsonify(logged_out=True)
        response.delete_cookie("session", httponly=True, secure=secure, samesite="Lax")
        return response

    @app.post("/logout-everywhere")
    def logout_everywhere():
        session = current_session()
        require_csrf(session)
        response = jsonify(sessions_ended=store.delete_user(session.user_id))
        response.delete_cookie("session", httponly=True, secure=secure, samesite="Lax")
        return response

    return app


def create_jwt_version(users: dict[str, dict[str, Any]], keys: KeyPair) -> Flask:
    """Version B: stateless JWTs. The token carries user and role; the server keeps nothing."""
    app = Flask("version_b_jwt")

    def current_claims() -> dict[str, Any]:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer":
            abort(401)
        try:
            return verify_token(token, keys, audience=AUDIENCE, issuer=ISSUER)
        except jwt.PyJWTError:
            abort(401)

    @app.post("/login")
    def login():
        username = request.form.get("username", "")
        if not _password_ok(users, username, request.form.get("password", "")):
            abort(401)
        claims = {"sub": username, "role": users[username]["role"]}
        token = issue_token(
            claims,
            keys,
            now=int(time.time()),
            lifetime=ACCESS_TOKEN_LIFETIME,
            audience=AUDIENCE,
            issuer=ISSUER,
        )
        return jsonify(access_token=token)

    @app.get("/me")
    def me():
        return jsonify(user=current_claims()["sub"])

    @app.get("/admin")
    def admin():
        claims = current_claims()
        if claims["role"] != "admin":
            abort(403)
        return jsonify(admin=claims["sub"])

    @app.post("/logout")
    def logout():
        current_claims()
        return jsonify(logged_out=True)  # nothing to delete: the client must forget the token

    @app.post("/logout-everywhere")
    def logout_everywhere():
        current_claims()
        return jsonify(sessions_ended=0)  # the server does not know where else tokens live

    return app


def create_jwt_version_with_store(users: dict[str, dict[str, Any]], keys: KeyPair, store) -> Flask:
    """Version B with a store: the bearer JWT carries a session ID, looked up on every request."""
    app = Flask("version_b_jwt_with_store")

    def current_session():
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer":
            abort(401)
        try:
            claims = verify_token(token, keys, audience=AUDIENCE, issuer=ISSUER)
        except jwt.PyJWTError:
            abort(401)
        session = store.get(claims.get("sid", ""))
        if session is None or session.user_id != claims["sub"] or session.user_id not in users:
            abort(401)
        return session

    @app.post("/login")
    def login():
        username = request.form.get("username", "")
        if not _password_ok(users, username, request.form.get("password", "")):
            abort(401)
        session = store.create(username)
        claims = {"sub": username, "sid": session.session_id}
        token = issue_token(
            claims,
            keys,
            now=int(time.time()),
            lifetime=ACCESS_TOKEN_LIFETIME,
            audience=AUDIENCE,
            issuer=ISSUER,
        )
        return jsonify(access_token=token)

    @app.get("/me")
    def me():
        return jsonify(user=current_session().user_id)

    @app.get("/admin")
    def admin():
        session = current_session()
        if users[session.user_id]["role"] != "admin":
            abort(403)
        return jsonify(admin=session.user_id)

    @app.post("/logout")
    def logout():
        store.delete(current_session().session_id)
        return jsonify(logged_out=True)

    @app.post("/logout-everywhere")
    def logout_everywhere():
        return jsonify(sessions_ended=store.delete_user(current_session().user_id))

    return app


class CookieClient:
    """A client of version A: the cookie jar carries the session; the client adds the CSRF header."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()
        self.csrf_token = ""

    def log_in(self, username: str, password: str) -> requests.Response:
        response = self.http.post(
            f"{self.base_url}/login", data={"username": username, "password": password}
        )
        if response.ok:
            self.csrf_token = response.json()["csrf_token"]
        return response

    def get(self, path: str) -> requests.Response:
        return self.http.get(f"{self.base_url}{path}")

    def post(self, path: str) -> requests.Response:
        return self.http.post(f"{self.base_url}{path}", headers={"X-CSRF-Token": self.csrf_token})

    def copy(self) -> CookieClient:
        other = CookieClient(self.base_url)
        other.http.cookies.update(self.http.cookies)
        other.csrf_token = self.csrf_token
        return other


class BearerClient:
    """A client of version B: it keeps the token, sends it on every request, and forgets it on log-out."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()
        self.token: str | None = None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def log_in(self, username: str, password: str) -> requests.Response:
        response = self.http.post(
            f"{self.base_url}/login", data={"username": username, "password": password}
        )
        if response.ok:
            self.token = response.json()["access_token"]
        return response

    def get(self, path: str) -> requests.Response:
        return self.http.get(f"{self.base_url}{path}", headers=self._headers())

    def post(self, path: str) -> requests.Response:
        response = self.http.post(f"{self.base_url}{path}", headers=self._headers())
        if path.startswith("/logout"):
            self.token = None  # the only log-out a stateless token allows: forget it here
        return response

    def copy(self) -> BearerClient:
        other = BearerClient(self.base_url)
        other.token = self.token
        return other
