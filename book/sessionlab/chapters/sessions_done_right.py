"""Chapter 41's checklist: drive any web app over real HTTP, and real Chromium where the item is
about the browser, and report PASS / FAIL / N/A per item.

An :class:`Adapter` says where an app keeps its login, its protected page, its logout and the
rest, and how it wants its CSRF token. :func:`run_checklist` runs every item against it and
returns :class:`Result` rows with their evidence; it asserts nothing. The chapter asserts the
whole matrix it expects, so a framework upgrade that changes one cell is a failing diff.

The HTTP client keeps cookies itself, as a browser on loopback does: ``Secure`` cookies are sent
over plain http to 127.0.0.1 (Chromium treats loopback as a secure origin), and two cookies of
one name can be sent at once, as after cookie tossing. Given a Playwright ``browser``, the two
items that are about what a browser does (login CSRF, cookie tossing) run in it instead: the app
is then reached as ``app.site.localhost`` (loopback, and a secure context, so ``Secure`` and
``__Host-`` cookies work over http), its sibling host is ``evil.site.localhost`` and the
attacker's other site is ``127.0.0.1``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.client
import json
import math
import re
import secrets
import select
import shutil
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sessionlab.lab.servers import (
    LoopbackServer,
    ServerLimits,
    free_port,
    serve_wsgi,
    wait_for_port,
)
from sessionlab.lab.timing import fmt_duration, fmt_ratio
from sessionlab.recommended.frameworks.common import DEMO_USERS

__all__ = [
    "Adapter",
    "AdapterError",
    "ChromiumTab",
    "Client",
    "Deployment",
    "Result",
    "matrix",
    "redis_commands",
    "run_all",
    "run_checklist",
]

PASS, FAIL, NA = "PASS", "FAIL", "N/A"
ATTACKER_ORIGIN = "http://attacker.localhost"
#: In Chromium: the app's host, its sibling (a host under the same registrable domain, which may
#: set cookies for that whole domain) and that domain.
APP_HOST, SIBLING_HOST, SHARED_DOMAIN = (
    "app.site.localhost",
    "evil.site.localhost",
    "site.localhost",
)


class AdapterError(ValueError):
    """The adapter given to the checklist is incomplete or inconsistent."""


@dataclass(frozen=True)
class Result:
    item: str
    status: str
    evidence: str


@dataclass
class Adapter:
    """How the checklist talks to one app. A path of ``None`` means the app has no such feature."""

    name: str
    base_url: str
    session_cookie: str
    users: dict[str, tuple[str, str]]  # name -> (password, role)
    csrf: str = "endpoint"  # "endpoint" (GET csrf_path), "login-json", or "cookie:<name>"
    csrf_header: str = "X-CSRF-Token"
    csrf_path: str | None = "/csrf"
    login_path: str = "/login"
    protected_path: str = "/me"
    logout_path: str | None = "/logout"
    logout_everywhere_path: str | None = "/logout-everywhere"
    state_change_path: str | None = "/transfer"
    elevate_path: str | None = "/elevate"
    password_path: str | None = "/password"
    admin_end_sessions_path: str | None = "/admin/end-sessions"
    admin_disable_path: str | None = "/admin/disable"
    self_contained: bool = False  # the cookie carries the session (a JWT, a signed cookie)
    short_timeouts: Adapter | None = None  # the same configuration with timeouts of 1 s and 2 s
    extra_headers: dict[str, str] = field(default_factory=dict)  # e.g. a TLS proxy's

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlsplit(self.base_url)
        if parsed.scheme != "http" or parsed.hostname not in ("127.0.0.1", "localhost"):
            raise AdapterError(
                f"{self.name}: base_url must be http on loopback, not {self.base_url!r}"
            )
        if not re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", self.session_cookie or ""):
            raise AdapterError(
                f"{self.name}: session_cookie {self.session_cookie!r} is no cookie name"
            )
        for attribute, value in vars(self).items():
            if attribute.endswith("_path") and value is not None and not str(value).startswith("/"):
                raise AdapterError(f"{self.name}: {attribute} must start with '/', not {value!r}")
        if not (self.csrf in ("endpoint", "login-json") or self.csrf.startswith("cookie:")):
            raise AdapterError(
                f"{self.name}: csrf must be 'endpoint', 'login-json' or 'cookie:<name>'"
            )
        if self.csrf == "endpoint" and self.csrf_path is None:
            raise AdapterError(f"{self.name}: csrf='endpoint' needs a csrf_path")
        roles = {role for _, role in self.users.values()}
        missing = {"alice", "carol", "dave", "erin", "frank"} - set(self.users)
        if missing or "admin" not in roles:
            raise AdapterError(
                f"{self.name}: users needs alice, carol, dave, erin, frank and an admin "
                f"(missing {sorted(missing) or 'an admin'})"
            )
        if not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.extra_headers.items()
        ):
            raise AdapterError(f"{self.name}: extra_headers maps header names to strings")
        if self.short_timeouts is not None and self.short_timeouts.short_timeouts is not None:
            raise AdapterError(f"{self.name}: short_timeouts must not have its own short_timeouts")

    @property
    def admin(self) -> str:
        return next(name for name, (_, role) in self.users.items() if role == "admin")


@dataclass
class SetCookie:
    name: str
    value: str
    attributes: dict[str, str]

    @property
    def persistent(self) -> bool:
        max_age = self.attributes.get("max-age")
        return ("expires" in self.attributes and max_age is None) or (
            max_age is not None and int(max_age) > 0
        )

    @property
    def deletes(self) -> bool:
        max_age = self.attributes.get("max-age")
        expires = self.attributes.get("expires", "")
        return (max_age is not None and int(max_age) <= 0) or "1970" in expires


def parse_set_cookie(header: str) -> SetCookie:
    first, *rest = header.split(";")
    name, _, value = first.partition("=")
    attributes = {}
    for part in rest:
        key, _, val = part.strip().partition("=")
        attributes[key.lower()] = val
    return SetCookie(name.strip(), value.strip().strip('"'), attributes)


@dataclass
class Response:
    """What the checklist reads of an HTTP response."""

    status_code: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    def json(self):
        return json.loads(self.body)


_local = threading.local()


def _send(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> Response:
    """One request on this thread's kept-alive connection to the URL's server (plain
    ``http.client``: the checklist sends thousands of requests, and keeps cookies itself)."""
    parts = urllib.parse.urlsplit(url)
    connections = _local.__dict__.setdefault("connections", {})
    key = (parts.hostname, parts.port)
    for attempt in (1, 2):
        connection = connections.get(key)
        if connection is None or _dropped(connection):
            connection = connections[key] = http.client.HTTPConnection(*key, timeout=10)
        try:
            connection.request(method, parts.path or "/", body=body, headers=headers)
            response = connection.getresponse()
            return Response(response.status, response.headers, response.read())
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            connection.close()
            connections.pop(key, None)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """The server closed this idle connection (readable with nothing to read), as urllib3 checks."""
    if connection.sock is None:
        return True
    readable, _, _ = select.select([connection.sock], [], [], 0)
    return bool(readable)


@dataclass
class Client:
    """One device: its own cookies, sent as a loopback browser would send them."""

    adapter: Adapter
    cookies: dict[str, str] = field(default_factory=dict)
    set_cookies: list[SetCookie] = field(default_factory=list)
    csrf_token: str | None = None
    login_response: Response | None = None

    def request(self, method: str, path: str, *, data=None, headers=None, cookie_header=None):
        sent = {**self.adapter.extra_headers, **(headers or {})}
        cookie = cookie_header or "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if cookie:
            sent["Cookie"] = cookie
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        response = _send(method, self.adapter.base_url + path, body, sent)
        for header in response.headers.get_all("Set-Cookie") or []:
            parsed = parse_set_cookie(header)
            self.set_cookies.append(parsed)
            if parsed.deletes:
                self.cookies.pop(parsed.name, None)
            else:
                self.cookies[parsed.name] = parsed.value
        return response

    def token(self) -> str | None:
        a = self.adapter
        if a.csrf == "endpoint":
            response = self.request("GET", a.csrf_path)
            self.csrf_token = response.json().get("csrf_token")
        elif a.csrf.startswith("cookie:"):
            self.csrf_token = self.cookies.get(a.csrf.removeprefix("cookie:"))
        return self.csrf_token

    def post(self, path: str, data: dict | None = None):
        token = self.token()
        headers = {a: token for a in [self.adapter.csrf_header] if token}
        return self.request("POST", path, data=data or {}, headers=headers)

    def login(self, user: str, password: str | None = None, *, remember: bool = False):
        password = self.adapter.users[user][0] if password is None else password
        form = {"username": user, "password": password, **({"remember": "1"} if remember else {})}
        response = self.login_response = self.post(self.adapter.login_path, form)
        if self.adapter.csrf == "login-json" and response.ok:
            self.csrf_token = response.json().get("csrf_token")
        return response

    def authenticated(self) -> bool:
        return self.request("GET", self.adapter.protected_path).status_code == 200

    @property
    def session_value(self) -> str | None:
        return self.cookies.get(self.adapter.session_cookie)


def _copy(client: Client) -> Client:
    return Client(client.adapter, dict(client.cookies), csrf_token=client.csrf_token)


_CACHE: dict[int, dict] = {}  # what one run of the checklist keeps, by id(adapter)


def _state(adapter: Adapter) -> dict:
    return _CACHE.setdefault(id(adapter), {})


def _logged_in(adapter: Adapter, user: str = "alice") -> Client:
    """A fresh device logged in as ``user``; alice's session IDs are kept for the entropy item."""
    # Up to three tries: with a 1-second idle timeout, a CSRF token bound to the anonymous
    # session can expire between fetching it and posting it when the machine is busy.
    for _ in range(3):
        client = Client(adapter)
        response = client.login(user)
        if response.status_code == 200 and client.authenticated():
            if user == "alice":
                _state(adapter).setdefault("alice_ids", []).append(client.session_value)
            return client
    raise AdapterError(f"{adapter.name}: cannot log in as {user} ({response.status_code})")


