"""Django settings for the django-rest-knox implementation; CONFIG picks the configuration.

defaults:    knox's installation page: knox.auth.TokenAuthentication, knox's urls, the documented
             username/password LoginView subclass; TOKEN_TTL 10 h, no auto refresh.
recommended: TOKEN_TTL 30 min with AUTO_REFRESH (an idle timeout) capped by AUTO_REFRESH_MAX_TTL
             8 h (an absolute one), LogoutAllView, an admin action, tokens ended on password
             change, a new token on privilege change, never_cache.

The settings this project shares with simplejwt's (database, hashing, body limits, middleware,
JSON only) are in ../_python/drf_settings.py.
"""

import os
from datetime import timedelta

from drf_settings import *  # noqa: F403  (what both Django projects share: ../_python)
from drf_settings import rest_framework_settings

CONFIG = os.environ.get("CONFIG", "defaults")
if CONFIG not in ("defaults", "recommended"):
    raise SystemExit(f"CONFIG must be defaults or recommended, not {CONFIG!r}")
SHORT = os.environ.get("TIMEOUTS") == "short"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",  # the documented LoginView calls django.contrib.auth.login()
    "rest_framework",
    "knox",
]
# knox.auth.TokenAuthentication, less a 500 on non-UTF-8 tokens (auth.py)
REST_FRAMEWORK = rest_framework_settings("auth.Utf8TokenAuthentication")

if CONFIG == "defaults":
    REST_KNOX = {"TOKEN_TTL": timedelta(seconds=2) if SHORT else timedelta(hours=10)}
else:
    idle, absolute = (
        (timedelta(seconds=1), timedelta(seconds=2))
        if SHORT
        else (timedelta(minutes=30), timedelta(hours=8))
    )
    REST_KNOX = {
        "TOKEN_TTL": idle,
        "AUTO_REFRESH": True,
        "AUTO_REFRESH_MAX_TTL": absolute,
        # Renewals are written at most once a minute by default; the short probe needs each.
        **({"MIN_REFRESH_INTERVAL": 0} if SHORT else {}),
    }
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
