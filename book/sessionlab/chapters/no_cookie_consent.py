"""The EU consent rule for storing things in a browser, as code a chapter can test.

Article 5(3) of the ePrivacy Directive (2002/58/EC, as amended by 2009/136/EC) requires consent
before a service stores information in a user's terminal equipment or reads information
already stored there, unless the storage is (A) for the sole purpose of carrying out the
transmission of a communication, or (B) strictly necessary to provide a service the user
explicitly asked for. The Article 29 Working Party's Opinion 04/2012 (WP194) worked through
common purposes; the EDPB's Guidelines 2/2023 confirm that the rule is about storage and
access in general, not about one technology.

This module encodes that reading for the purposes the book discusses. It is a teaching model,
not legal advice: national laws implement the Directive, regulators' guidance differs in
details, and a real assessment looks at the whole processing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "MECHANISMS",
    "Purpose",
    "PURPOSES",
    "consent_required",
    "cookie_law_myth",
    "decision_table",
    "mechanism_dependent_purposes",
    "login_purpose",
]

#: Browser storage a site can write and read back. Art. 5(3) names none of them.
MECHANISMS = ("cookie", "localStorage", "sessionStorage", "IndexedDB")


@dataclass(frozen=True)
class Purpose:
    """Why something is stored, and what the sources say about consent for that purpose."""

    key: str
    label: str
    consent_required: bool
    exemption: str  # which Art. 5(3) exemption applies, or "none"
    source: str  # where WP194 discusses it
    condition: str  # what the exemption depends on


PURPOSES: dict[str, Purpose] = {
    p.key: p
    for p in (
        Purpose(
            "login-session",
            "Authentication, for the browser session",
            False,
            "B: strictly necessary",
            "WP194, authentication cookies",
            "lasts for the session only; used for nothing else",
        ),
        Purpose(
            "login-persistent",
            'Persistent login ("remember me")',
            True,
            "none",
            "WP194, authentication cookies",
            'not exempt; the "remember me" box, clearly explained, can be where consent is given',
        ),
        Purpose(
            "analytics",
            "Analytics or tracking",
            True,
            "none",
            "WP194, first-party analytics; tracking and advertising cookies",
            "not strictly necessary for the service the user asked for",
        ),
        Purpose(
            "load-balancing",
            "Load balancing, for the session",
            False,
            "A: transmission",
            "WP194, load balancing session cookies",
            "lasts for the session only; used for nothing else",
        ),
        Purpose(
            "ui-session",
            "UI preference, for the session or a few hours",
            False,
            "B: strictly necessary",
            "WP194, user interface customisation cookies",
            "set because the user chose it; a browser session or a few hours",
        ),
        Purpose(
            "ui-persistent",
            "UI preference, kept for weeks or months",
            True,
            "none",
            "WP194, user interface customisation cookies",
            "longer storage needs information and the user's agreement, e.g. next to the setting",
        ),
    )
}


def _check(mechanism: str, purpose: str) -> Purpose:
    if mechanism not in MECHANISMS:
        raise ValueError(f"unknown storage mechanism {mechanism!r}; known: {MECHANISMS}")
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}; known: {sorted(PURPOSES)}")
    return PURPOSES[purpose]


def consent_required(mechanism: str, purpose: str) -> bool:
    """Does storing for ``purpose`` in ``mechanism`` need the user's consent? (Art. 5(3), WP194)

    The mechanism is validated but does not enter the decision: the Directive speaks of
    "storing of information" in the terminal equipment, whatever stores it.
    """
    return _check(mechanism, purpose).consent_required


def cookie_law_myth(mechanism: str, purpose: str) -> bool:
    """The folk rule behind the claim: "cookies need consent, other storage does not". Wrong on purpose."""
    _check(mechanism, purpose)
    return mechanism == "cookie"


def decision_table(
    rule: Callable[[str, str], bool] = consent_required,
) -> dict[str, dict[str, bool]]:
    """``{purpose: {mechanism: rule(mechanism, purpose)}}`` for every known pair."""
    return {
        purpose: {mechanism: rule(mechanism, purpose) for mechanism in MECHANISMS}
        for purpose in PURPOSES
    }


def mechanism_dependent_purposes(rule: Callable[[str, str], bool] = consent_required) -> list[str]:
    """The purposes for which ``rule`` gives different answers for different mechanisms."""
    return [purpose for purpose, row in decision_table(rule).items() if len(set(row.values())) > 1]


def login_purpose(*, survives_browser_restart: bool) -> str:
    """Which purpose a login token serves, judged by how long it really stays on the device.

    A token that outlives the browser session keeps the user logged in across sessions: that is
    a persistent login in WP194's sense, whatever API stored it.
    """
    return "login-persistent" if survives_browser_restart else "login-session"
