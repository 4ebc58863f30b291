"""Server-side sessions the way the book recommends: a random ID, a signed cookie, a store.

The session ID carries no data; it is 256 random bits from :mod:`secrets`. The cookie holds
that ID signed with itsdangerous (so garbage is refused before it reaches the store), and the
data lives in a store the server controls, so it can be changed or deleted at any moment.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import itsdangerous

__all__ = [
    "Session",
    "CookieTooLargeError",
    "SessionCookie",
    "MemorySessionStore",
    "RedisSessionStore",
    "new_session_id",
]

SESSION_ID_BYTES = (
    32  # 256 bits; OWASP asks for at least 64 bits of entropy, RFC 6749 §10.10 for 128
)
MAX_COOKIE_LENGTH = 4096


def new_session_id() -> str:
    """A fresh, unguessable session ID: 256 bits from the OS's CSPRNG, base64url (43 characters)."""
    return secrets.token_urlsafe(SESSION_ID_BYTES)


class CookieTooLargeError(itsdangerous.BadData):
    """The cookie is longer than any browser would have stored; refused unparsed."""


class _ClockedSigner(itsdangerous.TimestampSigner):
    clock: Callable[[], float] = time.time

    def get_timestamp(self) -> int:
        return int(self.clock())


class SessionCookie:
    """Sign session IDs into cookie values and load them back, refusing anything else.

    ``secret_keys`` is a list, oldest first: new cookies are signed with the last key and any
    key verifies, which is how a key is rotated without logging everyone out (itsdangerous).
    ``max_age`` bounds a cookie's age from its signed timestamp: an absolute timeout that holds
    even if the store forgets to expire an entry.

    Raises :class:`ValueError` at construction when there is no key at all (``[]``), or when a
    key is not ``bytes`` or ``str`` or is shorter than 32 bytes (a ``str`` counted in UTF-8
    bytes); :meth:`loads` raises only :class:`itsdangerous.BadData` subclasses.
    """

    def __init__(
        self,
        secret_keys: list[bytes] | bytes,
        *,
        max_age: int,
        salt: str = "sessionlab.session-id",
        clock: Callable[[], float] = time.time,
    ):
        keys = list(secret_keys) if isinstance(secret_keys, list | tuple) else [secret_keys]
        if not keys:
            raise ValueError("SessionCookie needs at least one secret key")
        for key in keys:
            if not isinstance(key, bytes | str):
                raise ValueError(f"a secret key is bytes or str, not {type(key).__name__}")
            if len(key.encode("utf-8") if isinstance(key, str) else key) < 32:
                raise ValueError("each secret key needs at least 32 bytes")
        signer_class = type("Signer", (_ClockedSigner,), {"clock": staticmethod(clock)})
        self._signer = signer_class(keys, salt=salt)
        self.max_age = max_age

    def dumps(self, session_id: str) -> str:
        return self._signer.sign(session_id).decode("ascii")

    def loads(self, cookie_value: str) -> str:
        """The session ID inside ``cookie_value``; raises :class:`itsdangerous.BadData` subclasses."""
        if not isinstance(cookie_value, str) or not cookie_value:
            raise itsdangerous.BadSignature("empty or not text")
        if len(cookie_value) > MAX_COOKIE_LENGTH:
            raise CookieTooLargeError(f"cookie is {len(cookie_value)} characters")
        if not cookie_value.isascii():
            raise itsdangerous.BadSignature("cookie is not ASCII")
        parts = cookie_value.rsplit(".", 2)
        if len(parts) != 3 or not all(_is_canonical_base64(part) for part in parts[1:]):
            # itsdangerous decodes base64 leniently; insist on the one encoding it produces, so
            # no two different cookie strings carry the same valid signature.
            raise itsdangerous.BadSignature("malformed cookie")
        return self._signer.unsign(cookie_value, max_age=self.max_age).decode("ascii")


def _is_canonical_base64(text: str) -> bool:
    try:
        return (
            itsdangerous.encoding.base64_encode(itsdangerous.encoding.base64_decode(text)).decode()
            == text
        )
    except itsdangerous.BadData:
        return False


@dataclass
class Session:
    """What the server knows about one login."""

    session_id: str
    user_id: str
    created_at: float
    last_seen: float
    data: dict[str, Any] = field(default_factory=dict)


