"""Django's own sessions, auth and CSRF middleware: as shipped and as the book recommends.

Django is configured once per process; each app this module builds is one configuration of it
(``RECOMMENDED_DJANGO_SETTINGS`` or Django's defaults, on the database or on a Redis cache).
The settings that differ between apps are looked up per request (a context variable set by the
app for the request it serves), so several configurations serve side by side in one process, as
several Django sites would in several processes.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import secrets
import sqlite3
import threading
import time
import types
from concurrent.futures import ThreadPoolExecutor

import django
from django.conf import settings

from sessionlab.lab.registry import registered_app
from sessionlab.recommended.frameworks.common import DEMO_USERS, framework_throttle

__all__ = ["RECOMMENDED_DJANGO_SETTINGS", "create_django_app"]

#: What the book tells readers to put in settings.py (timeouts are set per app).
RECOMMENDED_DJANGO_SETTINGS = {
    "SESSION_COOKIE_NAME": "__Host-sessionid",
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_HTTPONLY": True,  # Django's default, stated
    "SESSION_COOKIE_SAMESITE": "Lax",  # Django's default, stated
    "SESSION_EXPIRE_AT_BROWSER_CLOSE": True,  # no two-week persistent cookie
    "SESSION_SAVE_EVERY_REQUEST": True,  # expiry restarts on use: SESSION_COOKIE_AGE is idle
    "CSRF_USE_SESSIONS": True,  # the CSRF token lives in the session, not a year-long cookie
}
RECOMMENDED_MIDDLEWARE = ["sessionlab.recommended.frameworks.django_apps.RecommendedMiddleware"]

_DATABASE = "file:sessionlab-django?mode=memory&cache=shared"
_LOCK = threading.RLock()
_OVERRIDES: contextvars.ContextVar[dict] = contextvars.ContextVar(
    "django_app_settings", default=types.MappingProxyType({})
)
_CACHES: dict[str, dict] = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


class _PerAppSettings:
    """Django's settings, with the serving app's own values first."""

    def __init__(self, base):
        object.__setattr__(self, "_base", base)

    def __getattr__(self, name):
        overrides = _OVERRIDES.get()
        return overrides[name] if name in overrides else getattr(self._base, name)


_APPS: dict[str, dict] = {}
_ids = itertools.count()
_keepalive: list[sqlite3.Connection] = []


class _NoCache(dict):
    """LazySettings caches each setting it reads in its ``__dict__``; this one keeps none."""

    def __setitem__(self, key, value):
        if key == "_wrapped":
            super().__setitem__(key, value)


def _configure() -> None:
    if settings.configured:
        return
    settings.configure(
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        ROOT_URLCONF="sessionlab.recommended.frameworks.django_urls",
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": _DATABASE}},
        # The book's demo hash cost (lab.fixtures): Django's default is 1,000,000 iterations.
        PASSWORD_HASHERS=["sessionlab.recommended.frameworks.django_urls.DemoPBKDF2Hasher"],
        USE_TZ=True,
        LOGGING_CONFIG=None,
        CACHES=_CACHES,
    )
    own = _NoCache(_wrapped=_PerAppSettings(settings._wrapped))
    object.__setattr__(settings, "__dict__", own)
    _keepalive.append(sqlite3.connect(_DATABASE, uri=True, check_same_thread=False))
    django.setup()
    # 4xx answers are the checklist's point, not news: only server errors are logged.
    for name in ("django.request", "django.security"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _create_users(app_id: str) -> None:
    """The demo users of one app, stored as ``<app id>.<name>``: apps in one process share a
    database, and one app disabling erin must not disable her in another."""
    from django.contrib.auth.models import User

    for name, (password, role) in DEMO_USERS.items():
        User.objects.create_user(f"{app_id}.{name}", password=password, is_staff=role == "admin")


def _samples():
    yield "django-db-defaults", create_django_app()


class _Rule:
    """A route, described the way Flask's ``url_map`` does (the abuse sweep reads it)."""

    def __init__(self, rule: str, methods: set[str]):
        self.rule, self.methods, self.endpoint, self.arguments = rule, methods, rule, ()


class _UrlMap:
    def iter_rules(self):
        from sessionlab.recommended.frameworks.django_urls import urlpatterns

        for pattern in urlpatterns:
            route = "/" + str(pattern.pattern)
            yield _Rule(route, {"GET"} if route in ("/csrf", "/me") else {"POST"})


