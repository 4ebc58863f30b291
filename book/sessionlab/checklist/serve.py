"""The process that serves the book's Python apps under the checklist:
``python -m sessionlab.checklist.serve --serve SPEC`` builds each app a
:class:`~sessionlab.checklist.launcher.Deployment` asked for (Django, Flask, flask-jwt-extended,
the book's session and JWT apps) and serves it on waitress on its loopback port until SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import secrets

from sessionlab.checklist.adapter import APP_HOST
from sessionlab.lab.servers import serve_wsgi
from sessionlab.recommended.frameworks.common import DEMO_USERS


def _build_app(spec: dict, redis_client):
    """One Python app under the checklist, from its spec (in the process that serves it)."""
    short, kind = spec["short"], spec["kind"]
    if kind == "flask":
        from sessionlab.recommended.frameworks.flask_apps import create_flask_app

        return create_flask_app(
            config=spec["config"],
            store=spec["store"],
            redis_client=redis_client,
            demo_short_timeouts=short,
        )
    if kind == "django":
        from sessionlab.recommended.frameworks.django_apps import create_django_app

        app = create_django_app(
            config=spec["config"],
            store=spec["store"],
            redis_client=redis_client,
            demo_short_timeouts=short,
        )
        # The host name it is deployed under, as settings.py lists it (Chromium's, here).
        app.overrides.update(ALLOWED_HOSTS=["127.0.0.1", "localhost", APP_HOST], **spec["settings"])
        return app
    if kind == "flask-jwt":
        from sessionlab.recommended.frameworks.flask_jwt_apps import create_flask_jwt_app

        app = create_flask_jwt_app(
            config=spec["config"], redis_client=redis_client, demo_short_timeouts=short
        )
        switch_off(app, spec.get("switch_off"))
        return app
    if kind == "book-jwt":
        return _book_jwt_app(short, spec["deny_list"])
    return _book_app(spec["port"], short, redis_client)


def _book_users() -> dict:
    """The book's apps' own user table, hashed at the frameworks' demo cost."""
    from werkzeug.security import generate_password_hash

    from sessionlab.recommended.frameworks.common import DEMO_HASH

    return {
        name: {"password_hash": generate_password_hash(password, DEMO_HASH), "role": role}
        for name, (password, role) in DEMO_USERS.items()
    }


def _book_jwt_app(short: bool, deny_list: bool):
    from sessionlab.recommended.jwt_app import KeyRing, MemoryDenyList, create_jwt_app

    lifetime = 1 if short else 15 * 60
    denied = MemoryDenyList() if deny_list else None
    return create_jwt_app(KeyRing(), _book_users(), lifetime=lifetime, deny_list=denied)


def _book_app(port: int, short: bool, redis_client):
    from sessionlab.recommended.session_app import create_session_app
    from sessionlab.recommended.sessions import RedisSessionStore, SessionCookie

    users = _book_users()
    idle, absolute = (1, 2) if short else (1800, 8 * 3600)
    store = RedisSessionStore(
        redis_client, idle_timeout=idle, absolute_timeout=absolute, prefix=f"session:{port}:"
    )
    cookie = SessionCookie([secrets.token_bytes(32)], max_age=absolute)
    return create_session_app(
        store, cookie, users, secure=True, cookie_name="__Host-session", transfer=True
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m sessionlab.checklist.serve --serve SPEC``: serve the Python apps
    a :class:`Deployment` asked for, each on its port, until SIGTERM."""
    import argparse
    import os
    import signal

    import redis

    from sessionlab.lab.registry import registration_of

    parser = argparse.ArgumentParser(prog="python -m sessionlab.checklist.serve")
    parser.add_argument("--serve", required=True, help="JSON: redis_socket and the apps")
    spec = json.loads(parser.parse_args(argv).serve)
    client = None
    if spec.get("redis_socket"):
        client = redis.Redis(unix_socket_path=spec["redis_socket"])
        client.socket_file = spec["redis_socket"]  # where Django's cache backend connects
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    with contextlib.ExitStack() as stack:
        for app_spec in spec["apps"]:
            app = _build_app(app_spec, client)
            registration_of(app)  # only registered apps, as bench.serve insists
            stack.enter_context(serve_wsgi(app, port=app_spec["port"]))
        print(f"serving {len(spec['apps'])} apps", flush=True)
        while True:
            signal.pause()


#: What :func:`switch_off` can remove from a flask-jwt-extended app, and how (the library's own
#: callbacks, replaced: the app's code is untouched).
SWITCHES = ("blocklist", "user lookup")


def switch_off(app, mechanism: str | None) -> None:
    """Remove one server-side mechanism from a flask-jwt-extended app, to measure which of its
    passes rest on it: ``"blocklist"`` (no token is ever refused as ended) or ``"user lookup"``
    (the user record, its role, its disabled flag and its per-user cut-off are never read)."""
    if mechanism is None:
        return
    manager = app.extensions["flask-jwt-extended"]
    if mechanism == "blocklist":
        manager._token_in_blocklist_callback = lambda header, payload: False
    elif mechanism == "user lookup":
        # The records as they were at start: no role change, disabling or cut-off is ever read.
        users = app.extensions["flask_jwt_app"]["users"]
        frozen = {name: dict(record) for name, record in users.items()}
        manager._user_lookup_callback = lambda header, data: frozen.get(data["sub"])
    else:
        raise ValueError(f"switch_off is one of {SWITCHES}, not {mechanism!r}")


if __name__ == "__main__":
    raise SystemExit(main())