def _first_login(adapter: Adapter) -> Client:
    """Alice's first login in this run, shared by the items that only read it (phase 0)."""
    state = _state(adapter)
    if "first" not in state:
        state["first"] = _logged_in(adapter)
        cookie = _session_set_cookie(state["first"])
        if cookie is None:
            raise AdapterError(f"{adapter.name}: login set no {adapter.session_cookie!r} cookie")
    return state["first"]


def _session_set_cookie(client: Client) -> SetCookie | None:
    name = client.adapter.session_cookie
    return next((c for c in reversed(client.set_cookies) if c.name == name and not c.deletes), None)


# --- the items -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One checklist item. ``phase`` orders the work, not the rows: phase 0 items end no session
    but their own and fail no login, so they share alice's first login and run alongside the
    browser items; phase 1 items end alice's sessions or count failed logins; phase 2 items wait
    for the timeout probes started with the run. ``in_chromium`` is the item as a browser sees
    it, run instead when :func:`run_checklist` is given a browser."""

    title: str
    check: Callable[[Adapter], tuple[str, str]]
    phase: int = 0
    in_chromium: Callable[..., Any] | None = None


CHECKS: list[Item] = []


def item(title: str, *, phase: int = 0):
    def register(check):
        CHECKS.append(Item(title, check, phase))
        return check

    return register


def chromium_version(title: str):
    """Register the Chromium version of the item titled ``title``."""

    def register(check):
        index = next(i for i, c in enumerate(CHECKS) if c.title == title)
        CHECKS[index] = replace(CHECKS[index], in_chromium=check)
        return check

    return register


@item("v5.0.0-7.2.1 tampered or forged cookie refused by the server")
def tampered(a: Adapter):
    client = _first_login(a)
    value = client.session_value
    flipped = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    forged = Client(a, {**client.cookies, a.session_cookie: flipped})
    if forged.authenticated():
        return FAIL, "a cookie with one character changed still logs in"
    return PASS, "a cookie with one character changed is refused"


@item("v5.0.0-7.2.2 a new token for every login")
def dynamic(a: Adapter):
    first, second = _first_login(a), _logged_in(a)
    if first.session_value == second.session_value:
        return FAIL, "two logins of alice got the same session cookie"
    return PASS, "two logins of alice got different session cookies"


ALPHABETS = [("[0-9a-f]", 16), ("[a-z0-9]", 36), ("[A-Za-z0-9]", 62), ("[A-Za-z0-9_-]", 64)]


def session_id_of(value: str) -> str:
    """The random part of a session cookie: URL-decoded, without a signer's ``s:`` and ``.mac``."""
    value = urllib.parse.unquote(value)
    return value.removeprefix("s:").split(".")[0]


