"""Chapter 41's checklist: drive any web app over real HTTP and report PASS / FAIL / N/A per item.

An :class:`Adapter` says where an app keeps its login, its protected page, its logout and the
rest, and how it wants its CSRF token. :func:`run_checklist` runs every item against it and
returns :class:`Result` rows with their evidence; it asserts nothing. The chapter asserts the
whole matrix it expects, so a framework upgrade that changes one cell is a failing diff.

The client keeps cookies itself, as a browser on loopback does: ``Secure`` cookies are sent over
plain http to 127.0.0.1 (Chromium treats loopback as a secure origin), and two cookies of one
name can be sent at once, as after cookie tossing.
"""

from __future__ import annotations

import base64
import http.cookiejar
import json
import math
import re
import secrets
import shutil
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

from sessionlab.lab.servers import free_port
from sessionlab.lab.timing import fmt_duration, fmt_ratio
from sessionlab.recommended.frameworks.common import DEMO_USERS

__all__ = ["Adapter", "AdapterError", "Client", "Result", "run_checklist", "matrix"]

PASS, FAIL, NA = "PASS", "FAIL", "N/A"
ATTACKER_ORIGIN = "http://attacker.localhost"


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


_local = threading.local()


def _http() -> requests.Session:
    """This thread's HTTP connections, kept alive; its cookie jar stays empty (clients keep
    their own cookies)."""
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
        _local.session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return _local.session


@dataclass
class Client:
    """One device: its own cookies, sent as a loopback browser would send them."""

    adapter: Adapter
    cookies: dict[str, str] = field(default_factory=dict)
    set_cookies: list[SetCookie] = field(default_factory=list)
    csrf_token: str | None = None

    def request(self, method: str, path: str, *, data=None, headers=None, cookie_header=None):
        sent = {**self.adapter.extra_headers, **(headers or {})}
        cookie = cookie_header or "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if cookie:
            sent["Cookie"] = cookie
        response = _http().request(
            method,
            self.adapter.base_url + path,
            data=data,
            headers=sent,
            allow_redirects=False,
            timeout=10,
        )
        for header in response.raw.headers.getlist("Set-Cookie"):
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
        response = self.post(self.adapter.login_path, form)
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


def _logged_in(adapter: Adapter, user: str = "alice") -> Client:
    # Up to three tries: with a 1-second idle timeout, a CSRF token bound to the anonymous
    # session can expire between fetching it and posting it when the machine is busy.
    for _ in range(3):
        client = Client(adapter)
        response = client.login(user)
        if response.status_code == 200 and client.authenticated():
            return client
    raise AdapterError(f"{adapter.name}: cannot log in as {user} ({response.status_code})")


def _session_set_cookie(client: Client) -> SetCookie | None:
    name = client.adapter.session_cookie
    return next((c for c in reversed(client.set_cookies) if c.name == name and not c.deletes), None)


# --- the items -------------------------------------------------------------------------------

CHECKS: list[tuple[str, Callable[[Adapter], tuple[str, str]]]] = []


def item(title: str):
    def register(check):
        CHECKS.append((title, check))
        return check

    return register


@item("v5.0.0-7.2.1 tampered or forged cookie refused by the server")
def tampered(a: Adapter):
    client = _logged_in(a)
    value = client.session_value
    flipped = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    forged = Client(a, {**client.cookies, a.session_cookie: flipped})
    if forged.authenticated():
        return FAIL, "a cookie with one character changed still logs in"
    return PASS, "a cookie with one character changed is refused"


@item("v5.0.0-7.2.2 a new token for every login")
def dynamic(a: Adapter):
    first, second = _logged_in(a), _logged_in(a)
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
    ids = [session_id_of(_logged_in(a).session_value) for _ in range(3)]
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


def _idle(a: Adapter):
    client = _logged_in(a)
    time.sleep(1.3)
    return client.authenticated()


def _absolute(a: Adapter):
    client = _logged_in(a)
    deadline = time.monotonic() + 2.4
    while time.monotonic() < deadline:
        if not client.authenticated():
            return False
        time.sleep(0.3)
    return client.authenticated()


