"""Serve the Django app on gunicorn, 127.0.0.1:$PORT only: ``PORT=8000 CONFIG=defaults python
serve.py``. A fresh SQLite database in a temporary folder (deleted at exit) gets its tables and
the contract's users before gunicorn forks its worker."""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
USERS = {  # name -> (password, role); demo passwords, never reuse
    "alice": ("correct horse", "user"),
    "root": ("root password", "admin"),
    "carol": ("carol password", "user"),
    "dave": ("dave password", "user"),
    "erin": ("erin password", "user"),
    "frank": ("frank password", "user"),
}


def prepare() -> None:
    folder = tempfile.mkdtemp(prefix="impl-django-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ["DB_PATH"] = str(Path(folder) / "db.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    sys.path.insert(0, str(HERE))
    os.chdir(HERE)
    import django
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    from django.apps import apps
    from django.conf import settings

    # A throwaway database: tables straight from the models, as Django's test runner makes them
    # with migrations disabled; seconds faster per start than running every migration.
    settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
    call_command("migrate", run_syncdb=True, verbosity=0)
    model = get_user_model()
    for name, (password, role) in USERS.items():
        model.objects.create_user(name, password=password, is_staff=role == "admin")
    connections.close_all()  # no connection shared across the fork


def main() -> None:
    from gunicorn.app.base import BaseApplication

    prepare()
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


if __name__ == "__main__":
    main()
