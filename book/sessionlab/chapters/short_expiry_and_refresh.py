"""Chapter 30's harness: the sweep over the moment of detection, the reuse stories, the busy hour.

Everything runs the book's one JWT app (:func:`~sessionlab.recommended.jwt_app.create_jwt_app`)
and its parts under a clock that ``time_machine`` freezes and moves; the attack harness is
:mod:`sessionlab.recommended.jwt_remedies`.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import jwt
import pandas as pd
import time_machine

from sessionlab.lab.plotting import JWT_COLOUR, PALETTE, SESSION_COLOUR, new_figure
from sessionlab.recommended.jwt_app import KeyRing, RefreshTokenStore, create_jwt_app
from sessionlab.recommended.jwt_remedies import TokenClient
from sessionlab.recommended.sessions import MemorySessionStore

__all__ = [
    "windows_after_detection",
    "issuances_per_user_hour",
    "plot_sweep",
    "reuse_story",
    "one_busy_hour",
]


def windows_after_detection(
    lifetime: int, phase: int, *, users: dict, detected_at: int, renew_at: float
) -> dict[str, Any]:
    """Alice's client renews (the script copies the token); T comes ``phase`` seconds later.

    Returns how long after T the copy is still accepted (``exposure``) and how long alice's own
    client still presents the removed role (``stale role``, until its next renewal), each
    checked with the verifier: the copy is accepted one second before its ``exp`` and refused
    at ``exp``, and the renewed token carries the new role.
    """
    users = copy.deepcopy(users)
    service = create_jwt_app(KeyRing(), users, lifetime=lifetime).service
    renewed_at = detected_at - phase
    next_renewal = renewed_at + int(renew_at * lifetime)
    with time_machine.travel(renewed_at, tick=False) as traveller:
        copied = service.issue_access("alice")
        traveller.move_to(detected_at)
        users["alice"]["role"] = "user"
        expires_at = service.authenticate(copied)["exp"]
        traveller.move_to(next_renewal)
        renewed_role = service.authenticate(service.issue_access("alice"))["role"]
        traveller.move_to(expires_at - 1)
        copy_still_admin = service.authenticate(copied)["role"] == "admin"
        traveller.move_to(expires_at)
        try:
            service.authenticate(copied)
            refused_at_exp = False
        except jwt.ExpiredSignatureError:
            refused_at_exp = True
    return {
        "lifetime": lifetime,
        "exposure": expires_at - detected_at,
        "stale role": next_renewal - detected_at,
        "checked by the verifier": copy_still_admin and refused_at_exp and renewed_role == "user",
    }


def issuances_per_user_hour(
    lifetime: int, *, users: dict, start: int, renew_at: float, hours: int = 24
) -> float:
    """Tokens issued to one user who is active around the clock, per hour."""
    service = create_jwt_app(KeyRing(), copy.deepcopy(users), lifetime=lifetime).service
    renew_every = int(renew_at * lifetime)
    with time_machine.travel(start, tick=False) as traveller:
        for moment in range(start, start + hours * 3600, renew_every):
            traveller.move_to(moment)
            service.issue_access("alice")
    return service.issued / hours


def plot_sweep(sweep: pd.DataFrame):
    """(a) the windows after T against the lifetime, (b) the issuances they cost; log-log."""
    from matplotlib.ticker import FuncFormatter

    minutes = sweep.index.to_numpy()
    fig, (ax_windows, ax_load) = new_figure(7.0, 7.6, nrows=2)  # stacked: legible on a phone
    for window, colour, label in (
        ("exposure", JWT_COLOUR, "attacker's copy still accepted"),
        ("stale role", PALETTE["orange"], "alice's token still says admin"),
    ):
        best, mean, worst = (sweep[f"{window}, {how}"] for how in ("best", "mean", "worst"))
        ax_windows.fill_between(minutes, best, worst, color=colour, alpha=0.15, lw=0)
        ax_windows.plot(minutes, mean, color=colour, marker="o", ms=4, label=f"{label} (mean)")
        ax_windows.plot(minutes, worst, color=colour, ls="--", lw=1, label=f"{label} (worst)")
    note = "server-side session: 0 at every lifetime"
    ax_windows.text(
        0.98,
        0.03,
        note,
        transform=ax_windows.transAxes,
        ha="right",
        color=SESSION_COLOUR,
    )
    ax_windows.set_ylabel("window after T (min, log scale)")
    ax_windows.set_title("(a) what is left after T")
    ax_windows.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncols=2)  # off the data
    ax_load.plot(minutes, sweep["issuances per user-hour"], color=JWT_COLOUR, marker="o", ms=4)
    ax_load.set_ylabel("tokens issued per active user-hour")
    ax_load.set_title("(b) what it costs")
    for ax in (ax_windows, ax_load):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(minutes, [f"{m:g}" for m in minutes])
        ax.minorticks_off()
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:g}"))
        ax.set_xlabel("access-token lifetime (min)")
    return fig


def reuse_story(
    client: TokenClient, first: str, second: str, *, traveller, password: str
) -> pd.DataFrame:
    """Alice logs in and the script copies both tokens; then ``first`` refreshes, ``second``,
    ``first`` again, a minute apart; then the attacker tries its newest access token twice."""

    def now() -> str:
        return time.strftime("%H:%M", time.gmtime(time.time()))

    held = {"alice": client.login("alice", password)}
    held["attacker"] = dict(held["alice"])
    events = [(now(), "alice", "POST /login", 200, "the script copies both tokens")]
    for who in (first, second, first):
        traveller.shift(60)
        status, body = client.refresh(held[who]["refresh_token"])
        if status == 200:
            held[who] = body
        events.append((now(), who, "POST /refresh", status, body.get("error", "")))
    for wait in (60, 120):
        traveller.shift(wait)
        status = client.get("/admin", held["attacker"]["access_token"])
        events.append((now(), "attacker", "GET /admin, newest access token", status, ""))
    columns = ["time", "who", "request", "status", "error or note"]
    return pd.DataFrame(events, columns=columns).set_index("time")


def one_busy_hour(
    *,
    users: dict,
    start: int,
    access_lifetime: int,
    refresh_lifetime: int,
    renew_every: int,
    request_every: int,
) -> dict[str, dict[str, int]]:
    """Store lookups for the same hour of requests in both designs (no HTTP, the same parts).

    The session side looks its session up on every request; the refresh side checks each
    access token's signature, and its refresh store once per renewal.
    """
    store = MemorySessionStore(idle_timeout=30 * 60, absolute_timeout=8 * 3600)
    refresh_tokens = RefreshTokenStore(lifetime=refresh_lifetime)
    service = create_jwt_app(KeyRing(), copy.deepcopy(users), lifetime=access_lifetime).service
    requests_made = 0
    with time_machine.travel(start, tick=False) as traveller:
        session = store.create("alice")
        refresh_token, access_token = refresh_tokens.issue("alice"), service.issue_access("alice")
        renew_at = start + renew_every
        for moment in range(start, start + 3600, request_every):
            traveller.move_to(moment)
            if moment >= renew_at:
                _, refresh_token = refresh_tokens.rotate(refresh_token)
                access_token = service.issue_access("alice")
                renew_at += renew_every
            assert store.get(session.session_id) is not None
            assert service.authenticate(access_token)["sub"] == "alice"
            requests_made += 1
    return {
        "server-side session": {
            "requests": requests_made,
            "store lookups": store.lookups,
            "records per login": len(store),
        },
        "refresh rotation": {
            "requests": requests_made,
            "store lookups": refresh_tokens.lookups,
            "records per login": len(refresh_tokens),
        },
    }
