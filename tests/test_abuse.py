"""Servers under abuse: at least 1,000 hostile requests from another process, each answered
with a 4xx (never a 5xx, never a dropped connection), no traceback logged, and the server
still serves a valid user afterwards."""

import base64
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from hostile import cookie_cases, token_cases
from sessionlab.lab.fixtures import make_users
from sessionlab.lab.servers import serve_wsgi
from sessionlab.recommended.session_app import COOKIE_NAME, create_session_app
from sessionlab.recommended.sessions import MemorySessionStore, SessionCookie

CLIENT = Path(__file__).with_name("abuse_client.py")
PASSWORD = "correct horse battery staple"


def request_bytes(
    method: str, path: str, headers: dict[str, bytes] | None = None, body: bytes = b""
) -> bytes:
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
    endpoints = [
        ("GET", "/me"),
        ("GET", "/admin"),
        ("POST", "/logout"),
        ("POST", "/logout-everywhere"),
    ]
    out = []
    for case in token_cases():
        token = as_header_value(case.token)[:70_000]
        for method, path in endpoints:
            out.append(request_bytes(method, path, {"Authorization": b"Bearer " + token}))
            out.append(request_bytes(method, path, {"Cookie": f"{COOKIE_NAME}=".encode() + token}))
    for case in cookie_cases():
        for method, path in endpoints:
            out.append(
                request_bytes(
                    method,
                    path,
                    {"Cookie": f"{COOKIE_NAME}=".encode() + as_header_value(case.value)},
                )
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
        request_bytes("POST", "/login", body=b"username=alice&password=wrong"),
        request_bytes(
            "POST",
            "/login",
            {"Content-Type": b"application/x-www-form-urlencoded"},
            b"username=alice&password=wrong",
        ),
        request_bytes(
            "POST",
            "/login",
            {"Content-Type": b"application/x-www-form-urlencoded"},
            b"username=mallory",
        ),
        request_bytes(
            "POST", "/login", {"Content-Type": b"application/x-www-form-urlencoded"}, b"%%%%&&&=="
        ),
        request_bytes(
            "POST", "/login", {"Content-Type": b"application/json"}, b'{"username": "alice"}'
        ),
        request_bytes(
            "POST", "/login", {"Content-Type": b"multipart/form-data; boundary=x"}, b"--x\r\nbroken"
        ),
        request_bytes("GET", "/login"),
        request_bytes("DELETE", "/me"),
        request_bytes("GET", "/me?" + "q=1&" * 2000),
        request_bytes("GET", "/me", {"Cookie": b"session"}),
        request_bytes("GET", "/me", {"Cookie": b";;;===;;"}),
        request_bytes("GET", "/me", {"Cookie": b"session=a; session=b; session=c"}),
        request_bytes("GET", "/me", {"Cookie": "session=\u00e9\u00e8".encode("latin-1")}),
        request_bytes("GET", "/me", {"Cookie": b"session=\xff\xfe\x00"}),
        request_bytes(
            "POST",
            "/logout",
            {"Cookie": f"{COOKIE_NAME}={valid_cookie}".encode(), "X-CSRF-Token": b"forged"},
        ),
        request_bytes("POST", "/logout", {"Cookie": f"{COOKIE_NAME}={valid_cookie}".encode()}),
    ]
    return out + malformed_requests()


def malformed_requests() -> list[bytes]:
    """Requests no HTTP server should choke on, whatever the app behind it."""
    return [
        b"GARBAGE\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nNo colon here\r\n\r\n",
        b"GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: -1\r\n\r\n",
        b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: abc\r\n\r\n",
        b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
        + bytes(32)
        + b"\r\n\r\n",  # a TLS ClientHello
        request_bytes("GET", "/me", {"X-Padding": b"p" * 70_000}),
        request_bytes("GET", "/../../etc/passwd"),
    ]