def _start_timeouts(a: Adapter, pool: ThreadPoolExecutor) -> None:
    """Start the two slow timeout probes in the background; the other items run meanwhile."""
    if a.short_timeouts is not None:
        _CACHE[a.name]["timeouts"] = {
            "idle": pool.submit(_idle, a.short_timeouts),
            "absolute": pool.submit(_absolute, a.short_timeouts),
        }


def _timeouts(a: Adapter) -> dict[str, bool]:
    futures = _CACHE.get(a.name, {}).get("timeouts", {})
    return {kind: future.result() for kind, future in futures.items()}


_CACHE: dict[str, dict] = {}


@item("v5.0.0-7.3.1 inactivity timeout")
def idle_timeout(a: Adapter):
    result = _timeouts(a)
    if not result:
        return NA, "no short-timeout instance given"
    if result["idle"]:
        return FAIL, "still logged in after 1.3 s idle (timeouts set to 1 s idle, 2 s absolute)"
    return PASS, "refused after 1.3 s idle (timeouts set to 1 s idle, 2 s absolute)"


@item("v5.0.0-7.3.2 absolute maximum session lifetime")
def absolute_timeout(a: Adapter):
    result = _timeouts(a)
    if not result:
        return NA, "no short-timeout instance given"
    if result["absolute"]:
        return FAIL, "still logged in after 2.4 s of activity every 0.3 s"
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


@item("v5.0.0-7.4.5 an administrator ends a user's sessions")
def admin_ends(a: Adapter):
    if a.admin_end_sessions_path is None:
        return FAIL, "no administrator action"
    admin = _logged_in(a, a.admin)
    victim = _logged_in(a)
    status = admin.post(a.admin_end_sessions_path, {"user": "alice"}).status_code
    if victim.authenticated():
        return FAIL, f"alice is still logged in (the admin action answered {status})"
    return PASS, "alice's session is refused after the admin action"


@item("v5.0.0-7.5.2 a user terminates all their sessions")
def logout_everywhere(a: Adapter):
    if a.logout_everywhere_path is None:
        return FAIL, "no log out everywhere"
    here, other = _logged_in(a), _logged_in(a)
    status = here.post(a.logout_everywhere_path).status_code
    if other.authenticated():
        return FAIL, f"the other device is still logged in (log out everywhere answered {status})"
    return PASS, "the other device is logged out"


@item("log out everywhere under concurrent logins")
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
    cache = _CACHE.setdefault(a.name, {})
    if "login_cookie" not in cache:
        cookie = _session_set_cookie(_logged_in(a))
        if cookie is None:
            raise AdapterError(f"{a.name}: login set no {a.session_cookie!r} cookie")
        cache["login_cookie"] = cookie
    return cache["login_cookie"]


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


@item("login CSRF: a cross-site form cannot log the victim in")
def login_csrf(a: Adapter):
    victim = Client(a)
    form = {"username": "dave", "password": a.users["dave"][0]}  # the attacker's account
    headers = {"Origin": ATTACKER_ORIGIN, "Sec-Fetch-Site": "cross-site"}
    status = victim.request("POST", a.login_path, data=form, headers=headers).status_code
    if victim.authenticated():
        return FAIL, f"a cross-site POST without a token logged in (status {status})"
    return PASS, f"a cross-site POST without a token is refused ({status})"


@item("duplicate cookies: a tossed cookie cannot switch accounts")
def tossing(a: Adapter):
    if a.session_cookie.startswith("__Host-"):
        return PASS, "__Host- cookies cannot be set by a sibling host, so none can be tossed"
    attacker, victim = _logged_in(a, "dave"), _logged_in(a)
    name = a.session_cookie
    # A browser sends the cookie with the longer Path first: the attacker's, set for /me.
    both = f"{name}={attacker.session_value}; {name}={victim.session_value}"
    response = victim.request("GET", a.protected_path, cookie_header=both)
    user = response.json().get("user") if response.status_code == 200 else None
    if user == "dave":
        return FAIL, "with two session cookies the first (the attacker's) wins"
    return FAIL, (
        f"no __Host- prefix: with two cookies the app answers {response.status_code} "
        "(a sibling host may still evict the victim's cookie and plant its own)"
    )


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
    value = _logged_in(a).session_value
    for raw in decode_attempts(value):
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(data, dict):
            return FAIL, f"decodes to JSON with keys {sorted(data)}"
    return PASS, "no segment decodes to data: an opaque identifier"


