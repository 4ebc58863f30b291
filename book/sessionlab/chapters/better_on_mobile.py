"""Plumbing for the chapter on native (non-browser) clients: a loopback HTTPS server.

:func:`serve_wsgi_https` serves a WSGI app like :func:`sessionlab.servers.serve_wsgi`, but over
TLS with a throwaway self-signed certificate made for ``127.0.0.1``. Clients trust exactly that
certificate (never by switching verification off): ``requests`` through :attr:`HttpsServer.ca_file`,
``httpx`` and ``urllib`` through :meth:`HttpsServer.client_context`.
"""

from __future__ import annotations

import contextlib
import ssl
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

from sessionlab.lab.servers import LOOPBACK
from sessionlab.lab.tls import self_signed_certificate, server_tls_context

__all__ = ["HttpsServer", "serve_wsgi_https"]


class _QuietHandler(WSGIRequestHandler):
    """No per-request access log: it would be noise in notebook outputs."""

    def log_request(self, code="-", size="-"):
        pass


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


@contextlib.contextmanager
def serve_wsgi_https(app) -> Iterator[HttpsServer]:
    """Serve ``app`` over HTTPS on 127.0.0.1 in a background thread; stop it when the block ends."""
    certificate_pem, key_pem = self_signed_certificate(hostname=LOOPBACK)
    server = make_server(
        LOOPBACK,
        0,
        app,
        threaded=True,
        request_handler=_QuietHandler,
        ssl_context=server_tls_context(certificate_pem, key_pem),
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        with tempfile.TemporaryDirectory(prefix="sessionlab-ca-") as folder:
            ca_file = Path(folder, "ca.pem")
            ca_file.write_bytes(certificate_pem)
            yield HttpsServer(
                port=server.server_port, certificate_pem=certificate_pem, ca_file=ca_file
            )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