@item("v5.0.0-7.2.3 reference token from a CSPRNG, >= 128 bits")
def entropy(a: Adapter):
    if a.self_contained:
        return NA, "self-contained token: no reference token to measure"
    _first_login(a)
    while len(_state(a).get("alice_ids", [])) < 3:  # three logins' IDs (earlier items' first)
        _logged_in(a)
    ids = [session_id_of(value) for value in _state(a)["alice_ids"][:3]]
    joined = "".join(ids)
    pattern, size = next(
        ((p, n) for p, n in ALPHABETS if re.fullmatch(p + "+", joined)), ("any byte", 256)
    )
    bits = min(len(i) for i in ids) * math.log2(size)
    status = PASS if bits >= 128 and len(set(ids)) == len(ids) else FAIL
    return status, f"{len(ids[0])} characters of {pattern}: at most {bits:.0f} bits"


@item("v5.0.0-7.2.4 new token at login and re-login; the old one ends")
def rotation(a: Adapter):
    client = Client(a)
    client.token()  # an anonymous visit: any pre-login session the app hands out
    planted = client.session_value
    client.login("alice")
    first = client.session_value
    client.login("alice")
    if planted is not None and planted == first:
        return FAIL, "the pre-login session ID survives login (session fixation)"
    if client.session_value == first:
        return FAIL, "re-authentication keeps the same session token"
    if Client(a, {a.session_cookie: first}).authenticated():
        return FAIL, "re-authentication issues a new token but the old one still works"
    return PASS, "login and re-login each issue a new token; the previous one is refused"


def _idle(a: Adapter) -> bool | None:
    """Still logged in after 1.3 s idle? ``None`` if every try was inconclusive: a refusal that
    came 1.9 s or more after the login was sent (a busy machine) may be the 2-second absolute
    timeout. The clock starts before the login, so the session is never older than it says."""
    for _ in range(5):
        started = time.monotonic()
        client = _logged_in(a)
        time.sleep(1.3)
        if client.authenticated():
            return True
        if time.monotonic() - started < 1.9:
            return False
    return None


def _absolute(a: Adapter) -> bool | None:
    """Still logged in after 2.4 s of a request every 0.3 s? ``None`` if every try was
    inconclusive: a refusal that came after a gap of 0.9 s or more (a busy machine) may be the
    1-second idle timeout, not the absolute one, so that try starts again."""
    for _ in range(3):
        client = _logged_in(a)
        deadline = last = time.monotonic()
        deadline += 2.4
        while time.monotonic() < deadline:
            if not client.authenticated():
                break
            last = time.monotonic()
            time.sleep(0.3)
        else:
            if client.authenticated():
                return True
        if time.monotonic() - last < 0.9:
            return False
    return None


IDLE, ABSOLUTE = "v5.0.0-7.3.1 inactivity timeout", "v5.0.0-7.3.2 absolute maximum session lifetime"


def _start_timeouts(a: Adapter, pool: ThreadPoolExecutor, titles: set[str]) -> None:
    """Start the slow timeout probes at once, in the background; the other items run meanwhile."""
    if a.short_timeouts is not None:
        probes = {IDLE: _idle, ABSOLUTE: _absolute}
        _state(a)["timeouts"] = {
            title: pool.submit(probe, a.short_timeouts)
            for title, probe in probes.items()
            if title in titles
        }


def _timeout(a: Adapter, title: str):
    """What the probe for ``title`` found, or ``NA`` without a short-timeout instance."""
    future = _state(a).get("timeouts", {}).get(title)
    return NA if future is None else future.result()


@item(IDLE, phase=2)
def idle_timeout(a: Adapter):
    still_in = _timeout(a, IDLE)
    if still_in is NA:
        return NA, "no short-timeout instance given"
    if still_in:
        return FAIL, "still logged in after 1.3 s idle (timeouts set to 1 s idle, 2 s absolute)"
    if still_in is None:
        return FAIL, "inconclusive: five tries refused only near the absolute timeout (busy)"
    return PASS, "refused after 1.3 s idle (timeouts set to 1 s idle, 2 s absolute)"


@item(ABSOLUTE, phase=2)
def absolute_timeout(a: Adapter):
    still_in = _timeout(a, ABSOLUTE)
    if still_in is NA:
        return NA, "no short-timeout instance given"
    if still_in:
        return FAIL, "still logged in after 2.4 s of activity every 0.3 s"
    if still_in is None:
        return FAIL, "inconclusive: three tries refused only after an idle gap (busy)"
    return PASS, "refused within 2.4 s despite activity every 0.3 s"


