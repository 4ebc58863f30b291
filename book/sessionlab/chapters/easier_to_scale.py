"""One worker process of a horizontally scaled app: the reference session app on a shared Redis.

Chapter 10 starts several of these on their own ports, all pointing at one Redis, the essay's
first scaling step::

    python -m sessionlab.chapters.easier_to_scale --port 8001 --redis-socket /tmp/redis.socket --name worker-1

Besides the reference app's routes (``/login``, ``/me``, ``/admin``, ``/logout``,
``/logout-everywhere``) a worker can hand a logged-in user two kinds of JWT, so the chapter can
compare what each costs on every request:

* ``POST /tokens`` (session cookie and ``X-CSRF-Token``) returns a *stateless* JWT, which
  carries the user and role, and a *stateful* JWT, which carries only the session ID.
* ``GET /me/stateless-jwt`` trusts the token alone: no store lookup.
* ``GET /me/stateful-jwt`` verifies the token, then looks its session ID up in the store.

Every response names the worker that served it in an ``X-Served-By`` header. The secrets come
from the environment (``SESSIONLAB_COOKIE_SECRET`` and ``SESSIONLAB_JWT_SECRET``, hex, at least
32 bytes each), so every worker shares them and they never show in a process listing.
"""

from __future__ import annotations

import argparse
import hmac
import os
import time

import itsdangerous
import jwt
import redis
from flask import Flask, abort, jsonify, request

from sessionlab.lab.fixtures import make_users
from sessionlab.lab.servers import run_wsgi_forever
from sessionlab.recommended.session_app import COOKIE_NAME, create_session_app
from sessionlab.recommended.sessions import RedisSessionStore, SessionCookie
from sessionlab.recommended.tokens import KeyPair, issue_token, verify_token

__all__ = ["DEMO_PASSWORD", "AUDIENCE", "ISSUER", "TOKEN_LIFETIME", "create_worker_app", "main"]

#: The demo user's password (alice, role admin). A demo credential: never reuse.
DEMO_PASSWORD = "demo password, never reuse"
AUDIENCE = "https://app.example"
ISSUER = "https://app.example"
TOKEN_LIFETIME = 15 * 60
IDLE_TIMEOUT = 30 * 60
ABSOLUTE_TIMEOUT = 8 * 60 * 60


def create_worker_app(
    name: str, store: RedisSessionStore, cookie: SessionCookie, jwt_keys: KeyPair
) -> Flask:
    """The reference session app plus the two JWT routes; every response says which worker served it."""
    users = make_users(alice=(DEMO_PASSWORD, "admin"))
    app = create_session_app(store, cookie, users)

    @app.after_request
    def name_the_worker(response):
        response.headers["X-Served-By"] = name
        return response

    def session_from_cookie():
        try:
            session = store.get(cookie.loads(request.cookies.get(COOKIE_NAME, "")))
        except itsdangerous.BadData:
            session = None
        if session is None:
            abort(401)
        return session

    def bearer_claims() -> dict:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer":
            abort(401)
        try:
            return verify_token(token, jwt_keys, audience=AUDIENCE, issuer=ISSUER)
        except jwt.PyJWTError:
            abort(401)

    @app.post("/tokens")
    def tokens():
        session = session_from_cookie()
        sent = request.headers.get("X-CSRF-Token", "")
        if not hmac.compare_digest(sent.encode(), session.data["csrf_token"].encode()):
            abort(403)
        now = int(time.time())
        common = {
            "keys": jwt_keys,
            "now": now,
            "lifetime": TOKEN_LIFETIME,
            "audience": AUDIENCE,
            "issuer": ISSUER,
        }
        stateless = issue_token(
            {"sub": session.user_id, "role": users[session.user_id]["role"]}, **common
        )
        stateful = issue_token({"sub": session.user_id, "sid": session.session_id}, **common)
        return jsonify(stateless=stateless, stateful=stateful)

    @app.get("/me/stateless-jwt")
    def me_stateless_jwt():
        claims = bearer_claims()
        return jsonify(user=claims["sub"], role=claims["role"])

    @app.get("/me/stateful-jwt")
    def me_stateful_jwt():
        claims = bearer_claims()
        session = store.get(claims["sid"])
        if session is None:
            abort(401)
        return jsonify(user=session.user_id, role=users[session.user_id]["role"])

    return app


def _secret_from_env(variable: str) -> bytes:
    value = bytes.fromhex(os.environ.get(variable, ""))
    if len(value) < 32:
        raise SystemExit(f"{variable} must hold at least 32 random bytes, hex-encoded")
    return value


def main(argv: list[str] | None = None) -> None:
    """Serve one worker on 127.0.0.1 until the process is terminated."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-socket", required=True, help="unix socket of the shared Redis")
    parser.add_argument("--name", default=None, help="worker name for the X-Served-By header")
    args = parser.parse_args(argv)

    client = redis.Redis(unix_socket_path=args.redis_socket)
    store = RedisSessionStore(client, idle_timeout=IDLE_TIMEOUT, absolute_timeout=ABSOLUTE_TIMEOUT)
    cookie = SessionCookie(_secret_from_env("SESSIONLAB_COOKIE_SECRET"), max_age=ABSOLUTE_TIMEOUT)
    jwt_secret = _secret_from_env("SESSIONLAB_JWT_SECRET")
    jwt_keys = KeyPair("HS256", jwt_secret, jwt_secret, "from the environment")
    app = create_worker_app(args.name or f"worker-{args.port}", store, cookie, jwt_keys)
    run_wsgi_forever(app, port=args.port)


if __name__ == "__main__":
    main()
