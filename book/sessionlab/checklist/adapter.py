"""How the checklist talks to one app (:class:`Adapter`), and what it answers (:class:`Result`).

An adapter says where an app keeps its login, its protected page, its logout and the rest, how it
wants its CSRF token, and how the credential travels: a cookie (``transport="cookie"``) or a
token from the login's JSON sent as ``Authorization: Bearer`` (``transport="bearer"``). A path of
``None`` means the app has no such feature; an item that needs it FAILs or is N/A by the item's
own rule, with the reason. The adapter checks what it is given: a bad one raises
:class:`AdapterError` before any request is sent.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field

from sessionlab.recommended.frameworks.common import DEMO_USERS

PASS, FAIL, NA = "PASS", "FAIL", "N/A"
ATTACKER_ORIGIN = "http://attacker.localhost"
#: In Chromium: the app's host, its sibling (a host under the same registrable domain, which may
#: set cookies for that whole domain) and that domain.
APP_HOST, SIBLING_HOST, SHARED_DOMAIN = (
    "app.site.localhost",
    "evil.site.localhost",
    "site.localhost",
)
#: The accounts every app under the checklist seeds (demo passwords, never reuse): name ->
#: (password, role). Items use them by name: alice the victim, dave the attacker, carol changes
#: her password, erin is disabled, frank and alice are timed, root is the administrator; erin,
#: gina, hugo and iris take one round of parallel guesses each.
USERS = DEMO_USERS  # the one table the framework apps seed
#: The concurrent-guess item's victims, a round of parallel guesses each (a throttle counts per
#: name, so each round needs a name no other item has guessed at).
RACE_VICTIMS = ("erin", "gina", "hugo", "iris")
FAMILIES = ("server-side", "signed-cookie", "sealed-cookie", "jwt", "opaque-token")
COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class AdapterError(ValueError):
    """The adapter given to the checklist is incomplete or inconsistent."""


@dataclass(frozen=True)
class Result:
    item: str
    status: str
    evidence: str
    engines: dict[str, str] = field(default_factory=dict, compare=False)  # a browser item's
    # status in each engine it ran in ("Chromium", "Firefox"); empty for the items over HTTP


def is_loopback_url(url: str) -> bool:
    parsed = urllib.parse.urlsplit(url)
    return parsed.scheme == "http" and parsed.hostname in ("127.0.0.1", "localhost", "::1")


@dataclass
class Adapter:
    """How the checklist talks to one app. A path of ``None`` means the app has no such feature."""

    name: str
    base_url: str
    session_cookie: str | None  # None only with transport="bearer"
    users: dict[str, tuple[str, str]] = field(default_factory=lambda: dict(USERS))
    csrf: str = "endpoint"  # "endpoint" (GET csrf_path), "login-json", "cookie:<name>", "none"
    csrf_header: str = "X-CSRF-Token"
    csrf_path: str | None = "/csrf"
    transport: str = "cookie"  # "cookie", or "bearer": Authorization: Bearer <token_field>
    token_field: str = "access_token"  # bearer: the login response's JSON field
    auth_scheme: str = "Bearer"  # bearer: the Authorization scheme (knox uses "Token")
    send_origin: bool = False  # send Origin on every POST, as browsers do (better-auth needs it)
    login_path: str = "/login"
    protected_path: str = "/me"
    logout_path: str | None = "/logout"
    logout_everywhere_path: str | None = "/logout-everywhere"
    state_change_path: str | None = "/transfer"
    elevate_path: str | None = "/elevate"
    password_path: str | None = "/password"
    admin_end_sessions_path: str | None = "/admin/end-sessions"
    admin_disable_path: str | None = "/admin/disable"
    admin_role_path: str | None = None  # form user, role (admin only): a role change
    remember_cookie: str | None = None  # the library's persistent login ("remember me")
    self_contained: bool = False  # the credential carries the session (a JWT, a signed cookie)
    family: str = ""  # one of FAMILIES, for grouping the matrix
    short_timeouts: Adapter | None = None  # the same configuration with timeouts of 1 s and 2 s
    extra_headers: dict[str, str] = field(default_factory=dict)  # e.g. a TLS proxy's
    allow_remote: bool = False  # the caller accepted sending traffic beyond loopback

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlsplit(self.base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise AdapterError(f"{self.name}: base_url must be an http URL, not {self.base_url!r}")
        if not self.allow_remote and not is_loopback_url(self.base_url):
            raise AdapterError(
                f"{self.name}: base_url must be http on loopback, not {self.base_url!r}"
            )
        if self.transport not in ("cookie", "bearer"):
            raise AdapterError(f"{self.name}: transport must be 'cookie' or 'bearer'")
        if not (self.session_cookie is None and self.bearer):
            if not COOKIE_NAME.fullmatch(self.session_cookie or ""):
                raise AdapterError(
                    f"{self.name}: session_cookie {self.session_cookie!r} is no cookie name"
                )
        if self.remember_cookie is not None and not COOKIE_NAME.fullmatch(self.remember_cookie):
            raise AdapterError(f"{self.name}: remember_cookie {self.remember_cookie!r} is no name")
        for attribute, value in vars(self).items():
            if attribute.endswith("_path") and value is not None and not str(value).startswith("/"):
                raise AdapterError(f"{self.name}: {attribute} must start with '/', not {value!r}")
        if not (self.csrf in ("endpoint", "login-json", "none") or self.csrf.startswith("cookie:")):
            raise AdapterError(
                f"{self.name}: csrf must be 'endpoint', 'login-json', 'cookie:<name>' or 'none'"
            )
        if self.csrf == "endpoint" and self.csrf_path is None:
            raise AdapterError(f"{self.name}: csrf='endpoint' needs a csrf_path")
        if self.family and self.family not in FAMILIES:
            raise AdapterError(f"{self.name}: family must be one of {', '.join(FAMILIES)}")
        roles = {role for _, role in self.users.values()}
        missing = {"alice", "carol", "dave", "frank", *RACE_VICTIMS} - set(self.users)
        if missing or "admin" not in roles:
            raise AdapterError(
                f"{self.name}: users needs alice, carol, dave, frank, "
                f"{', '.join(RACE_VICTIMS)} and an admin "
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

    @property
    def bearer(self) -> bool:
        return self.transport == "bearer"
