"""The parts every web app of the book shares: one of each, so a fix reaches every app.

- :func:`check_password`: the one password check. An unknown user costs the same hash as a
  known one (a dummy hash of the same method), so the login time does not say who exists.
- :class:`LoginThrottle`: refuse password guesses for a user after too many recent failures.
- :func:`bearer_token`: the one ``Authorization: Bearer`` parser.
- :func:`cross_site_refusal`: the Fetch Metadata check with the Origin fallback (OWASP's CSRF
  cheat sheet as changed on 2025-12-04), used against login CSRF.
- :data:`SECURITY_HEADERS` and :func:`add_security_headers`: no caching, no sniffing, no framing.
- :class:`MemoryJtiStore` and :class:`RedisJtiStore`: the one "set of ``jti`` until ``exp``",
  for deny-lists (``add``/``contains``) and single-use tokens (``claim``).
- :func:`add_transfer_route`: the toy bank's ``POST /transfer``, whatever holds the credential.
- :func:`create_attacker_app`: the other site, whose page submits a form to a target on load.
- :class:`CookieClient` and :class:`BearerClient`: the two ways a client holds a credential.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import html
import http.cookiejar
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask, abort, jsonify, make_response, request
from werkzeug.security import check_password_hash, generate_password_hash

from sessionlab.lab.registry import registered_app

__all__ = [
    "SECURITY_HEADERS",
    "admin_target",
    "BearerClient",
    "CookieClient",
    "HttpClient",
    "LoginThrottle",
    "LoopbackSecureCookies",
    "LoopbackSession",
    "MemoryJtiStore",
    "RedisJtiStore",
    "add_security_headers",
    "add_transfer_route",
    "bearer_token",
    "check_password",
    "create_attacker_app",
    "cross_site_refusal",
    "html_page",
]

_DUMMY_HASHES: dict[str, str] = {}
_DUMMY_LOCK = threading.Lock()


def _dummy_hash(method: str) -> str:
    """A hash of a random password with ``method``: checking it costs what a real check costs."""
    with _DUMMY_LOCK:
        if method not in _DUMMY_HASHES:
            _DUMMY_HASHES[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
        return _DUMMY_HASHES[method]


def check_password(users: Mapping[str, Mapping[str, Any]], username: str, password: str) -> bool:
    """True if ``users[username]`` exists and its ``password_hash`` matches ``password``.

    For an unknown user the password is checked against a dummy hash made with the method of
    the table's other hashes, so a wrong user name takes as long as a wrong password.
    """
    user = users.get(username) if isinstance(username, str) else None
    if user is not None:
        return check_password_hash(user["password_hash"], password)
    some_hash = next(iter(users.values()), {}).get("password_hash", "pbkdf2:sha256:60000$x$y")
    check_password_hash(_dummy_hash(some_hash.split("$", 1)[0]), password)
    return False


class LoginThrottle:
    """At most ``max_failures`` failed logins per user name within ``window`` seconds.

    Counted per user name (known or not), so guessing one account's password from many
    addresses is slowed too. ``retry_after(name)`` is 0 when a login may be tried, otherwise
    the seconds until the oldest counted failure leaves the window. Names are kept as SHA-256
    digests, so memory is bounded by ``max_names`` whatever the names sent. Thread-safe, and
    :meth:`begin` checks and counts an attempt atomically, so concurrent guesses cannot slip
    past the limit. The price: anyone can hold a known user's logins back for ``window`` seconds.
    """

    def __init__(
        self,
        *,
        max_failures: int = 10,
        window: float = 15 * 60,
        clock: Callable[[], float] = time.time,
        max_names: int = 100_000,
    ):
        if max_failures < 1 or window <= 0:
            raise ValueError("max_failures must be at least 1 and window positive")
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self.max_names = max_names
        self._failures: dict[bytes, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, name: bytes, now: float) -> deque[float]:
        failures = self._failures.get(name, deque())
        while failures and now - failures[0] >= self.window:
            failures.popleft()
        return failures

    @staticmethod
    def _key(name: str) -> bytes:
        return hashlib.sha256(name.encode("utf-8", "surrogatepass")).digest()

    def retry_after(self, name: str) -> float:
        name = self._key(name)
        with self._lock:
            now = self.clock()
            failures = self._recent(name, now)
            if len(failures) < self.max_failures:
                return 0.0
            return self.window - (now - failures[0])

    def begin(self, name: str) -> float:
        """Check and count in one step: 0 when a login may be tried (it is then counted as a
        failure in advance, and :meth:`succeeded` forgives it), otherwise the seconds to wait.

        Checking with :meth:`retry_after` and counting with :meth:`failed` after the password
        check leaves a gap: guesses sent at once all pass the check before any is counted (15 to
        17 of 30 concurrent guesses got through a limit of 10). Here the lock covers both. The
        price: more than ``max_failures`` logins of one name *at the same moment* get 429 even
        with the right password, until the ones in flight have succeeded.
        """
        key = self._key(name)
        with self._lock:
            now = self.clock()
            failures = self._recent(key, now)
            if len(failures) >= self.max_failures:
                return self.window - (now - failures[0])
            self._count(key, now)
            return 0.0

    def failed(self, name: str) -> None:
        """Count a failed login that was not begun with :meth:`begin`."""
        key = self._key(name)
        with self._lock:
            self._count(key, self.clock())

    def _count(self, name: bytes, now: float) -> None:
        if name not in self._failures and len(self._failures) >= self.max_names:
            # Bounded memory: forget names whose failures have all left the window.
            for other in [n for n in self._failures if not self._recent(n, now)]:
                del self._failures[other]
            while len(self._failures) >= self.max_names:  # all recent: forget the oldest name
                del self._failures[next(iter(self._failures))]
        failures = self._failures.setdefault(name, deque(maxlen=self.max_failures))
        self._recent(name, now)
        failures.append(now)

    def succeeded(self, name: str) -> None:
        name = self._key(name)
        with self._lock:
            self._failures.pop(name, None)


def bearer_token(authorization: str | None, scheme: str = "Bearer") -> str | None:
    """The credential of an ``Authorization`` header value of ``scheme``, or ``None``.

    The scheme is case-insensitive (RFC 9110 §11.1); exactly one space, then one token with no
    space in it. ``None``, an empty value or another scheme give ``None``.
    """
    if not isinstance(authorization, str):
        return None
    name, sep, token = authorization.partition(" ")
    if not sep or name.lower() != scheme.lower() or not token or " " in token:
        return None
    return token


def cross_site_refusal(headers: Mapping[str, str], own_origin: str) -> str | None:
    """Why a state-changing request must be refused as cross-site, or ``None`` to let it pass.

    ``Sec-Fetch-Site`` decides when present: ``same-origin`` and ``none`` (the user typed the
    address or used a bookmark) pass; ``same-site`` and ``cross-site`` do not. Without it, the
    ``Origin`` header must be the app's own origin (``null`` is refused). A request with
    neither comes from a client that is not a modern browser (curl, a native app, a test) and
    passes: a browser that can be abused into sending a forged request sends one of the two.
    """
    site = headers.get("Sec-Fetch-Site")
    if site is not None:
        return None if site in ("same-origin", "none") else f"Sec-Fetch-Site: {site}"
    origin = headers.get("Origin")
    if origin is None:
        return None
    if origin.rstrip("/").lower() != own_origin.rstrip("/").lower():
        return "Origin is not this site's origin"
    return None


def admin_target(role: str, users: Mapping[str, Any]) -> str:
    """The user an administrator's action names in the form's ``user`` field: 403 unless the
    caller's ``role`` is ``admin``, 404 when no such user exists. The book's session app and the
    Flask and flask-jwt-extended apps each check the caller their own way, then call this."""
    if role != "admin":
        abort(403)
    name = request.form.get("user", "")
    if name not in users:
        abort(404)
    return name


SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
}


def add_security_headers(response, *, hsts: bool = False):
    """Set :data:`SECURITY_HEADERS` (and HSTS when ``hsts``) unless the app set them itself."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if hsts:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def html_page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><body>{body}</body></html>"
    )


