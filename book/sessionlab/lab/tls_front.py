"""HTTPS in front of a loopback server, for browsers that want it.

WebKitGTK refuses a ``Secure`` cookie over plain ``http://`` even on ``127.0.0.1`` and
``localhost`` (Chromium and Firefox accept it there), so the browser chapters serve their apps
over HTTPS in every engine: :func:`tls_front` accepts TLS on a port of its own, with a fresh
self-signed certificate (:mod:`.tls`), and relays the bytes to the plain server behind it. The
server behind stays the production WSGI server; the front adds no parsing and no limits.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator

from sessionlab.lab.servers import LOOPBACK, LoopbackServer
from sessionlab.lab.tls import self_signed_certificate, server_tls_context

__all__ = ["HttpsServer", "tls_front"]


class HttpsServer(LoopbackServer):
    """A :class:`LoopbackServer` reached over HTTPS."""

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"


def _relay(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    for end in (source, target):
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def tls_front(behind: LoopbackServer) -> Iterator[HttpsServer]:
    """Serve ``behind`` over HTTPS on a new loopback port until the block ends."""
    context = server_tls_context(*self_signed_certificate(hostname=behind.host))
    listener = socket.create_server((LOOPBACK, 0))
    open_sockets: set[socket.socket] = set()
    threads: list[threading.Thread] = []

    def serve(client: socket.socket) -> None:
        try:
            secure = context.wrap_socket(client, server_side=True)
        except (OSError, ssl.SSLError):
            client.close()
            return
        upstream = socket.create_connection((behind.host, behind.port))
        open_sockets.update((secure, upstream))
        back = threading.Thread(target=_relay, args=(upstream, secure), daemon=True)
        back.start()
        _relay(secure, upstream)
        back.join()
        for end in (secure, upstream):
            end.close()
            open_sockets.discard(end)

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = listener.accept()
                open_sockets.add(client)
                thread = threading.Thread(target=serve, args=(client,), daemon=True)
                threads.append(thread)
                thread.start()

    acceptor = threading.Thread(target=accept, name="tls-front", daemon=True)
    acceptor.start()
    try:
        yield HttpsServer(port=listener.getsockname()[1], host=behind.host)
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        listener.close()
        for end in list(open_sockets):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                end.close()
        acceptor.join(5)
        for thread in threads:
            thread.join(5)
