"""Part IV's attack harness: one attack timeline played against every variant of the one JWT app.

The fixes people propose for JWT revocation (short expiry, refresh tokens, a deny-list, token
versions, key rotation) are options and parts of :mod:`sessionlab.recommended.jwt_app`; the
names are re-exported here for the chapters. What lives here is the harness:

- :class:`AttackTimeline`: theft, detection (T), outage, in seconds after login.
- :class:`TokenClient` and :class:`CookieClient`: what a browser or an attacker does over HTTP.
- :class:`Variant` and :func:`replay_attack`: every variant through the same timeline.

Time is read from :func:`time.time` everywhere (tokens, families, the verifier), so a chapter
moves the whole app through an attack timeline with ``time_machine.travel(..., tick=False)``.
"""

from __future__ import annotations

import http.cookiejar
import http.cookies
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from flask import Flask

from sessionlab.recommended.jwt_app import (
    AUDIENCE,
    ISSUER,
    KeyRing,
    RefreshFamily,
    RefreshTokenError,
    RefreshTokenReused,
    RefreshTokenStore,
    StoreUnavailableError,
    TokenRevokedError,
    TokenService,
    TokenVersions,
    UnknownKeyError,
)

__all__ = [
    "AUDIENCE",
    "ISSUER",
    "AttackTimeline",
    "KeyRing",
    "UnknownKeyError",
    "RefreshTokenError",
    "RefreshTokenReused",
    "RefreshFamily",
    "RefreshTokenStore",
    "TokenVersions",
    "TokenRevokedError",
    "StoreUnavailableError",
    "TokenService",
    "TokenClient",
    "CookieClient",
    "Variant",
    "replay_attack",
]


@dataclass(frozen=True)
class AttackTimeline:
    """The one attack every variant faces, in seconds after the victim logs in.

    The attacker starts copying the victim's credentials at ``theft`` (an injected script, say,
    that reads each new token); the compromise is detected at ``detected`` (T): the operator
    revokes the victim, removes her admin role, and the attacker loses the foothold but keeps
    the last copies. At ``outage`` the deny-list's store goes down.
    """

    start: int = int(datetime(2026, 1, 5, 9, 0, tzinfo=UTC).timestamp())
    theft: int = 10 * 60
    detected: int = 20 * 60
    outage: int = 40 * 60
    end: int = 60 * 60
    step: int = 60

    def at(self, offset: int) -> int:
        """The Unix time ``offset`` seconds after login."""
        return self.start + offset


class _InProcessResponse:
    """The part of :class:`requests.Response` the clients read, from a Flask test response."""

    def __init__(self, response):
        self.status_code = response.status_code
        self._response = response
        jar = http.cookies.SimpleCookie()
        for header in response.headers.getlist("Set-Cookie"):
            jar.load(header)
        self.cookies = {name: morsel.value for name, morsel in jar.items()}

    def json(self) -> Any:
        return self._response.get_json()

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(f"{self.status_code} from the in-process app")


class _InProcessHTTP:
    """The part of :class:`requests.Session` the clients use, served by Flask's test client.

    Same WSGI app, same code path, no socket and no thread: long replays run in-process.
    """

    def __init__(self, app: Flask):
        self._client = app.test_client(use_cookies=False)

    def get(self, url: str, *, headers=None, cookies=None, timeout=None) -> _InProcessResponse:
        return self._send("GET", url, headers=headers, cookies=cookies)

    def post(self, url: str, *, data=None, headers=None, timeout=None) -> _InProcessResponse:
        return self._send("POST", url, headers=headers, data=data)

    def _send(
        self, method: str, url: str, *, headers=None, cookies=None, data=None
    ) -> _InProcessResponse:
        headers = dict(headers or {})
        if cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        return _InProcessResponse(self._client.open(url, method=method, headers=headers, data=data))


def _http_session() -> requests.Session:
    """A connection pool that never stores cookies: each credential is passed explicitly."""
    session = requests.Session()
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return session


class _AppClient:
    """Shared by the two clients: where the app is, and how to log in to it."""

    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base_url = base_url
        self.timeout = timeout
        self.http = _http_session()

    @classmethod
    def in_process(cls, app: Flask):
        """A client that calls ``app`` in-process (Flask's test client) instead of over a socket."""
        client = cls("")
        client.http = _InProcessHTTP(app)
        return client

    def _post_login(self, username: str, password: str):
        data = {"username": username, "password": password}
        response = self.http.post(f"{self.base_url}/login", data=data, timeout=self.timeout)
        response.raise_for_status()
        return response


class TokenClient(_AppClient):
    """What a client (or an attacker holding copies) does with the token app over HTTP."""

    def login(self, username: str, password: str) -> dict[str, Any]:
        """The token response (``access_token``, maybe ``refresh_token``); raises on failure."""
        return self._post_login(username, password).json()

    def refresh(self, refresh_token: str) -> tuple[int, dict[str, Any]]:
        data = {"refresh_token": refresh_token}
        response = self.http.post(f"{self.base_url}/refresh", data=data, timeout=self.timeout)
        return response.status_code, response.json()

    def get(self, path: str, access_token: str) -> int:
        """The HTTP status of ``GET path`` with the token as a Bearer credential."""
        headers = {"Authorization": f"Bearer {access_token}"}
        return self.http.get(
            f"{self.base_url}{path}", headers=headers, timeout=self.timeout
        ).status_code

    def logout(self, access_token: str) -> int:
        headers = {"Authorization": f"Bearer {access_token}"}
        return self.http.post(
            f"{self.base_url}/logout", headers=headers, timeout=self.timeout
        ).status_code


