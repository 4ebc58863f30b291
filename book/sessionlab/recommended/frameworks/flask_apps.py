"""Flask with Flask-Login and Flask-WTF's CSRF protection, on Flask-Session (Redis) or on Flask's
own signed-cookie session: as shipped (``config="defaults"``) and as the book recommends.

The recommended configuration is a handful of settings plus the lines Flask lacks: an absolute
timeout, a server-side login record named in the user ID (Flask-Login's "alternative tokens") so
that log out, log out everywhere, a password change, an administrator and the absolute timeout
end the session *and* the "remember me" cookie, a new session ID on privilege change,
``Cache-Control: no-store``, throttling and an even-timed password check.

Flask-Login 0.6.3 is at fault twice here, and the workarounds are in this file:

- ``logout_user()`` does not delete the remember cookie: it leaves a flag in the session for its
  ``after_request`` hook. ``session.clear()`` after it, the usual way to drop everything else,
  erases the flag, so the cookie stays and logs the user back in on the next request. And the
  cookie is only an HMAC of the user ID, with no expiry the server checks: a copy works for as
  long as the ID does. Workaround: clear the session *before* ``logout_user()``, and make the ID
  name a login record the server deletes (``logins`` below), so a copy dies at logout too.
- a remember cookie with non-ASCII characters reaches ``hmac.compare_digest`` on ``str``, which
  raises ``TypeError``: a 500. Workaround: before Flask-Login reads such a cookie, set its own
  "clear" flag, so it ignores the cookie and deletes it.

The ``defaults`` configuration keeps both faults, as the library ships.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import Any

from flask import Flask, abort, jsonify, request, session
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_wtf.csrf import CSRFProtect, generate_csrf
from werkzeug.security import check_password_hash, generate_password_hash

from sessionlab.lab.registry import registered_app
from sessionlab.recommended import webauth
from sessionlab.recommended.frameworks.common import (
    DEMO_HASH,
    DEMO_USERS,
    framework_throttle,
    password_login,
)

__all__ = ["RECOMMENDED_FLASK_SETTINGS", "create_flask_app"]

#: The settings the book recommends for Flask-Session on Redis (timeouts are set per app).
RECOMMENDED_FLASK_SETTINGS = {
    "SESSION_TYPE": "redis",
    "SESSION_COOKIE_NAME": "__Host-session",  # no sibling host can set or shadow it
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_PERMANENT": False,  # a browser-session cookie; Redis keeps the idle TTL
    "SESSION_REFRESH_EACH_REQUEST": True,  # the TTL restarts on use: an idle timeout
    "REMEMBER_COOKIE_NAME": "__Host-remember",
    "REMEMBER_COOKIE_SECURE": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_DURATION": timedelta(days=14),
}


def _samples():
    # The Redis configurations need a Redis; the sweep attacks the cookie one.
    yield "flask-cookie-defaults", create_flask_app(store="cookie")


class _User(UserMixin):
    def __init__(self, name: str, record: dict[str, Any], login_id: str | None):
        self.name, self.record, self.login_id = name, record, login_id

    def get_id(self) -> str:
        # Flask-Login's alternative token: the user ID names a login record on the server, so
        # deleting the record makes the session and the remember cookie refer to nobody.
        return self.name if self.login_id is None else f"{self.name}:{self.login_id}"


@registered_app("flask-sessions", sample=_samples)
def create_flask_app(
    *,
    config: str = "defaults",
    store: str = "redis",
    redis_client=None,
    demo_short_timeouts: bool = False,
    idle_timeout: int = 1800,
    absolute_timeout: int = 8 * 3600,
) -> Flask:
    """The Flask app; ``demo_short_timeouts`` shrinks every timeout to seconds for a demo."""
    if config not in ("defaults", "recommended") or store not in ("redis", "cookie"):
        raise ValueError("config is 'defaults' or 'recommended'; store is 'redis' or 'cookie'")
    recommended = config == "recommended"
    if demo_short_timeouts:
        idle_timeout, absolute_timeout = 1, 2
    app = Flask(__name__)
    app.secret_key = secrets.token_bytes(32)
    if store == "redis":
        from flask_session import Session

        if redis_client is None:
            raise ValueError("Flask-Session on Redis needs redis_client=")
        app.config.update(SESSION_TYPE="redis", SESSION_REDIS=redis_client)
        if recommended:
            app.config.update(RECOMMENDED_FLASK_SETTINGS, SESSION_REDIS=redis_client)
            app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=idle_timeout)
        elif demo_short_timeouts:
            # Flask-Session restarts this lifetime on every request: an idle timeout.
            app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=idle_timeout)
        Session(app)
    elif recommended:
        raise ValueError("the book recommends a server-side store; use store='redis'")
    CSRFProtect(app)
    users = {
        name: {"hash": generate_password_hash(pw, DEMO_HASH), "role": role}
        for name, (pw, role) in DEMO_USERS.items()
    }
    # recommended: login ID -> (user, time of the password check). One record per login, which
    # the session and the remember cookie name: deleting it ends both, copies included.
    logins: dict[str, tuple[str, float]] = {}
    throttle = framework_throttle()
    login_manager = LoginManager(app)

    def user_object(name: str, auth_at: float | None = None) -> _User:
        if not recommended:
            return _User(name, users[name], None)
        now = time.time()
        for old in [k for k, (_, at) in logins.items() if now - at > absolute_timeout]:
            del logins[old]  # bounded: a record lives at most the absolute timeout
        login_id = secrets.token_urlsafe(16)
        logins[login_id] = (name, now if auth_at is None else auth_at)
        return _User(name, users[name], login_id)

    @login_manager.user_loader
    def load_user(user_id: str):
        name, _, login_id = user_id.partition(":")
        if name not in users:
            return None
        if recommended:
            owner, auth_at = logins.get(login_id, ("", 0.0))
            if owner != name or time.time() - auth_at > absolute_timeout:
                return None  # ended, or past the absolute timeout (remember cookie included)
        return _User(name, users[name], login_id or None)

    @login_manager.unauthorized_handler
    def unauthorized():
        abort(401)

    if recommended:
        _add_recommended_hooks(app)

    @app.get("/csrf")
    def csrf():
        return jsonify(csrf_token=generate_csrf())

    @app.post("/login")
    def login():
        name, password = request.form.get("username", ""), request.form.get("password", "")
        status = password_login(users, name, password, recommended=recommended, throttle=throttle)
        if status != 200:
            abort(status)
        if recommended:
            _new_session_id(app)
        login_user(user_object(name), remember=request.form.get("remember") == "1")
        return jsonify(user=name)

    @app.get("/me")
    @login_required
    def me():
        return jsonify(user=current_user.name, role=current_user.record["role"])

    @app.get("/admin")
    @login_required
    def admin():
        if current_user.record["role"] != "admin":  # read from the users table on every request
            abort(403)
        return jsonify(admin=current_user.name)

    @app.post("/transfer")
    @login_required
    def transfer():
        return jsonify(transferred=request.form.get("amount", "0"))

    @app.post("/elevate")
    @login_required
    def elevate():
        if not check_password_hash(current_user.record["hash"], request.form.get("password", "")):
            abort(401)
        if recommended:
            _new_session_id(app)
        session["elevated"] = True
        return jsonify(elevated=True)

    def end_sessions(name: str) -> None:
        for login_id in [k for k, (owner, _) in logins.items() if owner == name]:
            del logins[login_id]

    def end_this_login() -> None:
        """Workaround for Flask-Login: the session first, then ``logout_user()``, whose flag
        then survives to delete the remember cookie; and the login record, for any copy."""
        logins.pop(current_user.login_id or "", None)
        session.clear()
        logout_user()

    @app.post("/password")
    @login_required
    def password():
        me = current_user.name
        if not check_password_hash(users[me]["hash"], request.form.get("old", "")):
            abort(401)
        users[me]["hash"] = generate_password_hash(request.form["new"], DEMO_HASH)
        if recommended and request.form.get("end_other_sessions") == "1":
            auth_at = logins[current_user.login_id][1]
            end_sessions(me)
            _new_session_id(app)
            login_user(user_object(me, auth_at))
        return jsonify(changed=True)

    @app.post("/logout")
    @login_required
    def logout():
        if recommended:
            end_this_login()
        else:
            logout_user()  # as Flask-Login's docs show: a copied remember cookie lives on
        return jsonify(logged_out=True)

    @app.post("/logout-everywhere")
    @login_required
    def logout_everywhere():
        if not recommended:
            abort(404)  # Flask-Login keeps no list of a user's sessions
        end_sessions(current_user.name)
        session.clear()
        logout_user()
        return jsonify(logged_out_everywhere=True)

    def admin_target() -> str:
        return webauth.admin_target(current_user.record["role"], users)

    @app.post("/admin/end-sessions")
    @login_required
    def admin_end_sessions():
        name = admin_target()
        if not recommended:
            abort(404)
        end_sessions(name)
        return jsonify(ended=name)

    @app.post("/admin/disable")
    @login_required
    def admin_disable():
        name = admin_target()
        users.pop(name)
        return jsonify(disabled=name)

    return app


def _new_session_id(app: Flask) -> None:
    """A fresh session ID with the same data (Flask-Session's ``regenerate``)."""
    interface = app.session_interface
    if hasattr(interface, "regenerate"):
        interface.regenerate(session)


def _add_recommended_hooks(app: Flask) -> None:
    @app.before_request
    def refuse_non_ascii_remember_cookie():
        # Workaround for Flask-Login 0.6.3: its decode_cookie raises TypeError (a 500) on a
        # cookie with non-ASCII characters; Flask-Login never makes one, so it is hostile.
        # Flask-Login's own "clear" flag makes it skip the cookie and delete it in the reply.
        if not request.cookies.get(app.config["REMEMBER_COOKIE_NAME"], "").isascii():
            session["_remember"] = "clear"

    @app.after_request
    def no_store(response):
        if current_user.is_authenticated or request.path == "/login":
            response.headers["Cache-Control"] = "no-store"
        return response
