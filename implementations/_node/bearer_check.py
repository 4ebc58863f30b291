"""The checklist's items, by hand, for an app whose credential travels in an Authorization: Bearer
header (express-jwt, passport-jwt): the checklist's own client keeps cookies only, until its
bearer transport lands. Same rules as its items where they carry over; the cookie items are N/A.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
import urllib.parse

from sessionlab.chapters.sessions_done_right import FAIL, NA, PASS, Adapter, Result
from sessionlab.lab.timing import fmt_duration, fmt_ratio


class Bearer:
    """One device: its token, sent in the Authorization header."""

    def __init__(self, adapter: Adapter, token_field: str, token: str | None = None):
        self.adapter, self.field, self.token = adapter, token_field, token

    def request(self, method, path, data=None, token=None):
        parts = urllib.parse.urlsplit(self.adapter.base_url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        headers = {}
        if (token or self.token) is not None:
            headers["Authorization"] = f"Bearer {token or self.token}"
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        finally:
            connection.close()
        found = json.loads(payload) if payload.startswith(b"{") else {}
        if found.get(self.field):
            self.token = found[self.field]
        return response, found

    def login(self, user, password=None):
        password = self.adapter.users[user][0] if password is None else password
        response, _ = self.request(
            "POST", self.adapter.login_path, {"username": user, "password": password}
        )
        return response

    def authenticated(self, token=None) -> bool:
        return self.request("GET", self.adapter.protected_path, token=token)[0].status == 200


def run(adapter: Adapter, token_field: str) -> list[Result]:
    a = adapter

    def device(user="alice"):
        d = Bearer(a, token_field)
        status = d.login(user).status
        if status != 200 or not d.authenticated():
            raise RuntimeError(f"cannot log in as {user}: {status}")
        return d

    rows: list[tuple[str, str, str]] = []
    first = device()
    token = first.token
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    rows.append(
        (
            "v5.0.0-7.2.1 tampered or forged token refused by the server",
            *(
                (FAIL, "a token with one character changed still works")
                if first.authenticated(flipped)
                else (PASS, "a token with one character changed is refused")
            ),
        )
    )
    header, payload = (
        json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in token.split(".")[:2]
    )
    forged = (
        ".".join(
            base64.urlsafe_b64encode(json.dumps(x).encode()).rstrip(b"=").decode()
            for x in ({"alg": "none", "typ": "JWT"}, {**payload, "role": "admin"})
        )
        + "."
    )
    rows.append(
        (
            "alg none token refused",
            *(
                (FAIL, "an unsigned token works")
                if first.authenticated(forged)
                else (PASS, "an unsigned token (alg none) is refused")
            ),
        )
    )
    second = device()
    rows.append(
        (
            "v5.0.0-7.2.2 a new token for every login",
            *(
                (FAIL, "two logins got the same token")
                if second.token == token
                else (PASS, "two logins of alice got different tokens")
            ),
        )
    )
    rows.append(
        ("v5.0.0-7.2.3 reference token from a CSPRNG, >= 128 bits", NA, "self-contained token")
    )
    again = device()
    old = again.token
    again.login("alice")
    rows.append(
        (
            "v5.0.0-7.2.4 new token at login and re-login; the old one ends",
            *(
                (FAIL, "re-login issues a new token but the old one still works")
                if again.authenticated(old)
                else (PASS, "the previous token is refused after re-login")
            ),
        )
    )
    short = a.short_timeouts
    if short is None:
        rows += [
            ("v5.0.0-7.3.1 inactivity timeout", NA, "no short instance"),
            ("v5.0.0-7.3.2 absolute maximum session lifetime", NA, "no short instance"),
        ]
    else:
        # As the checklist's probe: a refusal only counts if the token's own lifetime had not
        # run out: `exp` is in whole seconds, so a "2 s" token lives between 1 and 2 s, and a
        # busy machine adds its delays. Otherwise try again.
        idle = None
        for _ in range(5):
            d = Bearer(short, token_field)
            d.login("alice")
            claims = d.token.split(".")[1]
            exp = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["exp"]
            time.sleep(1.3)
            checked = time.time()
            if d.authenticated():
                idle = (FAIL, "still valid after 1.3 s idle")
                break
            if checked < exp - 0.05:
                idle = (PASS, "refused after 1.3 s idle, before the token's exp")
                break
        idle = idle or (
            FAIL,
            "inconclusive: every refusal came after the token's exp (no idle limit seen)",
        )
        rows.append(("v5.0.0-7.3.1 inactivity timeout", *idle))
        d = Bearer(short, token_field)
        d.login("alice")
        start = time.monotonic()
        alive = True
        while time.monotonic() - start < 2.4 and alive:
            alive = d.authenticated()
            time.sleep(0.3)
        alive = alive and d.authenticated()
        rows.append(
            (
                "v5.0.0-7.3.2 absolute maximum session lifetime",
                *(
                    (FAIL, "still valid after 2.4 s of use every 0.3 s")
                    if alive
                    else (PASS, "refused within 2.4 s despite use every 0.3 s")
                ),
            )
        )
    if a.logout_path is None:
        rows.append(("v5.0.0-7.4.1 copied token replayed after logout", FAIL, "no logout"))
    else:
        d = device()
        copy = d.token
        d.request("POST", a.logout_path, {})
        rows.append(
            (
                "v5.0.0-7.4.1 copied token replayed after logout",
                *(
                    (FAIL, "the copied token still works after logout")
                    if d.authenticated(copy)
                    else (PASS, "the copied token is refused after logout")
                ),
            )
        )
    victim = device("erin")
    device(a.admin).request("POST", a.admin_disable_path, {"user": "erin"})
    rows.append(
        (
            "v5.0.0-7.4.2 disabling an account ends its sessions",
            *(
                (FAIL, "erin's token still works after her account was disabled")
                if victim.authenticated()
                else (PASS, "erin's token is refused once her account is disabled")
            ),
        )
    )
    here, other = device("carol"), device("carol")
    pw = a.users["carol"][0]
    status = here.request(
        "POST", a.password_path, {"old": pw, "new": pw + " 2", "end_other_sessions": "1"}
    )[0].status
    other_alive = other.authenticated()
    here.request("POST", a.password_path, {"old": pw + " 2", "new": pw})
    rows.append(
        (
            "v5.0.0-7.4.3 password change can end the other sessions",
            *(
                (FAIL, f"password change answered {status}")
                if status != 200
                else (FAIL, "the other device still works after the password change")
                if other_alive
                else (PASS, "the other device is refused")
            ),
        )
    )
    if a.admin_end_sessions_path is None:
        rows.append(
            (
                "v5.0.0-7.4.5 an administrator ends a user's sessions",
                FAIL,
                "no administrator action",
            )
        )
    else:
        victim = device("frank")
        device(a.admin).request("POST", a.admin_end_sessions_path, {"user": "frank"})
        rows.append(
            (
                "v5.0.0-7.4.5 an administrator ends a user's sessions",
                *(
                    (FAIL, "frank's token still works")
                    if victim.authenticated()
                    else (PASS, "frank's token is refused after the admin action")
                ),
            )
        )
    if a.logout_everywhere_path is None:
        rows.append(
            ("v5.0.0-7.5.2 a user terminates all their sessions", FAIL, "no log out everywhere")
        )
    else:
        here, other = device("dave"), device("dave")
        here.request("POST", a.logout_everywhere_path, {})
        rows.append(
            (
                "v5.0.0-7.5.2 a user terminates all their sessions",
                *(
                    (FAIL, "the other device still works")
                    if other.authenticated()
                    else (PASS, "the other device is refused")
                ),
            )
        )
    for title in (
        "v5.0.0-3.3.1 session cookie Secure",
        "v5.0.0-3.3.2 session cookie SameSite Lax or Strict",
        "v5.0.0-3.3.3 session cookie named __Host-",
        "v5.0.0-3.3.4 session cookie HttpOnly",
        "duplicate cookies: a tossed cookie cannot switch accounts",
        "no persistent cookie unless the user asks to be remembered",
    ):
        rows.append((title, NA, "no cookie: the token is in the Authorization header"))
    rows.append(
        (
            "login CSRF: a cross-site form cannot log the victim in",
            NA,
            "a cross-site form can obtain a token, but the browser never sends it by itself",
        )
    )
    keys = sorted(payload)
    rows.append(
        (
            "session data unreadable client-side (token decoded)",
            FAIL,
            f"the payload decodes to JSON with keys {keys}",
        )
    )
    d = device()
    login = Bearer(a, token_field)
    response = login.login("alice")
    page = d.request("GET", a.protected_path)[0]
    missing = [
        p
        for p, r in (("login", response), (a.protected_path, page))
        if "no-store" not in (r.getheader("Cache-Control") or "")
    ]
    rows.append(
        (
            "Cache-Control: no-store on authenticated responses",
            *(
                (FAIL, "no no-store on " + ", ".join(missing))
                if missing
                else (PASS, "no-store on the login response and the protected page")
            ),
        )
    )
    if a.elevate_path is None:
        rows.append(("new token on privilege change", NA, "no privilege change"))
    else:
        d = device()
        before = d.token
        status = d.request("POST", a.elevate_path, {"password": a.users["alice"][0]})[0].status
        rows.append(
            (
                "new token on privilege change",
                *(
                    (FAIL, f"answered {status}")
                    if status != 200
                    else (FAIL, "the same token")
                    if d.token == before
                    else (FAIL, "a new token is issued but the old one still works")
                    if d.authenticated(before)
                    else (PASS, "a new token; the old one is refused")
                ),
            )
        )
    guesser = Bearer(a, token_field)
    statuses = [guesser.login("dave", f"guess {i}").status for i in range(10)]
    right = guesser.login("dave").status
    refused = sum(s == 429 for s in statuses)
    rows.append(
        (
            "password guesses throttled",
            *(
                (PASS, f"{refused} of 10 guesses answered 429; the right password then got {right}")
                if refused or right == 429
                else (FAIL, "10 wrong guesses, none refused, then the right password worked")
            ),
        )
    )
    timer = Bearer(a, token_field)

    def timed(user):
        start = time.perf_counter()
        timer.login(user, "wrong password")
        return time.perf_counter() - start

    pairs = []  # each pair in alternating order: whichever goes first may pay for a busy moment
    for i, user in enumerate(("frank", "root", "carol", "alice") * 4):
        if i % 2:
            unknown_time = timed(f"nobody{i}")
            pairs.append((timed(user), unknown_time))
        else:
            pairs.append((timed(user), timed(f"nobody{i}")))
    known, unknown = min(k for k, _ in pairs), min(u for _, u in pairs)
    ratio = max(known, unknown) / min(known, unknown)
    rows.append(
        (
            "login timing does not reveal which users exist",
            FAIL if ratio > 1.5 else PASS,
            f"known {fmt_duration(known)}, unknown {fmt_duration(unknown)} ({fmt_ratio(ratio)})",
        )
    )
    return [Result(*row) for row in rows]
