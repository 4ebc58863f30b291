"""The chapter on token size: the tokens it measures, and one small app that sets and reports them.

``create_size_lab()`` builds a Flask app with three routes:

- ``/echo`` (and ``/``) answers 200 with the byte lengths of the ``Cookie`` and ``Authorization``
  headers and of the query string it received. Whatever the server in front refuses never
  reaches it, so a 200 with the sizes proves the request got through.
- ``/filler?bytes=N&parts=K`` sets K cookies (``part0``, ``part1``, ...; ``session`` when K is 1)
  whose name plus value is exactly N bytes each. The ``Set-Cookie`` header is written by hand,
  so nothing on the server side trims or warns.
- ``/token?permissions=N`` sets a real HS256 JWT carrying N permission strings as ``session``.

``size_lab`` is one such app at module level, for a server process:
``python -m gunicorn --bind 127.0.0.1:PORT sessionlab.chapters.more_space:size_lab``.
"""

from __future__ import annotations

import functools
import json

from sessionlab.lab.registry import registered_app
from sessionlab.recommended.tokens import DEMO_JTI, KeyPair, demo_keys, issue_token

__all__ = [
    "COOKIE_NAME",
    "LARGEST_COOKIE",
    "NOW",
    "create_size_lab",
    "http_header_line_bytes",
    "jwt_keys",
    "permissions",
    "size_lab",
    "stateless_jwt",
]

NOW = 1_700_000_000  # a fixed clock: every token is byte-identical on every run
COOKIE_NAME = "session"
MAX_COOKIE_BYTES, MAX_PARTS, MAX_PERMISSIONS = 8192, 8, 1000


#: In-page JavaScript: the largest name+value (up to ``cap`` bytes) the browser keeps in one
#: cookie, found by doubling then bisecting, each size written with ``document.cookie`` and
#: read back.
LARGEST_COOKIE = """(cap) => {
  const keeps = (bytes) => {
    document.cookie = `c=${"x".repeat(bytes - 1)}; path=/`;
    const pair = document.cookie.split("; ").find((p) => p.startsWith("c="));
    document.cookie = "c=; max-age=0; path=/";
    return pair !== undefined && pair.length === bytes + 1;
  };
  let low = 1, high = 2;
  while (high <= cap && keeps(high)) { low = high; high *= 2; }
  if (high > cap) return low;
  while (high - low > 1) {
    const middle = (low + high) >> 1;
    if (keeps(middle)) low = middle; else high = middle;
  }
  return low;
}"""


def permissions(count: int) -> list[str]:
    """Fine-grained permission strings such as ``read:project:123``: the data that makes tokens grow."""
    return [f"read:project:{100 + i}" for i in range(count)]


@functools.cache
def jwt_keys() -> dict[str, KeyPair]:
    """One key pair per algorithm the chapter compares (demo keys, never reuse)."""
    return {
        "HS256": demo_keys("HS256"),
        "RS256 (2048-bit)": demo_keys("RS256"),
        "RS256 (4096-bit)": demo_keys("RS256", rsa_bits=4096),
        "ES256": demo_keys("ES256"),
        "EdDSA": demo_keys("EdDSA"),
    }


def stateless_jwt(kind: str, count: int) -> str:
    """A stateless JWT: the permissions travel inside the token, signed but readable by anyone."""
    claims = {"sub": "alice", "permissions": permissions(count)}
    return issue_token(
        claims,
        jwt_keys()[kind],
        now=NOW,
        lifetime=900,
        audience="https://api.example",
        issuer="https://auth.example",
        client_id="web-app",
        jti=DEMO_JTI,  # as long as a random one: the chapter's tokens are the same on every run
    )


def http_header_line_bytes(name: str, value: str) -> int:
    """Bytes one HTTP/1.1 header line takes on the wire: ``Name: value`` plus CRLF."""
    return len(f"{name}: {value}\r\n".encode("latin-1"))


def _bounded_int(text: str | None, low: int, high: int) -> int | None:
    if text is None or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if low <= value <= high else None


def _sample():
    yield "size lab", create_size_lab()


@registered_app("more_space.size_lab", sample=_sample)
def create_size_lab():
    """The size lab: ``/echo`` reports sizes, ``/filler`` and ``/token`` set cookies (see above)."""
    from flask import Flask, Response, request

    app = Flask("more_space.size_lab")

    def sizes():
        body = {
            "cookie_bytes": len(request.headers.get("Cookie", "")),
            "authorization_bytes": len(request.headers.get("Authorization", "")),
            "query_bytes": len(request.query_string),
        }
        return Response(json.dumps(body), mimetype="application/json")

    def with_cookies(values: dict[str, str]) -> Response:
        response = Response("cookie sent", mimetype="text/plain")
        for name, value in values.items():
            response.headers.add("Set-Cookie", f"{name}={value}; Path=/; HttpOnly; SameSite=Lax")
        return response

    def filler():
        size = _bounded_int(request.args.get("bytes"), len(COOKIE_NAME) + 1, MAX_COOKIE_BYTES)
        parts = _bounded_int(request.args.get("parts", "1"), 1, MAX_PARTS)
        if size is None or parts is None:
            return Response("bytes or parts out of range", status=400, mimetype="text/plain")
        names = [COOKIE_NAME] if parts == 1 else [f"part{i}" for i in range(parts)]
        return with_cookies({name: "x" * (size - len(name)) for name in names})

    def token():
        count = _bounded_int(request.args.get("permissions"), 0, MAX_PERMISSIONS)
        if count is None:
            return Response("permissions out of range", status=400, mimetype="text/plain")
        return with_cookies({COOKIE_NAME: stateless_jwt("HS256", count)})

    app.add_url_rule("/", "root", sizes)
    app.add_url_rule("/echo", "echo", sizes)
    app.add_url_rule("/filler", "filler", filler)
    app.add_url_rule("/token", "token", token)
    return app


size_lab = create_size_lab()
