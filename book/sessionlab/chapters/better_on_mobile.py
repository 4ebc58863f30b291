"""The chapter on native (non-browser) clients: its app, and that app served over HTTPS.

:func:`create_mobile_app` is the book's reference session app, registered for this chapter, with
one extra route: ``GET /me-by-header`` accepts the same opaque session ID in an
``Authorization: Session <value>`` header instead of a cookie, the way a native app sends any
credential it keeps itself (RFC 8252, OAuth 2.0 for native apps).

:func:`serve_https` runs that app on gunicorn, in its own process started through the chapter's
:class:`~sessionlab.lab.bench.Bench`, with TLS (``--certfile``/``--keyfile``, a throwaway self-
signed certificate for ``127.0.0.1``) and limits: gunicorn's own 4094-byte request line and
8190-byte header field, at most 32 header fields (431 above either), a bounded thread pool and
connection count, and a worker timeout. waitress, the book's usual server, has no TLS. gunicorn
was chosen over cheroot because it is already pinned, answers oversized headers with 431 like
the book's other servers, and does the TLS handshake in its worker threads: cheroot 11 does it
in its single accept thread, so 20 silent connections delayed every other client by about 35 s.
Clients trust exactly that certificate (never by switching verification off): ``requests``
through :attr:`HttpsServer.ca_file`, ``httpx`` and ``urllib`` through
:meth:`HttpsServer.client_context`.
"""

from __future__ import annotations

import os
import secrets
import ssl
from dataclasses import dataclass
from pathlib import Path

from flask import abort, jsonify, request

from sessionlab.lab.fixtures import make_users
from sessionlab.lab.registry import registered_app
from sessionlab.lab.servers import LOOPBACK, ServerLimits, free_port
from sessionlab.lab.tls import self_signed_certificate
from sessionlab.recommended.session_app import create_session_app
from sessionlab.recommended.sessions import MemorySessionStore, SessionCookie

__all__ = [
    "CREDENTIALS",
    "HttpsServer",
    "SESSION_SCHEME",
    "create_mobile_app",
    "gunicorn_argv",
    "new_mobile_app",
    "serve_https",
]

#: The ``Authorization`` scheme a native client uses to send the opaque session value itself.
SESSION_SCHEME = "Session"
#: The chapter's one user (the book's password for alice).
CREDENTIALS = {"username": "alice", "password": "correct horse battery staple"}
#: gunicorn's defaults, stated: a request line above 4094 bytes is 414, a header line above 8190 is 431.
LIMIT_REQUEST_LINE, LIMIT_REQUEST_FIELD_SIZE = 4094, 8190
#: At most this many header fields (431 above it), so one request's head stays under 32 × 8190 bytes.
LIMIT_REQUEST_FIELDS = 32


@registered_app("better_on_mobile.session_app", sample=lambda: _sample())
def create_mobile_app(store, cookie: SessionCookie, users, *, secure: bool = False):
    """The reference session app, plus ``GET /me-by-header`` (the session value in a header)."""
    app = create_session_app(store, cookie, users, secure=secure)

    @app.get("/me-by-header")
    def me_by_header():
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme != SESSION_SCHEME or not value or len(value) > 512:
            abort(401)
        try:
            session = store.get(cookie.loads(value))
        except Exception:  # noqa: BLE001 - any bad value is simply not a session
            session = None
        if session is None or session.user_id not in users:
            abort(401)
        return jsonify(user=session.user_id, role=users[session.user_id]["role"])

    return app


def new_mobile_app(secure: bool = False):
    """A fresh app with its own in-memory store, fresh cookie key and the chapter's user."""
    users = make_users(alice=(CREDENTIALS["password"], "admin"))
    store = MemorySessionStore(idle_timeout=15 * 60, absolute_timeout=8 * 3600)
    cookie = SessionCookie([secrets.token_bytes(32)], max_age=8 * 3600)
    return create_mobile_app(store, cookie, users, secure=secure)