class CookieClient(_AppClient):
    """The same moves against the session app: the credential is the ``session`` cookie's value."""

    def login(self, username: str, password: str) -> dict[str, Any]:
        response = self._post_login(username, password)
        return {"session": response.cookies["session"], "csrf_token": response.json()["csrf_token"]}

    def get(self, path: str, cookie_value: str) -> int:
        cookies = {"session": cookie_value}
        return self.http.get(
            f"{self.base_url}{path}", cookies=cookies, timeout=self.timeout
        ).status_code


@dataclass
class Variant:
    """One way of running the app, as :func:`replay_attack` drives it.

    ``renew_every`` is how often clients renew their access token (``renew_by`` "login" or
    "refresh"); ``revoke`` is what the operator can do about the victim at T; ``lookups`` and
    ``records`` read the server-side state the variant consults.
    """

    name: str
    client: TokenClient | CookieClient
    users: dict[str, dict[str, Any]]
    revoke: Callable[[str], object]
    lookups: Callable[[], int] = lambda: 0
    renewal_lookups: Callable[[], int] = lambda: 0
    records: Callable[[], int] = lambda: 0
    renew_every: int | None = None
    renew_by: str | None = None


@dataclass
class _Holder:
    """Credentials one party holds, and when they are due for renewal."""

    credential: dict[str, Any]
    renew_at: float | None = None


def _access(client, credential: dict[str, Any]) -> str:
    return credential["session"] if isinstance(client, CookieClient) else credential["access_token"]


def replay_attack(
    variants: list[Variant],
    timeline: AttackTimeline,
    traveller,
    passwords: dict[str, str],
    *,
    victim: str = "alice",
    bystander: str = "bob",
    on_outage: Callable[[], object] | None = None,
) -> list[dict[str, Any]]:
    """Play ``timeline`` against every variant at once, one step at a time; one row per variant and step.

    At each step, in this order: clients renew what is due (the attacker copies the victim's
    new credentials while the foothold lasts); the attacker makes the first copy at ``theft``;
    at ``detected`` the operator demotes the victim and calls ``revoke``; the store goes down at
    ``outage``; then the bystander requests ``/me`` (logging in again after a 401) and the
    attacker requests ``/admin`` with the copies (refreshing them if the variant allows).
    ``traveller`` is a ``time_machine`` traveller; everything reads time from it.
    """
    rows: list[dict[str, Any]] = []
    holders: dict[str, dict[str, _Holder]] = {v.name: {} for v in variants}
    attacker: dict[str, dict[str, Any] | None] = {v.name: None for v in variants}
    renewals = dict.fromkeys(holders, 0)
    for offset in range(0, timeline.end + 1, timeline.step):
        traveller.move_to(timeline.at(offset))
        now = time.time()
        if offset == timeline.outage and on_outage is not None:
            on_outage()
        for v in variants:
            held = holders[v.name]
            if offset == 0:
                for user in (victim, bystander):
                    due = now + v.renew_every if v.renew_every else None
                    held[user] = _Holder(v.client.login(user, passwords[user]), due)
            for user, holder in held.items():
                if (
                    holder.renew_at is not None
                    and now >= holder.renew_at
                    and not (user == victim and offset > timeline.detected)
                ):
                    holder.credential = _renew(v, user, holder.credential, passwords)
                    holder.renew_at = now + v.renew_every
                    renewals[v.name] += 1
                    if user == victim and timeline.theft <= offset <= timeline.detected:
                        attacker[v.name] = dict(holder.credential)
            if offset == timeline.theft:
                attacker[v.name] = dict(held[victim].credential)
            if offset == timeline.detected:
                v.users[victim]["role"] = "user"
                v.revoke(victim)
            bystander_status = v.client.get("/me", _access(v.client, held[bystander].credential))
            relogged = False
            if bystander_status == 401:
                held[bystander].credential = v.client.login(bystander, passwords[bystander])
                relogged = True
                bystander_status = v.client.get(
                    "/me", _access(v.client, held[bystander].credential)
                )
            attacker_status = None
            copy = attacker[v.name]
            if copy is not None:
                attacker_status = v.client.get("/admin", _access(v.client, copy))
                if attacker_status == 401 and copy.get("refresh_token"):
                    status, body = v.client.refresh(copy["refresh_token"])
                    if status == 200:
                        attacker[v.name] = copy = body
                        attacker_status = v.client.get("/admin", copy["access_token"])
            rows.append(
                {
                    "variant": v.name,
                    "minute": offset // 60,
                    "attacker_status": attacker_status,
                    "bystander_status": bystander_status,
                    "bystander_relogged": relogged,
                    "lookups": v.lookups(),
                    "renewals": renewals[v.name],
                    "renewal_lookups": v.renewal_lookups(),
                    "records": v.records() if offset < timeline.outage else None,
                }
            )
    return rows


def _renew(
    v: Variant, user: str, credential: dict[str, Any], passwords: dict[str, str]
) -> dict[str, Any]:
    if v.renew_by == "login":
        return v.client.login(user, passwords[user])
    if v.renew_by == "refresh":
        status, body = v.client.refresh(credential["refresh_token"])
        return body if status == 200 else credential
    raise ValueError(f"unknown renewal {v.renew_by!r}")
