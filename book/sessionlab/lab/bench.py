"""One object per chapter owns everything the chapter starts, and one call stops it all.

A chapter makes its bench in the imports cell and closes it in its last cell::

    bench = Bench()
    server = bench.serve(create_session_app(...))   # waitress on 127.0.0.1
    redis_client = bench.redis()                     # a real redis-server
    browser = await bench.browser("firefox")         # or bench.browsers(): all three
    ...
    await bench.close()                              # the teardown cell

Whatever was started last is stopped first, so a server stops before the Redis it uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sessionlab.lab.registry import registration_of
from sessionlab.lab.servers import LOOPBACK, LoopbackServer, ServerLimits, serve_wsgi, spawn_server

__all__ = ["Bench"]


class Bench:
    """Servers, processes, Redis, a browser and temporary folders, started for one chapter."""

    def __init__(self) -> None:
        self._stack = contextlib.AsyncExitStack()
        self.closed = False
        self._browsers: dict = {}

    def enter(self, context_manager):
        """Enter any context manager now and exit it when the bench closes."""
        self._check_open()
        return self._stack.enter_context(context_manager)

    async def aenter(self, async_context_manager):
        """The same for an async context manager."""
        self._check_open()
        return await self._stack.enter_async_context(async_context_manager)

    def serve(
        self,
        app,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        limits: ServerLimits | None = None,
        https: bool = False,
    ) -> LoopbackServer:
        """Serve a registered WSGI app on waitress, in a thread of this kernel; ``port`` (from
        ``free_port``) when the app must know its own origin before it serves.

        ``https=True`` puts a TLS front with a fresh self-signed certificate before it
        (:mod:`sessionlab.lab.tls_front`); a Flask app then sees the ``https`` scheme.
        """
        registration_of(app)
        if https and hasattr(app, "wsgi_app"):
            app.wsgi_app = _as_https(app.wsgi_app)
        server = self.enter(serve_wsgi(app, host=host, port=port, limits=limits))
        if https:
            from sessionlab.lab.tls_front import tls_front

            server = self.enter(tls_front(server))
        return server

    def spawn(
        self,
        argv: Sequence[str],
        *,
        port: int,
        host: str = LOOPBACK,
        env: dict[str, str] | None = None,
        **options,
    ) -> LoopbackServer:
        """Run a server in its own process (its whole process group stops with the bench);
        ``options`` go to :func:`~sessionlab.lab.servers.spawn_server` (``cwd``, ``ready_timeout``)."""
        return self.enter(spawn_server(argv, port=port, host=host, env=env, **options))

    def redis(self, **options) -> Any:
        """A real ``redis-server`` on a unix socket (and TCP with ``tcp_port=``); its client."""
        from sessionlab.lab.redis_service import redis_server

        return self.enter(redis_server(**options))

    def tmpdir(self, prefix: str = "sessionlab-") -> Path:
        """A fresh temporary folder, deleted with everything in it when the bench closes."""
        folder = Path(tempfile.mkdtemp(prefix=prefix))
        self._stack.callback(shutil.rmtree, folder, ignore_errors=True)
        return folder

    async def browser(self, engine: str = "chromium", **options):
        """A browser engine (:mod:`sessionlab.lab.browser`): ``"chromium"``, ``"firefox"`` or
        ``"webkit"``. Started once and reused: asking again with the same options returns the
        same browser; different options (e.g. Chromium's ``extra_args``) start another."""
        from sessionlab.lab.browser import open_browser

        key = (engine, tuple(sorted(options.items())))
        if key not in self._browsers:
            self._browsers[key] = asyncio.ensure_future(
                self.aenter(open_browser(engine, **options))
            )
        return await self._browsers[key]

    async def browsers(self) -> list:
        """The three engines, started side by side, in :data:`~sessionlab.lab.browser.ENGINES`
        order."""
        from sessionlab.lab.browser import ENGINES

        return list(await asyncio.gather(*(self.browser(engine) for engine in ENGINES)))

    async def close(self) -> None:
        """Stop everything, newest first. Safe to call twice."""
        if not self.closed:
            self.closed = True
            await self._stack.aclose()

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError("this bench is closed; make a new Bench()")


def _as_https(wsgi_app):
    """The app as it runs behind a TLS front: requests arrive with the ``https`` scheme."""

    def app(environ, start_response):
        environ["wsgi.url_scheme"] = "https"
        return wsgi_app(environ, start_response)

    return app
