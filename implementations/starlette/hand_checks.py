"""Two claims checked in-process with Starlette's TestClient (not part of the checklist):

1. Is Starlette's SessionMiddleware sliding (re-signed on every response)?
2. Does starsessions' regenerate_session_id() end the old session ID?

    .venv/bin/python implementations/starlette/hand_checks.py
"""

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starsessions import InMemoryStore, SessionAutoloadMiddleware, regenerate_session_id
from starsessions import SessionMiddleware as StarSessionMiddleware


async def login(request):
    regenerate_session_id(request) if "session_handler" in request.scope else None
    request.session["user"] = "alice"
    return JSONResponse({"ok": True})


async def me(request):
    return JSONResponse({"user": request.session.get("user")})


routes = [Route("/login", login, methods=["POST"]), Route("/me", me)]
plain = Starlette(routes=routes, middleware=[Middleware(SessionMiddleware, secret_key="demo")])
with TestClient(plain) as client:
    client.post("/login")
    reread = client.get("/me")
    print(
        "1. Starlette SessionMiddleware: Set-Cookie on a read-only request after login:",
        reread.headers.get("set-cookie"),
        "| user:",
        reread.json()["user"],
    )

store = InMemoryStore()
star = Starlette(
    routes=routes,
    middleware=[
        Middleware(StarSessionMiddleware, store=store, cookie_https_only=False),
        Middleware(SessionAutoloadMiddleware),
    ],
)
with TestClient(star) as client:
    client.post("/login")
    first = client.cookies["session"]
    client.post("/login")  # re-login: regenerate_session_id
    second = client.cookies["session"]
with TestClient(star) as replay:
    replay.cookies["session"] = first
    print(
        "2. starsessions: new ID at re-login:",
        first != second,
        "| the old ID still logs in as:",
        replay.get("/me").json()["user"],
    )
