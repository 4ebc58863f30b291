"""The EU consent rule for storing things in a browser, as code a chapter can test.

Article 5(3) of the ePrivacy Directive (2002/58/EC, as amended by 2009/136/EC) requires consent
before a service stores information in a user's terminal equipment or reads information
already stored there, unless the storage is (A) for the sole purpose of carrying out the
transmission of a communication, or (B) strictly necessary to provide a service the user
explicitly asked for. The Article 29 Working Party's Opinion 04/2012 (WP194) worked through
common purposes; the EDPB's Guidelines 2/2023 confirm that the rule is about storage and
access in general, not about one technology.

This module encodes that reading for the purposes the book discusses. :func:`consent_required`
never looks at the storage mechanism: that is a choice of the encoding, taken from the sources
(Art. 5(3) speaks of "storing of information", WP194 covers "similar technologies", the EDPB
guidelines name web storage), so "the answer does not depend on storage" is not evidence the code
can produce. What can be tested is whether the encoding agrees with the cases the texts
themselves decide: :data:`SOURCE_CASES`, each with the text it comes from. :func:`essay_rule`
(the essay's "regardless of how you store that session") and :func:`cookie_law_myth` are tested
against the same cases, and each contradicts at least one. It is a teaching model,
not legal advice: national laws implement the Directive, regulators' guidance differs in
details, and a real assessment looks at the whole processing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, make_response

from sessionlab.lab.registry import registered_app

__all__ = [
    "MECHANISMS",
    "SOURCE_CASES",
    "SourceCase",
    "Purpose",
    "agreement_with_sources",
    "essay_rule",
    "PURPOSES",
    "READ_TOKEN",
    "STORE_TOKEN",
    "consent_required",
    "create_storage_site",
    "where_the_token_is",
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


@dataclass(frozen=True)
class SourceCase:
    """A case one of the texts decides: what is stored, where, why, and the text's answer."""

    case: str
    mechanism: str
    purpose: str
    consent_required: bool
    source: str


#: Cases the sources decide themselves, paraphrased with where each comes from.
SOURCE_CASES = (
    SourceCase("session cookie identifying a logged-in user (online banking)", "cookie",
               "login-session", False, "WP194, Authentication cookies"),
    SourceCase("persistent login cookie kept across browser sessions", "cookie",
               "login-persistent", True, "WP194, Authentication cookies"),
    SourceCase('a "remember me" login that outlives the session, any similar technology',
               "localStorage", "login-persistent", True,
               "WP194, Introduction (similar technologies) and Authentication cookies"),
    SourceCase("load balancer's session cookie", "cookie", "load-balancing", False,
               "WP194, Load balancing session cookies"),
    SourceCase("language chosen by the user, for the session", "cookie", "ui-session", False,
               "WP194, User interface customisation cookies"),
    SourceCase("language chosen by the user, kept for months", "cookie", "ui-persistent", True,
               "WP194, User interface customisation cookies"),
    SourceCase("first-party analytics identifier", "cookie", "analytics", True,
               "WP194, First party analytics"),
    SourceCase("tracking identifier in web storage", "localStorage", "analytics", True,
               "EDPB Guidelines 2/2023, web storage in scope; Art. 5(3)"),
)  # fmt: skip


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


def essay_rule(mechanism: str, purpose: str) -> bool:
    """The essay's rule: functional storage (staying logged in, a preference) needs no consent
    "regardless of how you store that session"; analytics and tracking always do. Too broad:
    WP194 does not exempt a login or a preference kept beyond the session."""
    _check(mechanism, purpose)
    return purpose == "analytics"


def agreement_with_sources(rule: Callable[[str, str], bool]) -> list[tuple[SourceCase, bool]]:
    """``(case, rule's answer)`` for every :data:`SOURCE_CASES` entry the rule gets wrong."""
    wrong = []
    for case in SOURCE_CASES:
        answer = rule(case.mechanism, case.purpose)
        if answer != case.consent_required:
            wrong.append((case, answer))
    return wrong


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


@registered_app(
    "no_cookie_consent.storage_site", sample=lambda: [("storage site", create_storage_site())]
)
def create_storage_site() -> Flask:
    """A page that "logs in" by setting a session cookie and a 30-day cookie (the same token)."""
    app = Flask(__name__)

    @app.get("/login")
    def login():
        response = make_response("<!doctype html><title>logged in</title>")
        attributes = dict(httponly=True, samesite="Lax")
        response.set_cookie("token_session_cookie", "demo-token", **attributes)
        response.set_cookie(
            "token_persistent_cookie", "demo-token", max_age=30 * 86400, **attributes
        )
        return response

    return app


#: Page script: store the same token in sessionStorage, localStorage and IndexedDB.
STORE_TOKEN = """async () => {
  sessionStorage.setItem("token", "demo-token");
  localStorage.setItem("token", "demo-token");
  await new Promise((resolve, reject) => {
    const open = indexedDB.open("auth", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("tokens");
    open.onerror = reject;
    open.onsuccess = () => {
      const tx = open.result.transaction("tokens", "readwrite");
      tx.objectStore("tokens").put("demo-token", "token");
      tx.oncomplete = () => { open.result.close(); resolve(); };
      tx.onerror = reject;
    };
  });
}"""

#: Page script: read the token back from the three script-visible stores.
READ_TOKEN = """async () => {
  const indexeddb = await new Promise((resolve) => {
    const open = indexedDB.open("auth", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("tokens");
    open.onsuccess = () => {
      const get = open.result.transaction("tokens").objectStore("tokens").get("token");
      get.onsuccess = () => { open.result.close(); resolve(get.result ?? null); };
    };
  });
  return {sessionStorage: sessionStorage.getItem("token"),
          localStorage: localStorage.getItem("token"), IndexedDB: indexeddb};
}"""


async def where_the_token_is(context, url: str) -> dict[str, bool]:
    """Which of the five places still hold the token, seen from a page at ``url``."""
    page = context.pages[0] if context.pages else await context.new_page()
    await page.goto(url)
    stored = await page.evaluate(READ_TOKEN)
    cookies = {cookie["name"] for cookie in await context.cookies()}
    return {
        "session cookie": "token_session_cookie" in cookies,
        "persistent cookie (Max-Age 30 days)": "token_persistent_cookie" in cookies,
        **{name: value == "demo-token" for name, value in stored.items()},
    }
