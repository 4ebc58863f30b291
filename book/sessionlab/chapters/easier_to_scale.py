"""Chapter 10's servers: a worker of a horizontally scaled app, its HAProxy and its load test.

Chapter 10 starts several workers, each in its own process on its own loopback address, all
pointing at one Redis server reached over TCP (the essay's first and second scaling steps)::

    python -m sessionlab.chapters.easier_to_scale --host 127.0.0.2 --port 8001 --redis-port 6400 --name a1

Besides the reference app's routes (``/login``, ``/me``, ``/admin``, ``/logout``,
``/logout-everywhere``) a worker answers ``/ping`` with no authentication at all, and can hand a
logged-in user two kinds of JWT, so the chapter can compare what each costs on every request:

* ``POST /tokens`` (session cookie and ``X-CSRF-Token``) returns a *stateless* JWT, which
  carries the user and role (``typ`` :data:`STATELESS_TYP`), and a *stateful* JWT, which carries
  only the session ID (``typ`` :data:`STATEFUL_TYP`). The two types differ, so neither kind is
  accepted on the other's route (RFC 8725 §3.11, explicit typing).
* ``GET /me/stateless-jwt`` trusts the token alone: no store lookup.
* ``GET /me/stateful-jwt`` verifies the token, then looks its session ID up in the store.

``--app jwt`` serves the same users on the book's stateless JWT app instead: the "before" of the
chapter's migration. Every response names the worker that served it in an ``X-Served-By``
header. The secrets come from the environment (``SESSIONLAB_COOKIE_SECRET`` and
``SESSIONLAB_JWT_SECRET``, hex, at least 32 bytes each), so every worker shares them and they
never show in a process listing. :func:`haproxy_config` writes the load balancer's
configuration and :func:`run_wrk` runs one bounded load test.
"""

from __future__ import annotations

import argparse
import hmac
import ipaddress
import json
import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import itsdangerous
import jwt
import redis
from flask import Flask, abort, jsonify, request

from sessionlab.lab.fixtures import make_users
from sessionlab.lab.registry import registered_app
from sessionlab.lab.servers import LOOPBACK, run_wsgi_forever
from sessionlab.recommended.jwt_app import create_jwt_app
from sessionlab.recommended.session_app import COOKIE_NAME, create_session_app
from sessionlab.recommended.sessions import MemorySessionStore, RedisSessionStore, SessionCookie
from sessionlab.recommended.tokens import KeyPair, generate_keys, issue_token, verify_token

__all__ = [
    "DEMO_PASSWORD",
    "AUDIENCE",
    "ISSUER",
    "STATEFUL_TYP",
    "STATELESS_TYP",
    "TOKEN_LIFETIME",
    "create_jwt_version",
    "create_worker_app",
    "haproxy_config",
    "main",
    "run_wrk",
]

#: The demo user's password (alice, role admin). A demo credential: never reuse.
DEMO_PASSWORD = "demo password, never reuse"
AUDIENCE = "https://app.example"
ISSUER = "https://app.example"
#: Explicit, distinct token types: a stateful token is refused where a stateless one is expected.
STATELESS_TYP = "user+jwt"
STATEFUL_TYP = "session-ref+jwt"
TOKEN_LIFETIME = 15 * 60
IDLE_TIMEOUT = 30 * 60
ABSOLUTE_TIMEOUT = 8 * 60 * 60
WRK_REPORT = Path(__file__).resolve().parents[1] / "data" / "wrk_report.lua"


def _demo_users(count: int = 0) -> dict:
    """alice (admin) plus ``count`` users ``user0``… (role user), all with the demo password."""
    roles = {"alice": (DEMO_PASSWORD, "admin")}
    roles.update({f"user{n}": (DEMO_PASSWORD, "user") for n in range(count)})
    return make_users(**roles)