@item("v5.0.0-7.4.1 copied cookie replayed after logout")
def replay_after_logout(a: Adapter):
    if a.logout_path is None:
        return FAIL, "no logout"
    client = _logged_in(a)
    copied = _copy(client)
    client.post(a.logout_path)
    if client.authenticated():
        return FAIL, "still logged in after logout"
    if copied.authenticated():
        return FAIL, "the copied cookie still works after logout: the server did not end it"
    return PASS, "the copied cookie is refused after logout"


@item("v5.0.0-7.4.2 disabling an account ends its sessions")
def disabled(a: Adapter):
    if a.admin_disable_path is None:
        return FAIL, "no way to disable an account"
    victim = _logged_in(a, "erin")
    _logged_in(a, a.admin).post(a.admin_disable_path, {"user": "erin"})
    if victim.authenticated():
        return FAIL, "erin's session still works after her account was disabled"
    return PASS, "erin's session is refused once her account is disabled"


@item("v5.0.0-7.4.3 password change can end the other sessions")
def password_change(a: Adapter):
    if a.password_path is None:
        return FAIL, "no password change"
    old = a.users["carol"][0]
    here, other = _logged_in(a, "carol"), _logged_in(a, "carol")
    form = {"old": old, "new": old + " 2", "end_other_sessions": "1"}
    status = here.post(a.password_path, form).status_code
    other_alive, here_alive = other.authenticated(), here.authenticated()
    here.post(a.password_path, {"old": old + " 2", "new": old})  # put the password back
    if status != 200:
        return FAIL, f"password change answered {status}"
    if other_alive:
        return FAIL, "the other device is still logged in after the password change"
    return PASS, "the other device is logged out" + ("" if here_alive else " (and this one)")


@item("v5.0.0-7.4.5 an administrator ends a user's sessions", phase=1)
def admin_ends(a: Adapter):
    if a.admin_end_sessions_path is None:
        return FAIL, "no administrator action"
    admin = _logged_in(a, a.admin)
    victim = _logged_in(a)
    status = admin.post(a.admin_end_sessions_path, {"user": "alice"}).status_code
    if victim.authenticated():
        return FAIL, f"alice is still logged in (the admin action answered {status})"
    return PASS, "alice's session is refused after the admin action"


@item("v5.0.0-7.5.2 a user terminates all their sessions", phase=1)
def logout_everywhere(a: Adapter):
    if a.logout_everywhere_path is None:
        return FAIL, "no log out everywhere"
    here, other = _logged_in(a), _logged_in(a)
    status = here.post(a.logout_everywhere_path).status_code
    if other.authenticated():
        return FAIL, f"the other device is still logged in (log out everywhere answered {status})"
    return PASS, "the other device is logged out"


@item("log out everywhere under concurrent logins", phase=1)
def logout_everywhere_load(a: Adapter):
    if a.logout_everywhere_path is None:
        return FAIL, "no log out everywhere"
    before = [_logged_in(a) for _ in range(4)]
    statuses: list[int] = []
    stop = threading.Event()

    def keep_logging_in():
        for _ in range(3):  # logins racing the log out everywhere
            if stop.is_set():
                break
            statuses.append(Client(a).login("alice").status_code)

    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            pool.submit(keep_logging_in)
        time.sleep(0.05)
        status = before[0].post(a.logout_everywhere_path).status_code
        stop.set()
    alive = sum(c.authenticated() for c in before[1:])
    errors = sum(s >= 500 for s in statuses) + (status >= 500)
    if errors or alive:
        return FAIL, f"{errors} server errors; {alive} of 3 earlier sessions still valid"
    return PASS, "no server error; all 3 earlier sessions refused"


def _login_cookie(a: Adapter) -> SetCookie:
    return _session_set_cookie(_first_login(a))


@item("v5.0.0-3.3.1 session cookie Secure")
def secure(a: Adapter):
    ok = "secure" in _login_cookie(a).attributes
    return (PASS, "Secure is set") if ok else (FAIL, "no Secure attribute")


@item("v5.0.0-3.3.2 session cookie SameSite Lax or Strict")
def samesite(a: Adapter):
    value = _login_cookie(a).attributes.get("samesite")
    if value is None:
        return FAIL, "no SameSite attribute (left to each browser's default)"
    status = PASS if value.lower() in ("lax", "strict") else FAIL
    return status, f"SameSite={value}"


@item("v5.0.0-3.3.3 session cookie named __Host-")
def host_prefix(a: Adapter):
    cookie = _login_cookie(a)
    if not cookie.name.startswith("__Host-"):
        return FAIL, f"named {cookie.name!r}"
    ok = "secure" in cookie.attributes and cookie.attributes.get("path") == "/"
    ok = ok and "domain" not in cookie.attributes
    return (PASS, f"named {cookie.name!r}, Secure, Path=/") if ok else (FAIL, "prefix invalid")


@item("v5.0.0-3.3.4 session cookie HttpOnly")
def httponly(a: Adapter):
    ok = "httponly" in _login_cookie(a).attributes
    return (PASS, "HttpOnly is set") if ok else (FAIL, "no HttpOnly attribute")


LOGIN_CSRF = "login CSRF: a cross-site form cannot log the victim in"
TOSSING = "duplicate cookies: a tossed cookie cannot switch accounts"


@item(LOGIN_CSRF)
def login_csrf(a: Adapter):
    victim = Client(a)
    form = {"username": "dave", "password": a.users["dave"][0]}  # the attacker's account
    headers = {"Origin": ATTACKER_ORIGIN, "Sec-Fetch-Site": "cross-site"}
    status = victim.request("POST", a.login_path, data=form, headers=headers).status_code
    if victim.authenticated():
        return FAIL, f"over HTTP: a cross-site POST without a token logged in (status {status})"
    return PASS, f"over HTTP: a cross-site POST without a token is refused ({status})"


def _user_of(response) -> str:
    """Whom the protected page says is logged in, or its status code."""
    if response.status_code != 200:
        return str(response.status_code)
    return str(response.json().get("user"))