@item("no persistent cookie unless the user asks to be remembered")
def not_persistent(a: Adapter):
    client = _logged_in(a)
    lasting = sorted({c.name for c in client.set_cookies if c.persistent})
    if lasting:
        ages = {c.name: c.attributes.get("max-age", "Expires") for c in client.set_cookies}
        return FAIL, "persistent: " + ", ".join(f"{n} (Max-Age {ages[n]})" for n in lasting)
    return PASS, "every cookie set without 'remember me' ends with the browser session"


@item("Cache-Control: no-store on authenticated responses")
def no_store(a: Adapter):
    client = Client(a)
    login = client.login("alice")
    page = client.request("GET", a.protected_path)
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


@item("password guesses throttled")
def throttling(a: Adapter):
    client = Client(a)
    statuses = [client.login("dave", f"guess {i}").status_code for i in range(10)]
    right = client.login("dave").status_code
    refused = sum(s == 429 for s in statuses)
    if refused or right != 200:
        return PASS, f"{refused} of 10 guesses answered 429; the right password then got {right}"
    return FAIL, "10 wrong guesses, none slowed or refused, then the right password worked"


TIMING = "login timing does not reveal which users exist"


@item(TIMING)
def timing(a: Adapter):
    client = Client(a)
    client.token()

    def timed(user):
        start = time.perf_counter()
        client.login(user, "wrong password")
        return time.perf_counter() - start

    # Interleaved, and the fastest of each: other load on the machine only ever adds time.
    # Four wrong guesses per known user stay under any throttle worth having (five, here).
    known_users = ["frank"] * 4 + ["alice"] * 4
    pairs = [(timed(user), timed(f"nobody{i}")) for i, user in enumerate(known_users)]
    known, unknown = min(k for k, _ in pairs), min(u for _, u in pairs)
    ratio = max(known, unknown) / min(known, unknown)
    evidence = f"known {fmt_duration(known)}, unknown {fmt_duration(unknown)}"
    return (FAIL if ratio > 1.5 else PASS), f"{evidence} ({fmt_ratio(ratio)})"


def run_checklist(adapter: Adapter, *, items: list[str] | None = None) -> list[Result]:
    """Every item (or those titled in ``items``) against one app, in order; asserts nothing.

    Raises :class:`AdapterError` for an adapter that is not one, or an app that does not answer.
    """
    if not isinstance(adapter, Adapter):
        raise AdapterError(f"run_checklist needs an Adapter, not {type(adapter).__name__}")
    _CACHE[adapter.name] = {}
    try:
        requests.get(adapter.base_url + adapter.protected_path, timeout=5)
    except requests.ConnectionError:
        raise AdapterError(f"{adapter.name}: nothing answers at {adapter.base_url}") from None
    results = []
    with ThreadPoolExecutor(2) as pool:
        _start_timeouts(adapter, pool)
        for title, check in CHECKS:
            if items is not None and title not in items:
                continue
            status, evidence = check(adapter)
            results.append(Result(title, status, evidence))
    _CACHE.pop(adapter.name, None)
    return results


def matrix(results: dict[str, list[Result]]):
    """One row per item, one column per app: the cell is PASS, FAIL or N/A."""
    import pandas as pd

    return pd.DataFrame(
        {app: [r.status for r in rows] for app, rows in results.items()},
        index=[r.item for r in next(iter(results.values()))],
    )


# --- the apps under the checklist, each with its adapter ---------------------------------------

EXPRESS_APP = Path(__file__).resolve().parents[3] / "node" / "express-session" / "app.js"


def _pair(serve: Callable[[bool], str], **adapter) -> Adapter:
    """An adapter for an app and, for the timeout items, the same app with short timeouts."""
    short = Adapter(base_url=serve(True), **adapter)
    return Adapter(base_url=serve(False), short_timeouts=short, **adapter)


