"""Plumbing for the chapter "Claim: JWTs are more secure": a wire tap and a weak-secret wordlist.

:func:`wiretap` is a one-purpose HTTP server on 127.0.0.1 that records every byte a client
sends it, exactly as the bytes crossed the socket, before and (with TLS) after decryption.
It shows what an eavesdropper on the network path would see. :func:`self_signed_certificate`
makes the throwaway certificate for the TLS run, and :func:`load_wordlist` reads the small list
of weak secrets the chapter's dictionary attack tries.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sessionlab.lab.servers import LOOPBACK

__all__ = [
    "WORDLIST_PATH",
    "load_wordlist",
    "Capture",
    "WireTap",
    "wiretap",
]

#: Weak secrets of the kind found in tutorials and leaked configs; one per line, "#" comments.
WORDLIST_PATH = Path(__file__).resolve().parents[1] / "data" / "secure_wordlist.txt"

_RESPONSE = b"HTTP/1.1 204 No Content\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
_MAX_REQUEST = 1 << 16


def load_wordlist(path: Path = WORDLIST_PATH) -> list[str]:
    """The words of ``path`` in file order, without blank lines and ``#`` comments."""
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        word = line.strip()
        if word and not word.startswith("#"):
            words.append(word)
    return words


@dataclass(frozen=True)
class Capture:
    """One connection as the tap saw it.

    ``wire`` holds the bytes the client sent, as they crossed the socket (ciphertext under
    TLS); ``request`` holds the HTTP request the server could read once TLS was removed (the
    same bytes as ``wire`` without TLS).
    """

    wire: bytes
    request: bytes
    tls: bool


@dataclass
class WireTap:
    """Where the tap listens, and what it has captured so far."""

    port: int
    tls: bool
    captures: list[Capture] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{LOOPBACK}:{self.port}"

    def wait_for_captures(self, count: int = 1, timeout: float = 5.0) -> list[Capture]:
        """The first ``count`` captures, waiting up to ``timeout`` seconds for them to arrive
        (the tap records a request just after answering it)."""
        deadline = time.monotonic() + timeout
        while len(self.captures) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.captures)} of {count} requests captured")
            time.sleep(0.005)
        return self.captures[:count]


def _serve_plain(conn: socket.socket) -> tuple[bytes, bytes]:
    wire = b""
    while b"\r\n\r\n" not in wire and len(wire) < _MAX_REQUEST:
        chunk = conn.recv(65536)
        if not chunk:
            break
        wire += chunk
    conn.sendall(_RESPONSE)
    return wire, wire


def _serve_tls(conn: socket.socket, context: ssl.SSLContext) -> tuple[bytes, bytes]:
    # TLS over memory buffers: every byte read from the socket is recorded before it is decrypted.
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_side=True)
    wire = bytearray()

    def flush() -> None:
        data = outgoing.read()
        if data:
            conn.sendall(data)

    def receive() -> None:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("client closed the connection")
        wire.extend(chunk)
        incoming.write(chunk)

    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            flush()
            receive()
    flush()
    request = b""
    while b"\r\n\r\n" not in request and len(request) < _MAX_REQUEST:
        try:
            request += tls.read(65536)
        except ssl.SSLWantReadError:
            flush()
            receive()
    tls.write(_RESPONSE)
    flush()
    return bytes(wire), request


@contextlib.contextmanager
def wiretap(*, tls_context: ssl.SSLContext | None = None) -> Iterator[WireTap]:
    """Listen on 127.0.0.1 (a free port); record each request; answer ``204``; stop on exit.

    With ``tls_context`` (a server-side :class:`ssl.SSLContext` with its certificate loaded)
    the tap speaks HTTPS and records both the ciphertext and the decrypted request.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((LOOPBACK, 0))
    listener.listen()
    listener.settimeout(0.05)
    tap = WireTap(port=listener.getsockname()[1], tls=tls_context is not None)
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    if tls_context is None:
                        wire, request = _serve_plain(conn)
                    else:
                        wire, request = _serve_tls(conn, tls_context)
                except (OSError, ssl.SSLError):
                    continue
                tap.captures.append(Capture(wire=wire, request=request, tls=tap.tls))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield tap
    finally:
        stopping.set()
        thread.join(timeout=5)
        listener.close()