@item(TOSSING)
def tossing(a: Adapter):
    if a.session_cookie.startswith("__Host-"):
        return PASS, "over HTTP: __Host- cookies cannot be set by a sibling host (not tested)"
    name, victim = a.session_cookie, _copy(_first_login(a))
    planted = f"{name}={_logged_in(a, 'dave').session_value}"
    own = f"{name}={victim.session_value}"
    # A browser sends a longer Path first, and of equal Paths the older cookie first.
    seen = [
        _user_of(victim.request("GET", a.protected_path, cookie_header=header))
        for header in (f"{planted}; {own}", f"{own}; {planted}")
    ]
    status = FAIL if "dave" in seen else PASS
    return status, f"over HTTP: attacker's cookie first, the page shows {seen[0]}; last, {seen[1]}"


def decode_attempts(value: str) -> list[bytes]:
    """Every way a cookie value could carry data: URL, base64url (maybe zlib) per segment."""
    text = urllib.parse.unquote(value)
    compressed = text.startswith(".")
    decoded = []
    for segment in re.split(r"[.:]", text.removeprefix(".")):
        try:
            raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        except ValueError:
            continue
        if compressed:
            try:
                raw = zlib.decompress(raw)
            except zlib.error:
                pass
        decoded.append(raw)
    return decoded


@item("session data unreadable client-side (cookie decoded)")
def unreadable(a: Adapter):
    keys = set()
    for raw in decode_attempts(_first_login(a).session_value):
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(data, dict):
            keys |= set(data)
    if keys:
        return FAIL, f"decodes to JSON with keys {sorted(keys)}"
    return PASS, "no segment decodes to data: an opaque identifier"


@item("no persistent cookie unless the user asks to be remembered")
def not_persistent(a: Adapter):
    client = _first_login(a)
    lasting = sorted({c.name for c in client.set_cookies if c.persistent})
    if lasting:
        ages = {c.name: c.attributes.get("max-age", "Expires") for c in client.set_cookies}
        return FAIL, "persistent: " + ", ".join(f"{n} (Max-Age {ages[n]})" for n in lasting)
    return PASS, "every cookie set without 'remember me' ends with the browser session"


@item("Cache-Control: no-store on authenticated responses")
def no_store(a: Adapter):
    client = _first_login(a)
    login = client.login_response
    page = _copy(client).request("GET", a.protected_path)
    found = {
        "login": login.headers.get("Cache-Control", ""),
        a.protected_path: page.headers.get("Cache-Control", ""),
    }
    missing = [path for path, value in found.items() if "no-store" not in value]
    if missing:
        return FAIL, "no no-store on " + ", ".join(missing)
    return PASS, "no-store on the login response and the protected page"


@item("new session ID on privilege change")
def privilege_change(a: Adapter):
    if a.elevate_path is None:
        return NA, "no privilege change in this app"
    client = _logged_in(a)
    before = client.session_value
    status = client.post(a.elevate_path, {"password": a.users["alice"][0]}).status_code
    if status != 200:
        return FAIL, f"the privilege change answered {status}"
    if client.session_value == before:
        return FAIL, "the session ID stays the same across the privilege change"
    if Client(a, {a.session_cookie: before}).authenticated():
        return FAIL, "a new ID is issued but the old one still works"
    return PASS, "a new session ID; the old one is refused"


@item("password guesses throttled", phase=1)
def throttling(a: Adapter):
    client = Client(a)
    statuses = [client.login("dave", f"guess {i}").status_code for i in range(10)]
    right = client.login("dave").status_code
    refused = sum(s == 429 for s in statuses)
    if refused or right == 429:
        return PASS, f"{refused} of 10 guesses answered 429; the right password then got {right}"
    if right != 200:  # refused for another reason: that is no throttle
        return FAIL, f"10 wrong guesses, none refused; the right password then got {right}"
    return FAIL, "10 wrong guesses, none slowed or refused, then the right password worked"


TIMING = "login timing does not reveal which users exist"


@item(TIMING, phase=1)
def timing(a: Adapter):
    client = Client(a)
    client.token()

    def timed(user):
        start = time.perf_counter()
        client.login(user, "wrong password")
        return time.perf_counter() - start

    # Interleaved, and the fastest of each: other load on the machine only ever adds time.
    # Rounds of four pairs until the ratio is clear: at most four wrong guesses per known user,
    # under any throttle worth having (five, here); the last round uses two users no later item
    # logs in as.
    pairs = []
    for known_users in (("frank", "alice"), ("frank", "alice"), ("root", "carol")):
        for user in known_users * 2:
            pairs.append((timed(user), timed(f"nobody{len(pairs)}")))
        known, unknown = min(k for k, _ in pairs), min(u for _, u in pairs)
        ratio = max(known, unknown) / min(known, unknown)
        if not 1.15 < ratio < 2.5:
            break
    evidence = f"known {fmt_duration(known)}, unknown {fmt_duration(unknown)}"
    return (FAIL if ratio > 1.5 else PASS), f"{evidence} ({fmt_ratio(ratio)})"


# --- the items a browser decides, in Chromium ---------------------------------------------------

#: The victim logs in the way a single-page app does: fetch the CSRF token, post the form.
LOG_IN_JS = """async ([csrf, csrfPath, csrfHeader, loginPath, username, password]) => {
  let token = null;
  if (csrf === "endpoint") token = (await (await fetch(csrfPath)).json()).csrf_token;
  if (csrf.startsWith("cookie:")) {
    const prefix = csrf.slice("cookie:".length) + "=";
    const found = document.cookie.split("; ").find((c) => c.startsWith(prefix));
    token = found ? decodeURIComponent(found.slice(prefix.length)) : null;
  }
  const headers = token ? { [csrfHeader]: token } : {};
  const body = new URLSearchParams({ username, password });
  return (await fetch(loginPath, { method: "POST", headers, body })).status;
}"""
WHOAMI_JS = """async (path) => {
  const response = await fetch(path, { cache: "no-store" });
  return response.ok ? String((await response.json()).user) : String(response.status);
}"""


