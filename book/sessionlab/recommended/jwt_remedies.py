"""Part IV: the fixes people propose for JWT revocation, on one small app and one attack timeline.

The essay's follow-up answers the usual replies to "you cannot revoke a stateless JWT": make
tokens expire quickly, add refresh tokens, keep a deny-list, check a per-user token version,
rotate the signing key. Each fix lives here as a small, readable piece that the chapters show
with ``{literalinclude}``:

- :class:`KeyRing`: HS256 keys by ``kid``; rotating it is the "log everyone out" button.
- :class:`RefreshTokenStore`: refresh-token families with rotation and reuse detection.
- :class:`DenyList`: revoked tokens and users in Redis, consulted on every request.
- :class:`TokenVersions`: a per-user counter in the users table, read on every request.
- :class:`TokenService` and :func:`create_token_app`: the one token app every variant runs.
- :class:`TokenClient` and :class:`CookieClient`: what a browser or an attacker does over HTTP.

Time is read from :func:`time.time` everywhere (tokens, families, the verifier), so a chapter
moves the whole app through an attack timeline with ``time_machine.travel(..., tick=False)``.
"""

from __future__ import annotations

import hashlib
import hmac
import http.cookiejar
import http.cookies
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
import redis
import requests
from flask import Flask, abort, jsonify, request
from werkzeug.security import check_password_hash

from sessionlab.recommended.tokens import KeyPair, generate_keys, issue_token, verify_token

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
    "DenyList",
    "TokenVersions",
    "TokenRevokedError",
    "StoreUnavailableError",
    "TokenService",
    "create_token_app",
    "TokenClient",
    "CookieClient",
    "Variant",
    "replay_attack",
]

AUDIENCE = "https://app.example.test"
ISSUER = "https://app.example.test"


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


class UnknownKeyError(jwt.InvalidTokenError):
    """The token's ``kid`` names no key the server still holds."""


class KeyRing:
    """HS256 keys by ``kid``: sign with the newest, verify with any key still held."""

    def __init__(self) -> None:
        self._keys: dict[str, KeyPair] = {}
        self._serial = 0
        self.current_kid = ""
        self.rotate()

    def rotate(self, *, keep_old: bool = False) -> str:
        """Make a fresh key the signing key; without ``keep_old`` every older key is dropped."""
        self._serial += 1
        kid = f"k{self._serial}"
        if not keep_old:
            self._keys.clear()
        self._keys[kid] = generate_keys("HS256")
        self.current_kid = kid
        return kid

    def signing_key(self) -> tuple[str, KeyPair]:
        return self.current_kid, self._keys[self.current_kid]

    def key_for(self, token: str) -> KeyPair:
        kid = jwt.get_unverified_header(token).get("kid")
        if kid not in self._keys:
            raise UnknownKeyError(f"no key with kid {kid!r}")
        return self._keys[kid]

    def __len__(self) -> int:
        return len(self._keys)


class RefreshTokenError(Exception):
    """The refresh token is unknown, expired, or its family was revoked."""


class RefreshTokenReused(RefreshTokenError):
    """A refresh token that was already exchanged came back: the whole family is now revoked."""


@dataclass
class RefreshFamily:
    """One login's chain of refresh tokens: the server keeps only the digest of the newest."""

    user_id: str
    created_at: float
    current_digest: bytes
    generation: int = 0
    revoked: bool = False


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


