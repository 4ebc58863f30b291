"""Django settings for the django-rest-knox implementation; CONFIG picks the configuration.

defaults:    knox's installation page: knox.auth.TokenAuthentication, knox's urls, the documented
             username/password LoginView subclass; TOKEN_TTL 10 h, no auto refresh.
recommended: TOKEN_TTL 30 min with AUTO_REFRESH (an idle timeout) capped by AUTO_REFRESH_MAX_TTL
             8 h (an absolute one), LogoutAllView, an admin action, tokens ended on password
             change, a new token on privilege change, never_cache.
"""

import os
import secrets
from datetime import timedelta

CONFIG = os.environ.get("CONFIG", "defaults")
if CONFIG not in ("defaults", "recommended"):
    raise SystemExit(f"CONFIG must be defaults or recommended, not {CONFIG!r}")
SHORT = os.environ.get("TIMEOUTS") == "short"

SECRET_KEY = secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "app.site.localhost"]
ROOT_URLCONF = "urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["DB_PATH"]}}
# DEMO ONLY: 20,000 PBKDF2 iterations (Django's default is 1,000,000) so ~50 logins take seconds.
PASSWORD_HASHERS = ["demo_hashers.DemoPBKDF2PasswordHasher"]
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
LOGGING_CONFIG = None
# An API: JSON only. DRF's default renderers add the browsable API, which serves HTML to any
# request accepting text/html (a browser's navigation or form post) and needs TEMPLATES; without
# them that request was a 500 (TemplateDoesNotExist).
JSON_ONLY = ("rest_framework.renderers.JSONRenderer",)

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",  # the documented LoginView calls django.contrib.auth.login()
    "rest_framework",
    "knox",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
# knox.auth.TokenAuthentication, less a 500 on non-UTF-8 tokens (auth.py)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ("auth.Utf8TokenAuthentication",),
    "DEFAULT_RENDERER_CLASSES": JSON_ONLY,
}

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