def flask_adapter(bench, *, config: str, store: str, redis_client=None) -> Adapter:
    from sessionlab.recommended.frameworks.flask_apps import create_flask_app

    def serve(short: bool) -> str:
        app = create_flask_app(
            config=config, store=store, redis_client=redis_client, demo_short_timeouts=short
        )
        return bench.serve(app).url

    name = "__Host-session" if config == "recommended" else "session"
    return _pair(
        serve,
        name=f"Flask {store} {config}",
        session_cookie=name,
        users=DEMO_USERS,
        csrf_header="X-CSRFToken",
        self_contained=store == "cookie",
    )


def django_adapter(bench, *, config: str, store: str, redis_client=None) -> Adapter:
    from sessionlab.recommended.frameworks.django_apps import create_django_app

    def serve(short: bool) -> str:
        app = create_django_app(
            config=config, store=store, redis_client=redis_client, demo_short_timeouts=short
        )
        return bench.serve(app).url

    name = "__Host-sessionid" if config == "recommended" else "sessionid"
    return _pair(
        serve,
        name=f"Django {store} {config}",
        session_cookie=name,
        users=DEMO_USERS,
        csrf_header="X-CSRFToken",
    )


def express_adapter(bench, *, config: str, redis_port: int) -> Adapter:
    """express-session in its own Node.js process (``make node`` installs its packages)."""
    if shutil.which("node") is None:
        raise RuntimeError("express-session needs Node.js 20: install it, then run `make node`")
    if not (EXPRESS_APP.parent / "node_modules").is_dir():
        raise RuntimeError("express-session's packages are missing: run `make node`")

    def serve(short: bool) -> str:
        port = free_port()
        argv = ["node", str(EXPRESS_APP), "--port", str(port), "--redis-port", str(redis_port)]
        argv += ["--config", config, *(["--short-timeouts"] if short else [])]
        return bench.spawn(argv, port=port).url

    recommended = config == "recommended"
    return _pair(
        serve,
        name=f"Express redis {config}",
        users=DEMO_USERS,
        session_cookie="__Host-sid" if recommended else "connect.sid",
        # Behind its TLS proxy the recommended app sees https (it trusts loopback proxies).
        extra_headers={"X-Forwarded-Proto": "https"} if recommended else {},
    )


def reference_adapter(bench) -> Adapter:
    """The book's own session app (``recommended/session_app.py``), deployed as it advises."""
    from sessionlab.lab.fixtures import make_users
    from sessionlab.recommended.session_app import create_session_app
    from sessionlab.recommended.sessions import MemorySessionStore, SessionCookie

    users = make_users(**DEMO_USERS)

    def serve(short: bool) -> str:
        idle, absolute = (1, 2) if short else (1800, 8 * 3600)
        store = MemorySessionStore(idle_timeout=idle, absolute_timeout=absolute)
        cookie = SessionCookie([secrets.token_bytes(32)], max_age=absolute)
        app = create_session_app(
            store, cookie, users, secure=True, cookie_name="__Host-session", transfer=True
        )
        return bench.serve(app).url

    return _pair(
        serve,
        name="book's session app",
        session_cookie="__Host-session",
        users=DEMO_USERS,
        csrf="login-json",
        csrf_path=None,
        elevate_path=None,
        password_path=None,
        admin_end_sessions_path=None,
        admin_disable_path=None,
    )


def run_all(adapters: list[Adapter]) -> dict[str, list[Result]]:
    """Every app's checklist, the apps side by side in threads; ``{app name: results}``.

    The timing item runs afterwards, one app at a time: on a busy machine the other apps'
    work would drown the few milliseconds it looks for.
    """
    quiet = [title for title, _ in CHECKS if title != TIMING]
    with ThreadPoolExecutor(len(adapters)) as pool:
        futures = {a.name: pool.submit(run_checklist, a, items=quiet) for a in adapters}
        results = {name: future.result() for name, future in futures.items()}
    for adapter in adapters:
        results[adapter.name] += run_checklist(adapter, items=[TIMING])
    return results
