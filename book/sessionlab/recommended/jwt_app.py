"""The one JWT app of the book, built from parts, with an option for each variant the chapters compare.

:func:`create_jwt_app` logs a user in by handing out a signed access token and then checks it
on every request. With no options it is the stateless design the essay criticises, built
correctly (keys from ``secrets``, the book's :func:`~sessionlab.recommended.tokens.verify_token`):
no lookup on any request. Each option adds one remedy, and each remedy is a part kept here:

- ``deny_list``: the book's one "set of ``jti`` until ``exp``" (``MemoryJtiStore``,
  ``RedisJtiStore`` of :mod:`sessionlab.recommended.webauth`)
  or a deny-list that also refuses a whole user (:class:`MemoryDenyList`, :class:`RedisDenyList`,
  :class:`CachedDenyList`, the last a per-process copy pushed by Redis pub/sub).
- ``token_versions``: a :class:`TokenVersions` counter per user, read on every request.
- ``refresh_tokens``: a :class:`RefreshTokenStore` of rotating refresh-token families.
- ``role_from``: ``"token"`` (default) or ``"users"`` (the admin check reads the user table).
- ``credential``: ``"header"`` (``Authorization: Bearer``) or ``"cookie"`` (an ``HttpOnly``,
  ``Secure``, ``SameSite=Strict`` cookie named ``token``).
- ``dpop``: a :class:`DPoPVerifier`; tokens are then sender-constrained (RFC 9449): bound to
  the client's key by ``cnf.jkt`` and refused without a fresh proof signed by that key.
- ``keys`` may be a :class:`KeyRing` (signing keys by ``kid``; rotating it logs everyone out).

Every store here is safe under concurrent requests (a lock, or one atomic Redis command).
Access tokens have ``typ: at+jwt``, DPoP proofs ``typ: dpop+jwt`` and refresh tokens are opaque,
so no kind is accepted where another is expected.

Endpoints: ``POST /login`` (form ``username``/``password``) returns ``access_token``,
``expires_in`` and, with refresh tokens, ``refresh_token``; ``POST /refresh`` (form
``refresh_token``); ``POST /renew`` (sliding re-issue); ``GET /me``, ``GET /profile``,
``GET /admin`` (role ``admin``); ``POST /logout``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import redis
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask, abort, jsonify, request

from sessionlab.lab.registry import registered_app
from sessionlab.recommended.tokens import (
    KeyPair,
    b64url_encode,
    generate_keys,
    issue_token,
    verify_token,
)
from sessionlab.recommended.webauth import (
    LoginThrottle,
    MemoryJtiStore,
    RedisJtiStore,
    add_security_headers,
    bearer_token,
    check_password,
    cross_site_refusal,
)

__all__ = [
    "AUDIENCE",
    "ISSUER",
    "bearer_token",
    "KeyRing",
    "UnknownKeyError",
    "MemoryJtiStore",
    "RedisJtiStore",
    "MemoryDenyList",
    "RedisDenyList",
    "CachedDenyList",
    "TokenVersions",
    "RefreshTokenError",
    "RefreshTokenReused",
    "RefreshFamily",
    "RefreshTokenStore",
    "TokenRevokedError",
    "StoreUnavailableError",
    "InvalidDPoPProofError",
    "UseDPoPNonceError",
    "DPoPNonces",
    "DPoPKey",
    "DPoPVerifier",
    "jwk_thumbprint",
    "access_token_hash",
    "TokenService",
    "set_token_cookie",
    "create_jwt_app",
]

AUDIENCE = "https://api.example"
ISSUER = "https://login.example"
#: The OAuth client the access tokens are issued to (RFC 9068 §2.2's ``client_id``): the app's
#: own web front end.
CLIENT_ID = "web-app"
COOKIE_NAME = "token"
_DEFAULT = object()


# --- keys ------------------------------------------------------------------------------------


class UnknownKeyError(jwt.InvalidTokenError):
    """The token's ``kid`` names no key the server still holds."""


class KeyRing:
    """HS256 keys by ``kid``: sign with the newest, verify with any key still held."""

    def __init__(self) -> None:
        self._keys: dict[str, KeyPair] = {}
        self._serial = 0
        self._lock = threading.Lock()
        self.current_kid = ""
        self.rotate()

    def rotate(self, *, keep_old: bool = False) -> str:
        """Make a fresh key the signing key; without ``keep_old`` every older key is dropped."""
        with self._lock:
            self._serial += 1
            kid = f"k{self._serial}"
            keys = dict(self._keys) if keep_old else {}
            keys[kid] = generate_keys("HS256")
            self._keys, self.current_kid = keys, kid
            return kid

    def signing_key(self) -> tuple[str, KeyPair]:
        with self._lock:
            return self.current_kid, self._keys[self.current_kid]

    def key_for(self, token: str) -> KeyPair:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise
        except Exception as exc:  # a header that is JSON but not an object, say
            raise jwt.DecodeError(f"unreadable header: {type(exc).__name__}") from None
        keys = self._keys
        if not isinstance(kid, str) or kid not in keys:
            raise UnknownKeyError(f"no key with kid {kid!r}")
        return keys[kid]

    def __len__(self) -> int:
        return len(self._keys)


