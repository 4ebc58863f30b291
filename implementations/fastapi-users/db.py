"""fastapi-users' two database protocols (BaseUserDatabase, AccessTokenDatabase) over SQLite
with aiosqlite, in a temporary file deleted at shutdown.

The documented adapter is fastapi-users-db-sqlalchemy, whose 7.0.0 requires SQLAlchemy < 2.1;
the book pins SQLAlchemy 2.1.9, so this adapter implements the same protocols directly
(fastapi_users/db/base.py, fastapi_users/authentication/strategy/db/adapter.py).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
from fastapi_users.db import BaseUserDatabase

_state: dict[str, Any] = {}

SCHEMA = """
CREATE TABLE user (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL,
                   hashed_password TEXT NOT NULL, is_active INTEGER NOT NULL DEFAULT 1,
                   is_superuser INTEGER NOT NULL DEFAULT 0, is_verified INTEGER NOT NULL DEFAULT 0);
CREATE TABLE accesstoken (token TEXT PRIMARY KEY, user_id INTEGER NOT NULL,
                          created_at TEXT NOT NULL);
CREATE INDEX accesstoken_user ON accesstoken (user_id);
"""


async def open_database() -> None:
    folder = tempfile.mkdtemp(prefix="impl-fastapi-users-")
    connection = await aiosqlite.connect(Path(folder) / "db.sqlite3")
    connection.row_factory = aiosqlite.Row
    await connection.executescript(SCHEMA)
    _state.update(folder=folder, connection=connection)


async def close_database() -> None:
    await _state["connection"].close()
    shutil.rmtree(_state["folder"], ignore_errors=True)


def _db() -> aiosqlite.Connection:
    return _state["connection"]


@dataclass
class User:
    id: int
    email: str
    hashed_password: str
    is_active: bool = True
    is_superuser: bool = False
    is_verified: bool = False


USER_FIELDS = ("email", "hashed_password", "is_active", "is_superuser", "is_verified")


class UserDatabase(BaseUserDatabase[User, int]):
    async def _one(self, where: str, value) -> User | None:
        async with _db().execute(f"SELECT * FROM user WHERE {where} = ?", (value,)) as cursor:  # noqa: S608 (column names from USER_FIELDS or a literal)
            row = await cursor.fetchone()
        return None if row is None else User(**{k: row[k] for k in row.keys()})

    async def get(self, id: int) -> User | None:
        return await self._one("id", id)

    async def get_by_email(self, email: str) -> User | None:
        return await self._one("email", email)

    async def create(self, create_dict: dict[str, Any]) -> User:
        values = {k: create_dict[k] for k in USER_FIELDS if k in create_dict}
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        await _db().execute(
            f"INSERT INTO user ({columns}) VALUES ({marks})",  # noqa: S608 (names: USER_FIELDS)
            tuple(values.values()),
        )
        await _db().commit()
        return await self.get_by_email(values["email"])

    async def update(self, user: User, update_dict: dict[str, Any]) -> User:
        values = {k: update_dict[k] for k in USER_FIELDS if k in update_dict}
        if values:
            assignments = ", ".join(f"{k} = ?" for k in values)
            await _db().execute(
                f"UPDATE user SET {assignments} WHERE id = ?",  # noqa: S608 (names: USER_FIELDS)
                (*values.values(), user.id),
            )
            await _db().commit()
        return await self.get(user.id)

    async def delete(self, user: User) -> None:
        await _db().execute("DELETE FROM user WHERE id = ?", (user.id,))
        await _db().commit()


@dataclass
class AccessToken:
    token: str
    user_id: int
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class AccessTokenDatabase:
    """fastapi-users' AccessTokenDatabase protocol, plus delete_for_user (the careful
    configuration's log out everywhere; the protocol has no per-user operation)."""

    async def get_by_token(self, token: str, max_age: datetime | None = None):
        async with _db().execute("SELECT * FROM accesstoken WHERE token = ?", (token,)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        found = AccessToken(row["token"], row["user_id"], datetime.fromisoformat(row["created_at"]))
        if max_age is not None and found.created_at < max_age:
            return None
        return found

    async def create(self, create_dict: dict[str, Any]) -> AccessToken:
        token = AccessToken(**create_dict)
        await _db().execute(
            "INSERT INTO accesstoken VALUES (?, ?, ?)",
            (token.token, token.user_id, token.created_at.isoformat()),
        )
        await _db().commit()
        return token

    async def update(self, access_token: AccessToken, update_dict: dict[str, Any]):
        raise NotImplementedError("DatabaseStrategy never updates a token")

    async def delete(self, access_token: AccessToken) -> None:
        await _db().execute("DELETE FROM accesstoken WHERE token = ?", (access_token.token,))
        await _db().commit()

    async def delete_for_user(self, user_id: int, keep: str | None = None) -> int:
        cursor = await _db().execute(
            "DELETE FROM accesstoken WHERE user_id = ? AND token IS NOT ?", (user_id, keep)
        )
        await _db().commit()
        return cursor.rowcount
