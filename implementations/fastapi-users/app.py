"""The checklist's contract on fastapi-users: one FastAPI app, one CookieTransport, and the
strategy chosen by CONFIG (https://fastapi-users.github.io/fastapi-users/latest/configuration/
authentication/):

jwt:       JWTStrategy (a signed JWT in the cookie), lifetime 3600 s as the docs' example.
redis:     RedisStrategy (an opaque token; Redis maps it to the user ID), REDIS_URL.
database:  DatabaseStrategy (an opaque token in an access-token table), SQLite via aiosqlite.
database-recommended: DatabaseStrategy, and what a careful user adds with the same API: a
           __Host- cookie, SameSite=Strict, tokens deleted per user (log out everywhere, an admin
           action, password change), a new token at privilege change, Cache-Control: no-store.

Login and logout are fastapi-users' own auth router (mounted at /). The users table and the
access-token table are a small aiosqlite adapter (db.py): fastapi-users-db-sqlalchemy 7.0.0
requires SQLAlchemy < 2.1 and the book pins 2.1.9. The contract's user names stand in for the
email field. Demo passwords and a demo Argon2 cost, never reuse.
"""

# ruff: noqa: B008  (Depends()/Form() in defaults is FastAPI's documented dependency idiom)
from __future__ import annotations

import os
import secrets
from contextlib import asynccontextmanager

import db
from fastapi import Depends, FastAPI, Form, HTTPException, Request, Response
from fastapi_users import BaseUserManager, FastAPIUsers, IntegerIDMixin, schemas
from fastapi_users.authentication import (
    AuthenticationBackend,
    CookieTransport,
    JWTStrategy,
    RedisStrategy,
)
from fastapi_users.authentication.strategy.db import DatabaseStrategy
from fastapi_users.password import PasswordHelper
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

CONFIGS = ("jwt", "redis", "database", "database-recommended")
CONFIG = os.environ.get("CONFIG", "jwt")
if CONFIG not in CONFIGS:
    raise SystemExit(f"CONFIG must be one of {', '.join(CONFIGS)}, not {CONFIG!r}")
SHORT = os.environ.get("TIMEOUTS") == "short"
RECOMMENDED = CONFIG == "database-recommended"
# One lifetime per token: the docs' 3600 s; under TIMEOUTS=short, 2 s (the absolute timeout:
# no strategy renews a token on use, so there is no idle timeout to set).
LIFETIME = 2 if SHORT else 3600
SECRET = secrets.token_urlsafe(32)
from serving import USERS  # noqa: E402  (the contract's users: name -> (password, role))

# DEMO ONLY: Argon2id at 1 pass and 8 MiB (pwdlib's default is 3 passes, 64 MiB), through the
# documented PasswordHelper hook, so that ~50 logins take seconds.
password_helper = PasswordHelper(PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8192),)))


class UserUpdate(schemas.BaseUserUpdate):
    pass


class UserManager(IntegerIDMixin, BaseUserManager[db.User, int]):
    reset_password_token_secret = SECRET
    verification_token_secret = SECRET

    async def on_after_login(self, user, request=None, response=None):
        """database-recommended: a login replaces the token this browser held (the documented
        hook; fastapi-users itself leaves the previous token valid until it expires)."""
        if RECOMMENDED and request is not None:
            tokens = db.AccessTokenDatabase()
            previous = await tokens.get_by_token(request.cookies.get(transport.cookie_name, ""))
            if previous is not None:
                await tokens.delete(previous)


async def get_user_manager():
    yield UserManager(db.UserDatabase(), password_helper)


# --- the transport and the strategies -------------------------------------------------------
if RECOMMENDED:
    transport = CookieTransport(cookie_name="__Host-fastapiusersauth", cookie_samesite="strict")
else:
    transport = CookieTransport()  # fastapiusersauth, Secure, HttpOnly, SameSite=Lax, no Max-Age

redis_client = None
if CONFIG == "redis":
    import redis.asyncio

    redis_client = redis.asyncio.from_url(os.environ["REDIS_URL"], decode_responses=True)


def get_strategy():
    if CONFIG == "jwt":
        return JWTStrategy(secret=SECRET, lifetime_seconds=LIFETIME)
    if CONFIG == "redis":
        return RedisStrategy(redis_client, lifetime_seconds=LIFETIME)
    return DatabaseStrategy(db.AccessTokenDatabase(), lifetime_seconds=LIFETIME)


backend = AuthenticationBackend(name="cookie", transport=transport, get_strategy=get_strategy)
fastapi_users = FastAPIUsers[db.User, int](get_user_manager, [backend])
current_user = fastapi_users.current_user(active=True)
current_user_token = fastapi_users.authenticator.current_user_token(active=True)


