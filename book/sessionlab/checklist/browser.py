"""The checklist's browser runner: the items that are about what a browser stores and sends
(login CSRF, cookie tossing) run in real browsers instead of over HTTP when the checklist is
given them, in each engine given.

The interface is small on purpose: :class:`BrowserTab` takes the lab's browsers
(:mod:`sessionlab.lab.browser`: Chromium, Firefox; ``bench.browser(engine)``) and hands each app
a fresh page per item in each engine, in turns; an item's browser version is an ``async``
function of an :class:`InBrowser`. The row is FAIL when any engine FAILs, and keeps each
engine's status. The app is reached as ``app.site.localhost`` (loopback, and a secure context,
so ``Secure`` and ``__Host-`` cookies work over http in Chromium and Firefox; WebKitGTK refuses
them over http, so it cannot run these items against apps served over http), its sibling host
is ``evil.site.localhost`` and the attacker's other site is ``127.0.0.1``. Every wait is on an
event (a navigation, a load), never on a clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from dataclasses import dataclass

from sessionlab.checklist.adapter import (
    APP_HOST,
    FAIL,
    PASS,
    SHARED_DOMAIN,
    SIBLING_HOST,
    Adapter,
)
from sessionlab.checklist.items import LOGIN_CSRF, TOSSING, Item, browser_version, logged_in
from sessionlab.lab.browser import Browser, Cookie, Page
from sessionlab.lab.servers import LoopbackServer, ServerLimits, serve_wsgi

#: The victim logs in the way a single-page app does: fetch the CSRF token, post the form.
LOG_IN_JS = """async ([csrf, csrfPath, csrfHeader, loginPath, username, password]) => {
  let token = null;
  if (csrf === "endpoint") token = (await (await fetch(csrfPath)).json()).csrf_token;
  if (csrf.startsWith("cookie:")) {
    const prefix = csrf.slice("cookie:".length) + "=";
    const found = document.cookie.split("; ").find((c) => c.startsWith(prefix));
    token = found ? decodeURIComponent(found.slice(prefix.length)) : null;
  }
  const headers = token ? { [csrfHeader]: token } : {};
  const body = new URLSearchParams({ username, password });
  return (await fetch(loginPath, { method: "POST", headers, body })).status;
}"""
KEPT_JS = """(name, value) => document.cookie.split("; ").includes(`${name}=${value}`)"""
WHOAMI_JS = """async (path) => {
  const response = await fetch(path, { cache: "no-store" });
  return response.ok ? String((await response.json()).user) : String(response.status);
}"""


class BrowserItemError(RuntimeError):
    """A browser item could not run to its answer (a wait timed out, the engine refused a
    command); the message names the configuration, the engine and the item."""


#: The engines the browser items run in, by the lab's names. Not WebKitGTK: it drops a
#: ``Secure`` cookie that arrives over plain http, and the apps under the checklist speak http.
ENGINES = ("chromium", "firefox")


async def engines(bench) -> list[Browser]:
    """The :data:`ENGINES`, started by (and closed with) ``bench``, for ``browser=``."""
    return [await bench.browser(engine) for engine in ENGINES]


@dataclass
class InBrowser:
    """One app in one engine: a page in a fresh profile of its own (the lab's
    :class:`~sessionlab.lab.browser.Page`), and the attacker's server, whose pages are another
    site (at ``127.0.0.1``) or, under :data:`SIBLING_HOST`, the app's sibling."""

    adapter: Adapter
    page: Page
    attacker: LoopbackServer

    @property
    def engine(self) -> str:
        """The engine's product name without its version (evidence stays the same on upgrade)."""
        return self.page.browser.name.removesuffix(" ESR")

    def url(self, path: str, host: str = APP_HOST) -> str:
        port = urllib.parse.urlsplit(self.adapter.base_url).port
        return f"http://{host}:{port}{path}"

    async def whoami(self) -> str:
        """Whom the protected page names for this browser, or its status code (from a page of
        the app's origin)."""
        return await self.page.evaluate(WHOAMI_JS, self.adapter.protected_path)

    async def adopt(self, client) -> None:
        """Put ``client``'s session cookie into this browser, with the attributes its last
        ``Set-Cookie`` gave it (host-only unless it named a Domain)."""
        name = self.adapter.session_cookie
        sent = next(c for c in reversed(client.set_cookies) if c.name == name)
        domain = sent.attributes.get("domain")
        cookie = Cookie(
            name, sent.value,
            "." + domain.lstrip(".") if domain else APP_HOST,
            sent.attributes.get("path") or "/",
            "httponly" in sent.attributes, "secure" in sent.attributes,
            sent.attributes.get("samesite", ""),
        )  # fmt: skip
        await self.page.add_cookie(cookie)

    async def log_in(self, user: str) -> int:
        a = self.adapter
        args = [a.csrf, a.csrf_path or "", a.csrf_header, a.login_path, user, a.users[user][0]]
        return await self.page.evaluate(LOG_IN_JS, args)


@browser_version(LOGIN_CSRF)
async def login_csrf_in_browser(side: InBrowser):
    """The attacker's page on another site posts the login form with the attacker's account."""
    login = side.url(side.adapter.login_path)
    await side.page.goto(side.attacker.url, until=lambda url: url == login)  # submits on load
    status = await side.page.status()  # the app's answer is the page now: a page of its origin
    user = await side.whoami()
    if user == "dave":
        return (
            FAIL,
            f"in {side.engine}: the other site's form logged the victim in as dave ({status})",
        )
    return (
        PASS,
        f"in {side.engine}: the other site's form was refused ({status}); the page shows {user}",
    )


