"""Chapter 32's harness: a DPoP client, the push delay of a cached deny-list, and a thief who
keeps whatever renewal the client uses.

The parts taught (``DPoPKey``, ``DPoPVerifier``, ``CachedDenyList``, the app's options) live in
:mod:`sessionlab.recommended.jwt_app`; this module only drives them.
"""

from __future__ import annotations

import contextlib
import select
import socket
import statistics
import threading
import time
from typing import Any

import redis
import requests
from redis.backoff import NoBackoff
from redis.retry import Retry

from sessionlab.lab.fixtures import PASSWORD
from sessionlab.lab.redis_service import redis_server
from sessionlab.lab.servers import LOOPBACK, free_port
from sessionlab.recommended.jwt_app import CachedDenyList, DPoPKey, StoreUnavailableError

__all__ = [
    "DPoPClient",
    "SilentProxy",
    "deny_list_under_fault",
    "presigned_proofs",
    "push_delays",
    "thief_minutes",
]


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


# --- the pushed deny-list under faults -------------------------------------------------------


class SilentProxy:
    """A TCP relay on loopback that can stop forwarding without closing anything: what a stuck
    proxy or a dead network path looks like to both ends (no reset, no FIN, just silence)."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.paused = threading.Event()
        self._stop = threading.Event()
        self._listener = socket.create_server((LOOPBACK, 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = [self._listener]
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        self._listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                near, _ = self._listener.accept()
            except OSError:
                continue
            try:
                far = socket.create_connection((LOOPBACK, self.target_port), timeout=1)
            except OSError:
                near.close()  # nothing behind the relay: the client sees its connection closed
                continue
            self._sockets += [near, far]
            thread = threading.Thread(target=self._relay, args=(near, far), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _relay(self, near: socket.socket, far: socket.socket) -> None:
        other = {near: far, far: near}
        try:
            self._forward(other)
        finally:  # one side closed: close the other, as a relay that is working would
            for sock in other:
                with contextlib.suppress(OSError):
                    sock.close()

    def _forward(self, other: dict[socket.socket, socket.socket]) -> None:
        near, far = other
        while not self._stop.is_set():
            if self.paused.is_set():
                self._stop.wait(0.01)
                continue
            readable, _, _ = select.select([near, far], [], [], 0.05)
            for sock in readable:
                try:
                    data = sock.recv(65536)
                    if not data:
                        return
                    other[sock].sendall(data)
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()


def _exposure(copy: CachedDenyList, claims: dict[str, Any], deadline: float) -> tuple[str, float]:
    """Ask the copy about a just-revoked token until it denies or refuses it: that first answer
    ("denied", "refused", or "not revoked" still at the deadline), and for how long after the
    revocation it answered "not revoked" (to the end of the last such answer)."""
    start = time.perf_counter()
    answered_not_revoked = 0.0
    while True:
        try:
            if copy.is_denied(claims):
                return "denied", answered_not_revoked
            answered_not_revoked = time.perf_counter() - start
        except StoreUnavailableError:
            return "refused", answered_not_revoked
        if time.perf_counter() - start > deadline:
            return "not revoked", answered_not_revoked
        time.sleep(0.001)


def deny_list_under_fault(fault: str, *, before: int = 5, during: int = 3) -> dict[str, Any]:
    """Revoke tokens through one copy of a pushed deny-list and watch another copy, whose
    connection to Redis goes through a :class:`SilentProxy`, before and during ``fault``:
    ``"kill"`` (``CLIENT KILL TYPE pubsub``: the subscriptions are cut, redis-py reconnects by
    itself), ``"silent"`` (the proxy stops forwarding) or ``"restart"`` (Redis stops and starts
    again, empty: no persistence). After the fault ends, every revocation the writer accepted
    must be refused by the watched copy (``lost`` counts those that are not)."""
    if fault not in ("kill", "silent", "restart"):
        raise ValueError("fault is 'kill', 'silent' or 'restart'")
    port = free_port()
    redis_cm = redis_server(tcp_port=port)
    redis_cm.__enter__()
    proxy = SilentProxy(port)
    # One try per command (redis-py retries with back-off by default): a request waits at most
    # a second on a dead connection before the copy refuses.
    options = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0, "retry": Retry(NoBackoff(), 0)}
    writer_client = redis.Redis(host=LOOPBACK, port=port, **options)
    reader_client = redis.Redis(host=LOOPBACK, port=proxy.port, **options)
    channel, accepted, rows = f"fault-{fault}", [], []
    try:
        with (
            CachedDenyList(writer_client, channel=channel) as writer,
            CachedDenyList(reader_client, channel=channel) as reader,
        ):
            for i in range(before + during):
                if i == before:
                    if fault == "kill":
                        writer_client.client_kill_filter(_type="pubsub")
                    elif fault == "silent":
                        proxy.paused.set()
                    else:
                        redis_cm.__exit__(None, None, None)
                claims = {"jti": f"{fault}-{i}", "sub": "bob", "iat": 1, "exp": time.time() + 600}
                phase = "before" if i < before else "during"
                try:
                    writer.deny_token(claims)
                except (redis.exceptions.RedisError, OSError):
                    rows.append({"phase": phase, "answer": "revocation refused", "seconds": 0.0})
                    continue
                accepted.append(claims)
                answer, seconds = _exposure(reader, claims, deadline=reader.lease + 5)
                rows.append({"phase": phase, "answer": answer, "seconds": seconds})
            if fault == "silent":
                proxy.paused.clear()
            elif fault == "restart":
                redis_cm = redis_server(tcp_port=port)
                redis_cm.__enter__()
            deadline, newest = time.monotonic() + 15, writer.sequence_in_redis()
            while not (reader.in_sync and reader.applied_sequence >= newest):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            back_in_sync = reader.in_sync
            lost = sum(not reader.is_denied(c) for c in accepted) if back_in_sync else None
            with CachedDenyList(writer_client, channel=channel) as late:  # a process started now
                lost_late = sum(not late.is_denied(c) for c in accepted)
    finally:
        proxy.close()
        for client in (writer_client, reader_client):
            client.close()
        redis_cm.__exit__(None, None, None)
    during_rows = [r for r in rows if r["phase"] == "during"]
    return {
        "fault": fault,
        "revocations accepted": len(accepted),
        "lost": lost,
        "lost for a process started after": lost_late,
        "answers during the fault": sorted({r["answer"] for r in during_rows}),
        "longest 'not revoked' before, s": max(
            r["seconds"] for r in rows if r["phase"] == "before"
        ),
        "longest 'not revoked' during, s": max(r["seconds"] for r in during_rows),
        "back in sync": back_in_sync,
    }


# --- DPoP nonces against proofs signed in advance ---------------------------------------------


def presigned_proofs(app, *, origin: str, traveller, start: int, minutes=(2, 10, 30, 55)):
    """Script in the page at minute 0: it cannot read the non-extractable key, but has it sign
    a proof for ``GET /me`` dated each of ``minutes`` (``iat`` is whatever the script asks),
    with the page's current nonce when the server hands one out. The tab then closes. At each
    of those minutes the attacker sends the stolen access token with that minute's proof.
    Returns ``{minute: HTTP status}``; ``app`` is a DPoP app served in-process."""
    client, key = app.test_client(), DPoPKey()
    traveller.move_to(start)

    def log_in(nonce=None):
        proof = key.proof("POST", f"{origin}/login", now=time.time(), nonce=nonce)
        form = {"username": "alice", "password": PASSWORD}
        return client.post("/login", data=form, headers={"DPoP": proof})

    reply = log_in()
    nonce = reply.headers.get("DPoP-Nonce")
    if reply.status_code == 400 and reply.get_json().get("error") == "use_dpop_nonce":
        reply = log_in(nonce)  # RFC 9449 §8: retry with the nonce the server provided
    token = reply.get_json()["access_token"]
    signed = {
        m: key.proof("GET", f"{origin}/me", access_token=token, now=start + 60 * m, nonce=nonce)
        for m in minutes
    }
    statuses = {}
    for minute, proof in signed.items():
        traveller.move_to(start + 60 * minute)
        headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
        statuses[minute] = client.get("/me", headers=headers).status_code
    return statuses
