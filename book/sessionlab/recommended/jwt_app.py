"""The stateless-JWT twin of the reference session app, for the chapters on the drawbacks.

:func:`create_jwt_app` logs a user in by handing out a stateless JWT that carries the
user's role and profile, and then trusts that token alone: no lookup on any request. It is
deliberately the design the essay criticises, built correctly (keys from ``secrets``, the
book's :func:`~sessionlab.tokens.verify_token`), so that what the chapters measure is the
design and not a bug.

Two options show what it takes to undo the drawbacks, and that both add server-side state
consulted on every request:

- ``deny_list``: a :class:`MemoryDenyList` or :class:`RedisDenyList`; ``POST /logout`` puts the
  token's ``jti`` on it until the token's ``exp``, and every request asks it first.
- ``fresh_roles=True``: the role is read from the user table on every request instead of from
  the token (``app.users_lookups`` counts those reads).

Endpoints: ``POST /login`` (form ``username``/``password``) returns ``{"access_token": ...}``;
``GET /me`` and ``GET /profile`` answer from the token's claims; ``GET /admin`` needs the role
``admin``; ``POST /logout``. Clients send ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import jwt
from flask import Flask, abort, jsonify, request
from werkzeug.security import check_password_hash

from sessionlab.recommended.tokens import KeyPair, issue_token, verify_token

__all__ = ["AUDIENCE", "ISSUER", "MemoryDenyList", "RedisDenyList", "create_jwt_app"]

AUDIENCE = "https://api.example"
ISSUER = "https://login.example"


class MemoryDenyList:
    """Token IDs that must be refused before they expire, in a dict; ``lookups`` counts checks."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self._entries: dict[str, float] = {}
        self.lookups = 0

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, jti: str, expires_at: float) -> None:
        """Refuse ``jti`` until ``expires_at``: after that the token's own ``exp`` refuses it."""
        self._entries[jti] = expires_at

    def contains(self, jti: str) -> bool:
        self.lookups += 1
        expires_at = self._entries.get(jti)
        if expires_at is None:
            return False
        if self.clock() >= expires_at:
            del self._entries[jti]
            return False
        return True


class RedisDenyList:
    """The same on Redis: one key per denied ``jti`` with a TTL up to the token's ``exp``."""

    def __init__(self, client, *, prefix: str = "denied:", clock: Callable[[], float] = time.time):
        self.client = client
        self.prefix = prefix
        self.clock = clock
        self.lookups = 0

    def add(self, jti: str, expires_at: float) -> None:
        ttl = int(expires_at - self.clock())
        if ttl > 0:
            self.client.set(f"{self.prefix}{jti}", b"1", ex=ttl)

    def contains(self, jti: str) -> bool:
        self.lookups += 1
        return bool(self.client.exists(f"{self.prefix}{jti}"))


def create_jwt_app(
    keys: KeyPair,
    users: dict[str, dict[str, Any]],
    *,
    lifetime: int,
    deny_list: MemoryDenyList | RedisDenyList | None = None,
    fresh_roles: bool = False,
    clock: Callable[[], float] = time.time,
) -> Flask:
    """A stateless-JWT API; ``app.config["JWT_KEYS"]`` holds the key and may be replaced (rotation)."""
    app = Flask(__name__)
    app.config["JWT_KEYS"] = keys
    app.users_lookups = 0  # reads of the user table made by /admin with fresh_roles

    def claims_of_request() -> dict[str, Any]:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not token:
            abort(401)
        try:
            claims = verify_token(token, app.config["JWT_KEYS"], audience=AUDIENCE, issuer=ISSUER)
        except jwt.PyJWTError:
            abort(401)
        if deny_list is not None and deny_list.contains(claims["jti"]):
            abort(401)
        return claims

    @app.post("/login")
    def login():
        username = request.form.get("username", "")
        user = users.get(username)
        if user is None or not check_password_hash(
            user["password_hash"], request.form.get("password", "")
        ):
            abort(401)
        claims = {"sub": username, "role": user["role"], "jti": secrets.token_urlsafe(16)}
        if "website" in user:
            claims["website"] = user["website"]
        token = issue_token(
            claims,
            app.config["JWT_KEYS"],
            now=int(clock()),
            lifetime=lifetime,
            audience=AUDIENCE,
            issuer=ISSUER,
        )
        return jsonify(access_token=token)

    @app.get("/me")
    def me():
        claims = claims_of_request()
        return jsonify(user=claims["sub"], role=claims["role"])

    @app.get("/profile")
    def profile():
        claims = claims_of_request()
        return jsonify(user=claims["sub"], website=claims.get("website"))

    @app.get("/admin")
    def admin():
        claims = claims_of_request()
        if fresh_roles:
            # A lookup per request: the token no longer decides, the database does.
            app.users_lookups += 1
            role = users.get(claims["sub"], {}).get("role")
        else:
            role = claims["role"]
        if role != "admin":
            abort(403)
        return jsonify(admin=claims["sub"])

    @app.post("/logout")
    def logout():
        claims = claims_of_request()
        if deny_list is None:
            # Nothing on the server to delete: the client forgets the token, any copy lives on.
            return jsonify(logged_out=True, server_state_changed=False)
        deny_list.add(claims["jti"], claims["exp"])
        return jsonify(logged_out=True, server_state_changed=True)

    return app
