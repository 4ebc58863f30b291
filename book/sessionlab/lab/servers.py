"""Loopback servers that always stop: WSGI apps on waitress in a thread, or server processes.

Every server the book starts binds 127.0.0.1 (or another loopback address) on a port the kernel
chooses, runs on a production WSGI server (waitress), never on a development server, and is
bounded: a connection that sends nothing, or half a request, is closed after
:attr:`ServerLimits.channel_timeout`; at most :attr:`ServerLimits.connection_limit` connections
are open at once; request headers above :attr:`ServerLimits.max_request_header_size` get 431.

waitress's ``channel_timeout`` measures silence, so a client that sends one header byte every
two seconds keeps a connection forever, and a few more such clients than the connection limit
stop the server from accepting anyone. Two bounds waitress lacks are added here
(:func:`_bound_request_heads`): a request's head (request line and headers) must be complete
within :attr:`ServerLimits.head_timeout` seconds of its first byte, and when the connection limit
is reached the connections that have waited longest for an incomplete head are closed, so a
legitimate client, whose head arrives at once, is accepted while the limit is under attack.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import ipaddress
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server

__all__ = [
    "LOOPBACK",
    "LoopbackServer",
    "ServerLimits",
    "free_port",
    "run_wsgi_forever",
    "serve_wsgi",
    "spawn_server",
    "wait_for_port",
]

LOOPBACK = "127.0.0.1"
#: The folder that holds ``sessionlab``: child processes import it from there.
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
# waitress warns when requests queue for a worker thread; under a deliberate load that is the
# point of the experiment, not news, and it would make notebook outputs depend on timing.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)


@dataclass(frozen=True)
class ServerLimits:
    """What one client may cost a server. The defaults suit every chapter's app."""

    threads: int = 8
    connection_limit: int = 64
    channel_timeout: int = 5  # seconds a connection may stay silent, or half-sent
    max_request_header_size: int = 16 * 1024  # bytes of request line plus headers, else 431
    max_request_body_size: int = 1024 * 1024
    head_timeout: int = 10  # seconds from a request's first byte to the end of its headers

    def waitress_options(self) -> dict:
        options = asdict(self)
        del options["head_timeout"]  # ours, not waitress's
        return {**options, "cleanup_interval": 1, "ident": "", "expose_tracebacks": False}


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


def _require_loopback(host: str) -> None:
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the book's servers bind loopback addresses only, not {host!r}")


_HANDED_OUT: collections.deque[tuple[str, int]] = collections.deque(maxlen=4096)
_HANDED_OUT_LOCK = threading.Lock()


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port on ``host`` (a loopback address) that is free right now, and not one this
    process handed out recently: the kernel may offer a port again before its first taker has
    bound it, and two servers started together would then collide."""
    _require_loopback(host)
    with _HANDED_OUT_LOCK:
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((host, 0))
                port = probe.getsockname()[1]
            if (host, port) not in _HANDED_OUT:
                _HANDED_OUT.append((host, port))
                return port
    raise OSError(f"no fresh free port on {host} after 100 tries")


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


def _waitress(app, host: str, port: int, limits: ServerLimits):
    _require_loopback(host)
    server = create_server(app, host=host, port=port, **limits.waitress_options())
    _bound_request_heads(server, limits)
    return server


class _HeadTimedChannel(HTTPChannel):
    """waitress's channel, noting since when it has waited for the rest of a request's head:
    from the connection's start until its first request's head is complete, then from the
    first byte of each later request until that request's head is complete."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.head_started: float | None = self.creation_time

    def received(self, data):
        if data and self.request is None and self.head_started is None:
            self.head_started = time.time()  # a new request begins with these bytes
        result = super().received(data)
        if self.request is None or self.request.headers_finished:
            self.head_started = None
        return result


#: Seconds a request head may be incomplete before, at the connection limit, its connection may
#: be closed to make room: far longer than a legitimate client takes to send its head.
EVICTABLE_AFTER = 2.0