@asynccontextmanager
async def lifespan(app: FastAPI):
    await db.open_database()
    for name, (password, role) in USERS.items():
        await db.UserDatabase().create(
            {
                "email": name,
                "hashed_password": password_helper.hash(password),
                "is_superuser": role == "admin",
            }
        )
    yield
    await db.close_database()


app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
app.include_router(fastapi_users.get_auth_router(backend))  # POST /login, POST /logout


@app.middleware("http")
async def no_store(request: Request, call_next):
    response = await call_next(request)
    if RECOMMENDED:
        response.headers["Cache-Control"] = "no-store"
    return response


def role(user: db.User) -> str:
    return "admin" if user.is_superuser else "user"


@app.get("/me")
async def me(user: db.User = Depends(current_user)):
    return {"user": user.email, "role": role(user)}


@app.post("/transfer")
async def transfer(to: str = Form(), amount: int = Form(), user=Depends(current_user)):
    return {"from": user.email, "to": to, "amount": amount}


async def check_password(user_manager, user: db.User, password: str) -> bool:
    verified, _ = user_manager.password_helper.verify_and_update(password, user.hashed_password)
    return verified


@app.post("/elevate")
async def elevate(
    password: str = Form(),
    user_token=Depends(current_user_token),
    user_manager=Depends(get_user_manager),
    strategy=Depends(get_strategy),
):
    """Re-authenticate; this token is destroyed (JWT: it cannot be) and a new one is set."""
    user, token = user_token
    if not await check_password(user_manager, user, password):
        raise HTTPException(403, "wrong password")
    await backend.logout(strategy, user, token)  # destroy_token; JWT's failure is swallowed
    return await backend.login(strategy, user)


@app.post("/password")
async def password(
    old: str = Form(),
    new: str = Form(),
    end_other_sessions: str = Form(""),
    user_token=Depends(current_user_token),
    user_manager=Depends(get_user_manager),
):
    """BaseUserManager.update with a new password. fastapi-users ends no token on its own;
    database-recommended deletes the user's other tokens when asked."""
    user, token = user_token
    if not await check_password(user_manager, user, old):
        raise HTTPException(403, "wrong password")
    await user_manager.update(UserUpdate(password=new), user)
    ended = 0
    if RECOMMENDED and end_other_sessions == "1":
        ended = await db.AccessTokenDatabase().delete_for_user(user.id, keep=token)
    return {"changed": True, "tokens_ended": ended}


async def admin_target(name: str, admin: db.User, user_manager) -> db.User:
    if not admin.is_superuser:
        raise HTTPException(403, "admins only")
    target = await db.UserDatabase().get_by_email(name)
    if target is None:
        raise HTTPException(400, "no such user")
    return target


@app.post("/admin/disable")
async def admin_disable(
    user: str = Form(), admin=Depends(current_user), user_manager=Depends(get_user_manager)
):
    """is_active=False: every strategy loads the user per request, and current_user(active=True)
    refuses an inactive one."""
    target = await admin_target(user, admin, user_manager)
    await user_manager.update(UserUpdate(is_active=False), target, safe=False)
    return {"disabled": user}


if RECOMMENDED:

    @app.post("/logout-everywhere")
    async def logout_everywhere(user=Depends(current_user)):
        ended = await db.AccessTokenDatabase().delete_for_user(user.id)
        response = await transport.get_logout_response()
        response.headers["X-Tokens-Ended"] = str(ended)
        return response

    @app.post("/admin/end-sessions")
    async def admin_end_sessions(
        user: str = Form(), admin=Depends(current_user), user_manager=Depends(get_user_manager)
    ):
        target = await admin_target(user, admin, user_manager)
        return {"tokens_ended": await db.AccessTokenDatabase().delete_for_user(target.id)}


def contract(asgi_app):
    """The contract wants 200 from a successful login; CookieTransport answers 204 No Content.
    This wrapper changes only that status line (POST /login, /elevate), nothing else."""

    async def wrapped(scope, receive, send):
        if scope["type"] != "http" or scope["path"] not in ("/login", "/elevate"):
            return await asgi_app(scope, receive, send)

        async def sending(message):
            if message["type"] == "http.response.start" and message["status"] == 204:
                message = {**message, "status": 200}
            await send(message)

        await asgi_app(scope, receive, sending)

    return wrapped


asgi = contract(app)


@app.exception_handler(ValueError)
async def bad_value(request: Request, error: ValueError):  # e.g. a malformed form body
    return Response(status_code=400)