@browser_version(TOSSING)
async def tossing_in_browser(side: InBrowser):
    """The sibling host's script sets the attacker's session cookie for the whole domain, twice:
    for a longer Path (sent before the victim's cookie) and for Path=/ (sent after it, being
    newer), so the attacker's cookie comes first and last, whichever one the app reads."""
    a, page, engine = side.adapter, side.page, side.engine
    dave = (await asyncio.to_thread(logged_in, a, "dave")).session_value
    await page.goto(side.url(a.protected_path))  # a page of the app: nothing left in flight
    status, how = await side.log_in("alice"), ""
    if status != 200:
        # An app behind the lab's stand-in for a TLS proxy (X-Forwarded-Proto: https) that checks
        # Origin sees the browser's http:// Origin as another origin (Rails answers 422): alice's
        # cookie is then the one an HTTP login got, as its Set-Cookie described it.
        await side.adopt(await asyncio.to_thread(logged_in, a, "alice"))
        how = f" (alice logged in over HTTP: the page's login answered {status})"
    if await side.whoami() != "alice":  # untestable here: never a PASS
        return FAIL, f"in {engine}: inconclusive: no login as alice on the app's page ({status})"
    # A page of the sibling that submits nothing: the attacker's "/" would post the login form,
    # and a same-site sibling's form is login CSRF, not the cookie tossing tested here.
    await page.goto(f"http://{SIBLING_HOST}:{side.attacker.port}/sibling")  # its 404 page
    for path in (a.protected_path, "/"):
        tossed = f"{a.session_cookie}={dave}; Domain={SHARED_DOMAIN}; Path={path}; Secure"
        await page.evaluate("(cookie) => { document.cookie = cookie; }", tossed)
    # Kept or not, as the sibling's own page sees its cookies: an engine's cookie store can lag
    # behind a script's write (Firefox's parent process learns of it later).
    stored = await page.evaluate(KEPT_JS, a.session_cookie, dave)
    await page.goto(side.url(a.protected_path))  # alice opens the page
    user = await side.whoami()
    if stored:
        kept = f"the sibling's {a.session_cookie} cookies stored"
    else:
        kept = "the browser refused the sibling's cookies"
    return FAIL if user == "dave" else PASS, f"in {engine}: {kept}; the page shows {user}{how}"


class BrowserTab:
    """The engines the browser items run in: each app takes each engine in turn (one app at a
    time per engine, one engine at a time per app), in a fresh page per item, closed after it.
    Takes the lab's browsers (``bench.browser()``, ``bench.browser("firefox")``)."""

    def __init__(self, *browsers: Browser) -> None:
        if not browsers or not all(isinstance(b, Browser) for b in browsers):
            raise TypeError("BrowserTab takes the lab's browsers (bench.browser(engine))")
        self.browsers = browsers
        self._turns = {id(b): asyncio.Lock() for b in browsers}

    @contextlib.asynccontextmanager
    async def turn(self, browser: Browser, adapter: Adapter):
        async with self._turns[id(browser)]:
            page = await browser.new_page()
            try:
                await page.set_extra_headers(adapter.extra_headers)
                yield page
            finally:
                await page.close()


def _combined(found: dict[str, tuple[str, str]]) -> tuple[str, str, dict[str, str]]:
    """One row from each engine's answer: FAIL when any engine FAILs (a protection that holds in
    one engine only leaves the others' users exposed), the evidence of each, the engines'
    statuses."""
    statuses = {engine: status for engine, (status, _) in found.items()}
    status = FAIL if FAIL in statuses.values() else PASS
    return status, "; ".join(evidence for _, evidence in found.values()), statuses


async def _run_in_browsers(adapter: Adapter, tab: BrowserTab, chosen: list[Item]) -> dict:
    """The browser items in each engine, with the app's own attacker's server."""
    if not chosen:
        return {}
    from sessionlab.recommended.webauth import create_attacker_app

    port = urllib.parse.urlsplit(adapter.base_url).port
    form = {"username": "dave", "password": adapter.users["dave"][0]}  # the attacker's account
    attacker_app = create_attacker_app(
        f"http://{APP_HOST}:{port}", path=adapter.login_path, fields=form
    )

    async def in_engine(browser: Browser) -> dict:
        found = {}
        for c in chosen:
            async with tab.turn(browser, adapter) as page:
                try:
                    found[c.title] = await c.in_browser(InBrowser(adapter, page, attacker))
                except Exception as error:  # any engine's error, with the app, engine and item
                    where = f"{adapter.name}, in {browser.name}, {c.title!r}"
                    raise BrowserItemError(f"{where}: {type(error).__name__} {error}") from error
        return found

    with serve_wsgi(attacker_app, limits=ServerLimits(threads=2)) as attacker:
        answers = [await in_engine(b) for b in tab.browsers]  # one engine at a time per app
    names = [b.name.removesuffix(" ESR") for b in tab.browsers]
    return {
        c.title: _combined({e: answer[c.title] for e, answer in zip(names, answers, strict=True)})
        for c in chosen
    }
