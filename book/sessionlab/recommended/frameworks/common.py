"""The few lines a framework lacks: password-guess throttling and a login that takes equal time.

Shared by the framework apps (Flask, flask-jwt-extended, Django). The throttle is the book's one
:class:`~sessionlab.recommended.webauth.LoginThrottle`, in one process's memory; apps on several
processes would keep its counters in a shared store (Redis ``INCR`` and ``EXPIRE``).
"""

from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

from sessionlab.recommended.webauth import LoginThrottle

__all__ = [
    "DEMO_HASH",
    "DEMO_HASH_ITERATIONS",
    "DEMO_USERS",
    "LoginThrottle",
    "check_password_evenly",
    "framework_throttle",
    "password_login",
]

#: name -> (password, role): alice and root log in; carol changes her password; dave is
#: guessed at; erin is disabled; frank is timed; erin, gina, hugo and iris are guessed at in
#: parallel, one round each. Demo passwords, never reuse. The implementations in other
#: languages read the same table from ``implementations/demo_users.json`` (a test compares them).
DEMO_USERS = {
    "alice": ("correct horse", "user"),
    "root": ("root password", "admin"),
    "carol": ("carol password", "user"),
    "dave": ("dave password", "user"),
    "erin": ("erin password", "user"),
    "frank": ("frank password", "user"),
    "gina": ("gina password", "user"),
    "hugo": ("hugo password", "user"),
    "iris": ("iris password", "user"),
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


def framework_throttle() -> LoginThrottle:
    """The book's one throttle (:class:`~sessionlab.recommended.webauth.LoginThrottle`), at five
    failures per user name per 15 minutes for the framework apps."""
    return LoginThrottle(max_failures=5, window=15 * 60)


def password_login(
    users: dict[str, dict], name: str, password: str, *, recommended: bool, throttle: LoginThrottle
) -> int:
    """The status of a login form: 200, 401 (wrong name or password) or 429 (throttled).

    ``recommended`` adds the throttle and the even-timed check. Without it, as the frameworks'
    own examples do, an unknown name costs no hash (a timing oracle) and nothing is throttled.
    """
    if recommended and throttle.begin(name):  # checks and counts the attempt atomically
        return 429
    record = users.get(name)
    if recommended:
        ok = check_password_evenly(record and record["hash"], password)
    else:
        ok = record is not None and check_password_hash(record["hash"], password)
    if not ok:
        return 401
    throttle.succeeded(name)
    return 200
