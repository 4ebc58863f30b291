"""Flask with flask-jwt-extended, the access token in cookies: as the library's documentation
sets it up (``config="defaults"``) and at its best (``config="recommended"``).

``defaults`` is the documented cookie mode (``JWT_TOKEN_LOCATION=["cookies"]``, the double-submit
CSRF check: a readable ``csrf_access_token`` cookie echoed in ``X-CSRF-TOKEN``), the role among
the token's claims (``additional_claims``) and the documented blocklist: ``/logout`` stores the
token's ``jti`` until its ``exp`` and unsets the cookies, and ``token_in_blocklist_loader`` reads
the store on every request. Everything else is the library's default. Features it does not give
answer 404.

``recommended`` is what a careful JWT advocate deploys: ``__Host-`` cookies (Secure, SameSite=Lax,
Path=/) that end with the browser unless the user asks to be remembered; the documented implicit
refresh in ``after_request``, here on every authenticated response (the documentation refreshes
only near expiry), so the access lifetime restarts on use and is an exact idle timeout; an
absolute timeout from an ``auth_time`` claim carried through every refresh (no token expires
after ``auth_time + absolute_timeout``); ``user_lookup_loader``
reading the user (role, disabled) on every request; a per-user cut-off (tokens of a login before
it are refused) for log out everywhere, a password change and an administrator; a ``sid`` claim,
one per login and carried through refreshes, which ``/logout``, a login over an existing token
and ``/elevate`` put in the blocklist, so every token of that login is refused, not only the
newest; login CSRF refused by Fetch Metadata with the Origin fallback; throttling; an even-timed
password check; ``Cache-Control: no-store`` on the login and every authenticated response; issuer
and audience checked; a CSRF header with non-ASCII characters refused with 400 (flask-jwt-extended
4.7 answers it with a 500: ``hmac.compare_digest`` on ``str``; ``defaults`` keeps that fault).

The blocklist is a session store in all but name: a server-side record, keyed by an identifier
the cookie carries (the token's ``jti``, or in ``recommended`` the login's ``sid``), written when
a login ends, read on every request and kept until the last token it covers has expired. It is
:class:`~sessionlab.recommended.webauth.RedisJtiStore` when ``redis_client`` is given and
:class:`~sessionlab.recommended.webauth.MemoryJtiStore` (one process only) otherwise.
``app.extensions["flask_jwt_app"]`` holds the users table and the blocklist, for chapters that
change a role in the "database" or count the store's reads.
"""

from __future__ import annotations

import math
import secrets
import time
from datetime import timedelta
from typing import Any

import jwt as pyjwt
from flask import Flask, abort, current_app, g, jsonify, request
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    current_user,
    decode_token,
    get_jwt,
    jwt_required,
    set_access_cookies,
    unset_jwt_cookies,
)
from flask_jwt_extended.exceptions import JWTExtendedException
from werkzeug.security import check_password_hash, generate_password_hash

from sessionlab.lab.fixtures import API_AUDIENCE, LOGIN_ISSUER
from sessionlab.lab.registry import registered_app
from sessionlab.recommended import webauth
from sessionlab.recommended.frameworks.common import (
    DEMO_HASH,
    DEMO_USERS,
    framework_throttle,
    password_login,
)
from sessionlab.recommended.webauth import MemoryJtiStore, RedisJtiStore, cross_site_refusal

__all__ = ["CONFIGS", "RECOMMENDED_JWT_SETTINGS", "create_flask_jwt_app"]

CONFIGS = ("defaults", "recommended")

#: flask-jwt-extended's settings for the recommended configuration (lifetimes are per app).
RECOMMENDED_JWT_SETTINGS = {
    "JWT_TOKEN_LOCATION": ["cookies"],
    "JWT_ACCESS_COOKIE_NAME": "__Host-access_token",  # no sibling host can set or shadow it
    "JWT_ACCESS_CSRF_COOKIE_NAME": "__Host-csrf_access_token",
    "JWT_ACCESS_COOKIE_PATH": "/",
    "JWT_ACCESS_CSRF_COOKIE_PATH": "/",
    "JWT_COOKIE_SECURE": True,
    "JWT_COOKIE_SAMESITE": "Lax",
    "JWT_COOKIE_CSRF_PROTECT": True,  # the double submit, the library's default
    "JWT_SESSION_COOKIE": True,  # a browser-session cookie, unless remember=1
    "JWT_ALGORITHM": "HS256",
    "JWT_DECODE_ALGORITHMS": ["HS256"],
    "JWT_ENCODE_ISSUER": LOGIN_ISSUER,
    "JWT_DECODE_ISSUER": LOGIN_ISSUER,
    "JWT_ENCODE_AUDIENCE": API_AUDIENCE,
    "JWT_DECODE_AUDIENCE": API_AUDIENCE,
}