def whole_number(text: str) -> int | None:
    """``text`` as an int if it is a plain, reasonably sized whole number, else ``None``."""
    text = text.strip()
    if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 12:
        return None
    return int(text)


def add_transfer_route(
    app: Flask,
    authenticate: Callable[[], tuple[str | None, str]],
    *,
    csrf_protection: bool,
    json_replies: Callable[[], bool] = lambda: False,
) -> Flask:
    """``POST /transfer`` (form ``to``, ``amount``) on ``app``, with the bank's own books.

    ``authenticate()`` returns the user behind the request's credential (or ``None``) and the
    CSRF token bound to it. ``app.ledger`` lists executed transfers and ``app.refusals`` the
    refused ones, each with the ``Sec-Fetch-Site`` header the browser sent.
    """
    app.ledger = []
    app.refusals = []

    def record(book: list, user: str | None, status: int, reason: str) -> dict[str, Any]:
        row = {
            "user": user or "(nobody)",
            "to": request.form.get("to", ""),
            "amount": whole_number(request.form.get("amount", "0") or "0"),
            "sec_fetch_site": request.headers.get("Sec-Fetch-Site", "(not sent)"),
            "status": status,
            "reason": reason,
        }
        book.append(row)
        return row

    def reply(status: int, message: str):
        if json_replies():
            return jsonify(status=status, message=message), status
        body = f'<p id="result">{html.escape(message)}</p>'
        return make_response(html_page("Transfer", body), status)

    @app.post("/transfer")
    def transfer():
        user, csrf_expected = authenticate()
        if user is None:
            record(app.refusals, None, 401, "no valid credential")
            return reply(401, "Refused: not logged in")
        if csrf_protection:
            sent = request.form.get("csrf_token", "")
            if not csrf_expected or not hmac.compare_digest(sent.encode(), csrf_expected.encode()):
                record(app.refusals, user, 403, "missing or wrong CSRF token")
                return reply(403, "Refused: CSRF token missing or wrong")
        amount = whole_number(request.form.get("amount", ""))
        if amount is None or amount <= 0:
            record(app.refusals, user, 400, "amount is not a positive whole number")
            return reply(400, "Refused: the amount must be a positive whole number")
        row = record(app.ledger, user, 200, "executed")
        return reply(200, f"Sent {row['amount']} to {row['to']}")

    return app