# --- the one "set of jti until exp" store, and deny-lists built on it -------------------------


class MemoryDenyList(MemoryJtiStore):
    """A jti store that can also refuse every token of a user issued up to a cut-off (``iat``)."""

    def __init__(self, clock: Callable[[], float] = time.time, *, max_token_lifetime: int = 86400):
        super().__init__(clock)
        self.max_token_lifetime = max_token_lifetime
        self._cutoffs: dict[str, float] = {}

    def deny_token(self, claims: dict[str, Any]) -> None:
        self.add(claims["jti"], claims["exp"])

    def deny_user(self, user_id: str) -> None:
        with self._lock:
            self._cutoffs[user_id] = self.clock()

    def is_denied(self, claims: dict[str, Any]) -> bool:
        if self.contains(claims["jti"]):
            return True
        with self._lock:
            cutoff = self._cutoffs.get(claims["sub"])
        return cutoff is not None and claims["iat"] <= cutoff


class RedisDenyList(RedisJtiStore):
    """The same on Redis; :meth:`is_denied` asks for the token and its user in one ``MGET``."""

    def __init__(
        self,
        client,
        *,
        prefix: str = "denied:",
        clock: Callable[[], float] = time.time,
        max_token_lifetime: int = 86400,
    ):
        super().__init__(client, prefix=prefix, clock=clock)
        self.max_token_lifetime = int(max_token_lifetime)

    def deny_token(self, claims: dict[str, Any]) -> None:
        self.add(claims["jti"], claims["exp"])

    def deny_user(self, user_id: str) -> None:
        key = f"{self.prefix}user:{user_id}"
        self.client.set(key, int(self.clock()), ex=self.max_token_lifetime)

    def is_denied(self, claims: dict[str, Any]) -> bool:
        self._count()
        jti_hit, cutoff = self.client.mget(
            f"{self.prefix}{claims['jti']}", f"{self.prefix}user:{claims['sub']}"
        )
        return jti_hit is not None or (cutoff is not None and claims["iat"] <= int(cutoff))

    def __len__(self) -> int:
        return sum(1 for _ in self.client.scan_iter(match=f"{self.prefix}*"))