class DjangoApp:
    """One Django configuration as a WSGI app."""

    url_map = _UrlMap()

    def __init__(self, overrides: dict, state: dict):
        from django.core.handlers.wsgi import WSGIHandler

        self.overrides, self.state = overrides, state
        token = _OVERRIDES.set(overrides)
        try:
            self.handler = WSGIHandler()  # its middleware reads this configuration's settings
        finally:
            _OVERRIDES.reset(token)

    def __call__(self, environ, start_response):
        # One Django request at a time in this process: the apps share one in-memory SQLite
        # database, whose shared-cache mode locks tables instead of waiting for them.
        token = _OVERRIDES.set(self.overrides)
        try:
            with _LOCK:
                response = self.handler(environ, start_response)
                try:
                    return [b"".join(response)]
                finally:
                    response.close()
        finally:
            _OVERRIDES.reset(token)


@registered_app("django-sessions", sample=_samples)
def create_django_app(
    *,
    config: str = "defaults",
    store: str = "db",
    redis_client=None,
    demo_short_timeouts: bool = False,
    idle_timeout: int = 1800,
    absolute_timeout: int = 8 * 3600,
) -> DjangoApp:
    """Django with ``config`` 'defaults' or 'recommended', sessions in 'db' or a 'redis' cache."""
    if config not in ("defaults", "recommended") or store not in ("db", "redis"):
        raise ValueError("config is 'defaults' or 'recommended'; store is 'db' or 'redis'")
    if demo_short_timeouts:
        idle_timeout, absolute_timeout = 1, 2
    app_id = f"app{next(_ids)}"

    def prepare():
        with _LOCK:
            _configure()
            _create_users(app_id)

    # In a thread of its own: Django refuses database calls from a thread running an event loop
    # (a Jupyter kernel's), and the apps' own requests run in waitress's threads anyway.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(prepare).result()
    overrides: dict = {"SESSIONLAB_APP": app_id}
    if store == "redis":
        if redis_client is None:
            raise ValueError("sessions in a Redis cache need redis_client=")
        alias = f"sessions-{app_id}"
        backend = "django.core.cache.backends.redis.RedisCache"
        with _LOCK:
            _CACHES[alias] = {"BACKEND": backend, "LOCATION": "unix://" + redis_client.socket_file}
            from django.core.cache import caches

            caches.__dict__.pop("settings", None)  # the cache handler reads CACHES afresh
        overrides["SESSION_ENGINE"] = "django.contrib.sessions.backends.cache"
        overrides["SESSION_CACHE_ALIAS"] = alias
    if config == "recommended":
        overrides.update(RECOMMENDED_DJANGO_SETTINGS, SESSION_COOKIE_AGE=idle_timeout)
        overrides["MIDDLEWARE"] = [*settings.MIDDLEWARE, *RECOMMENDED_MIDDLEWARE]
    elif demo_short_timeouts:
        overrides["SESSION_COOKIE_AGE"] = absolute_timeout  # the two weeks, shrunk to seconds
    state = {
        "recommended": config == "recommended",
        "absolute_timeout": absolute_timeout,
        "throttle": framework_throttle(),
        "generations": {},
    }
    _APPS[app_id] = state
    return DjangoApp(overrides, state)


def app_state() -> dict:
    """The state of the configuration serving the current request."""
    return _APPS[settings.SESSIONLAB_APP]


def scoped(name: str) -> str:
    """The stored username of ``name`` in the app serving the current request."""
    return f"{settings.SESSIONLAB_APP}.{name}"


def unscoped(stored: str) -> str:
    return stored.partition(".")[2]


class RecommendedMiddleware:
    """What Django lacks: an absolute timeout, a per-user generation (log out everywhere, an
    administrator ending a user's sessions) and ``Cache-Control: no-store``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.contrib.auth import logout
        from django.utils.cache import patch_cache_control

        state = app_state()
        if request.user.is_authenticated:
            too_old = time.time() - request.session.get("auth_at", 0) > state["absolute_timeout"]
            generation = state["generations"].get(request.user.pk, 0)
            if too_old or request.session.get("generation") != generation:
                logout(request)
        response = self.get_response(request)
        if request.user.is_authenticated or request.path == "/login":
            patch_cache_control(response, no_store=True)
        return response