class MemoryJtiStore:
    """Token IDs remembered until their token's ``exp``, in a dict. Thread-safe.

    ``add`` and ``contains`` make a deny-list; ``claim`` makes a token single-use (true the
    first time, false for a replay or an already expired token). ``lookups`` counts reads.
    """

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self._entries: dict[str, float] = {}
        # (expiry, jti) in expiry order, so purging touches only what has expired: a claim costs
        # O(log n) however many live entries there are, not a scan of them all.
        self._expiry_order: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self.lookups = 0

    def __len__(self) -> int:
        with self._lock:
            self._purge(self.clock())
            return len(self._entries)

    def _purge(self, now: float) -> None:
        while self._expiry_order and self._expiry_order[0][0] <= now:
            expires_at, jti = heapq.heappop(self._expiry_order)
            if self._entries.get(jti) == expires_at:
                del self._entries[jti]

    def _remember(self, jti: str, expires_at: float) -> None:
        self._entries[jti] = expires_at
        heapq.heappush(self._expiry_order, (expires_at, jti))

    def add(self, jti: str, expires_at: float) -> None:
        """Remember ``jti`` until ``expires_at``: after that the token's own ``exp`` refuses it."""
        with self._lock:
            now = self.clock()
            self._purge(now)
            if expires_at > now and expires_at > self._entries.get(jti, 0):
                self._remember(jti, expires_at)

    def contains(self, jti: str) -> bool:
        with self._lock:
            self.lookups += 1
            expires_at = self._entries.get(jti)
            if expires_at is None:
                return False
            if self.clock() >= expires_at:
                del self._entries[jti]
                return False
            return True

    def claim(self, jti: str, expires_at: float) -> bool:
        """Atomically: remember ``jti`` and return True, unless it is already remembered."""
        with self._lock:
            self.lookups += 1
            now = self.clock()
            if expires_at <= now:
                return False
            self._purge(now)
            if self._entries.get(jti, 0) > now:
                return False
            self._remember(jti, expires_at)
            return True