class RefreshTokenStore:
    """Refresh tokens with rotation and reuse detection (RFC 9700 §4.14.2), one record per login.

    A token is ``<family id>.<secret>``. Each exchange replaces the family's secret, so every
    token works once; presenting an older one means two parties hold the chain, and the whole
    family is revoked because the server cannot tell which of them is the thief.
    """

    def __init__(self, *, lifetime: int):
        self.lifetime = lifetime
        self._families: dict[str, RefreshFamily] = {}
        self._lock = threading.Lock()
        self.lookups = 0

    def issue(self, user_id: str) -> str:
        """Start a family at login and return its first refresh token."""
        family_id, secret = secrets.token_urlsafe(16), secrets.token_urlsafe(32)
        with self._lock:
            self._families[family_id] = RefreshFamily(user_id, time.time(), _digest(secret))
        return f"{family_id}.{secret}"

    def rotate(self, token: str) -> tuple[str, str]:
        """Exchange a refresh token for its successor; returns ``(user_id, new_token)``."""
        family_id, _, secret = token.partition(".")
        with self._lock:
            self.lookups += 1
            family = self._families.get(family_id)
            if family is None or family.revoked or time.time() - family.created_at > self.lifetime:
                raise RefreshTokenError("unknown, expired or revoked refresh token")
            if not hmac.compare_digest(_digest(secret), family.current_digest):
                family.revoked = True
                raise RefreshTokenReused(f"generation {family.generation} was already replaced")
            new_secret = secrets.token_urlsafe(32)
            family.current_digest = _digest(new_secret)
            family.generation += 1
            return family.user_id, f"{family_id}.{new_secret}"

    def revoke_user(self, user_id: str) -> int:
        """Revoke every family of a user (log out everywhere); returns how many were live."""
        with self._lock:
            live = [f for f in self._families.values() if f.user_id == user_id and not f.revoked]
            for family in live:
                family.revoked = True
            return len(live)

    def records_for(self, user_id: str) -> int:
        return sum(f.user_id == user_id for f in self._families.values())

    def __len__(self) -> int:
        return len(self._families)


class DenyList:
    """Revoked tokens (by ``jti``) and revoked users (by cut-off time) in Redis.

    Each entry lives only as long as a token it refuses could, so the list stays small; but
    :meth:`is_denied` runs on every request, and raises :class:`redis.exceptions.ConnectionError`
    when Redis is unreachable.
    """

    def __init__(self, client: redis.Redis, *, max_token_lifetime: int, prefix: str = "deny:"):
        self.client = client
        self.max_token_lifetime = int(max_token_lifetime)
        self.prefix = prefix
        self.lookups = 0

    def deny_token(self, claims: dict[str, Any]) -> None:
        """Refuse one token (logout) until its own expiry."""
        remaining = max(1, int(claims["exp"] - time.time()))
        self.client.set(f"{self.prefix}jti:{claims['jti']}", 1, ex=remaining)

    def deny_user(self, user_id: str) -> None:
        """Refuse every token of ``user_id`` issued up to now (revoke the user)."""
        self.client.set(
            f"{self.prefix}user:{user_id}", int(time.time()), ex=self.max_token_lifetime
        )

    def is_denied(self, claims: dict[str, Any]) -> bool:
        """One round trip to Redis for both checks."""
        self.lookups += 1
        jti_hit, user_cutoff = self.client.mget(
            f"{self.prefix}jti:{claims['jti']}", f"{self.prefix}user:{claims['sub']}"
        )
        return jti_hit is not None or (
            user_cutoff is not None and claims["iat"] <= int(user_cutoff)
        )

    def __len__(self) -> int:
        return sum(1 for _ in self.client.scan_iter(match=f"{self.prefix}*"))


class TokenVersions:
    """A ``token_version`` column in the users table, read on every request.

    A token carries the version it was issued under (``ver``); bumping the user's version
    refuses all of that user's older tokens at once. The row read on every request also holds
    the current role, so the check returns it: the token's own ``role`` claim is no longer used.
    """

    def __init__(self, users: dict[str, dict[str, Any]]):
        self.users = users
        self.lookups = 0

    def current(self, user_id: str) -> tuple[int, str]:
        """The user's token version and role, as the database says now."""
        self.lookups += 1
        row = self.users[user_id]
        return row.get("token_version", 0), row["role"]

    def bump(self, user_id: str) -> int:
        row = self.users[user_id]
        row["token_version"] = row.get("token_version", 0) + 1
        return row["token_version"]


class TokenRevokedError(jwt.InvalidTokenError):
    """The token is well-formed and unexpired, but the server has revoked it."""


class StoreUnavailableError(Exception):
    """The store a revocation check needs is down, and the service is set to fail closed."""


