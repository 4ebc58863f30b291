"""Book-wide fixtures: the demo users and their password, the fixed instant, audiences and issuers.

Every chapter takes its users, its password, its "now" and its token audience and issuer from
here, so two chapters never disagree about who alice is or which service a token is for.
"""

from __future__ import annotations

from typing import Any

from werkzeug.security import generate_password_hash

__all__ = ["make_users"]


def make_users(**roles_and_passwords: tuple[str, str]) -> dict[str, dict[str, Any]]:
    """A user table: ``make_users(alice=("password", "admin"))`` stores a salted password hash."""
    return {
        name: {
            "password_hash": generate_password_hash(password, method="pbkdf2:sha256:60000"),
            "role": role,
        }
        for name, (password, role) in roles_and_passwords.items()
    }