def _sample():
    yield "secure=False", new_mobile_app(secure=False)
    yield "secure=True", new_mobile_app(secure=True)


@dataclass(frozen=True)
class HttpsServer:
    """A running HTTPS server on 127.0.0.1 and the certificate its clients must trust."""

    port: int
    certificate_pem: bytes
    ca_file: Path

    @property
    def url(self) -> str:
        return f"https://{LOOPBACK}:{self.port}"

    def client_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts this server's certificate and nothing else."""
        return ssl.create_default_context(cadata=self.certificate_pem.decode("ascii"))


#: Seconds a connection may take to send a request once it has started one (see below); the
#: server process gets the bench's ``channel_timeout`` through ``SESSIONLAB_READ_TIMEOUT``.
READ_TIMEOUT = float(os.environ.get("SESSIONLAB_READ_TIMEOUT", ServerLimits().channel_timeout))


def post_worker_init(worker) -> None:
    """gunicorn hook (this module is also the server's ``--config``): a read timeout per connection.

    gunicorn's gthread worker waits for a silent connection without holding a thread, but once a
    client has sent part of a request it reads the rest on a blocking socket with no timeout:
    measured here, 8 half-sent TLS requests (one per thread) kept every other client waiting for
    more than 60 s. This hook gives every connection's socket :data:`READ_TIMEOUT` after gunicorn
    has set it up, so a half-sent request is dropped like waitress drops one.
    """
    from gunicorn.workers import gthread

    original = gthread.TConn.init
    if getattr(original, "sessionlab_read_timeout", False):
        return

    def init_with_timeout(self):
        original(self)
        self.sock.settimeout(READ_TIMEOUT)

    init_with_timeout.sessionlab_read_timeout = True
    gthread.TConn.init = init_with_timeout


def gunicorn_argv(port: int, folder: Path, *, secure: bool, limits: ServerLimits) -> list[str]:
    """The gunicorn command line: TLS from ``folder``, the bench's limits, one gthread worker."""
    return [
        "python", "-m", "gunicorn", "--bind", f"{LOOPBACK}:{port}",
        "--certfile", str(folder / "cert.pem"), "--keyfile", str(folder / "key.pem"),
        "--worker-class", "gthread", "--workers", "1", "--threads", str(limits.threads),
        "--worker-connections", str(limits.connection_limit),
        "--timeout", str(limits.channel_timeout), "--keep-alive", "2", "--graceful-timeout", "2",
        "--limit-request-line", str(LIMIT_REQUEST_LINE),
        "--limit-request-field_size", str(LIMIT_REQUEST_FIELD_SIZE),
        "--limit-request-fields", str(LIMIT_REQUEST_FIELDS),
        "--control-socket", str(folder / "gunicorn.ctl"), "--worker-tmp-dir", str(folder),
        "--log-level", "warning", "--config", "python:sessionlab.chapters.better_on_mobile",
        f"sessionlab.chapters.better_on_mobile:new_mobile_app(secure={secure})",
    ]  # fmt: skip


def serve_https(bench, *, secure: bool = True, limits: ServerLimits | None = None) -> HttpsServer:
    """Start :func:`new_mobile_app` on gunicorn with TLS, in a process the bench stops."""
    folder = bench.tmpdir(prefix="sessionlab-tls-")
    certificate_pem, key_pem = self_signed_certificate(hostname=LOOPBACK)
    (folder / "cert.pem").write_bytes(certificate_pem)
    key_file = folder / "key.pem"
    key_file.touch(mode=0o600)
    key_file.write_bytes(key_pem)
    port = free_port()
    bench.spawn(
        gunicorn_argv(port, folder, secure=secure, limits=limits or ServerLimits()), port=port
    )
    return HttpsServer(port=port, certificate_pem=certificate_pem, ca_file=folder / "cert.pem")
