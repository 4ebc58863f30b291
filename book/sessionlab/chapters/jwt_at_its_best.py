"""Chapter 32's harness: a DPoP client, the push delay of a cached deny-list, and a thief who
keeps whatever renewal the client uses.

The parts taught (``DPoPKey``, ``DPoPVerifier``, ``CachedDenyList``, the app's options) live in
:mod:`sessionlab.recommended.jwt_app`; this module only drives them.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import requests

from sessionlab.recommended.jwt_app import CachedDenyList, DPoPKey

__all__ = ["DPoPClient", "push_delays", "thief_minutes"]


class DPoPClient:
    """A client that holds an access token and a DPoP key, and signs a proof for each request."""

    def __init__(self, base_url: str, *, key: DPoPKey | None = None, timeout: float = 10):
        self.base_url = base_url
        self.key = key or DPoPKey()
        self.timeout = timeout
        self.http = requests.Session()
        self.token: str | None = None
        self.refresh_token: str | None = None

    def proof(self, method: str, path: str, *, access_token: str | None = None, sign=None) -> str:
        sign = sign or self.key.proof
        url = f"{self.base_url}{path}"
        return sign(method, url, access_token=access_token, now=time.time())

    def log_in(self, username: str, password: str) -> int:
        reply = self.http.post(
            f"{self.base_url}/login",
            data={"username": username, "password": password},
            headers={"DPoP": self.proof("POST", "/login")},
            timeout=self.timeout,
        )
        if reply.ok:
            self.token = reply.json()["access_token"]
            self.refresh_token = reply.json().get("refresh_token")
        return reply.status_code

    def get(
        self, path: str, *, token: str | None = None, proof: str | None = "sign", sign=None
    ) -> int:
        """``GET path`` with ``token`` (default: ours) and a fresh proof (or the one given);
        ``sign`` signs the proof instead of our key (script in the page calling the key)."""
        token = token or self.token
        headers = {"Authorization": f"DPoP {token}"}
        if proof == "sign":
            proof = self.proof("GET", path, access_token=token, sign=sign)
        if proof is not None:
            headers["DPoP"] = proof
        return self.http.get(
            f"{self.base_url}{path}", headers=headers, timeout=self.timeout
        ).status_code

    def refresh(self, refresh_token: str | None = None, *, sign=None) -> int:
        reply = self.http.post(
            f"{self.base_url}/refresh",
            data={"refresh_token": refresh_token or self.refresh_token},
            headers={"DPoP": self.proof("POST", "/refresh", sign=sign)},
            timeout=self.timeout,
        )
        if reply.ok:
            self.token = reply.json()["access_token"]
            self.refresh_token = reply.json()["refresh_token"]
        return reply.status_code


def push_delays(redis_client, *, samples: int = 200) -> list[float]:
    """Seconds from one process's revocation to another process's copy applying it.

    The two copies run in this kernel's threads, each with its own Redis connection (the
    listener of the second is what a second worker process would run).
    """
    delays = []
    with CachedDenyList(redis_client) as writer, CachedDenyList(redis_client) as reader:
        for i in range(samples):
            claims = {"jti": f"push-{i}", "exp": time.time() + 60}
            start = time.perf_counter()
            writer.deny_token(claims)
            deadline = start + 2
            while claims["jti"] not in reader.applied_at and time.perf_counter() < deadline:
                time.sleep(0.0001)
            delays.append(reader.applied_at.get(claims["jti"], float("inf")) - start)
    return delays


def summary(delays: list[float]) -> dict[str, float]:
    ordered = sorted(delays)
    return {
        "median": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "max": ordered[-1],
    }


def thief_minutes(app, renew_by: str, password: str, *, traveller, start: int) -> dict[str, Any]:
    """One hour against ``app`` (in-process, Flask's test client): the victim renews every 4
    minutes by ``renew_by`` ("login", "sliding", "refresh" or "refresh+dpop"); at minute 1 a
    script copies what it can read (access and refresh token, never a non-extractable DPoP key);
    from then on the thief renews its copy every 4 minutes (and after a 401) when it can.
    Returns the minutes in which the thief's ``GET /me`` got 200, and the victim's forced logins.
    """
    client = app.test_client()
    dpop = renew_by == "refresh+dpop"
    victim_key, thief_key = (DPoPKey(), DPoPKey()) if dpop else (None, None)

    def send(path: str, token: str | None, key: DPoPKey | None, data=None):
        headers = {}
        if token is not None:
            headers["Authorization"] = f"{'DPoP' if dpop else 'Bearer'} {token}"
        if key is not None:
            url = f"http://localhost{path}"
            method = "GET" if data is None and path == "/me" else "POST"
            headers["DPoP"] = key.proof(method, url, access_token=token, now=time.time())
        if path == "/me":
            return client.get(path, headers=headers)
        return client.post(path, data=data or {}, headers=headers)

    def login() -> dict[str, Any]:
        form = {"username": "alice", "password": password}
        return send("/login", None, victim_key, form).get_json()

    def renew(held: dict[str, Any], key: DPoPKey | None, *, by_thief: bool):
        if renew_by == "login":
            return None if by_thief else login()  # only the victim knows the password
        if renew_by == "sliding":
            reply = send("/renew", held["access_token"], key)
        else:
            reply = send("/refresh", None, key, {"refresh_token": held.get("refresh_token", "")})
        return reply.get_json() if reply.status_code == 200 else None

    traveller.move_to(start)
    victim, thief = login(), None
    thief_ok = forced_logins = 0
    for minute in range(1, 61):
        traveller.move_to(start + 60 * minute)
        if minute % 4 == 0:
            renewed = renew(victim, victim_key, by_thief=False)
            if renewed is None:
                forced_logins += 1
                renewed = login()
            victim = renewed
        if minute == 1:
            thief = dict(victim)
        if thief is None:
            continue
        status = send("/me", thief["access_token"], thief_key).status_code
        if status != 200 or minute % 4 == 2:
            thief = renew(thief, thief_key, by_thief=True) or thief
            status = send("/me", thief["access_token"], thief_key).status_code
        thief_ok += status == 200
    return {"thief's minutes of access": thief_ok, "victim's forced logins": forced_logins}
