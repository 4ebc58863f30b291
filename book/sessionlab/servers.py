"""Loopback servers that always stop: WSGI apps in a thread, or whole server processes.

Every server the book starts binds 127.0.0.1 on a port the kernel chooses, and every one is
started through a context manager here, so leaving the ``with`` block stops it, even when a
cell fails half-way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

__all__ = ["LOOPBACK", "LoopbackServer", "free_port", "serve_wsgi", "spawn_server", "wait_for_port"]

LOOPBACK = "127.0.0.1"
#: The folder that holds ``sessionlab``: child processes import it from there.
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without the per-request access log (it would be noise in outputs)."""

    def log_request(self, code="-", size="-"):
        pass


@dataclass
class LoopbackServer:
    """A running server: where it listens, and (for a process) its log so far."""

    port: int
    host: str = LOOPBACK
    process: subprocess.Popen | None = None
    log_path: Path | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def log(self) -> str:
        """What the server process has printed so far (empty for a thread server)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, host: str = LOOPBACK, timeout: float = 10.0) -> None:
    """Block until something accepts TCP connections on ``host:port``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s") from None
            time.sleep(0.02)


@contextlib.contextmanager
def serve_wsgi(app, *, port: int = 0) -> Iterator[LoopbackServer]:
    """Serve a WSGI app on 127.0.0.1 in a background thread; stop it when the block ends."""
    server = make_server(LOOPBACK, port, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield LoopbackServer(port=server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def spawn_server(
    argv: Sequence[str],
    *,
    port: int,
    env: dict[str, str] | None = None,
    ready_timeout: float = 15.0,
) -> Iterator[LoopbackServer]:
    """Run a server process that will listen on 127.0.0.1:``port``; stop it when the block ends.

    ``argv`` starting with ``"python"`` runs this interpreter. The child can import
    ``sessionlab``; its output goes to a temporary log file, deleted afterwards.
    """
    argv = [sys.executable if argv[0] == "python" else argv[0], *argv[1:]]
    child_env = {**os.environ, **(env or {})}
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PACKAGE_ROOT), child_env.get("PYTHONPATH", "")) if p
    )
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    log_fd, log_name = tempfile.mkstemp(prefix="sessionlab-server-", suffix=".log")
    log_path = Path(log_name)
    process = subprocess.Popen(
        argv,
        stdout=log_fd,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=child_env,
        start_new_session=True,
    )
    os.close(log_fd)
    server = LoopbackServer(port=port, process=process, log_path=log_path)
    try:
        try:
            wait_for_port(port, timeout=ready_timeout)
        except TimeoutError:
            raise RuntimeError(f"server {argv!r} did not start:\n{server.log()}") from None
        if process.poll() is not None:
            raise RuntimeError(f"server {argv!r} exited with {process.returncode}:\n{server.log()}")
        yield server
    finally:
        _stop_process_group(process)
        log_path.unlink(missing_ok=True)


def _stop_process_group(process: subprocess.Popen) -> None:
    """Terminate the process and everything it started (e.g. gunicorn's workers)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    # Workers can outlive a master that exited on its own; clear the group either way.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
