"""Chapter 31's harness: the replay's summary and its figure.

The remedies themselves (deny-lists, token versions, key rings) are options and parts of
:mod:`sessionlab.recommended.jwt_app`; the attack harness is :mod:`sessionlab.recommended.jwt_remedies`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sessionlab.lab.plotting import JWT_COLOUR, PALETTE, SESSION_COLOUR, new_figure
from sessionlab.recommended.jwt_remedies import AttackTimeline

__all__ = ["summarise", "plot_timeline"]


def summarise(steps: pd.DataFrame, timeline: AttackTimeline) -> dict[str, Any]:
    """One row of the chapter's table from one variant's replay (see the chapter for each column)."""
    theft, detected, outage = (timeline.theft // 60, timeline.detected // 60, timeline.outage // 60)
    by_minute = steps.set_index("minute")
    at_T = by_minute.loc[detected]
    after_T = by_minute.loc[detected : timeline.end // 60 - 1, "attacker_status"]
    # Minutes 1 to 9: only bob's one request a minute; renewals are counted separately.
    first, last = by_minute.loc[0], by_minute.loc[theft - 1]
    per_request = (last["lookups"] - first["lookups"]) / (theft - 1)
    renewals = last["renewals"] - first["renewals"]
    renewal_lookups = last["renewal_lookups"] - first["renewal_lookups"]
    per_renewal = renewal_lookups / renewals if renewals else 0.0
    records = int(by_minute.loc[detected - 1, "records"])
    during_outage = by_minute.loc[outage:]
    revokes = at_T["attacker_status"] != 200 and at_T["bystander_status"] == 200
    outage_statuses = "/".join(
        str(int(during_outage[who].mode()[0])) for who in ("attacker_status", "bystander_status")
    )
    return {
        "revokes one user at T": bool(revokes and not at_T["bystander_relogged"]),
        "attacker's admin minutes after T": int((after_T == 200).sum()),
        "server-side state": bool(records or per_request or per_renewal),
        "records, 2 users": records,
        "lookups per request": float(per_request),
        "lookups per renewal": float(per_renewal),
        "outage: attacker/bob": (
            outage_statuses if steps["variant"].iloc[0].startswith("deny-list") else ""
        ),
    }


def plot_timeline(replay: pd.DataFrame, names: list[str], timeline: AttackTimeline):
    """One row per variant: bars where the attacker opened ``/admin``, crosses where bob was
    refused or made to log in again, dashed lines at the theft, T and the outage."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fig, ax = new_figure(7.0, 4.6)
    for row, name in enumerate(names):
        steps = replay[replay["variant"] == name]
        y = len(names) - 1 - row
        admin = steps[steps["attacker_status"] == 200]["minute"]
        ax.broken_barh([(m, 1) for m in admin], (y - 0.3, 0.6), color=JWT_COLOUR, lw=0)
        bothered = steps[(steps["bystander_status"] != 200) | steps["bystander_relogged"]]
        ax.scatter(
            bothered["minute"] + 0.5,
            [y] * len(bothered),
            marker="x",
            s=18,
            color=PALETTE["black"],
            zorder=3,
        )
    marks = ((timeline.theft, "theft"), (timeline.detected, "T"), (timeline.outage, "Redis stops"))
    for seconds, label in marks:
        ax.axvline(seconds // 60, color=PALETTE["black"], ls="--", lw=1)
        ax.text(seconds // 60 + 0.4, len(names) - 0.45, label)
    ax.set_yticks(range(len(names)), list(reversed(names)))
    ax.set_xlim(0, timeline.end // 60 + 1)
    ax.set_ylim(-0.7, len(names) - 0.1)
    ax.set_xlabel("minutes after alice logs in (09:00)")
    ax.grid(axis="y", visible=False)
    cross = Line2D([], [], marker="x", ls="none", color=PALETTE["black"])
    handles = [Patch(color=JWT_COLOUR), cross]
    labels = ["attacker gets GET /admin (200)", "bob refused, or made to log in again"]
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1)
    for tick, name in zip(ax.get_yticklabels(), reversed(names), strict=True):
        tick.set_color(SESSION_COLOUR if name == "server-side session" else PALETTE["black"])
    return fig
