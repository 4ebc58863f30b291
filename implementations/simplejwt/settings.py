"""Django settings for the simplejwt implementation; CONFIG picks the configuration.

defaults:    simplejwt's "Getting started" (bearer access + refresh, JWTAuthentication).
cookie:      dj-rest-auth's JWT support with its documented example settings and every other
             dj-rest-auth default (JWT_AUTH_COOKIE_USE_CSRF=False, SESSION_LOGIN=True, ...).
recommended: simplejwt's token_blacklist app, ROTATE_REFRESH_TOKENS + BLACKLIST_AFTER_ROTATION,
             a short access token, CHECK_REVOKE_TOKEN, audience and issuer, dj-rest-auth cookies
             with CSRF on, __Host- names, Secure, SameSite=Strict, SESSION_LOGIN off.

The settings this project shares with django-rest-knox's (database, hashing, body limits,
middleware, JSON only) are in ../_python/drf_settings.py.
"""

import os
import secrets
from datetime import timedelta

from drf_settings import *  # noqa: F403  (what both Django projects share: ../_python)
from drf_settings import rest_framework_settings

CONFIG = os.environ.get("CONFIG", "defaults")
if CONFIG not in ("defaults", "cookie", "recommended"):
    raise SystemExit(f"CONFIG must be defaults, cookie or recommended, not {CONFIG!r}")
SHORT = os.environ.get("TIMEOUTS") == "short"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "rest_framework",
    "rest_framework_simplejwt",
]

ACCESS, REFRESH = {
    # simplejwt's own defaults: 5 minutes and 1 day.
    "defaults": (timedelta(minutes=5), timedelta(days=1)),
    "cookie": (timedelta(minutes=5), timedelta(days=1)),
    # Short access token; the refresh token is the session (it slides with rotation).
    "recommended": (timedelta(minutes=2), timedelta(hours=8)),
}[CONFIG]
if SHORT:  # the checklist's timeout probes: token lifetimes 1 s and 2 s
    ACCESS, REFRESH = timedelta(seconds=1), timedelta(seconds=2)
SIMPLE_JWT = {"ACCESS_TOKEN_LIFETIME": ACCESS, "REFRESH_TOKEN_LIFETIME": REFRESH}

if CONFIG == "defaults":
    # https://django-rest-framework-simplejwt.readthedocs.io/en/latest/getting_started.html
    REST_FRAMEWORK = rest_framework_settings(
        "rest_framework_simplejwt.authentication.JWTAuthentication"
    )
else:
    # https://dj-rest-auth.readthedocs.io/en/latest/installation.html (JWT support)
    INSTALLED_APPS += ["rest_framework.authtoken", "dj_rest_auth"]
    REST_FRAMEWORK = rest_framework_settings("dj_rest_auth.jwt_auth.JWTCookieAuthentication")
    REST_AUTH = {
        "USE_JWT": True,
        "JWT_AUTH_COOKIE": "my-app-auth",
        "JWT_AUTH_REFRESH_COOKIE": "my-refresh-token",
    }

if CONFIG == "recommended":
    INSTALLED_APPS += ["rest_framework_simplejwt.token_blacklist"]
    SIMPLE_JWT.update(
        ROTATE_REFRESH_TOKENS=True,
        BLACKLIST_AFTER_ROTATION=True,
        CHECK_REVOKE_TOKEN=True,  # puts hash_password = MD5(stored hash) in every token
        SIGNING_KEY=secrets.token_urlsafe(64),
        AUDIENCE="sessionlab-demo",
        ISSUER="http://127.0.0.1",
    )
    REST_AUTH.update(
        JWT_AUTH_COOKIE="__Host-access",
        JWT_AUTH_REFRESH_COOKIE="__Host-refresh",  # __Host- needs Path=/ (the default)
        JWT_AUTH_SECURE=True,
        JWT_AUTH_SAMESITE="Strict",
        JWT_AUTH_COOKIE_USE_CSRF=True,
        JWT_AUTH_COOKIE_ENFORCE_CSRF_ON_UNAUTHENTICATED=True,  # login CSRF too
        SESSION_LOGIN=False,  # no Django session beside the JWT
        OLD_PASSWORD_FIELD_ENABLED=True,
        LOGOUT_ON_PASSWORD_CHANGE=True,
    )
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    CSRF_COOKIE_SECURE = True
    CSRF_COOKIE_SAMESITE = "Strict"
    SESSION_COOKIE_SECURE = True
