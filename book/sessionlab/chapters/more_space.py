"""Plumbing for the chapter on token size: a WSGI app that reports how big the credentials it got were.

Run it under a real production server with that server's default limits, for example
``python -m gunicorn --bind 127.0.0.1:PORT sessionlab.chapters.more_space:header_size_app``, and send it
requests whose ``Cookie`` or ``Authorization`` header grows: whatever the server refuses never
reaches the app, so a 200 with the sizes proves the header got through.
"""

from __future__ import annotations

import json

__all__ = ["header_size_app", "http_header_line_bytes"]


def header_size_app(environ, start_response):
    """Answer 200 with the byte length of the ``Cookie`` and ``Authorization`` headers received."""
    body = json.dumps(
        {
            "cookie_bytes": len(environ.get("HTTP_COOKIE", "")),
            "authorization_bytes": len(environ.get("HTTP_AUTHORIZATION", "")),
        }
    ).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def http_header_line_bytes(name: str, value: str) -> int:
    """Bytes one HTTP/1.1 header line takes on the wire: ``Name: value`` plus CRLF."""
    return len(f"{name}: {value}\r\n".encode("latin-1"))
