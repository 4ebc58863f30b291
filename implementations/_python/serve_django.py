"""Serve the Django project in the current folder on gunicorn, 127.0.0.1:$PORT only: the start
command of django-rest-knox and simplejwt (their ``checklist.toml`` runs it in their folder).
By hand, from ``implementations/knox`` or ``implementations/simplejwt``:
``PORT=8000 CONFIG=defaults python ../_python/serve_django.py``. A fresh SQLite database in a
temporary folder (deleted at exit) gets its tables and the contract's users before gunicorn forks
its worker (:func:`serving.serve_django`)."""

from pathlib import Path

from serving import serve_django

if __name__ == "__main__":
    serve_django(Path.cwd())
