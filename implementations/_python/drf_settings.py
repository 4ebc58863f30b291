"""The Django settings that django-rest-knox's and simplejwt's projects share: a JSON API on a
throwaway SQLite database, bounded request bodies and demo password hashing. Each project's
``settings.py`` starts with ``from drf_settings import *`` and adds what its library needs (its
apps, its authentication class through :func:`rest_framework_settings`, its token lifetimes).
This folder is on ``sys.path`` wherever those settings load (``serve_django.py``, a hand check).
"""

import os
import secrets

SECRET_KEY = secrets.token_urlsafe(50)  # per process: tokens die with the server (a demo)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "app.site.localhost"]
ROOT_URLCONF = "urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# DB_PATH: a fresh file in a temporary folder, set by serving.prepare_django.
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["DB_PATH"]}}
# DEMO ONLY: 20,000 PBKDF2 iterations (Django's default is 1,000,000) so ~50 logins take seconds.
PASSWORD_HASHERS = ["demo_hashers.DemoPBKDF2PasswordHasher"]
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024  # bigger bodies answer 400
DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
LOGGING_CONFIG = None
MIDDLEWARE = [  # django-admin startproject's, less messages and clickjacking (no HTML here)
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]


def rest_framework_settings(authentication: str) -> dict:
    """DRF's settings: the one authentication class given, and JSON only. DRF's default renderers
    add the browsable API, which serves HTML to any request accepting text/html (a browser's
    navigation or form post) and needs TEMPLATES; without them that request was a 500
    (TemplateDoesNotExist)."""
    return {
        "DEFAULT_AUTHENTICATION_CLASSES": (authentication,),
        "DEFAULT_RENDERER_CLASSES": ("rest_framework.renderers.JSONRenderer",),
    }
