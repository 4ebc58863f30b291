"""Claims checked by hand on the recommended configuration, in-process with Django's test client
(not part of the checklist): CONFIG=recommended [TIMEOUTS=short] python hand_checks.py

1. Logout blacklists the refresh token, and the access token still works.
2. Log out everywhere: the other device's refresh token is refused, its access token is not.
3. CHECK_REVOKE_TOKEN's claim is MD5 of the stored password hash, readable in the cookie.
4. With ROTATE_REFRESH_TOKENS the refresh chain has no absolute end (TIMEOUTS=short only).

With CONFIG=cookie (dj-rest-auth's defaults):
5. A password change with a wrong old password succeeds (OLD_PASSWORD_FIELD_ENABLED=False).
6. Wrong credentials answer 400, and an anonymous POST /logout answers 200.
"""

import base64
import hashlib
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("CONFIG", "recommended")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "_python"))
from serving import prepare_django  # noqa: E402

prepare_django(HERE)
from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402
from settings import REFRESH, SHORT  # noqa: E402

ACCESS_COOKIE, REFRESH_COOKIE = "__Host-access", "__Host-refresh"


def device() -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    assert (
        client.post("/login", {"username": "alice", "password": "correct horse"}).status_code == 200
    )
    return client


def copy(client: Client) -> Client:
    other = Client(HTTP_HOST="127.0.0.1")
    for name in (ACCESS_COOKIE, REFRESH_COOKIE):
        other.cookies[name] = client.cookies[name].value
    return other


def refresh(client: Client) -> int:
    return client.post("/token/refresh", {}).status_code


def replay(step: str, here: Client, ending: str, other: Client, gets: str, refreshes: str) -> None:
    """``here`` POSTs ``ending``; then ``other`` (a copy of its cookies, or another device) GETs
    /me, and a copy of ``other``'s cookies refreshes: one line, labelled."""
    print(
        step,
        here.post(ending).status_code,
        f"| {gets}",
        other.get("/me").status_code,
        f"| {refreshes}",
        refresh(copy(other)),
    )


if os.environ["CONFIG"] == "cookie":
    ACCESS_COOKIE, REFRESH_COOKIE = "my-app-auth", "my-refresh-token"
    here = device()
    changed = here.post("/password", {"old": "not my password", "new": "pwned password 123"})
    relogin = Client(HTTP_HOST="127.0.0.1").post(
        "/login", {"username": "alice", "password": "pwned password 123"}
    )
    print(
        "5. password change with a wrong old password:",
        changed.status_code,
        changed.content,
        "| login with the new password:",
        relogin.status_code,
    )
    anonymous = Client(HTTP_HOST="127.0.0.1")
    print(
        "6. wrong credentials:",
        anonymous.post("/login", {"username": "alice", "password": "x"}).status_code,
        "| anonymous POST /logout:",
        anonymous.post("/logout").status_code,
    )
elif not SHORT:
    here = device()
    stolen = copy(here)
    replay("1. logout:", here, "/logout", stolen, "stolen access cookie, GET /me:",
           "stolen refresh cookie, POST /token/refresh:")  # fmt: skip
    here, other = device(), device()
    replay("2. log out everywhere:", here, "/logout-everywhere", other, "other device GET /me:",
           "other device refresh:")  # fmt: skip
    token = device().cookies[ACCESS_COOKIE].value
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    stored = get_user_model().objects.get(username="alice").password
    expected = hashlib.md5(stored.encode()).hexdigest().upper()  # noqa: S324 (what simplejwt does)
    print(
        "3. claim hash_password:",
        claims["hash_password"],
        "| == MD5(stored hash string):",
        claims["hash_password"] == expected,
        "| stored hash starts:",
        stored[:22] + "...",
    )
else:
    client, started = device(), time.monotonic()
    statuses = []
    while time.monotonic() - started < 3 * REFRESH.total_seconds():
        time.sleep(REFRESH.total_seconds() / 4)
        statuses.append(refresh(client))
    print(
        f"4. refresh every {REFRESH.total_seconds() / 4:.1f} s for "
        f"{time.monotonic() - started:.1f} s (REFRESH_TOKEN_LIFETIME {REFRESH.total_seconds():.0f} s):",
        statuses,
        "| GET /me at the end:",
        client.get("/me").status_code,
    )