class TokenService:
    """Issue and check access tokens for one variant of the app.

    With nothing but a key ring it is a stateless JWT service; a :class:`DenyList` or
    :class:`TokenVersions` adds a server-side check to :meth:`authenticate`.
    """

    def __init__(
        self,
        users: dict[str, dict[str, Any]],
        keyring: KeyRing,
        *,
        access_lifetime: int,
        deny_list: DenyList | None = None,
        fail_open: bool = False,
        token_versions: TokenVersions | None = None,
    ):
        self.users = users
        self.keyring = keyring
        self.access_lifetime = access_lifetime
        self.deny_list = deny_list
        self.fail_open = fail_open
        self.token_versions = token_versions
        self.issued = 0

    def issue_access(self, user_id: str) -> str:
        """A signed access token with the user's role as the database says now."""
        row = self.users[user_id]
        claims = {"sub": user_id, "role": row["role"], "jti": secrets.token_urlsafe(16)}
        if self.token_versions is not None:
            claims["ver"] = row.get("token_version", 0)
        kid, keys = self.keyring.signing_key()
        self.issued += 1
        return issue_token(
            claims,
            keys,
            now=int(time.time()),
            lifetime=self.access_lifetime,
            audience=AUDIENCE,
            issuer=ISSUER,
            kid=kid,
        )

    def authenticate(self, token: str) -> dict[str, Any]:
        """The claims of a valid, unrevoked token; raises a :class:`jwt.PyJWTError` subclass otherwise."""
        claims = verify_token(token, self.keyring.key_for(token), audience=AUDIENCE, issuer=ISSUER)
        if self.deny_list is not None:
            try:
                denied = self.deny_list.is_denied(claims)
            except redis.exceptions.ConnectionError:
                if not self.fail_open:
                    raise StoreUnavailableError(
                        "deny-list unreachable: refusing every token"
                    ) from None
                denied = False  # fail open: the deny-list is down, so nothing is refused
            if denied:
                raise TokenRevokedError("token is on the deny-list")
        if self.token_versions is not None:
            version, role = self.token_versions.current(claims["sub"])
            if claims.get("ver") != version:
                raise TokenRevokedError("token version is out of date")
            claims = {**claims, "role": role}
        return claims


def create_token_app(
    service: TokenService,
    users: dict[str, dict[str, Any]],
    *,
    refresh_tokens: RefreshTokenStore | None = None,
) -> Flask:
    """The token app: POST /login, POST /refresh, GET /me, GET /admin, POST /logout (Bearer tokens)."""
    app = Flask(__name__)

    def current_claims() -> dict[str, Any]:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not token:
            abort(401)
        try:
            return service.authenticate(token)
        except jwt.PyJWTError:
            abort(401)
        except StoreUnavailableError:
            abort(503)

    def token_response(user_id: str, refresh_token: str | None):
        body = {
            "access_token": service.issue_access(user_id),
            "expires_in": service.access_lifetime,
        }
        if refresh_token is not None:
            body["refresh_token"] = refresh_token
        return jsonify(body)

    @app.post("/login")
    def login():
        user = users.get(request.form.get("username", ""))
        if user is None or not check_password_hash(
            user["password_hash"], request.form.get("password", "")
        ):
            abort(401)
        username = request.form["username"]
        refresh = refresh_tokens.issue(username) if refresh_tokens is not None else None
        return token_response(username, refresh)

    @app.post("/refresh")
    def refresh():
        if refresh_tokens is None:
            abort(404)
        try:
            user_id, new_refresh = refresh_tokens.rotate(request.form.get("refresh_token", ""))
        except RefreshTokenReused:
            return jsonify(error="refresh token reused: family revoked"), 401
        except RefreshTokenError:
            return jsonify(error="invalid refresh token"), 401
        return token_response(user_id, new_refresh)

    @app.get("/me")
    def me():
        claims = current_claims()
        return jsonify(user=claims["sub"], role=claims["role"])

    @app.get("/admin")
    def admin():
        claims = current_claims()
        if claims["role"] != "admin":
            abort(403)
        return jsonify(admin=claims["sub"])

    @app.post("/logout")
    def logout():
        claims = current_claims()
        if service.deny_list is not None:
            service.deny_list.deny_token(claims)
        return jsonify(token_refused_from_now_on=service.deny_list is not None)

    return app


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