def run_abusive_client(port: int, raw_requests: list[bytes], tmp_path: Path) -> list[int | None]:
    requests_file = tmp_path / "requests.json"
    results_file = tmp_path / "results.json"
    requests_file.write_text(json.dumps([base64.b64encode(r).decode() for r in raw_requests]))
    subprocess.run(
        [
            sys.executable,
            str(CLIENT),
            "127.0.0.1",
            str(port),
            str(requests_file),
            str(results_file),
        ],
        check=True,
        timeout=600,
    )
    return json.loads(results_file.read_text())


def test_session_app_answers_every_hostile_request_with_a_4xx(tmp_path, capfd):
    store = MemorySessionStore(idle_timeout=900, absolute_timeout=8 * 3600)
    cookie = SessionCookie([b"abuse test key, not a secret, 32+ bytes"], max_age=8 * 3600)
    users = make_users(alice=(PASSWORD, "admin"), bob=(PASSWORD, "user"))
    app = create_session_app(store, cookie, users, secure=False)  # requests, plain http
    with serve_wsgi(app) as server:
        victim = requests.Session()
        login = victim.post(
            f"{server.url}/login", data={"username": "alice", "password": PASSWORD}, timeout=10
        )
        assert login.status_code == 200
        valid_cookie = victim.cookies[COOKIE_NAME]
        raw_requests = hostile_requests(valid_cookie)
        assert len(raw_requests) >= 1000
        statuses = run_abusive_client(server.port, raw_requests, tmp_path)
        dropped = [i for i, status in enumerate(statuses) if status is None]
        not_4xx = {
            i: status
            for i, status in enumerate(statuses)
            if status is not None and not 400 <= status < 500
        }
        assert not dropped, (
            f"{len(dropped)} connections dropped, e.g. {raw_requests[dropped[0]][:120]!r}"
        )
        assert not not_4xx, {i: (s, raw_requests[i][:120]) for i, s in list(not_4xx.items())[:5]}
        # the legitimate user was never disturbed, and a new login still works
        assert victim.get(f"{server.url}/me", timeout=10).json() == {
            "user": "alice",
            "role": "admin",
        }
        fresh = requests.post(
            f"{server.url}/login", data={"username": "bob", "password": PASSWORD}, timeout=10
        )
        assert fresh.status_code == 200
    logged = capfd.readouterr()
    assert "Traceback" not in logged.err + logged.out
    print(f"session app: {len(statuses)} hostile requests, all 4xx: {sorted(set(statuses))}")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-s"]))