@dataclass
class InChromium:
    """One app in Chromium: one browser context, one tab, and the attacker's server, whose pages
    are another site (at ``127.0.0.1``) or, under :data:`SIBLING_HOST`, the app's sibling."""

    adapter: Adapter
    context: Any
    attacker: LoopbackServer
    tab: Any = None

    def url(self, path: str, host: str = APP_HOST) -> str:
        port = urllib.parse.urlsplit(self.adapter.base_url).port
        return f"http://{host}:{port}{path}"

    async def whoami(self) -> str:
        """Whom the protected page names for this browser, or its status code (from a page of
        the app's origin)."""
        return await self.tab.evaluate(WHOAMI_JS, self.adapter.protected_path)

    async def log_in(self, user: str) -> int:
        a = self.adapter
        args = [a.csrf, a.csrf_path or "", a.csrf_header, a.login_path, user, a.users[user][0]]
        return await self.tab.evaluate(LOG_IN_JS, args)


@chromium_version(LOGIN_CSRF)
async def login_csrf_in_chromium(side: InChromium):
    """The attacker's page on another site posts the login form with the attacker's account."""
    async with side.tab.expect_navigation(url=side.url(side.adapter.login_path)) as posted:
        await side.tab.goto(side.attacker.url, wait_until="commit")  # its form submits on load
    status = (await posted.value).status
    user = await side.whoami()  # the tab now shows the app's answer: a page of its origin
    if user == "dave":
        return FAIL, f"in Chromium: the other site's form logged the victim in as dave ({status})"
    return PASS, f"in Chromium: the other site's form was refused ({status}); the page shows {user}"


@chromium_version(TOSSING)
async def tossing_in_chromium(side: InChromium):
    """The sibling host's script sets the attacker's session cookie for the whole domain, twice:
    for a longer Path (sent before the victim's cookie) and for Path=/ (sent after it, being
    newer), so the attacker's cookie comes first and last, whichever one the app reads."""
    a, tab = side.adapter, side.tab
    dave = (await asyncio.to_thread(_logged_in, a, "dave")).session_value
    if not tab.url.startswith(side.url("/")):  # the victim's tab needs a page of the app
        await tab.goto(side.url(a.protected_path))
    status = await side.log_in("alice")
    if status != 200 or await side.whoami() != "alice":
        raise AdapterError(f"{a.name}: Chromium cannot log in as alice ({status})")
    await tab.goto(f"http://{SIBLING_HOST}:{side.attacker.port}/")  # any page of the sibling
    for path in (a.protected_path, "/"):
        tossed = f"{a.session_cookie}={dave}; Domain={SHARED_DOMAIN}; Path={path}; Secure"
        await tab.evaluate("(cookie) => { document.cookie = cookie; }", tossed)
    stored = [c for c in await side.context.cookies() if c["domain"] == "." + SHARED_DOMAIN]
    page = await tab.goto(side.url(a.protected_path))  # alice opens the page
    user = json.loads(await page.text()).get("user") if page.ok else str(page.status)
    if not stored:
        return (
            PASS,
            f"in Chromium: the browser refused the sibling's cookies; the page shows {user}",
        )
    status = FAIL if user == "dave" else PASS
    return (
        status,
        f"in Chromium: the sibling's {a.session_cookie} cookies stored; the page shows {user}",
    )


class ChromiumTab:
    """One browser context and one tab of a Playwright ``browser``, which the apps' browser items
    take in turns, the cookies cleared between apps: Chromium then keeps one renderer process per
    site for every app, rather than starting new ones for each. :meth:`close` closes the context.
    """

    def __init__(self, browser) -> None:
        self.browser = browser
        self.context = self.tab = None
        self._turn = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def turn(self, adapter: Adapter):
        async with self._turn:
            if self.context is None:
                self.context = await self.browser.new_context()
                self.tab = await self.context.new_page()
            await self.context.clear_cookies()
            await self.tab.set_extra_http_headers(adapter.extra_headers)
            yield self.context, self.tab

    async def close(self) -> None:
        if self.context is not None:
            await self.context.close()
            self.context = self.tab = None


async def _run_in_chromium(adapter: Adapter, chromium: ChromiumTab, chosen: list[Item]) -> dict:
    """The Chromium items, in the shared tab, with the app's own attacker's server."""
    if not chosen:
        return {}
    from sessionlab.recommended.webauth import create_attacker_app

    port = urllib.parse.urlsplit(adapter.base_url).port
    form = {"username": "dave", "password": adapter.users["dave"][0]}  # the attacker's account
    attacker_app = create_attacker_app(
        f"http://{APP_HOST}:{port}", path=adapter.login_path, fields=form
    )
    found = {}
    with serve_wsgi(attacker_app, limits=ServerLimits(threads=2)) as attacker:
        async with chromium.turn(adapter) as (context, tab):
            side = InChromium(adapter, context, attacker, tab)
            for c in chosen:
                await context.clear_cookies()
                found[c.title] = await c.in_chromium(side)
    return found


# --- running it -----------------------------------------------------------------------------


def _run_items(adapter: Adapter, chosen: list[Item]) -> dict:
    return {c.title: c.check(adapter) for c in chosen}


