"""What the Python implementations share: the HTTP contract's demo users (read from
``implementations/demo_users.json``) and the two production servers they run on
(implementations/README.md). Not an implementation itself (its folder starts with ``_``, so the
launcher and ``make implementations`` pass it over); beside it, ``drf_settings.py`` and
``drf_contract.py`` hold the settings and routes the two Django projects share.

- :func:`serve_django`: a Django project on gunicorn (django-rest-knox and simplejwt, whose start
  command is ``serve_django.py``), a fresh SQLite database in a temporary folder with the
  contract's users, made before the fork;
- :func:`serve_asgi`: an ASGI app on uvicorn (h11) behind :func:`bounded` (fastapi-users,
  Starlette).

Both listen on 127.0.0.1:$PORT only, with bounded connections, keep-alive, header and body sizes.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

#: The contract's users: name -> (password, role), read from ``implementations/demo_users.json``
#: (plain JSON, so that an implementation in any language can read the same list). Demo
#: passwords, never reuse.
USERS = {
    name: (password, role)
    for name, (password, role) in json.loads(
        (Path(__file__).resolve().parents[1] / "demo_users.json").read_text(encoding="utf-8")
    ).items()
}
MAX_BODY, MAX_HEADERS = 64 * 1024, 16 * 1024


def prepare_django(folder: Path) -> None:
    """A throwaway SQLite database with the contract's users, for the project in ``folder``."""
    database = tempfile.mkdtemp(prefix="impl-django-")
    atexit.register(shutil.rmtree, database, ignore_errors=True)
    os.environ["DB_PATH"] = str(Path(database) / "db.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    sys.path.insert(0, str(folder))
    os.chdir(folder)
    import django
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    from django.apps import apps
    from django.conf import settings

    # Tables straight from the models, as Django's test runner makes them with migrations
    # disabled; seconds faster per start than running every migration.
    settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
    call_command("migrate", run_syncdb=True, verbosity=0)
    model = get_user_model()
    for name, (password, role) in USERS.items():
        model.objects.create_user(name, password=password, is_staff=role == "admin")
    connections.close_all()  # no connection shared across the fork


def serve_django(folder: Path) -> None:
    """Serve the Django project in ``folder`` (its ``wsgi.py``) on gunicorn until stopped."""
    from gunicorn.app.base import BaseApplication

    prepare_django(folder)
    from wsgi import application

    class Server(BaseApplication):
        def load_config(self):
            options = {
                "bind": f"127.0.0.1:{int(os.environ['PORT'])}",
                "workers": 1,  # one process: SQLite, and in-memory state stays coherent
                "threads": 4,
                "timeout": 30,
                "graceful_timeout": 2,
                "keepalive": 5,
                "limit_request_line": 4094,
                "limit_request_fields": 50,
                "limit_request_field_size": 8190,
                "worker_connections": 100,
                "accesslog": None,
                "loglevel": "warning",
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return application

    Server().run()


def bounded(app):
    """431 for request headers over MAX_HEADERS (h11's own bound holds only for headers that
    arrive in pieces), 413 for a body declared larger than MAX_BODY, 411 for a body of unknown
    length."""

    async def guarded(scope, receive, send):
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            length = headers.get(b"content-length", b"0")
            reply = None
            if sum(len(k) + len(v) for k, v in scope["headers"]) > MAX_HEADERS:
                reply = 431
            elif b"transfer-encoding" in headers:
                reply = 411
            elif not length.isdigit() or int(length) > MAX_BODY:
                reply = 413
            if reply:
                await send({"type": "http.response.start", "status": reply, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
        await app(scope, receive, send)

    return guarded


def serve_asgi(app, *, lifespan: str = "auto") -> None:
    """Serve an ASGI app on uvicorn (h11) behind :func:`bounded` until stopped."""
    import uvicorn

    uvicorn.run(
        bounded(app),
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        http="h11",
        loop="asyncio",
        workers=1,
        limit_concurrency=200,
        backlog=256,
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=16 * 1024,  # request line and headers: 16 KB
        server_header=False,
        access_log=False,
        log_level="warning",
        lifespan=lifespan,
    )
