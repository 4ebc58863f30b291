"""The checklist's contract on Starlette's sessions.

CONFIG=defaults:    starlette.middleware.sessions.SessionMiddleware with its defaults (a signed,
                    readable cookie named ``session``).
CONFIG=recommended: starsessions' SessionMiddleware on a Redis store (REDIS_URL): an opaque
                    session ID, ``__Host-`` cookie, Secure, SameSite=Strict, a browser-session
                    cookie, rolling idle timeout, an absolute limit from starsessions' metadata,
                    a new ID at login and privilege change (old one removed from the store).

Starlette has no login, CSRF protection, throttle or password hashing: the few lines of each
this app needs are marked APP CODE. Demo passwords and a demo hashing cost, never reuse.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

CONFIG = os.environ.get("CONFIG", "defaults")
SHORT = os.environ.get("TIMEOUTS") == "short"
if CONFIG not in ("defaults", "recommended"):
    raise SystemExit(f"CONFIG must be defaults or recommended, not {CONFIG!r}")

# --- APP CODE: users and a password check (demo cost: 20,000 PBKDF2 iterations) -------------
ITERATIONS = 20_000
from serving import USERS  # noqa: E402  (the contract's users: name -> (password, role))


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS)


def _record(password: str, role: str) -> dict:
    salt = secrets.token_bytes(16)
    return {"salt": salt, "hash": _hash(password, salt), "role": role, "disabled": False}


ACCOUNTS = {name: _record(password, role) for name, (password, role) in USERS.items()}
_DUMMY = _record("not a password", "user")


def check_password(name: str, password: str) -> bool:
    """An unknown name costs the same hash as a known one."""
    record = ACCOUNTS.get(name, _DUMMY)
    ok = hmac.compare_digest(_hash(password, record["salt"]), record["hash"])
    return ok and name in ACCOUNTS and not record["disabled"]


# --- the session middleware of each configuration --------------------------------------------
if CONFIG == "defaults":
    from starlette.middleware.sessions import SessionMiddleware

    SESSION_COOKIE = "session"
    # https://www.starlette.io/middleware/#sessionmiddleware: only secret_key is required.
    middleware = [
        Middleware(
            SessionMiddleware,
            secret_key=secrets.token_urlsafe(32),
            # Its only timeout, from the last write, in whole seconds (itsdangerous timestamps):
            # max_age=1 lives 1 to 2 s, which the 2.4 s absolute probe always outlasts.
            **({"max_age": 1} if SHORT else {}),
        )
    ]
    IDLE = ABSOLUTE = None
else:
    from redis.asyncio import Redis
    from starsessions import (
        SessionAutoloadMiddleware,
        get_session_id,
        get_session_metadata,
        regenerate_session_id,
    )
    from starsessions import SessionMiddleware as StarSessionMiddleware
    from starsessions.stores.redis import RedisStore

    SESSION_COOKIE = "__Host-session"
    IDLE, ABSOLUTE = (1, 2) if SHORT else (30 * 60, 8 * 3600)
    store = RedisStore(
        connection=Redis.from_url(os.environ["REDIS_URL"]),
        prefix=f"starsessions:{os.getpid()}:",
    )
    middleware = [
        Middleware(
            StarSessionMiddleware,
            store=store,
            lifetime=IDLE,
            rolling=True,  # the idle timeout, renewed on every response
            cookie_name=SESSION_COOKIE,
            cookie_same_site="strict",
            cookie_https_only=True,
            cookie_path="/",
        ),
        Middleware(SessionAutoloadMiddleware),
    ]


NO_STORE = {"Cache-Control": "no-store"} if CONFIG == "recommended" else {}


def answer(body: dict, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status, headers=NO_STORE)


async def form(request: Request) -> dict[str, str]:
    """The posted form, bounded; anything that is not one answers 400 (HTTPException)."""
    try:
        parsed = await request.form(max_files=0, max_fields=20, max_part_size=4096)
    except Exception as error:  # python-multipart's errors: a malformed body
        from starlette.exceptions import HTTPException

        raise HTTPException(400, "malformed form") from error
    return {k: v for k, v in parsed.items() if isinstance(v, str)}


def current_user(request: Request) -> str | None:
    """The logged-in user, if the session names one whose account is still enabled."""
    name = request.session.get("user")
    record = ACCOUNTS.get(name) if isinstance(name, str) else None
    if record is None or record["disabled"]:
        return None
    if ABSOLUTE is not None and time.time() - get_session_metadata(request)["created"] > ABSOLUTE:
        request.session.clear()  # APP CODE: starsessions has no absolute limit with rolling=True
        return None
    return name


async def new_session(request: Request, user: str) -> None:
    """A fresh session for ``user``: a new ID, and the old one removed from the store."""
    request.session.clear()
    if CONFIG == "recommended":
        old = get_session_id(request)
        regenerate_session_id(request)
        if old:
            await store.remove(old)  # regenerate_session_id alone leaves the old ID valid
    request.session.update({"user": user, "at": time.time()})


async def login(request: Request):
    data = await form(request)
    name, password = data.get("username", ""), data.get("password", "")
    if not check_password(name, password):
        return answer({"error": "wrong user name or password"}, 401)
    await new_session(request, name)
    return answer({"user": name})


async def me(request: Request):
    name = current_user(request)
    if name is None:
        return answer({"error": "not logged in"}, 401)
    return answer({"user": name, "role": ACCOUNTS[name]["role"]})


def login_required(view):
    async def wrapped(request: Request):
        name = current_user(request)
        if name is None:
            return answer({"error": "not logged in"}, 401)
        return await view(request, name, await form(request))

    return wrapped


@login_required
async def logout(request: Request, name: str, data: dict):
    request.session.clear()  # defaults: the cookie is emptied; the old value stays valid
    return answer({"logged_out": True})


@login_required
async def transfer(request: Request, name: str, data: dict):
    if not data.get("to") or not data.get("amount", "").isdigit():
        return answer({"error": "to and amount required"}, 400)
    return answer({"from": name, "to": data["to"], "amount": int(data["amount"])})


@login_required
async def elevate(request: Request, name: str, data: dict):
    if not check_password(name, data.get("password", "")):
        return answer({"error": "wrong password"}, 403)
    await new_session(request, name)
    request.session["elevated_at"] = time.time()
    return answer({"user": name, "elevated": True})


@login_required
async def password(request: Request, name: str, data: dict):
    if not data.get("new") or not check_password(name, data.get("old", "")):
        return answer({"error": "old and new password required"}, 403)
    ACCOUNTS[name].update(_record(data["new"], ACCOUNTS[name]["role"]))
    # Neither middleware can find a user's other sessions: end_other_sessions is not honoured.
    return answer({"changed": True, "other_sessions_ended": False})


@login_required
async def admin_disable(request: Request, name: str, data: dict):
    if ACCOUNTS[name]["role"] != "admin":
        return answer({"error": "admins only"}, 403)
    if data.get("user") not in ACCOUNTS:
        return answer({"error": "no such user"}, 400)
    ACCOUNTS[data["user"]]["disabled"] = True  # current_user() refuses it on the next request
    return answer({"disabled": data["user"]})


app = Starlette(
    routes=[
        Route("/login", login, methods=["POST"]),
        Route("/me", me),
        Route("/logout", logout, methods=["POST"]),
        Route("/transfer", transfer, methods=["POST"]),
        Route("/elevate", elevate, methods=["POST"]),
        Route("/password", password, methods=["POST"]),
        Route("/admin/disable", admin_disable, methods=["POST"]),
    ],
    middleware=middleware,
)