class RedisJtiStore:
    """The same on Redis: one key per ``jti`` with a TTL up to the token's ``exp``."""

    def __init__(self, client, *, prefix: str = "jti:", clock: Callable[[], float] = time.time):
        self.client = client
        self.prefix = prefix
        self.clock = clock
        self.lookups = 0
        self._count_lock = threading.Lock()

    def _count(self) -> None:
        """One more lookup; ``+=`` alone can lose counts between the server's threads."""
        with self._count_lock:
            self.lookups += 1

    def _ttl(self, expires_at: float) -> int:
        return int(expires_at - self.clock() + 0.999)

    def add(self, jti: str, expires_at: float) -> None:
        ttl = self._ttl(expires_at)
        if ttl > 0:
            self.client.set(f"{self.prefix}{jti}", b"1", ex=ttl)

    def contains(self, jti: str) -> bool:
        self._count()
        return bool(self.client.exists(f"{self.prefix}{jti}"))

    def claim(self, jti: str, expires_at: float) -> bool:
        self._count()
        ttl = self._ttl(expires_at)
        if ttl <= 0:
            return False
        return bool(self.client.set(f"{self.prefix}{jti}", b"1", ex=ttl, nx=True))


def _attacker_sample():
    yield "attacker page (POST form)", create_attacker_app("http://127.0.0.1:9")
    yield "attacker page (GET link)", create_attacker_app("http://127.0.0.1:9", method="get")


@registered_app("attacker page", sample=_attacker_sample)
def create_attacker_app(
    target_url: str,
    *,
    path: str = "/transfer",
    method: str = "post",
    fields: Mapping[str, Any] | None = None,
    to: str = "mallory",
    amount: int = 1000,
) -> Flask:
    """Another site whose page submits a form to ``target_url + path`` as soon as it loads.

    ``method="post"`` is a forged state change; ``method="get"`` is a cross-site top-level
    navigation, which ``SameSite=Lax`` still lets carry cookies. ``fields`` defaults to a
    transfer of ``amount`` to ``to``.
    """
    if method not in ("get", "post"):
        raise ValueError('method must be "get" or "post"')
    app = Flask(__name__)
    values = dict(fields) if fields is not None else {"to": to, "amount": int(amount)}
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(str(k))}" value="{html.escape(str(v))}">'
        for k, v in values.items()
    )
    action = html.escape(f"{target_url}{path}")

    @app.get("/")
    def prize():
        return (
            "<!doctype html>\n<title>You won a prize!</title>\n<h1>Claim your prize</h1>\n"
            f'<form id="forged" method="{method}" action="{action}">{inputs}</form>\n'
            '<script>document.getElementById("forged").submit();</script>'
        )

    return app


class HttpClient:
    """What both clients share: a base URL, a ``requests`` session and a log-in form post."""

    def __init__(self, base_url: str, *, timeout: float = 10):
        self.base_url = base_url
        self.timeout = timeout
        self.http = requests.Session()

    def _headers(self) -> dict[str, str]:
        return {}

    def keep(self, login_body: dict[str, Any]) -> None:
        """Keep what the login response hands the client."""

    def log_in(self, username: str, password: str) -> requests.Response:
        response = self.post("/login", data={"username": username, "password": password})
        if response.ok:
            self.keep(response.json())
        return response

    def get(self, path: str) -> requests.Response:
        return self.http.get(
            f"{self.base_url}{path}", headers=self._headers(), timeout=self.timeout
        )

    def post(self, path: str, **kwargs) -> requests.Response:
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        return self.http.post(
            f"{self.base_url}{path}", headers=headers, timeout=self.timeout, **kwargs
        )