class _NotingPubSub(redis.client.PubSub):
    """redis-py's subscription, which also notes when it has reconnected by itself."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reconnected = threading.Event()

    def on_connect(self, connection) -> None:
        self.reconnected.set()
        super().on_connect(connection)


class CachedDenyList:
    """A deny-list held in each process and pushed by Redis pub/sub: no network lookup per request.

    A revocation is written to Redis (so a process that starts later loads it), numbered by a
    Redis counter (``INCR``) and published with its number; every process's listener applies it
    to its local :class:`MemoryDenyList`. Each copy also publishes a heartbeat carrying the
    newest number every ``heartbeat`` seconds. A request asks only the local copy
    (``remote_lookups`` stays 0) while the copy is *in sync*: it heard from the channel within
    ``lease`` seconds and has applied every number up to the newest it has seen.

    Pub/sub alone fails open: redis-py reconnects and resubscribes by itself, and what was
    published in between is lost for good; a connection that goes silent without a reset looks
    like a quiet channel. So the copy leaves sync on a reconnect, on a gap in the numbers and when
    the lease runs out, and comes back only after subscribing again and reloading everything from
    Redis. Out of sync, :meth:`is_denied` never answers from the copy: it asks Redis (counted in
    ``remote_lookups``) and raises :class:`StoreUnavailableError` (fail closed) when Redis does
    not answer. The price is a delay (publish to applied, measured by the chapter), a heartbeat
    per process, and a revocation that can take up to ``lease`` seconds while a connection is
    silent. Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        client,
        *,
        channel: str = "deny-list",
        clock: Callable[[], float] = time.time,
        max_token_lifetime: int = 86400,
        heartbeat: float = 0.2,
        lease: float = 1.5,
    ):
        if not 0 < heartbeat < lease:
            raise ValueError("the heartbeat must be positive and shorter than the lease")
        self.client = client
        self.channel = channel
        self.heartbeat, self.lease = heartbeat, lease
        self.store = RedisDenyList(
            client, prefix=f"{channel}:", clock=clock, max_token_lifetime=max_token_lifetime
        )
        self.local = MemoryDenyList(clock, max_token_lifetime=max_token_lifetime)
        self.applied_at: dict[str, float] = {}  # jti or user -> time.perf_counter() when applied
        self.remote_lookups = 0
        self.resyncs = 0  # times the copy was reloaded from Redis (the first load included)
        self._sequence_key = f"{channel}.sequence"  # outside the store's prefix
        self._applied = 0  # the newest number applied
        self._newest_seen = 0  # the newest number a heartbeat announced
        self._heard_at = float("-inf")  # time.monotonic() of the last message
        self._stop = threading.Event()
        self._in_sync = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._listen, daemon=True, name="deny-list"),
            threading.Thread(target=self._beat, daemon=True, name="deny-list-heartbeat"),
        ]
        for thread in self._threads:
            thread.start()
        if not self._in_sync.wait(5):
            self.close()
            raise StoreUnavailableError("could not subscribe to the deny-list channel")

    @property
    def lookups(self) -> int:
        return self.local.lookups

    @property
    def applied_sequence(self) -> int:
        """The number of the newest revocation this copy has applied."""
        with self._lock:
            return self._applied

    def sequence_in_redis(self) -> int:
        """The number of the newest revocation Redis has handed out."""
        return int(self.client.get(self._sequence_key) or 0)

    @property
    def in_sync(self) -> bool:
        """The copy can answer alone: subscribed, nothing missing, heard within the lease."""
        with self._lock:
            fresh = time.monotonic() - self._heard_at <= self.lease
            return self._in_sync.is_set() and fresh and self._applied >= self._newest_seen

    def _publish(self, message: dict[str, Any]) -> None:
        message["seq"] = int(self.client.incr(self._sequence_key))  # after the store's write
        self.client.publish(self.channel, json.dumps(message))

    def deny_token(self, claims: dict[str, Any]) -> None:
        self.store.deny_token(claims)
        self._publish({"jti": claims["jti"], "exp": claims["exp"]})

    def deny_user(self, user_id: str) -> None:
        self.store.deny_user(user_id)
        self._publish({"user": user_id, "at": self.local.clock()})

    def is_denied(self, claims: dict[str, Any]) -> bool:
        if self.in_sync:
            return self.local.is_denied(claims)
        # Out of sync: the source of truth, or nothing. The newest number comes along, so the copy
        # cannot answer alone again before it has applied what Redis just answered from.
        prefix = self.store.prefix
        try:
            jti_hit, cutoff, newest = self.client.mget(
                f"{prefix}{claims['jti']}", f"{prefix}user:{claims['sub']}", self._sequence_key
            )
        except (redis.exceptions.RedisError, OSError):
            raise StoreUnavailableError(
                "deny-list copy out of sync and Redis unreachable"
            ) from None
        with self._lock:
            self.remote_lookups += 1
            self._newest_seen = max(self._newest_seen, int(newest or 0))
        return jti_hit is not None or (cutoff is not None and claims["iat"] <= int(cutoff))

    def _apply(self, message: dict[str, Any]) -> None:
        if "jti" in message:
            self.local.add(str(message["jti"]), float(message["exp"]))
            self.applied_at[str(message["jti"])] = time.perf_counter()
        elif "user" in message:
            with self.local._lock:
                self.local._cutoffs[str(message["user"])] = float(message["at"])
            self.applied_at[str(message["user"])] = time.perf_counter()

    def _load(self) -> None:
        """Copy what Redis holds: the number first, then the entries (a revocation is written
        before it is numbered, so every number up to the one read is in what is copied)."""
        sequence = int(self.client.get(self._sequence_key) or 0)
        prefix = self.store.prefix
        for key in self.client.scan_iter(match=f"{prefix}*"):
            name = key.decode()[len(prefix) :]
            ttl = self.client.ttl(key)
            if ttl <= 0:
                continue
            if name.startswith("user:"):
                value = self.client.get(key)
                if value is not None:
                    self._apply({"user": name[5:], "at": float(value)})
            else:
                self._apply({"jti": name, "exp": self.local.clock() + ttl})
        with self._lock:
            # Not max(): a restarted Redis without persistence counts from 0 again.
            self._applied = self._newest_seen = sequence
            self._heard_at = time.monotonic()
            self.resyncs += 1

    def _receive(self, message: dict[str, Any]) -> bool:
        """Apply one message; ``False`` when the copy must resync (a gap in the numbers)."""
        with self._lock:
            self._heard_at = time.monotonic()
            if "heartbeat" in message:
                self._newest_seen = max(self._newest_seen, int(message["heartbeat"]))
                return True
            sequence = int(message["seq"])
            if sequence <= self._applied:
                return True  # already in the reload
            if sequence > self._applied + 1:
                return False  # something was published while we could not hear it
            self._applied = sequence
        self._apply(message)
        return True

    def _listen(self) -> None:
        while not self._stop.is_set():
            self._in_sync.clear()
            # redis-py reconnects and resubscribes by itself: note it, so the copy resyncs.
            pubsub = _NotingPubSub(self.client.connection_pool, ignore_subscribe_messages=True)
            reconnected = pubsub.reconnected
            try:
                pubsub.subscribe(self.channel)
                deadline = time.monotonic() + self.lease
                while not pubsub.subscribed:  # what arrives before the reload is in the reload
                    pubsub.get_message(timeout=0.05)
                    if self._stop.is_set():
                        return
                    if time.monotonic() > deadline:
                        raise redis.exceptions.TimeoutError("no reply to SUBSCRIBE")
                reconnected.clear()
                self._load()
                self._in_sync.set()
                while not self._stop.is_set() and not reconnected.is_set():
                    message = pubsub.get_message(timeout=0.05)
                    if message is not None and not self._receive(json.loads(message["data"])):
                        break
                    with self._lock:
                        silent = time.monotonic() - self._heard_at > self.lease
                        behind = self._applied < self._newest_seen
                    if silent or (behind and time.monotonic() - self._heard_at > self.heartbeat):
                        break
            except (redis.exceptions.RedisError, OSError, ValueError, KeyError, TypeError):
                self._stop.wait(0.1)
            finally:
                self._in_sync.clear()
                with contextlib.suppress(Exception):
                    pubsub.close()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat):
            with contextlib.suppress(redis.exceptions.RedisError, OSError):
                newest = int(self.client.get(self._sequence_key) or 0)
                self.client.publish(self.channel, json.dumps({"heartbeat": newest}))

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)

    def __enter__(self) -> CachedDenyList:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- token versions and refresh tokens ---------------------------------------------------------


