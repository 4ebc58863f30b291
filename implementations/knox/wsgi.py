"""The WSGI application; ../_python/serve_django.py migrates and seeds the database before
gunicorn forks."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
