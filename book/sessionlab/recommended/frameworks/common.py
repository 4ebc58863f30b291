"""The few lines a framework lacks: password-guess throttling and a login that takes equal time.

Both are shared by the recommended Flask and Django configurations. The throttle lives in one
process's memory; several processes share one through Redis (the same counters, ``INCR`` and
``EXPIRE``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from werkzeug.security import check_password_hash, generate_password_hash

__all__ = [
    "DEMO_HASH",
    "DEMO_HASH_ITERATIONS",
    "DEMO_USERS",
    "LoginThrottle",
    "check_password_evenly",
]

#: name -> (password, role): alice and root log in; carol changes her password; dave is
#: guessed at; erin is disabled; frank is timed. Demo passwords, never reuse.
DEMO_USERS = {
    "alice": ("correct horse", "user"),
    "root": ("root password", "admin"),
    "carol": ("carol password", "user"),
    "dave": ("dave password", "user"),
    "erin": ("erin password", "user"),
    "frank": ("frank password", "user"),
}

#: A demo cost, so that a checklist of some fifty logins per app runs in seconds. Production uses
#: far more: Django's default is 1,000,000 PBKDF2-SHA256 iterations.
DEMO_HASH_ITERATIONS = 20_000
DEMO_HASH = f"pbkdf2:sha256:{DEMO_HASH_ITERATIONS}"

_DUMMY_HASH = generate_password_hash("not a password", method=DEMO_HASH)


def check_password_evenly(password_hash: str | None, password: str) -> bool:
    """Check a password; an unknown user costs the same hash as a known one (no timing oracle)."""
    ok = check_password_hash(password_hash or _DUMMY_HASH, password)
    return ok and password_hash is not None


class LoginThrottle:
    """At most ``limit`` failed logins per username per ``window`` seconds, then refuse."""

    def __init__(
        self, *, limit: int = 5, window: float = 900.0, clock: Callable[[], float] = time.monotonic
    ):
        self.limit, self.window, self.clock = limit, window, clock
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, username: str) -> bool:
        with self._lock:
            now = self.clock()
            recent = [t for t in self._failures.get(username, []) if now - t < self.window]
            self._failures[username] = recent
            return len(recent) >= self.limit

    def failed(self, username: str) -> None:
        with self._lock:
            self._failures.setdefault(username, []).append(self.clock())

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)