class TokenVersions:
    """A ``token_version`` column in the users table, read on every request.

    A token carries the version it was issued under (``ver``); bumping the user's version
    refuses all of that user's older tokens at once. The row read on every request also holds
    the current role, so the check returns it: the token's own ``role`` claim is no longer used.
    """

    def __init__(self, users: dict[str, dict[str, Any]]):
        self.users = users
        self.lookups = 0
        self._lock = threading.Lock()

    def current(self, user_id: str) -> tuple[int, str]:
        """The user's token version and role, as the database says now."""
        with self._lock:
            self.lookups += 1
            row = self.users[user_id]
            return row.get("token_version", 0), row["role"]

    def bump(self, user_id: str) -> int:
        with self._lock:
            row = self.users[user_id]
            row["token_version"] = row.get("token_version", 0) + 1
            return row["token_version"]


class RefreshTokenError(Exception):
    """The refresh token is unknown, expired, bound to another key, or its family was revoked."""


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
    jkt: str | None = None  # the DPoP key the family is bound to, if any


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


class RefreshTokenStore:
    """Refresh tokens with rotation and reuse detection (RFC 9700 §4.14.2), one record per login.

    A token is ``<family id>.<secret>``. Each exchange replaces the family's secret, so every
    token works once; presenting an older one means two parties hold the chain, and the whole
    family is revoked because the server cannot tell which of them is the thief. A family
    issued with ``jkt`` is also sender-constrained: only a request proving that key may use it.
    """

    def __init__(self, *, lifetime: int, clock: Callable[[], float] = time.time):
        self.lifetime = lifetime
        self.clock = clock
        self._families: dict[str, RefreshFamily] = {}
        self._lock = threading.Lock()
        self.lookups = 0

    def issue(self, user_id: str, *, jkt: str | None = None) -> str:
        """Start a family at login and return its first refresh token."""
        family_id, secret = secrets.token_urlsafe(16), secrets.token_urlsafe(32)
        family = RefreshFamily(user_id, self.clock(), _digest(secret), jkt=jkt)
        with self._lock:
            self._families[family_id] = family
        return f"{family_id}.{secret}"

    def _live_family(self, family_id: str, jkt: str | None) -> RefreshFamily:
        family = self._families.get(family_id)
        if family is None or family.revoked or self.clock() - family.created_at > self.lifetime:
            raise RefreshTokenError("unknown, expired or revoked refresh token")
        if family.jkt is not None and jkt != family.jkt:
            raise RefreshTokenError("refresh token is bound to another key")
        return family

    def check(self, token: str, *, jkt: str | None = None) -> None:
        """Raise :class:`RefreshTokenError` unless ``token`` names a live family bound to
        ``jkt``; changes nothing (so a DPoP proof's ``jti`` is stored only after this passes)."""
        with self._lock:
            self._live_family(token.partition(".")[0], jkt)

    def rotate(self, token: str, *, jkt: str | None = None) -> tuple[str, str]:
        """Exchange a refresh token for its successor; returns ``(user_id, new_token)``."""
        family_id, _, secret = token.partition(".")
        with self._lock:
            self.lookups += 1
            family = self._live_family(family_id, jkt)
            if not hmac.compare_digest(_digest(secret), family.current_digest):
                family.revoked = True
                raise RefreshTokenReused(f"generation {family.generation} was already replaced")
            new_secret = secrets.token_urlsafe(32)
            family.current_digest = _digest(new_secret)
            family.generation += 1
            return family.user_id, f"{family_id}.{new_secret}"

    def revoke_family(self, family_id: str) -> bool:
        """Revoke one login's family (its logout); ``False`` when there was no live one."""
        with self._lock:
            family = self._families.get(family_id)
            if family is None or family.revoked:
                return False
            family.revoked = True
            return True

    def revoke_user(self, user_id: str) -> int:
        """Revoke every family of a user (log out everywhere); returns how many were live."""
        with self._lock:
            live = [f for f in self._families.values() if f.user_id == user_id and not f.revoked]
            for family in live:
                family.revoked = True
            return len(live)

    def records_for(self, user_id: str) -> int:
        with self._lock:
            return sum(f.user_id == user_id for f in self._families.values())

    def __len__(self) -> int:
        return len(self._families)


# --- DPoP (RFC 9449) -----------------------------------------------------------------------------


