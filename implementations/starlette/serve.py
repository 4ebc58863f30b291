"""Serve app.py on uvicorn (h11), 127.0.0.1:$PORT only, with bounded connections, keep-alive,
header and body sizes: ``PORT=8000 CONFIG=defaults python serve.py``."""

import os

import uvicorn

MAX_BODY, MAX_HEADERS = 64 * 1024, 16 * 1024


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


if __name__ == "__main__":
    from app import app

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
    )