async def run_checklist(
    adapter: Adapter, *, browser=None, items: list[str] | None = None
) -> list[Result]:
    """Every item (or those titled in ``items``) against one app; rows in order; asserts nothing.

    With a Playwright ``browser`` (or a :class:`ChromiumTab` that several runs share), the items
    with a Chromium version run in it, alongside the HTTP items of phase 0. Raises
    :class:`AdapterError` for an adapter that is not one, or an app that does not answer.
    """
    if not isinstance(adapter, Adapter):
        raise AdapterError(f"run_checklist needs an Adapter, not {type(adapter).__name__}")
    if browser is not None and not isinstance(browser, ChromiumTab):
        chromium = ChromiumTab(browser)
        try:
            return await run_checklist(adapter, browser=chromium, items=items)
        finally:
            await chromium.close()
    chosen = [c for c in CHECKS if items is None or c.title in items]
    in_browser = [c for c in chosen if browser is not None and c.in_chromium is not None]
    over_http = [c for c in chosen if c not in in_browser]
    loop = asyncio.get_running_loop()
    _CACHE[id(adapter)] = {}
    with ThreadPoolExecutor(3) as pool:
        try:
            url = adapter.base_url + adapter.protected_path
            await loop.run_in_executor(pool, lambda: _send("GET", url, None, {}))
        except OSError:
            raise AdapterError(f"{adapter.name}: nothing answers at {adapter.base_url}") from None
        try:
            _start_timeouts(adapter, pool, {c.title for c in chosen})
            first = [c for c in over_http if c.phase == 0]
            parts = await asyncio.gather(
                loop.run_in_executor(pool, _run_items, adapter, first),
                _run_in_chromium(adapter, browser, in_browser),
            )
            rest = [c for phase in (1, 2) for c in over_http if c.phase == phase]
            parts.append(await loop.run_in_executor(pool, _run_items, adapter, rest))
        finally:
            for kept in (adapter, adapter.short_timeouts):
                _CACHE.pop(id(kept), None)
    found = {title: answer for part in parts for title, answer in part.items()}
    return [Result(c.title, *found[c.title]) for c in chosen]


def matrix(results: dict[str, list[Result]]):
    """One row per item, one column per app: the cell is PASS, FAIL or N/A."""
    import pandas as pd

    return pd.DataFrame(
        {app: [r.status for r in rows] for app, rows in results.items()},
        index=[r.item for r in next(iter(results.values()))],
    )


# --- the apps under the checklist, deployed ---------------------------------------------------

EXPRESS_APP = Path(__file__).resolve().parents[3] / "node" / "express-session" / "app.js"
#: The Python apps' process groups: each framework in a process of its own, as deployed.
PROCESS_OF = {"django": "django", "flask": "flask", "flask-jwt": "jwt", "book": "jwt"}


@dataclass
class Deployment:
    """The apps under the checklist, each with its adapter, and each framework in its own
    process (Django's configurations in one, Flask's in another, Express's each in Node.js).

    Every configuration runs twice: as configured, and with its timeouts shrunk to 1 s idle and
    2 s absolute for the timeout items. Ask for the adapters first, then :meth:`start` launches
    every process at once; the bench stops them.
    """

    bench: Any
    redis_client: Any = None  # the bench's Redis, for the configurations that keep state there
    redis_port: int | None = None  # its TCP port, for Node.js
    _python: dict[str, list[dict]] = field(default_factory=dict, repr=False)
    _node: list[tuple[list[str], list[int]]] = field(default_factory=list, repr=False)
    _ports: set[int] = field(default_factory=set, repr=False)

    def _free_ports(self) -> list[int]:
        """Two free ports, never one handed out before: the kernel may offer a port twice."""
        ports = []
        while len(ports) < 2:
            port = free_port()
            if port not in self._ports and port != self.redis_port:
                self._ports.add(port)
                ports.append(port)
        return ports

    def _pair(self, kind: str, options: dict, **adapter) -> Adapter:
        ports = self._free_ports()
        for port, short in zip(ports, (False, True), strict=True):
            spec = {"kind": kind, "port": port, "short": short, **options}
            self._python.setdefault(PROCESS_OF[kind], []).append(spec)
        short = Adapter(base_url=f"http://127.0.0.1:{ports[1]}", **adapter)
        return Adapter(base_url=f"http://127.0.0.1:{ports[0]}", short_timeouts=short, **adapter)

    def _redis(self, needed: bool) -> None:
        if needed and self.redis_client is None:
            raise ValueError("this configuration keeps its state on Redis: pass redis_client=")

    def django(self, *, config: str, store: str, settings: dict | None = None) -> Adapter:
        """Django's sessions; ``settings`` overrides settings.py (e.g. for an exercise)."""
        self._redis(store == "redis")
        name = "__Host-sessionid" if config == "recommended" else "sessionid"
        options = {"config": config, "store": store, "settings": settings or {}}
        return self._pair(
            "django",
            options,
            name=f"Django {store} {config}",
            session_cookie=name,
            users=DEMO_USERS,
            csrf_header="X-CSRFToken",
        )

    def flask(self, *, config: str, store: str) -> Adapter:
        """Flask-Login and Flask-WTF, on Flask's signed cookie or on Flask-Session (Redis)."""
        self._redis(store == "redis")
        name = "__Host-session" if config == "recommended" else "session"
        return self._pair(
            "flask",
            {"config": config, "store": store},
            name=f"Flask {store} {config}",
            session_cookie=name,
            users=DEMO_USERS,
            csrf_header="X-CSRFToken",
            self_contained=store == "cookie",
        )

    def flask_jwt(self, *, config: str) -> Adapter:
        """flask-jwt-extended in its cookie mode, its blocklist on Redis."""
        self._redis(True)
        prefix = "__Host-" if config == "recommended" else ""
        return self._pair(
            "flask-jwt",
            {"config": config},
            name=f"flask-jwt-extended {config}",
            session_cookie=f"{prefix}access_token" if prefix else "access_token_cookie",
            users=DEMO_USERS,
            csrf=f"cookie:{prefix}csrf_access_token",
            csrf_header="X-CSRF-TOKEN",
            self_contained=True,
        )

    def reference(self) -> Adapter:
        """The book's own session app (``recommended/session_app.py``), deployed as it advises:
        ``Secure``, ``__Host-session``, on :class:`~sessionlab.recommended.sessions.RedisSessionStore`."""
        self._redis(True)
        return self._pair(
            "book",
            {},
            name="book's session app",
            session_cookie="__Host-session",
            users=DEMO_USERS,
            csrf="login-json",
            csrf_path=None,
            elevate_path=None,
        )

    def express(self, *, config: str) -> Adapter:
        """express-session on connect-redis with csrf-sync (``make node`` installs them)."""
        if shutil.which("node") is None:
            raise RuntimeError("express-session needs Node.js 20: install it, then run `make node`")
        if not (EXPRESS_APP.parent / "node_modules").is_dir():
            raise RuntimeError("express-session's packages are missing: run `make node`")
        if self.redis_port is None:
            raise ValueError("express-session reaches Redis over TCP: pass redis_port=")
        ports = self._free_ports()  # one process: as configured, and with short timeouts
        argv = ["node", str(EXPRESS_APP), "--port", str(ports[0]), "--short-port", str(ports[1])]
        argv += ["--redis-port", str(self.redis_port), "--config", config]
        self._node.append((argv, ports))
        recommended = config == "recommended"
        adapter = dict(
            name=f"Express redis {config}",
            users=DEMO_USERS,
            session_cookie="__Host-sid" if recommended else "connect.sid",
            # Behind its TLS proxy the recommended app sees https (it trusts loopback proxies).
            extra_headers={"X-Forwarded-Proto": "https"} if recommended else {},
        )
        short = Adapter(base_url=f"http://127.0.0.1:{ports[1]}", **adapter)
        return Adapter(base_url=f"http://127.0.0.1:{ports[0]}", short_timeouts=short, **adapter)

    def start(self) -> None:
        """Launch every process asked for so far, all at once; return when all listen."""
        socket_file = getattr(self.redis_client, "socket_file", None)
        launches = list(self._node)
        for specs in self._python.values():
            spec = json.dumps({"redis_socket": socket_file, "apps": specs})
            argv = ["python", "-m", "sessionlab.chapters.sessions_done_right", "--serve", spec]
            launches.append((argv, [s["port"] for s in specs]))
        with ThreadPoolExecutor(len(launches) or 1) as pool:
            spawn = self.bench.spawn
            servers = list(pool.map(lambda launch: spawn(launch[0], port=launch[1][0]), launches))
        self._python, self._node = {}, []
        for server, (argv, ports) in zip(servers, launches, strict=True):
            for port in ports[1:]:
                try:
                    wait_for_port(port)
                except TimeoutError:
                    message = f"{argv[:3]} did not listen on {port}:\n{server.log()}"
                    raise RuntimeError(message) from None


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

        return create_flask_jwt_app(
            config=spec["config"], redis_client=redis_client, demo_short_timeouts=short
        )
    return _book_app(spec["port"], short, redis_client)