class InvalidDPoPProofError(jwt.InvalidTokenError):
    """The DPoP proof is missing, malformed, stale, replayed, or not made by the bound key."""


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint: SHA-256 of the required members, sorted, no whitespace, base64url."""
    required = {
        "EC": ("crv", "kty", "x", "y"),
        "RSA": ("e", "kty", "n"),
        "OKP": ("crv", "kty", "x"),
    }
    members = required.get(jwk.get("kty"))
    if members is None or not all(isinstance(jwk.get(m), str) for m in members):
        raise InvalidDPoPProofError("unsupported or incomplete public key")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode()).digest())


def access_token_hash(access_token: str) -> str:
    """The ``ath`` claim: base64url SHA-256 of the access token's ASCII bytes (RFC 9449 §4.2)."""
    return b64url_encode(hashlib.sha256(access_token.encode("ascii")).digest())


class DPoPKey:
    """A client's DPoP key pair (P-256) and the proofs it signs.

    In a browser this is a WebCrypto key made with ``extractable: false``: script in the page
    cannot read it, but can ask it to sign. :meth:`signer` models exactly that: a function that
    signs proofs and exposes no key.
    """

    def __init__(self) -> None:
        self._private = ec.generate_private_key(ec.SECP256R1())
        numbers = self._private.public_key().public_numbers()
        self.public_jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url_encode(numbers.x.to_bytes(32, "big")),
            "y": b64url_encode(numbers.y.to_bytes(32, "big")),
        }
        self.thumbprint = jwk_thumbprint(self.public_jwk)

    def proof(
        self,
        htm: str,
        htu: str,
        *,
        access_token: str | None = None,
        now: float,
        nonce: str | None = None,
    ) -> str:
        claims = {"jti": secrets.token_urlsafe(16), "htm": htm, "htu": htu, "iat": int(now)}
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        if nonce is not None:
            claims["nonce"] = nonce
        headers = {"typ": "dpop+jwt", "jwk": self.public_jwk}
        return jwt.encode(claims, self._private, algorithm="ES256", headers=headers)

    def signer(self) -> Callable[..., str]:
        """Sign proofs without handing out the key (what a non-extractable key allows)."""
        return self.proof


class UseDPoPNonceError(InvalidDPoPProofError):
    """The proof lacks the server's current nonce (RFC 9449 §8, §9: ``use_dpop_nonce``)."""