def _samples():
    # Without redis_client both use MemoryJtiStore: the sweep needs no Redis.
    for config in CONFIGS:
        yield f"flask-jwt-extended {config}", create_flask_jwt_app(config=config)


def _seconds(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number of seconds, at least 1, not {value!r}")
    return value


@registered_app("flask-jwt-extended", sample=_samples)
def create_flask_jwt_app(
    *,
    config: str = "defaults",
    redis_client=None,
    demo_short_timeouts: bool = False,
    access_lifetime: int = 15 * 60,
    absolute_timeout: int = 8 * 3600,
) -> Flask:
    """The app. ``access_lifetime`` is the token's lifetime: in ``defaults`` counted from login
    (the library's default, 15 minutes), in ``recommended`` restarted on use (the idle timeout).
    ``absolute_timeout`` bounds a login in ``recommended``. ``demo_short_timeouts`` makes them
    1 s and 2 s, for a demo. ``redis_client``: keep the blocklist on Redis."""
    if config not in CONFIGS:
        raise ValueError(f"config is 'defaults' or 'recommended', not {config!r}")
    access_lifetime = _seconds("access_lifetime", access_lifetime)
    absolute_timeout = _seconds("absolute_timeout", absolute_timeout)
    if demo_short_timeouts:
        access_lifetime, absolute_timeout = 1, 2
    if absolute_timeout < access_lifetime:
        raise ValueError("absolute_timeout must be at least access_lifetime")
    recommended = config == "recommended"
    app = Flask(__name__)
    app.config.update(
        JWT_TOKEN_LOCATION=["cookies"],
        JWT_SECRET_KEY=secrets.token_urlsafe(32),
        JWT_ACCESS_TOKEN_EXPIRES=timedelta(seconds=access_lifetime),
    )
    if recommended:
        app.config.update(RECOMMENDED_JWT_SETTINGS)
    jwt = JWTManager(app)
    blocklist = RedisJtiStore(redis_client) if redis_client is not None else MemoryJtiStore()
    users = {
        name: {"hash": generate_password_hash(pw, DEMO_HASH), "role": role, "ended_before": 0.0}
        for name, (pw, role) in DEMO_USERS.items()
    }
    throttle = framework_throttle()
    app.extensions["flask_jwt_app"] = {"users": users, "blocklist": blocklist}

    @jwt.token_in_blocklist_loader
    def token_revoked(jwt_header, jwt_payload) -> bool:
        if recommended and not isinstance(jwt_payload.get("auth_time"), int | float):
            return True  # not a token this configuration issues
        key = jwt_payload.get("sid") if recommended else jwt_payload.get("jti")
        return not isinstance(key, str) or blocklist.contains(key)

    def end_login(claims: dict) -> None:
        """Blocklist this token (defaults) or every token of its login (recommended)."""
        if recommended:
            blocklist.add(claims["sid"], claims["auth_time"] + absolute_timeout)
        else:
            blocklist.add(claims["jti"], claims["exp"])

    def forget(response):
        unset_jwt_cookies(response)
        g.credential_set = True
        return response

    if recommended:
        issue = _add_recommended_parts(app, jwt, users, access_lifetime, absolute_timeout)
        app.before_request(_refuse_non_ascii_csrf_header)
    else:

        def issue(response, name: str, *, fresh: bool = False, **_) -> None:
            claims = {"role": users[name]["role"]}  # the documented custom claim
            set_access_cookies(response, create_access_token(name, fresh, additional_claims=claims))

    def role() -> str:
        return current_user["role"] if recommended else get_jwt()["role"]

    @app.post("/login")
    def login():
        # Login CSRF: a cross-site form must not log the victim into the attacker's account.
        if recommended and cross_site_refusal(request.headers, request.host_url) is not None:
            abort(403)
        name, password = request.form.get("username", ""), request.form.get("password", "")
        status = password_login(users, name, password, recommended=recommended, throttle=throttle)
        if status != 200:
            abort(status)
        response = jsonify(user=name)
        if recommended and (old := _presented_claims(app)) is not None:
            end_login(old)  # a login over an existing token: that login ends
        issue(response, name, auth_time=time.time(), remember=request.form.get("remember") == "1")
        return response

    @app.get("/me")
    @jwt_required()
    def me():
        return jsonify(user=get_jwt()["sub"], role=role())

    @app.get("/admin")
    @jwt_required()
    def admin():
        if role() != "admin":
            abort(403)
        return jsonify(admin=get_jwt()["sub"])

    @app.post("/transfer")
    @jwt_required()
    def transfer():
        return jsonify(transferred=request.form.get("amount", "0"))

    @app.post("/elevate")
    @jwt_required()
    def elevate():
        claims = get_jwt()
        record = users.get(claims["sub"])
        if record is None or not check_password_hash(
            record["hash"], request.form.get("password", "")
        ):
            abort(401)
        response = jsonify(elevated=True)
        if recommended:
            end_login(claims)  # a new token for the new privilege; the old login's are refused
        remember = claims.get("remember", False)
        issue(
            response,
            claims["sub"],
            auth_time=claims.get("auth_time"),
            fresh=True,
            remember=remember,
        )
        return response

    @app.post("/password")
    @jwt_required()
    def password():
        name = get_jwt()["sub"]
        record, new = users.get(name), request.form.get("new", "")
        if record is None or not check_password_hash(record["hash"], request.form.get("old", "")):
            abort(401)
        if not new:
            abort(400)
        record["hash"] = generate_password_hash(new, DEMO_HASH)
        response = jsonify(changed=True)
        if recommended and request.form.get("end_other_sessions") == "1":
            record["ended_before"] = now = time.time()  # every login of this user so far ends
            issue(response, name, auth_time=now)  # but this device's, which logs in anew
        return response

    @app.post("/logout")
    @jwt_required()
    def logout():
        end_login(get_jwt())
        return forget(jsonify(logged_out=True))

    def admin_target() -> str:
        return webauth.admin_target(role(), users)

    @app.post("/admin/disable")
    @jwt_required()
    def admin_disable():
        name = admin_target()
        users.pop(name)
        return jsonify(disabled=name)

    if recommended:  # flask-jwt-extended keeps no list of a user's tokens: these need the cut-off

        @app.post("/logout-everywhere")
        @jwt_required()
        def logout_everywhere():
            users[get_jwt()["sub"]]["ended_before"] = time.time()
            return forget(jsonify(logged_out_everywhere=True))

        @app.post("/admin/end-sessions")
        @jwt_required()
        def admin_end_sessions():
            name = admin_target()
            users[name]["ended_before"] = time.time()
            return jsonify(ended=name)

    return app


def _refuse_non_ascii_csrf_header():
    """Workaround for flask-jwt-extended 4.7: it compares the CSRF header with the token's claim
    by ``hmac.compare_digest`` on ``str``, which raises ``TypeError`` (a 500) on non-ASCII
    characters. A token it made is ASCII, so such a header is hostile: 400."""
    name = current_app.config["JWT_ACCESS_CSRF_HEADER_NAME"]
    if not request.headers.get(name, "").isascii():
        abort(400)


def _presented_claims(app: Flask) -> dict | None:
    """The claims of the valid token the request's cookie carries, or ``None``."""
    value = request.cookies.get(app.config["JWT_ACCESS_COOKIE_NAME"])
    if not value:
        return None
    try:
        return decode_token(value)
    except (pyjwt.PyJWTError, JWTExtendedException):
        return None


def _add_recommended_parts(app, jwt, users, access_lifetime: int, absolute_timeout: int):
    """The user lookup, the implicit refresh and no-store; returns the function that issues."""

    def issue(response, name, *, auth_time, sid=None, remember=False, fresh=False) -> None:
        """Set a token for ``name``'s login at ``auth_time``; never valid past its deadline."""
        deadline = auth_time + absolute_timeout
        lifetime = min(access_lifetime, deadline - time.time())
        if lifetime <= 0:
            return
        claims = {"sid": sid or secrets.token_urlsafe(16), "auth_time": auth_time}
        if remember:
            claims["remember"] = True
        token = create_access_token(
            name, fresh=fresh, expires_delta=timedelta(seconds=lifetime), additional_claims=claims
        )
        # A remembered login's cookies outlive the browser, but not the token.
        set_access_cookies(response, token, max_age=math.ceil(lifetime) if remember else None)
        g.credential_set = True

    @jwt.user_lookup_loader
    def load_user(jwt_header, jwt_data):
        record = users.get(jwt_data["sub"])
        if record is None or jwt_data.get("auth_time", 0) < record["ended_before"]:
            return None  # disabled, or a login ended by a cut-off: 401
        return record

    @app.after_request
    def refresh_and_no_store(response):
        try:
            claims = get_jwt()
        except RuntimeError:  # no token was verified for this request
            claims = {}
        if claims or request.path == "/login":
            response.headers["Cache-Control"] = "no-store"
        if claims and not g.get("credential_set"):  # implicit refresh: the lifetime restarts
            remember = claims.get("remember", False)
            issue(
                response,
                claims["sub"],
                auth_time=claims["auth_time"],
                sid=claims["sid"],
                remember=remember,
            )
        return response

    return issue