def _sample_worker():
    keys = generate_keys("HS256")
    store = MemorySessionStore(idle_timeout=IDLE_TIMEOUT, absolute_timeout=ABSOLUTE_TIMEOUT)
    cookie = SessionCookie(secrets.token_bytes(32), max_age=ABSOLUTE_TIMEOUT)
    yield "worker on a memory store", create_worker_app("worker", store, cookie, keys)


@registered_app("easier_to_scale: worker", sample=_sample_worker)
def create_worker_app(
    name: str, store, cookie: SessionCookie, jwt_keys: KeyPair, *, users: dict | None = None
) -> Flask:
    """The reference session app plus /ping and the two JWT routes; every response names its worker."""
    users = users or _demo_users()
    app = create_session_app(store, cookie, users, secure=False)  # plain http on loopback

    @app.after_request
    def name_the_worker(response):
        response.headers["X-Served-By"] = name
        return response

    def session_from_cookie():
        try:
            session = store.get(cookie.loads(request.cookies.get(COOKIE_NAME, "")))
        except itsdangerous.BadData:
            session = None
        if session is None or session.user_id not in users:
            abort(401)
        return session

    def bearer_claims(typ: str) -> dict:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not token:
            abort(401)
        try:
            return verify_token(token, jwt_keys, audience=AUDIENCE, issuer=ISSUER, typ=typ)
        except jwt.PyJWTError:
            abort(401)

    @app.get("/ping")
    def ping():
        return jsonify(pong=True)

    @app.post("/tokens")
    def tokens():
        session = session_from_cookie()
        sent = request.headers.get("X-CSRF-Token", "")
        if not hmac.compare_digest(sent.encode(), session.data["csrf_token"].encode()):
            abort(403)
        common = {"keys": jwt_keys, "now": int(time.time()), "lifetime": TOKEN_LIFETIME}
        common.update(audience=AUDIENCE, issuer=ISSUER)
        role = users[session.user_id]["role"]
        stateless = issue_token({"sub": session.user_id, "role": role}, typ=STATELESS_TYP, **common)
        stateful = issue_token(
            {"sub": session.user_id, "sid": session.session_id}, typ=STATEFUL_TYP, **common
        )
        return jsonify(stateless=stateless, stateful=stateful)

    @app.get("/me/stateless-jwt")
    def me_stateless_jwt():
        claims = bearer_claims(STATELESS_TYP)
        return jsonify(user=claims["sub"], role=claims["role"])

    @app.get("/me/stateful-jwt")
    def me_stateful_jwt():
        claims = bearer_claims(STATEFUL_TYP)
        session = store.get(claims["sid"])
        if session is None or session.user_id not in users:
            abort(401)
        return jsonify(user=session.user_id, role=users[session.user_id]["role"])

    return app


def _sample_jwt_version():
    yield "stateless JWT version", create_jwt_version("jwt", generate_keys("HS256"))


@registered_app("easier_to_scale: jwt version", sample=_sample_jwt_version)
def create_jwt_version(name: str, jwt_keys: KeyPair, *, users: dict | None = None) -> Flask:
    """The book's stateless JWT app with the worker's users: the app before the migration."""
    app = create_jwt_app(jwt_keys, users or _demo_users(), lifetime=TOKEN_LIFETIME)

    @app.after_request
    def name_the_worker(response):
        response.headers["X-Served-By"] = name
        return response

    return app