def _bound_request_heads(server, limits: ServerLimits) -> None:
    """Close connections whose request head has taken more than ``head_timeout`` seconds and,
    at the connection limit, the oldest of those that have waited more than
    :data:`EVICTABLE_AFTER` seconds for a head, until a quarter of the limit is free. Runs in
    waitress's loop, each time it asks the listener ``readable()``."""
    server.channel_class = _HeadTimedChannel
    accept_if_room = server.readable
    free_target = limits.connection_limit - max(1, limits.connection_limit // 4)

    def readable() -> bool:
        now = time.time()
        waiting = sorted(
            (channel.head_started, fd)
            for fd, channel in list(server._map.items())
            if isinstance(channel, _HeadTimedChannel)
            and channel.head_started is not None
            and not channel.will_close
        )
        excess = (
            len(server._map) - free_target if len(server._map) >= limits.connection_limit else 0
        )
        for started, fd in waiting:
            # At the limit, only heads late by more than EVICTABLE_AFTER: a client that has just
            # connected (its head is on the way, or the loop has not read it yet) is never cut.
            evict = excess > 0 and now - started > EVICTABLE_AFTER
            if now - started > limits.head_timeout or evict:
                server._map[fd].will_close = True  # closed by the loop once writable
                excess -= evict
        return accept_if_room()

    server.readable = readable


def _stop_waitress(server, thread: threading.Thread) -> None:
    """Stop waitress without a race: every socket is closed from inside its own loop.

    First the listener closes (no new connections) and the worker threads finish the requests
    in flight while the loop still flushes their responses; then the loop closes every other
    channel and ends, because its map is empty; last, the trigger's pipe closes.
    """

    def in_loop(action):
        done = threading.Event()
        server.trigger.pull_trigger(lambda: (action(), done.set()))
        done.wait(timeout=5)

    # The listener alone: waitress's own close() also closes the trigger the workers still use.
    in_loop(lambda: wasyncore.dispatcher.close(server))
    server.task_dispatcher.shutdown(timeout=5)

    def close_channels():
        for fd, channel in list(server._map.items()):
            if channel is server.trigger:
                del server._map[fd]
            elif channel is server:
                continue
            else:
                with contextlib.suppress(OSError):
                    channel.close()

    in_loop(close_channels)
    thread.join(timeout=5)
    with contextlib.suppress(OSError):
        server.trigger._close()


@contextlib.contextmanager
def serve_wsgi(
    app, *, host: str = LOOPBACK, port: int = 0, limits: ServerLimits | None = None
) -> Iterator[LoopbackServer]:
    """Serve a WSGI app with waitress in a background thread; stop it when the block ends."""
    server = _waitress(app, host, port, limits or ServerLimits())
    port = int(server.effective_port)
    thread = threading.Thread(target=server.run, name=f"waitress-{port}")
    thread.daemon = True
    thread.start()
    try:
        yield LoopbackServer(port=port, host=host)
    finally:
        _stop_waitress(server, thread)


def run_wsgi_forever(
    app, *, port: int, host: str = LOOPBACK, limits: ServerLimits | None = None
) -> None:
    """Serve ``app`` in this process until SIGTERM: the entry point of a server process."""
    server = _waitress(app, host, port, limits or ServerLimits())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.run()


@contextlib.contextmanager
def spawn_server(
    argv: Sequence[str],
    *,
    port: int,
    host: str = LOOPBACK,
    env: dict[str, str] | None = None,
    ready_timeout: float = 120.0,
    cwd: str | os.PathLike | None = None,
) -> Iterator[LoopbackServer]:
    """Run a server process that will listen on ``host:port``; stop it when the block ends.

    ``argv`` starting with ``"python"`` runs this interpreter. The child can import
    ``sessionlab``; its output goes to a temporary log file, deleted afterwards. ``cwd``: the
    folder it runs in (default: this process's).
    """
    _require_loopback(host)
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
        cwd=cwd,
        start_new_session=True,
    )
    os.close(log_fd)
    _RUNNING.add(process)
    server = LoopbackServer(port=port, host=host, process=process, log_path=log_path)
    try:
        # The events: the port listens, or the process ends. A loaded machine can take many
        # seconds to import a framework, so the time limit is only a last resort for a child
        # that neither listens nor exits.
        deadline = time.monotonic() + ready_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"server {argv!r} exited with {process.returncode}:\n{server.log()}"
                )
            try:
                wait_for_port(port, host=host, timeout=0.5)
                break
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server {argv!r} did not start:\n{server.log()}") from None
        yield server
    finally:
        _stop_process_group(process)
        _RUNNING.discard(process)
        log_path.unlink(missing_ok=True)


#: Processes started by :func:`spawn_server` and not yet stopped. Each runs in its own session
#: (so a signal to the notebook does not reach it), so one left behind by a cell that failed
#: before its clean-up would outlive the kernel; this interpreter stops them when it exits.
_RUNNING: set[subprocess.Popen] = set()


@atexit.register
def _stop_leftovers() -> None:
    for process in list(_RUNNING):
        _stop_process_group(process)


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