def _book_app(port: int, short: bool, redis_client):
    from werkzeug.security import generate_password_hash

    from sessionlab.recommended.frameworks.common import DEMO_HASH
    from sessionlab.recommended.session_app import create_session_app
    from sessionlab.recommended.sessions import RedisSessionStore, SessionCookie

    # Its own user table, hashed at the frameworks' demo cost.
    users = {
        name: {"password_hash": generate_password_hash(password, DEMO_HASH), "role": role}
        for name, (password, role) in DEMO_USERS.items()
    }
    idle, absolute = (1, 2) if short else (1800, 8 * 3600)
    store = RedisSessionStore(
        redis_client, idle_timeout=idle, absolute_timeout=absolute, prefix=f"session:{port}:"
    )
    cookie = SessionCookie([secrets.token_bytes(32)], max_age=absolute)
    return create_session_app(
        store, cookie, users, secure=True, cookie_name="__Host-session", transfer=True
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m sessionlab.chapters.sessions_done_right --serve SPEC``: serve the Python apps
    a :class:`Deployment` asked for, each on its port, until SIGTERM."""
    import argparse
    import os
    import signal

    import redis

    from sessionlab.lab.registry import registration_of

    parser = argparse.ArgumentParser(prog="python -m sessionlab.chapters.sessions_done_right")
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


def redis_commands(adapter: Adapter, redis_client, *, requests: int = 10) -> dict[str, float]:
    """Redis commands per authenticated ``GET`` of the protected page, by command name: the
    server's own counters (``INFO commandstats``) before and after ``requests`` of them by one
    logged-in client. A new connection's handshake (``HELLO``, ``CLIENT SETINFO``) is left out:
    it happens once per server thread, not per request. Nothing else may use this Redis
    meanwhile."""
    client = _logged_in(adapter)
    before = redis_client.info("commandstats")
    for _ in range(requests):
        if not client.authenticated():
            raise AdapterError(f"{adapter.name}: the session ended while counting")
    after = redis_client.info("commandstats")
    counts = {}
    for key, stats in after.items():
        name = key.removeprefix("cmdstat_")
        calls = stats["calls"] - before.get(key, {"calls": 0})["calls"]
        if calls and name not in ("info", "hello", "client"):
            counts[name] = calls / requests
    return counts


async def run_all(adapters: list[Adapter], *, browser=None) -> dict[str, list[Result]]:
    """Every app's checklist, the apps side by side; ``{app name: results}``.

    Every app's timeout probes start at once; the browser items share one
    :class:`ChromiumTab`. The timing item runs afterwards, one app at a time: on a busy machine
    the other apps' work would drown the few milliseconds it looks for.
    """
    quiet = [c.title for c in CHECKS if c.title != TIMING]
    chromium = ChromiumTab(browser) if browser is not None else None
    try:
        runs = [run_checklist(a, browser=chromium, items=quiet) for a in adapters]
        results = dict(zip([a.name for a in adapters], await asyncio.gather(*runs), strict=True))
    finally:
        if chromium is not None:
            await chromium.close()
    for adapter in adapters:
        results[adapter.name] += await run_checklist(adapter, items=[TIMING])
    return results


if __name__ == "__main__":
    raise SystemExit(main())