class LoopbackSecureCookies(http.cookiejar.DefaultCookiePolicy):
    """Send ``Secure`` cookies to loopback over plain http too, as Chromium does (it counts
    loopback as a secure context); requests' default policy never sends them over http."""

    def return_ok_secure(self, cookie, request) -> bool:
        if urlsplit(request.get_full_url()).hostname in ("127.0.0.1", "localhost", "::1"):
            return True
        return super().return_ok_secure(cookie, request)


class LoopbackSession(requests.Session):
    """A ``requests`` session whose ``Cookie`` header follows :class:`LoopbackSecureCookies`
    (requests copies the jar into one with the default policy before each request)."""

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        prepared = super().prepare_request(request)
        jar = requests.cookies.RequestsCookieJar(policy=LoopbackSecureCookies())
        jar.update(self.cookies)
        prepared.headers.pop("Cookie", None)
        prepared.prepare_cookies(jar)
        return prepared


class CookieClient(HttpClient):
    """A client whose cookie jar carries the session; it adds the CSRF header to posts.

    ``csrf`` says where the token for that header comes from: ``"login"``, the login response's
    ``csrf_token`` (the book's session app); ``"endpoint:/path"``, fetched before each post
    (Flask-WTF's ``generate_csrf``); ``"cookie:NAME"``, read from that cookie before each post
    (flask-jwt-extended's double submit). ``X-CSRF-Token`` is a header name all three accept.
    """

    csrf_token = ""

    def __init__(self, base_url: str, *, timeout: float = 10, csrf: str = "login"):
        super().__init__(base_url, timeout=timeout)
        if not (csrf == "login" or csrf.startswith(("endpoint:/", "cookie:"))):
            raise ValueError("csrf is 'login', 'endpoint:/path' or 'cookie:NAME'")
        self.csrf = csrf
        self.http = LoopbackSession()

    def keep(self, login_body: dict[str, Any]) -> None:
        if self.csrf == "login":
            self.csrf_token = login_body["csrf_token"]

    def current_csrf_token(self) -> str:
        kind, _, where = self.csrf.partition(":")
        if kind == "endpoint":
            page = self.http.get(f"{self.base_url}{where}", timeout=self.timeout)
            self.csrf_token = page.json()["csrf_token"]
        elif kind == "cookie":
            self.csrf_token = self.http.cookies.get(where) or ""
        return self.csrf_token

    def post(self, path: str, **kwargs) -> requests.Response:
        token = self.current_csrf_token()
        headers = {**({"X-CSRF-Token": token} if token else {}), **kwargs.pop("headers", {})}
        return super().post(path, headers=headers, **kwargs)

    def copy(self) -> CookieClient:
        """A second holder of the same credential: another tab, a backup, or a thief."""
        other = type(self)(self.base_url, timeout=self.timeout, csrf=self.csrf)
        other.http.cookies.update(self.http.cookies)
        other.csrf_token = self.csrf_token
        return other


class BearerClient(HttpClient):
    """A client that keeps the token itself, sends it on every request, forgets it on log-out."""

    token: str | None = None

    def keep(self, login_body: dict[str, Any]) -> None:
        self.token = login_body["access_token"]

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def post(self, path: str, **kwargs) -> requests.Response:
        response = super().post(path, **kwargs)
        if path.startswith("/logout"):
            self.token = None  # the only log-out a stateless token allows: forget it here
        return response

    def copy(self) -> BearerClient:
        """A second holder of the same token."""
        other = type(self)(self.base_url, timeout=self.timeout)
        other.token = self.token
        return other


def own_origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