def haproxy_config(
    port: int, clusters: dict[str, list[str]], internal_ports: dict[str, int]
) -> str:
    """HAProxy in two tiers: a cookie pins each user to a cluster; each cluster balances its servers.

    ``clusters`` maps a cluster's name to its app servers (``"127.0.0.2:8001"``), and
    ``internal_ports`` gives each cluster's own balancer a port on 127.0.0.1. A cluster whose
    servers are all down fails its health check, and its users are sent to another one.
    """
    lines = [
        "global",
        "  maxconn 256",
        "  nbthread 1",
        "defaults",
        "  mode http",
        "  timeout connect 1s",
        "  timeout client 5s",
        "  timeout server 5s",
        "  timeout check 2s",
        "  retries 1",
        "  option redispatch",
        "backend clusters",
        "  balance roundrobin",
        "  cookie cluster insert indirect nocache httponly",
        "  option httpchk GET /ping",
        "  default-server check inter 200ms fall 2 rise 1",
    ]
    lines += [
        f"  server {name} {LOOPBACK}:{internal_ports[name]} cookie {name}" for name in clusters
    ]
    lines += ["frontend web", f"  bind {LOOPBACK}:{port}", "  default_backend clusters"]
    for name, servers in clusters.items():
        lines += [f"listen cluster-{name}", f"  bind {LOOPBACK}:{internal_ports[name]}"]
        lines += ["  balance roundrobin", "  option httpchk GET /ping"]
        lines += ["  default-server check inter 200ms fall 2 rise 1"]
        for address in servers:
            host = address.rsplit(":", 1)[0]
            if not ipaddress.ip_address(host).is_loopback:
                raise ValueError(f"loopback servers only, not {address!r}")
            lines.append(f"  server {name}-{address} {address}")
    return "\n".join(lines) + "\n"


def run_wrk(
    url: str,
    *,
    seconds: int,
    connections: int = 8,
    threads: int = 1,
    headers: dict[str, str] | None = None,
) -> dict:
    """One bounded wrk run against a loopback URL: requests/s, p50 and p99 latency, errors."""
    host = urlsplit(url).hostname or ""
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the load test targets loopback only, not {url!r}")
    if not isinstance(seconds, int) or not 0 < seconds <= 120:
        raise ValueError("a load run lasts a whole number of seconds, from 1 to 120")
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed: `make loadtools` says how to install it here")
    argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "2s"]
    argv += ["-s", str(WRK_REPORT)]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        [*argv, url], capture_output=True, text=True, timeout=seconds + 15, check=True
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["errors"] = sum(report.pop(k) for k in ("connect", "read", "write", "status", "timeout"))
    report["requests_per_s"] = report["requests"] / (report["duration_us"] / 1e6)
    return report


def _secret_from_env(variable: str) -> bytes:
    value = bytes.fromhex(os.environ.get(variable, ""))
    if len(value) < 32:
        raise SystemExit(f"{variable} must hold at least 32 random bytes, hex-encoded")
    return value


def main(argv: list[str] | None = None) -> None:
    """Serve one worker on a loopback address until the process is terminated."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=LOOPBACK, help="a loopback address: 127.0.0.2, …")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-socket", help="unix socket of the shared Redis")
    parser.add_argument("--redis-port", type=int, help="TCP port of the shared Redis on 127.0.0.1")
    parser.add_argument("--name", default=None, help="worker name for the X-Served-By header")
    parser.add_argument("--app", choices=("worker", "jwt"), default="worker")
    parser.add_argument("--users", type=int, default=0, help="extra demo users user0, user1, …")
    args = parser.parse_args(argv)

    name = args.name or f"worker-{args.port}"
    users = _demo_users(args.users)
    jwt_secret = _secret_from_env("SESSIONLAB_JWT_SECRET")
    jwt_keys = KeyPair("HS256", jwt_secret, jwt_secret, "from the environment")
    if args.app == "jwt":
        app = create_jwt_version(name, jwt_keys, users=users)
    else:
        if args.redis_port is not None:
            client = redis.Redis(host=LOOPBACK, port=args.redis_port)
        elif args.redis_socket:
            client = redis.Redis(unix_socket_path=args.redis_socket)
        else:
            parser.error("a worker needs --redis-port or --redis-socket")
        store = RedisSessionStore(
            client, idle_timeout=IDLE_TIMEOUT, absolute_timeout=ABSOLUTE_TIMEOUT
        )
        secret = _secret_from_env("SESSIONLAB_COOKIE_SECRET")
        cookie = SessionCookie(secret, max_age=ABSOLUTE_TIMEOUT)
        app = create_worker_app(name, store, cookie, jwt_keys, users=users)
    run_wsgi_forever(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
