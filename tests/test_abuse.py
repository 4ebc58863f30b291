"""Servers under abuse: at least 1,000 hostile requests from another process, each answered
with a 4xx (never a 5xx, never a dropped connection), no traceback logged, and the server
still serves a valid user afterwards."""

import base64
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from hostile import cookie_cases, token_cases
from sessionlab.apps import COOKIE_NAME, create_session_app, make_users
from sessionlab.servers import serve_wsgi
from sessionlab.sessions import MemorySessionStore, SessionCookie

CLIENT = Path(__file__).with_name("abuse_client.py")
PASSWORD = "correct horse battery staple"


def request_bytes(method: str, path: str, headers: dict[str, bytes] | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close"]
    for name, value in (headers or {}).items():
        lines.append(name.encode() + b": " + value)
    if body or method == "POST":
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def as_header_value(value) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def hostile_requests(valid_cookie: str) -> list[bytes]:
    """Bad cookies, bad tokens, mutated cookies, oversized headers and malformed requests."""
    endpoints = [("GET", "/me"), ("GET", "/admin"), ("POST", "/logout"), ("POST", "/logout-everywhere")]
    out = []
    for case in token_cases():
        token = as_header_value(case.token)[:70_000]
        for method, path in endpoints:
            out.append(request_bytes(method, path, {"Authorization": b"Bearer " + token}))
            out.append(request_bytes(method, path, {"Cookie": f"{COOKIE_NAME}=".encode() + token}))
    for case in cookie_cases():
        for method, path in endpoints:
            out.append(
                request_bytes(method, path, {"Cookie": f"{COOKIE_NAME}=".encode() + as_header_value(case.value)})
            )
    rng = random.Random(20261129)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.="
    for _ in range(500):
        chars = list(valid_cookie)
        for _ in range(rng.randint(1, 3)):
            chars[rng.randrange(len(chars))] = rng.choice(alphabet)
        mutated = "".join(chars)
        if mutated != valid_cookie:
            out.append(request_bytes("GET", "/me", {"Cookie": f"{COOKIE_NAME}={mutated}".encode()}))
    out += [
        request_bytes("GET", "/me", {"Cookie": b"session=" + b"A" * 70_000}),
        request_bytes("GET", "/me", {"X-Padding": b"p" * 70_000}),
        request_bytes("POST", "/login", body=b"username=alice&password=wrong"),
        request_bytes(
            "POST", "/login", {"Content-Type": b"application/x-www-form-urlencoded"}, b"username=alice&password=wrong"
        ),
        request_bytes("POST", "/login", {"Content-Type": b"application/x-www-form-urlencoded"}, b"username=mallory"),
        request_bytes("POST", "/login", {"Content-Type": b"application/x-www-form-urlencoded"}, b"%%%%&&&=="),
        request_bytes("POST", "/login", {"Content-Type": b"application/json"}, b'{"username": "alice"}'),
        request_bytes("POST", "/login", {"Content-Type": b"multipart/form-data; boundary=x"}, b"--x\r\nbroken"),
        request_bytes("GET", "/login"),
        request_bytes("DELETE", "/me"),
        request_bytes("GET", "/../../etc/passwd"),
        request_bytes("GET", "/me?" + "q=1&" * 2000),
        request_bytes("GET", "/me", {"Cookie": b"session"}),
        request_bytes("GET", "/me", {"Cookie": b";;;===;;"}),
        request_bytes("GET", "/me", {"Cookie": b"session=a; session=b; session=c"}),
        request_bytes("GET", "/me", {"Cookie": "session=\u00e9\u00e8".encode("latin-1")}),
        request_bytes("GET", "/me", {"Cookie": b"session=\xff\xfe\x00"}),
        request_bytes(
            "POST", "/logout", {"Cookie": f"{COOKIE_NAME}={valid_cookie}".encode(), "X-CSRF-Token": b"forged"}
        ),
        request_bytes("POST", "/logout", {"Cookie": f"{COOKIE_NAME}={valid_cookie}".encode()}),
        b"GARBAGE\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nNo colon here\r\n\r\n",
        b"GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: -1\r\n\r\n",
        b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: abc\r\n\r\n",
        b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(32) + b"\r\n\r\n",  # a TLS ClientHello
    ]
    return out


def run_abusive_client(port: int, raw_requests: list[bytes], tmp_path: Path) -> list[int | None]:
    requests_file = tmp_path / "requests.json"
    results_file = tmp_path / "results.json"
    requests_file.write_text(json.dumps([base64.b64encode(r).decode() for r in raw_requests]))
    subprocess.run(
        [sys.executable, str(CLIENT), "127.0.0.1", str(port), str(requests_file), str(results_file)],
        check=True,
        timeout=600,
    )
    return json.loads(results_file.read_text())


def test_session_app_answers_every_hostile_request_with_a_4xx(tmp_path, capfd):
    store = MemorySessionStore(idle_timeout=900, absolute_timeout=8 * 3600)
    cookie = SessionCookie([b"abuse test key, not a secret, 32+ bytes"], max_age=8 * 3600)
    app = create_session_app(store, cookie, make_users(alice=(PASSWORD, "admin"), bob=(PASSWORD, "user")))
    with serve_wsgi(app) as server:
        victim = requests.Session()
        login = victim.post(f"{server.url}/login", data={"username": "alice", "password": PASSWORD}, timeout=10)
        assert login.status_code == 200
        valid_cookie = victim.cookies[COOKIE_NAME]
        raw_requests = hostile_requests(valid_cookie)
        assert len(raw_requests) >= 1000
        statuses = run_abusive_client(server.port, raw_requests, tmp_path)
        dropped = [i for i, status in enumerate(statuses) if status is None]
        not_4xx = {i: status for i, status in enumerate(statuses) if status is not None and not 400 <= status < 500}
        assert not dropped, f"{len(dropped)} connections dropped, e.g. {raw_requests[dropped[0]][:120]!r}"
        assert not not_4xx, {i: (s, raw_requests[i][:120]) for i, s in list(not_4xx.items())[:5]}
        # the legitimate user was never disturbed, and a new login still works
        assert victim.get(f"{server.url}/me", timeout=10).json() == {"user": "alice", "role": "admin"}
        fresh = requests.post(f"{server.url}/login", data={"username": "bob", "password": PASSWORD}, timeout=10)
        assert fresh.status_code == 200
    logged = capfd.readouterr()
    assert "Traceback" not in logged.err + logged.out
    print(f"session app: {len(statuses)} hostile requests, all 4xx: {sorted(set(statuses))}")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-s"]))
