"""Serve app.py on uvicorn (h11), 127.0.0.1:$PORT only, with bounded connections, keep-alive,
header and body sizes (``../_python/serving.py``): ``PORT=8000 CONFIG=defaults python serve.py``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_python"))

if __name__ == "__main__":
    from app import app
    from serving import serve_asgi

    serve_asgi(app)