class DPoPNonces:
    """Server-provided DPoP nonces (RFC 9449 §8, §9), a new one every ``period`` seconds.

    A nonce is ``<period number>.<HMAC of it>``: nothing to store, and the current and the
    previous period's nonce are accepted, so a client that just fetched one is not refused at
    the turn. A proof must carry one, which its signer could not know in advance: a script that
    signs proofs now for use later (``iat`` set in the future) gets proofs that stop working
    once the nonce has moved on.
    """

    def __init__(self, *, period: int = 60, clock: Callable[[], float] = time.time):
        self.period = period
        self.clock = clock
        self._key = secrets.token_bytes(32)

    def _nonce(self, number: int) -> str:
        mac = hmac.new(self._key, str(number).encode(), hashlib.sha256).digest()
        return f"{number}.{b64url_encode(mac[:16])}"

    def current(self) -> str:
        return self._nonce(int(self.clock() // self.period))

    def valid(self, nonce: object) -> bool:
        if not isinstance(nonce, str) or not nonce.isascii():
            return False
        number = int(self.clock() // self.period)
        return any(hmac.compare_digest(nonce, self._nonce(n)) for n in (number, number - 1))


class DPoPVerifier:
    """Checks DPoP proofs (RFC 9449 §4.3): signature by the embedded public key, ``typ``,
    ``htm``, ``htu``, ``iat`` within ``max_age``, ``ath`` and the key thumbprint; with
    ``nonces``, the server's current nonce (§8, §9); and that the proof's ``jti`` was never
    seen, which needs a replay cache (a jti store): state again.
    """

    def __init__(
        self,
        replay_cache,
        *,
        max_age: int = 60,
        clock: Callable[[], float] = time.time,
        nonces: DPoPNonces | None = None,
    ):
        self.replay_cache = replay_cache
        self.max_age = max_age
        self.clock = clock
        self.nonces = nonces

    def verify(
        self,
        proof: str | None,
        *,
        htm: str,
        htu: str,
        access_token: str | None = None,
        jkt: str | None = None,
        before_replay_check: Callable[[str], None] | None = None,
    ) -> str:
        """The thumbprint of the proof's key; raises :class:`InvalidDPoPProofError`.

        ``htu`` is the URL as the server knows itself (its configured origin and the path),
        never one built from the request's ``Host`` header. ``before_replay_check(thumbprint)``
        runs before the ``jti`` is stored and may raise: a proof whose key owns nothing here
        (no live refresh token, say) then costs the replay cache nothing.
        """
        if not proof or len(proof) > 4096:
            raise InvalidDPoPProofError("missing or oversized DPoP proof")
        try:
            header = jwt.get_unverified_header(proof)
            jwk = header.get("jwk")
            if header.get("typ") != "dpop+jwt" or header.get("alg") != "ES256":
                raise InvalidDPoPProofError("not a dpop+jwt proof signed with ES256")
            if not isinstance(jwk, dict) or "d" in jwk or jwk.get("crv") != "P-256":
                raise InvalidDPoPProofError("the proof must carry a P-256 public key")
            thumbprint = jwk_thumbprint(jwk)
            public = jwt.PyJWK(jwk, algorithm="ES256").key
            claims = jwt.decode(
                proof, public, algorithms=["ES256"], options={"require": ["jti", "iat"]}
            )
        except InvalidDPoPProofError:
            raise
        except Exception as exc:  # PyJWT, cryptography and bad JSON members alike
            raise InvalidDPoPProofError(f"bad proof: {type(exc).__name__}") from None
        now = self.clock()
        if claims.get("htm") != htm or claims.get("htu") != htu:
            raise InvalidDPoPProofError("proof made for another request")
        iat = claims["iat"]
        if not isinstance(iat, int) or abs(now - iat) > self.max_age:
            raise InvalidDPoPProofError("proof too old or from the future")
        if access_token is not None and claims.get("ath") != access_token_hash(access_token):
            raise InvalidDPoPProofError("proof made for another access token")
        if jkt is not None and not hmac.compare_digest(thumbprint, jkt):
            raise InvalidDPoPProofError("proof signed by another key than the token is bound to")
        if self.nonces is not None and not self.nonces.valid(claims.get("nonce")):
            raise UseDPoPNonceError("proof without the server's current nonce")
        if before_replay_check is not None:
            before_replay_check(thumbprint)
        jti = claims["jti"]
        if not isinstance(jti, str) or not self.replay_cache.claim(jti, iat + self.max_age + 1):
            raise InvalidDPoPProofError("proof replayed")
        return thumbprint


# --- issuing and checking ------------------------------------------------------------------------


class TokenRevokedError(jwt.InvalidTokenError):
    """The token is well-formed and unexpired, but the server has revoked it."""


class StoreUnavailableError(Exception):
    """The store a revocation check needs is down, and the service is set to fail closed."""


def set_token_cookie(
    response, name: str, token: str, *, lifetime: int, samesite: str = "Strict"
) -> None:
    """Put an access token in a cookie no script reads (``HttpOnly``), sent over HTTPS only
    (``Secure``), to the whole site, kept as long as the token lives (``Max-Age``)."""
    response.set_cookie(
        name, token, max_age=lifetime, path="/", httponly=True, secure=True, samesite=samesite
    )


class TokenService:
    """Issue and check access tokens for one configuration of the app.

    With nothing but keys it is a stateless JWT service; a deny-list or :class:`TokenVersions`
    adds a server-side check to :meth:`authenticate`. ``fail_open=True`` weakens the default:
    while the deny-list is unreachable, nothing is refused.
    """

    def __init__(
        self,
        users: dict[str, dict[str, Any]],
        keys: KeyPair | KeyRing,
        *,
        access_lifetime: int,
        deny_list=None,
        fail_open: bool = False,
        token_versions: TokenVersions | None = None,
        clock: Callable[[], float] = time.time,
        audience: str = AUDIENCE,
        issuer: str = ISSUER,
        client_id: str = CLIENT_ID,
    ):
        self.users = users
        self.keys = keys
        self.access_lifetime = access_lifetime
        self.deny_list = deny_list
        self.fail_open = fail_open
        self.token_versions = token_versions
        self.clock = clock
        self.audience, self.issuer, self.client_id = audience, issuer, client_id
        self.issued = 0
        self._lock = threading.Lock()

    @property
    def keyring(self) -> KeyPair | KeyRing:
        return self.keys

    def issue_access(
        self,
        user_id: str,
        *,
        jkt: str | None = None,
        auth_time: int | None = None,
        sid: str | None = None,
    ) -> str:
        """A signed access token with the user's role (and profile) as the database says now;
        ``sid`` names the login (its refresh-token family), so that its logout can end it."""
        row = self.users[user_id]
        claims = {"sub": user_id, "role": row["role"], "jti": secrets.token_urlsafe(16)}
        if sid is not None:
            claims["sid"] = sid
        if "website" in row:
            claims["website"] = row["website"]
        if self.token_versions is not None:
            claims["ver"] = row.get("token_version", 0)
        if jkt is not None:
            claims["cnf"] = {"jkt": jkt}
        if auth_time is not None:
            claims["auth_time"] = int(auth_time)
        kid, keys = self.keys.signing_key() if isinstance(self.keys, KeyRing) else (None, self.keys)
        with self._lock:
            self.issued += 1
        return issue_token(
            claims,
            keys,
            now=int(self.clock()),
            lifetime=self.access_lifetime,
            audience=self.audience,
            issuer=self.issuer,
            client_id=self.client_id,
            kid=kid,
        )

    def authenticate(self, token: str) -> dict[str, Any]:
        """The claims of a valid, unrevoked token; raises a :class:`jwt.PyJWTError` subclass otherwise."""
        keys = self.keys.key_for(token) if isinstance(self.keys, KeyRing) else self.keys
        claims = verify_token(token, keys, audience=self.audience, issuer=self.issuer)
        if not isinstance(claims.get("jti"), str):
            raise jwt.MissingRequiredClaimError("jti")
        if self.deny_list is not None:
            try:
                if hasattr(self.deny_list, "is_denied"):
                    denied = self.deny_list.is_denied(claims)
                else:
                    denied = self.deny_list.contains(claims["jti"])
            except (redis.exceptions.ConnectionError, StoreUnavailableError):
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

    def revoke_token(self, claims: dict[str, Any]) -> bool:
        """Refuse this token from now on; ``False`` when there is no deny-list to put it on."""
        if self.deny_list is None:
            return False
        if hasattr(self.deny_list, "deny_token"):
            self.deny_list.deny_token(claims)
        else:
            self.deny_list.add(claims["jti"], claims["exp"])
        return True


def _sample():
    from sessionlab.lab.fixtures import make_users

    users = make_users(alice=("correct horse battery staple", "admin"), bob=("pw-bob-1234", "user"))
    keys = generate_keys("HS256")
    yield "stateless", create_jwt_app(keys, users, lifetime=300)
    yield (
        "cookie, role from users",
        create_jwt_app(keys, users, lifetime=300, credential="cookie", role_from="users"),
    )
    yield "deny-list", create_jwt_app(keys, users, lifetime=300, deny_list=MemoryDenyList())
    yield (
        "token versions, key ring",
        create_jwt_app(KeyRing(), users, lifetime=300, token_versions=TokenVersions(users)),
    )
    yield (
        "refresh tokens",
        create_jwt_app(keys, users, lifetime=300, refresh_tokens=RefreshTokenStore(lifetime=3600)),
    )
    yield (
        "DPoP with refresh tokens",
        create_jwt_app(
            keys,
            users,
            lifetime=300,
            refresh_tokens=RefreshTokenStore(lifetime=3600),
            dpop=DPoPVerifier(MemoryJtiStore(), nonces=DPoPNonces()),
            origin="http://127.0.0.1:9",
        ),
    )


@registered_app("jwt app", sample=_sample)
def create_jwt_app(
    keys: KeyPair | KeyRing,
    users: dict[str, dict[str, Any]],
    *,
    lifetime: int,
    deny_list=None,
    fresh_roles: bool = False,
    clock: Callable[[], float] = time.time,
    credential: str = "header",
    role_from: str = "token",
    token_versions: TokenVersions | None = None,
    refresh_tokens: RefreshTokenStore | None = None,
    dpop: DPoPVerifier | None = None,
    fail_open: bool = False,
    sliding_renewal: int | None = None,
    service: TokenService | None = None,
    origin: str | None = None,
    login_throttle: LoginThrottle | None = _DEFAULT,  # type: ignore[assignment]
) -> Flask:
    """The JWT app. ``app.service`` issues and checks tokens; ``app.config["JWT_KEYS"]`` holds the
    keys and may be replaced (rotation). ``fresh_roles=True`` is ``role_from="users"``.
    ``sliding_renewal``: ``POST /renew`` trades a valid access token for a fresh one, up to that
    many seconds after the login (``auth_time``); whoever holds a copy can renew it too.
    ``app.users_lookups`` counts the reads of the user table that ``role_from="users"`` makes.
    ``origin``: the server's public origin (``https://api.example``), required with ``dpop``: a
    proof's ``htu`` is compared with it and the path, never with the ``Host`` header a client
    sends. ``login_throttle``: the book's one :class:`LoginThrottle` (default: 10 failures per
    user per 15 minutes); ``None`` turns it off (*weaker*). Every response carries
    ``Cache-Control: no-store`` (token responses must not be cached, RFC 6749 §5.1); ``/logout``
    also ends the login's refresh-token family; in cookie mode, ``/login`` refuses a cross-site
    form (login CSRF), by Fetch Metadata and the Origin fallback as the session app does.
    """
    if credential not in ("header", "cookie") or role_from not in ("token", "users"):
        raise ValueError("credential is 'header' or 'cookie'; role_from is 'token' or 'users'")
    if dpop is not None and credential != "header":
        raise ValueError("DPoP proofs travel in headers: use credential='header'")
    if dpop is not None and not origin:
        raise ValueError("DPoP needs origin=, the server's own origin, to check a proof's htu")
    throttle = LoginThrottle() if login_throttle is _DEFAULT else login_throttle
    if service is None:
        service = TokenService(
            users,
            keys,
            access_lifetime=lifetime,
            deny_list=deny_list,
            fail_open=fail_open,
            token_versions=token_versions,
            clock=clock,
        )
    app = Flask(__name__)
    app.service = service
    app.config["JWT_KEYS"] = service.keys
    app.users_lookups = 0
    roles_from_users = fresh_roles or role_from == "users"

    def presented_token() -> str | None:
        if credential == "cookie":
            return request.cookies.get(COOKIE_NAME) or None
        return bearer_token(request.headers.get("Authorization", ""), "DPoP" if dpop else "Bearer")

    @app.after_request
    def headers(response):
        if dpop is not None and dpop.nonces is not None:
            response.headers["DPoP-Nonce"] = dpop.nonces.current()  # RFC 9449 §8.2, §9
        return add_security_headers(response)

    def proof_key(access_token=None, jkt=None, before_replay_check=None) -> str:
        try:
            return dpop.verify(
                request.headers.get("DPoP"),
                htm=request.method,
                htu=origin.rstrip("/") + request.path,
                access_token=access_token,
                jkt=jkt,
                before_replay_check=before_replay_check,
            )
        except UseDPoPNonceError:
            # §8 (token endpoint): 400 use_dpop_nonce; §9 (resources): 401 with the challenge.
            response = jsonify(error="use_dpop_nonce")
            response.status_code = 400 if access_token is None else 401
            if access_token is not None:
                response.headers["WWW-Authenticate"] = 'DPoP error="use_dpop_nonce"'
            abort(response)
        except InvalidDPoPProofError:
            abort(401)

    def current_claims() -> dict[str, Any]:
        token = presented_token()
        if token is None:
            abort(401)
        service.keys = app.config["JWT_KEYS"]
        try:
            claims = service.authenticate(token)
        except jwt.PyJWTError:
            abort(401)
        except StoreUnavailableError:
            abort(503)
        if dpop is not None:
            bound = (
                claims.get("cnf", {}).get("jkt") if isinstance(claims.get("cnf"), dict) else None
            )
            if not isinstance(bound, str):
                abort(401)
            proof_key(token, bound)
        return claims

    def token_response(
        user_id: str, refresh_token: str | None, jkt: str | None, auth_time: int | None = None
    ):
        service.keys = app.config["JWT_KEYS"]
        if sliding_renewal is not None and auth_time is None:
            auth_time = int(service.clock())
        sid = refresh_token.partition(".")[0] if refresh_token is not None else None
        access = service.issue_access(user_id, jkt=jkt, auth_time=auth_time, sid=sid)
        body = {"access_token": access, "expires_in": service.access_lifetime}
        if dpop is not None:
            body["token_type"] = "DPoP"
        if refresh_token is not None:
            body["refresh_token"] = refresh_token
        response = jsonify(body)
        if credential == "cookie":
            set_token_cookie(response, COOKIE_NAME, access, lifetime=service.access_lifetime)
        return response

    @app.post("/login")
    def login():
        # Login CSRF: with the token in a cookie, a cross-site form must not log the victim in.
        if credential == "cookie" and cross_site_refusal(request.headers, request.host_url):
            abort(403)
        username = request.form.get("username", "")
        if throttle is not None and (wait := throttle.begin(username)):
            response = jsonify(error="too many failed logins")
            response.status_code = 429
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        if not check_password(users, username, request.form.get("password", "")):
            abort(401)  # the failure was counted by begin()
        if throttle is not None:
            throttle.succeeded(username)
        jkt = proof_key() if dpop is not None else None
        refresh = refresh_tokens.issue(username, jkt=jkt) if refresh_tokens is not None else None
        return token_response(username, refresh, jkt)

    @app.post("/refresh")
    def refresh():
        if refresh_tokens is None:
            abort(404)
        presented = request.form.get("refresh_token", "")
        jkt = None
        if dpop is not None:
            # The proof's jti is stored only once its key owns a live refresh token.
            try:
                jkt = proof_key(
                    before_replay_check=lambda k: refresh_tokens.check(presented, jkt=k)
                )
            except RefreshTokenError:
                return jsonify(error="invalid refresh token"), 401
        try:
            user_id, new_refresh = refresh_tokens.rotate(presented, jkt=jkt)
        except RefreshTokenReused:
            return jsonify(error="refresh token reused: family revoked"), 401
        except RefreshTokenError:
            return jsonify(error="invalid refresh token"), 401
        return token_response(user_id, new_refresh, jkt)

    @app.post("/renew")
    def renew():
        if sliding_renewal is None:
            abort(404)
        claims = current_claims()
        auth_time = claims.get("auth_time")
        if not isinstance(auth_time, int) or service.clock() - auth_time > sliding_renewal:
            abort(401)
        jkt = claims["cnf"]["jkt"] if dpop is not None else None
        return token_response(claims["sub"], None, jkt, auth_time)

    @app.get("/me")
    def me():
        claims = current_claims()
        return jsonify(user=claims["sub"], role=claims["role"])

    @app.get("/profile")
    def profile():
        claims = current_claims()
        return jsonify(user=claims["sub"], website=claims.get("website"))

    @app.get("/admin")
    def admin():
        claims = current_claims()
        role = claims["role"]
        if roles_from_users:
            # A lookup per request: the token no longer decides, the database does.
            app.users_lookups += 1
            role = users.get(claims["sub"], {}).get("role")
        if role != "admin":
            abort(403)
        return jsonify(admin=claims["sub"])

    @app.post("/logout")
    def logout():
        claims = current_claims()
        changed = service.revoke_token(claims)
        if refresh_tokens is not None and isinstance(claims.get("sid"), str):
            changed = refresh_tokens.revoke_family(claims["sid"]) or changed  # this login ends
        # Without a deny-list there is nothing on the server to delete: any copy lives on.
        response = jsonify(logged_out=True, server_state_changed=changed)
        if credential == "cookie":
            response.delete_cookie(
                COOKIE_NAME, path="/", secure=True, httponly=True, samesite="Strict"
            )
        return response

    return app