class MemorySessionStore:
    """A session store in a dict, with idle and absolute timeouts under an injectable clock.

    Expired sessions are deleted when touched and by :meth:`purge_expired`: server-side expiry
    also frees the memory, which a token's ``exp`` never does. Every method holds one lock, so
    concurrent requests (waitress serves each in its own thread) never see the dict change
    under an iteration, and "log out everywhere" ends every session created before it.
    """

    def __init__(
        self,
        *,
        idle_timeout: float,
        absolute_timeout: float,
        clock: Callable[[], float] = time.time,
    ):
        self.idle_timeout = idle_timeout
        self.absolute_timeout = absolute_timeout
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.RLock()
        self.lookups = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def create(self, user_id: str, data: dict[str, Any] | None = None) -> Session:
        with self._lock:
            now = self.clock()
            session = Session(new_session_id(), user_id, now, now, dict(data or {}))
            self._sessions[session.session_id] = session
            return session

    def _expired(self, session: Session, now: float) -> bool:
        return (
            now - session.last_seen > self.idle_timeout
            or now - session.created_at > self.absolute_timeout
        )

    def get(self, session_id: str) -> Session | None:
        """The live session for ``session_id`` (refreshing its idle timer), or ``None``."""
        with self._lock:
            self.lookups += 1
            session = self._sessions.get(session_id)
            if session is None:
                return None
            now = self.clock()
            if self._expired(session, now):
                del self._sessions[session_id]
                return None
            session.last_seen = now
            return session

    def delete(self, session_id: str) -> bool:
        with self._lock:
            return self._sessions.pop(session_id, None) is not None

    def delete_user(self, user_id: str) -> int:
        """Log a user out everywhere; returns how many sessions ended."""
        with self._lock:
            doomed = [sid for sid, s in self._sessions.items() if s.user_id == user_id]
            for sid in doomed:
                del self._sessions[sid]
            return len(doomed)

    def purge_expired(self) -> int:
        with self._lock:
            now = self.clock()
            doomed = [sid for sid, s in self._sessions.items() if self._expired(s, now)]
            for sid in doomed:
                del self._sessions[sid]
            return len(doomed)


class RedisSessionStore:
    """The same interface on a real Redis: one key per session with a TTL, one set per user.

    The idle timeout is the key's TTL, refreshed on every use; the absolute timeout is checked
    against ``created_at``. Redis deletes expired keys itself.

    Both times come from one clock. By default (``clock=None``) that is Redis's own (``TIME``,
    fetched in the same round trip as the lookup), so workers on machines whose clocks disagree
    never compare one worker's ``created_at`` with another worker's clock. Pass ``clock`` only to
    simulate time in a single process (a :class:`~sessionlab.lab.clock.ManualClock`).
    """

    def __init__(
        self,
        client,
        *,
        idle_timeout: int,
        absolute_timeout: int,
        prefix: str = "session:",
        clock: Callable[[], float] | None = None,
    ):
        self.client = client
        self.idle_timeout = int(idle_timeout)
        self.absolute_timeout = absolute_timeout
        self.prefix = prefix
        self.clock = clock
        self.lookups = 0
        self._count_lock = threading.Lock()  # ``+=`` alone can lose counts between threads

    def _key(self, session_id: str) -> str:
        return f"{self.prefix}{session_id}"

    def _server_time(self) -> float:
        seconds, microseconds = self.client.time()
        return seconds + microseconds / 1_000_000

    def create(self, user_id: str, data: dict[str, Any] | None = None) -> Session:
        now = self._server_time() if self.clock is None else self.clock()
        session = Session(new_session_id(), user_id, now, now, dict(data or {}))
        record = json.dumps({"user_id": user_id, "created_at": now, "data": session.data})
        user_index = f"{self.prefix}user:{user_id}"
        pipe = self.client.pipeline()
        pipe.set(self._key(session.session_id), record, ex=self.idle_timeout)
        pipe.sadd(user_index, session.session_id)
        # The index outlives none of its sessions: no session lasts beyond the absolute timeout.
        pipe.expire(user_index, int(self.absolute_timeout))
        pipe.execute()
        return session

    def get(self, session_id: str) -> Session | None:
        with self._count_lock:
            self.lookups += 1
        if self.clock is None:  # the lookup and Redis's clock in one round trip
            pipe = self.client.pipeline(transaction=False)
            pipe.getex(self._key(session_id), ex=self.idle_timeout)
            pipe.time()
            raw, (seconds, microseconds) = pipe.execute()
            now = seconds + microseconds / 1_000_000
        else:
            raw = self.client.getex(self._key(session_id), ex=self.idle_timeout)
            now = self.clock()
        if raw is None:
            return None
        record = json.loads(raw)
        if now - record["created_at"] > self.absolute_timeout:
            self.delete(session_id)
            return None
        return Session(session_id, record["user_id"], record["created_at"], now, record["data"])

    def save(self, session: Session) -> None:
        record = json.dumps(
            {"user_id": session.user_id, "created_at": session.created_at, "data": session.data}
        )
        self.client.set(self._key(session.session_id), record, ex=self.idle_timeout, xx=True)

    def delete(self, session_id: str) -> bool:
        return bool(self.client.delete(self._key(session_id)))

    def delete_user(self, user_id: str) -> int:
        """Log a user out everywhere; returns how many sessions ended.

        Only the members it read leave the index (``SREM``, not ``DEL``): a session created by
        a concurrent login stays indexed, so the next "log out everywhere" still finds it.
        """
        index = f"{self.prefix}user:{user_id}"
        members = [m.decode() if isinstance(m, bytes) else m for m in self.client.smembers(index)]
        if not members:
            return 0
        pipe = self.client.pipeline()
        pipe.delete(*(self._key(m) for m in members))
        pipe.srem(index, *members)
        ended, _ = pipe.execute()
        return int(ended)
