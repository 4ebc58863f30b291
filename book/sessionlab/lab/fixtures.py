"""Book-wide fixtures: the demo users and their password, the fixed instant, audiences and issuers.

Every chapter takes its users, its password, its "now" and its token audience and issuer from
here, so two chapters never disagree about who alice is or which service a token is for.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from werkzeug.security import generate_password_hash

__all__ = [
    "API_AUDIENCE",
    "BANK_AUDIENCE",
    "FIXED_NOW",
    "LOGIN_ISSUER",
    "PASSWORD",
    "CountingUsers",
    "book_users",
    "make_users",
]

#: The demo password of every book-wide user (a demo value: never reuse it).
PASSWORD = "correct horse battery staple"
#: The book's fixed instant, 2026-01-05 09:00 UTC, for experiments that pass ``now=``.
FIXED_NOW = 1_767_603_600
#: Who a token is for and who issued it: the API behind the login service, and the bank.
API_AUDIENCE = "https://api.example"
LOGIN_ISSUER = "https://login.example"
BANK_AUDIENCE = "https://bank.example"


def make_users(**roles_and_passwords: tuple[str, str]) -> dict[str, dict[str, Any]]:
    """A user table: ``make_users(alice=("password", "admin"))`` stores a salted password hash."""
    return {
        name: {
            "password_hash": generate_password_hash(password, method="pbkdf2:sha256:60000"),
            "role": role,
        }
        for name, (password, role) in roles_and_passwords.items()
    }


def book_users() -> dict[str, dict[str, Any]]:
    """The book-wide users: alice (an admin) and bob (a user), both with :data:`PASSWORD`."""
    return make_users(alice=(PASSWORD, "admin"), bob=(PASSWORD, "user"))


class CountingUsers(Mapping):
    """A users table that counts its reads: ``[]``, ``get`` and ``in`` each count one.

    Rows are the same dicts as in ``rows``, so a role changed in a row is seen by the app that
    reads the table; chapters compare how many reads each design makes per request.
    """

    def __init__(self, rows: dict[str, dict[str, Any]]):
        self.rows = rows
        self.reads = 0

    def __getitem__(self, user_id: str) -> dict[str, Any]:
        self.reads += 1
        return self.rows[user_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)
