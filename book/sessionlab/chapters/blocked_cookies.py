"""Chapter 18's embedded widget: does a login made on a site reach that site inside another one?

Blocking *third-party* cookies, which browsers do by default or are moving towards, is about a
site's content embedded in another site's page. Two small apps measure it, in each engine:

- :func:`create_widget_app`, the widget's own site. ``GET /`` logs alice in with one form post
  and keeps both credentials the chapter compares: a server-side session in an ``HttpOnly``
  cookie and a JWT the page keeps in ``localStorage``. ``GET /embed`` is the widget as another
  site frames it: its script asks ``GET /me`` with whatever it can reach (the cookie goes by
  itself if the browser sends it; the JWT only if the frame can read it from storage), and
  ``GET /me`` reports which of the two it received, valid, into :attr:`WidgetApp.seen`.
- :func:`create_embedder_app`, the other site: one page that frames the widget.

The widget's cookie is ``SameSite=None; Secure``, the setting an embedded login needs at all
(``Lax`` is never sent in a cross-site frame), and its framing is allowed only to the embedder's
origin (``frame-ancestors``). It is an experiment's widget, not the book's login: the book's
session app refuses to be framed and keeps ``SameSite=Lax``. Its login refuses a cross-site
``POST`` (login CSRF), every route answers bad input with a 4xx, and bodies are bounded.
"""

from __future__ import annotations

import html
import json
import queue
import secrets
import time

import jwt
from flask import Flask, abort, jsonify, request

from sessionlab.lab.fixtures import PASSWORD, make_users
from sessionlab.lab.registry import registered_app
from sessionlab.recommended.sessions import MemorySessionStore, SessionCookie
from sessionlab.recommended.tokens import generate_keys, issue_token, verify_token
from sessionlab.recommended.webauth import (
    add_security_headers,
    bearer_token,
    check_password,
    cross_site_refusal,
    html_page,
)

__all__ = ["COOKIE", "STORAGE_KEY", "WidgetApp", "create_embedder_app", "create_widget_app"]

#: The widget's session cookie and the ``localStorage`` key of its JWT.
COOKIE, STORAGE_KEY = "widget_session", "widget_jwt"
AUDIENCE = ISSUER = CLIENT_ID = "widget"
LIFETIME = 15 * 60

_LOGIN_PAGE = """<h1>Widget</h1><p id="status">logging in</p>
<script>
const body = new URLSearchParams({username: "alice", password: PASSWORD});
fetch("/login", {method: "POST", body}).then(async (response) => {
  localStorage.setItem(KEY, (await response.json()).access_token);
  const ready = document.createElement("p");
  ready.id = "ready";
  ready.textContent = "logged in (" + response.status + ")";
  document.body.append(ready);
});
</script>"""

_EMBED_PAGE = """<p id="status">asking</p>
<script>
let headers = {};
try { const token = localStorage.getItem(KEY); if (token) headers = {Authorization: "Bearer " + token}; }
catch (error) { headers = {}; }
fetch("/me", {headers, cache: "no-store"}).then((r) => r.text()).then((text) => {
  document.getElementById("status").textContent = text;
});
</script>"""


class WidgetApp(Flask):
    """The widget: a Flask app with :attr:`seen`, what each ``GET /me`` received, in order:
    ``{"cookie": "alice" or None, "jwt": "alice" or None}``."""

    seen: queue.Queue


@registered_app("blocked_cookies.widget", sample=lambda: _sample())
def create_widget_app(users=None, *, embedder: str = "https://localhost:*") -> WidgetApp:
    """The widget's site; only ``embedder`` (a CSP source expression) may frame ``/embed``."""
    users = users if users is not None else make_users(alice=(PASSWORD, "customer"))
    store = MemorySessionStore(idle_timeout=15 * 60, absolute_timeout=8 * 3600)
    cookie = SessionCookie([secrets.token_bytes(32)], max_age=8 * 3600)
    keys = generate_keys("HS256")
    app = WidgetApp(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 4096
    app.seen = queue.Queue()
    script = {"KEY": json.dumps(STORAGE_KEY), "PASSWORD": json.dumps(PASSWORD)}  # JS literals

    def page(template: str) -> str:
        for name, value in script.items():
            template = template.replace(name, value)
        return template

    @app.get("/")
    def login_page():
        return html_page("Widget", page(_LOGIN_PAGE))

    @app.post("/login")
    def login():
        if cross_site_refusal(request.headers, request.host_url):
            abort(403)  # login CSRF: another site's form may not log anyone in
        username = request.form.get("username", "")
        if not check_password(users, username, request.form.get("password", "")):
            abort(401)
        session_id = store.create(username).session_id
        claims = {"sub": username}
        token = issue_token(claims, keys, now=int(time.time()), lifetime=LIFETIME,
                            audience=AUDIENCE, issuer=ISSUER, client_id=CLIENT_ID)  # fmt: skip
        response = jsonify(access_token=token)
        response.set_cookie(
            COOKIE, cookie.dumps(session_id), path="/", secure=True, httponly=True,
            samesite="None",
        )  # fmt: skip
        return response

    @app.get("/embed")
    def embed():
        response = app.make_response(html_page("Widget", page(_EMBED_PAGE)))
        response.headers["Content-Security-Policy"] = f"frame-ancestors {embedder}"
        return response

    @app.get("/me")
    def me():
        found = {"cookie": _session_user(store, cookie, request.cookies.get(COOKIE))}
        found["jwt"] = _jwt_user(keys, request.headers.get("Authorization"))
        app.seen.put(found)
        response = jsonify(found)
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.after_request
    def headers(response):
        if "Content-Security-Policy" not in response.headers:
            add_security_headers(response)
        return response

    return app


def _session_user(store, cookie: SessionCookie, value: str | None) -> str | None:
    if not value or len(value) > 512:
        return None
    try:
        session = store.get(cookie.loads(value))
    except Exception:  # noqa: BLE001 - any bad value is simply not a session
        return None
    return session.user_id if session is not None else None


def _jwt_user(keys, authorization: str | None) -> str | None:
    token = bearer_token(authorization)
    if not token or len(token) > 2048:
        return None
    try:
        return verify_token(token, keys, audience=AUDIENCE, issuer=ISSUER)["sub"]
    except jwt.PyJWTError:
        return None


@registered_app("blocked_cookies.embedder", sample=lambda: _embedder_sample())
def create_embedder_app(widget_embed_url: str) -> Flask:
    """Another site's page, ``GET /``, that frames the widget at ``widget_embed_url``."""
    if not widget_embed_url.startswith(("https://127.0.0.1:", "https://localhost:")):
        raise ValueError("the widget is framed from a loopback https:// URL")
    app = Flask(__name__)
    src = html.escape(widget_embed_url)
    frame = f'<h1>Another site</h1><iframe id="widget" src="{src}"></iframe>'

    @app.get("/")
    def host():
        return html_page("Another site", frame)

    app.after_request(add_security_headers)
    return app


def _sample():
    yield "default", create_widget_app()


def _embedder_sample():
    yield "default", create_embedder_app("https://127.0.0.1:1/embed")