def test_download_server_answers_every_hostile_request_with_a_4xx(tmp_path):
    """The download server, started as chapter 40 starts it: its own process, public key only."""
    from cryptography.hazmat.primitives import serialization
    from sessionlab.chapters.download_tokens import issue_download_token
    from sessionlab.lab.servers import free_port, spawn_server
    from sessionlab.recommended.tokens import generate_keys

    keys = generate_keys("EdDSA")
    public_pem = tmp_path / "issuer.pub.pem"
    public_pem.write_bytes(
        keys.verification_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    files = tmp_path / "files"
    files.mkdir()
    (files / "report.pdf").write_bytes(b"%PDF-1.7 the report")
    (files / "other.pdf").write_bytes(b"%PDF-1.7 someone else's")
    port = free_port()
    argv = ["python", "-m", "sessionlab.chapters.download_tokens", "--port", str(port), "--public-key", str(public_pem),
            "--files", str(files), "--single-use"]  # fmt: skip
    with spawn_server(argv, port=port) as server:
        now = int(time.time())

        def token(name="report.pdf", **kwargs):
            return issue_download_token("alice", name, keys, now=now, **kwargs)

        raw = []
        for case in token_cases():
            value = as_header_value(case.token)[:70_000]
            raw.append(
                request_bytes("GET", "/files/report.pdf", {"Authorization": b"Bearer " + value})
            )
            raw.append(request_bytes("GET", "/files/report.pdf?token=" + quote(value[:60_000]), {}))
            raw.append(
                request_bytes("HEAD", "/files/report.pdf", {"Authorization": b"Bearer " + value})
            )
            raw.append(request_bytes("GET", "/files/report.pdf", {"Authorization": value}))
        for name in ["../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%00", "report.pdf%00.txt", ".", "", "a" * 5000,
                     "other.pdf", "missing.pdf", "REPORT.PDF", "report.pdf/", "%2e%2e/%2e%2e/etc/passwd"]:  # fmt: skip
            raw.append(
                request_bytes(
                    "GET", f"/files/{name}", {"Authorization": f"Bearer {token()}".encode()}
                )
            )
        rng = random.Random(20261129)
        good = token()
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
        for _ in range(800):
            chars = list(good)
            for _ in range(rng.randint(1, 3)):
                chars[rng.randrange(len(chars))] = rng.choice(alphabet)
            if "".join(chars) != good:
                raw.append(
                    request_bytes(
                        "GET",
                        "/files/report.pdf",
                        {"Authorization": f"Bearer {''.join(chars)}".encode()},
                    )
                )
        raw += [
            request_bytes(
                "GET",
                "/files/report.pdf",
                {"Authorization": f"Bearer {token(lifetime=3600)}".encode()},
            ),
            request_bytes(
                "GET",
                "/files/report.pdf",
                {"Authorization": f"Bearer {token(audience='x')}".encode()},
            ),
            request_bytes(
                "GET",
                f"/files/report.pdf?token={good}",
                {"Authorization": f"Bearer {good}".encode()},
            ),
            request_bytes("GET", f"/files/report.pdf?token={good}&token={good}"),
            request_bytes(
                "GET", "/files/report.pdf", {"Authorization": b"Basic YWxpY2U6cGFzc3dvcmQ="}
            ),
            request_bytes("GET", "/files/report.pdf", {"Authorization": b"Bearer"}),
            request_bytes("GET", "/files/report.pdf", {"Authorization": b"Bearer \xff\xfe"}),
            request_bytes("GET", "/files/report.pdf", {"Range": b"bytes=999999-"}),
            request_bytes(
                "POST", "/files/report.pdf", {"Authorization": f"Bearer {good}".encode()}
            ),
            request_bytes(
                "PUT",
                "/files/report.pdf",
                {"Authorization": f"Bearer {good}".encode()},
                b"overwrite",
            ),
            request_bytes(
                "DELETE", "/files/report.pdf", {"Authorization": f"Bearer {good}".encode()}
            ),
            request_bytes("GET", "/"),
            request_bytes("GET", "/files/"),
        ]
        raw += malformed_requests()
        assert len(raw) >= 1000
        statuses = run_abusive_client(port, raw, tmp_path)
        dropped = [i for i, status in enumerate(statuses) if status is None]
        not_4xx = {
            i: status
            for i, status in enumerate(statuses)
            if status is not None and not 400 <= status < 500
        }
        assert not dropped, f"{len(dropped)} connections dropped, e.g. {raw[dropped[0]][:120]!r}"
        assert not not_4xx, {i: (s, raw[i][:160]) for i, s in list(not_4xx.items())[:5]}
        # a valid download still works, once
        fresh = token()
        ok = requests.get(
            f"{server.url}/files/report.pdf",
            headers={"Authorization": f"Bearer {fresh}"},
            timeout=10,
        )
        assert ok.status_code == 200 and ok.content == b"%PDF-1.7 the report"
        replay = requests.get(
            f"{server.url}/files/report.pdf",
            headers={"Authorization": f"Bearer {fresh}"},
            timeout=10,
        )
        assert replay.status_code == 409
        log = server.log()
    assert "Traceback" not in log, log[-2000:]
    print(f"download server: {len(statuses)} hostile requests, all 4xx: {sorted(set(statuses))}")
