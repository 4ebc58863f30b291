"""Chapter 17's HTTPS server: gunicorn with TLS and limits, and the session ID sent in a header."""

import asyncio
import contextlib
import socket
import ssl
import time

import psutil
import pytest
import requests
from sessionlab.chapters.better_on_mobile import (
    CREDENTIALS,
    LIMIT_REQUEST_FIELDS,
    SESSION_SCHEME,
    serve_https,
)
from sessionlab.lab.bench import Bench
from sessionlab.lab.servers import ServerLimits

LIMITS = ServerLimits(channel_timeout=2)


@pytest.fixture(scope="module")
def server():
    bench = Bench()
    try:
        yield serve_https(bench, secure=True, limits=LIMITS)
    finally:
        asyncio.run(bench.close())


def get(server, path, **kwargs):
    return requests.get(f"{server.url}{path}", verify=str(server.ca_file), timeout=30, **kwargs)


def test_cookie_and_header_carry_the_same_opaque_session(server):
    with requests.Session() as client:
        login = client.post(f"{server.url}/login", data=CREDENTIALS, verify=str(server.ca_file))
        assert "Secure" in login.headers["Set-Cookie"]
        assert client.get(f"{server.url}/me", verify=str(server.ca_file)).status_code == 200
        value = login.cookies["session"]
    assert get(server, "/me-by-header", headers={"Authorization": f"{SESSION_SCHEME} {value}"}).ok
    for bad in ("", f"Bearer {value}", f"{SESSION_SCHEME} {value}x", f"{SESSION_SCHEME} é"):
        assert get(server, "/me-by-header", headers={"Authorization": bad}).status_code == 401


def test_oversized_headers_get_431_and_memory_stays_bounded(server):
    process = psutil.Process(server_pid(server))
    before = process.memory_info().rss
    assert get(server, "/me", headers={"X-Big": "a" * 8200}).status_code == 431
    too_many = {f"X-{i}": "b" * 8000 for i in range(LIMIT_REQUEST_FIELDS + 1)}
    largest_allowed = {f"X-{i}": "b" * 8000 for i in range(LIMIT_REQUEST_FIELDS - 8)}
    for _ in range(40):  # about 270 KB and 190 KB of headers per request
        assert get(server, "/me", headers=too_many).status_code == 431
        assert get(server, "/me", headers=largest_allowed).status_code == 401
    grown = process.memory_info().rss - before
    print(f"server RSS {before / 2**20:.1f} MiB, grew by {grown / 2**20:.1f} MiB")
    assert grown < 20 * 2**20, f"the server grew by {grown / 2**20:.1f} MiB"
    assert get(server, "/me").status_code == 401


def test_silent_connections_are_closed_within_the_timeout(server):
    silent = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(4)]
    started = time.monotonic()
    for sock in silent:
        sock.settimeout(LIMITS.channel_timeout + 8)
        assert sock.recv(1) == b""  # the server hung up on a client that sent nothing
        sock.close()
    assert time.monotonic() - started < LIMITS.channel_timeout + 8
    assert get(server, "/me").status_code == 401


def test_half_sent_requests_are_closed_within_the_timeout(server):
    context = ssl.create_default_context(cafile=str(server.ca_file))
    half_sent = []
    for _ in range(LIMITS.threads):  # one per worker thread: without a read timeout, a stall
        raw = socket.create_connection(("127.0.0.1", server.port))
        tls = context.wrap_socket(raw, server_hostname="127.0.0.1")
        tls.sendall(b"GET /me HTTP/1.1\r\nHost: x\r\nX-Half: sent")
        half_sent.append(tls)
    started = time.monotonic()
    assert get(server, "/me").status_code == 401  # served once the stalled ones are dropped
    for tls in half_sent:
        tls.settimeout(LIMITS.channel_timeout + 8)
        with contextlib.suppress(OSError):
            tls.recv(100)
        tls.close()
    # Generous on a busy machine; without the read timeout each recv would wait out its own
    # timeout, and the eight of them far longer than this.
    assert time.monotonic() - started < LIMITS.channel_timeout + 8


def server_pid(server):
    for connection in psutil.net_connections("tcp"):
        if (
            connection.laddr
            and connection.laddr.port == server.port
            and connection.status == "LISTEN"
        ):
            return connection.pid
    raise LookupError("nothing listens on the server's port")
