"""Serve the Django app on gunicorn, 127.0.0.1:$PORT only: ``PORT=8000 CONFIG=defaults python
serve.py``. A fresh SQLite database in a temporary folder (deleted at exit) gets its tables and
the contract's users before gunicorn forks its worker (``../_python/serving.py``)."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "_python"))

if __name__ == "__main__":
    from serving import serve_django

    serve_django(HERE)
