"""The checklist's browser runner: the items that are about what a browser stores and sends
(login CSRF, cookie tossing) run in a real browser instead of over HTTP when the checklist is
given one.

The interface is small on purpose: :class:`BrowserTab` takes any Playwright ``Browser`` (the
book's is Chromium, ``bench.browser()``) and hands the apps one context and one tab in turns;
an item's browser version is an ``async`` function of an :class:`InBrowser`. The app is reached as
``app.site.localhost`` (loopback, and a secure context, so ``Secure`` and ``__Host-`` cookies work
over http), its sibling host is ``evil.site.localhost`` and the attacker's other site is
``127.0.0.1``. Every wait is on an event (a navigation, a response, a load), never on a clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from sessionlab.checklist.adapter import (
    APP_HOST,
    FAIL,
    PASS,
    SHARED_DOMAIN,
    SIBLING_HOST,
    Adapter,
)
from sessionlab.checklist.items import LOGIN_CSRF, TOSSING, Item, chromium_version, logged_in
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
WHOAMI_JS = """async (path) => {
  const response = await fetch(path, { cache: "no-store" });
  return response.ok ? String((await response.json()).user) : String(response.status);
}"""


@dataclass
class InBrowser:
    """One app in Chromium: one browser context, one tab, and the attacker's server, whose pages
    are another site (at ``127.0.0.1``) or, under :data:`SIBLING_HOST`, the app's sibling."""

    adapter: Adapter
    context: Any
    attacker: LoopbackServer
    tab: Any = None

    def url(self, path: str, host: str = APP_HOST) -> str:
        port = urllib.parse.urlsplit(self.adapter.base_url).port
        return f"http://{host}:{port}{path}"

    async def whoami(self) -> str:
        """Whom the protected page names for this browser, or its status code (from a page of
        the app's origin)."""
        return await self.tab.evaluate(WHOAMI_JS, self.adapter.protected_path)

    async def adopt(self, client) -> None:
        """Put ``client``'s session cookie into this browser, with the attributes its last
        ``Set-Cookie`` gave it (host-only unless it named a Domain)."""
        name = self.adapter.session_cookie
        sent = next(c for c in reversed(client.set_cookies) if c.name == name)
        cookie = {"name": name, "value": sent.value, "secure": "secure" in sent.attributes}
        cookie["httpOnly"] = "httponly" in sent.attributes
        same_site = sent.attributes.get("samesite", "").capitalize()
        if same_site in ("Lax", "Strict", "None"):
            cookie["sameSite"] = same_site
        if "domain" in sent.attributes:
            cookie |= {
                "domain": sent.attributes["domain"],
                "path": sent.attributes.get("path", "/"),
            }
        else:
            url = self.url(sent.attributes.get("path") or "/")
            # Chromium refuses a Secure cookie for an http:// URL here, even on a secure
            # context; one stored for https:// is sent to http://app.site.localhost as well.
            cookie["url"] = url.replace("http://", "https://", 1) if cookie["secure"] else url
        await self.context.add_cookies([cookie])

    async def log_in(self, user: str) -> int:
        a = self.adapter
        args = [a.csrf, a.csrf_path or "", a.csrf_header, a.login_path, user, a.users[user][0]]
        return await self.tab.evaluate(LOG_IN_JS, args)


@chromium_version(LOGIN_CSRF)
async def login_csrf_in_chromium(side: InBrowser):
    """The attacker's page on another site posts the login form with the attacker's account."""
    async with side.tab.expect_navigation(url=side.url(side.adapter.login_path)) as posted:
        await side.tab.goto(side.attacker.url, wait_until="commit")  # its form submits on load
    status = (await posted.value).status
    await side.tab.wait_for_load_state("load")  # the app's answer is the page now: an event
    user = await side.whoami()  # the tab now shows the app's answer: a page of its origin
    if user == "dave":
        return FAIL, f"in Chromium: the other site's form logged the victim in as dave ({status})"
    return PASS, f"in Chromium: the other site's form was refused ({status}); the page shows {user}"


@chromium_version(TOSSING)
async def tossing_in_chromium(side: InBrowser):
    """The sibling host's script sets the attacker's session cookie for the whole domain, twice:
    for a longer Path (sent before the victim's cookie) and for Path=/ (sent after it, being
    newer), so the attacker's cookie comes first and last, whichever one the app reads."""
    a, tab = side.adapter, side.tab
    dave = (await asyncio.to_thread(logged_in, a, "dave")).session_value
    await tab.goto(side.url(a.protected_path))  # a new page of the app: nothing left in flight
    status, how = await side.log_in("alice"), ""
    if status != 200:
        # An app behind the lab's stand-in for a TLS proxy (X-Forwarded-Proto: https) that checks
        # Origin sees the browser's http:// Origin as another origin (Rails answers 422): alice's
        # cookie is then the one an HTTP login got, as its Set-Cookie described it.
        await side.adopt(await asyncio.to_thread(logged_in, a, "alice"))
        how = f" (alice logged in over HTTP: the page's login answered {status})"
    if await side.whoami() != "alice":  # untestable here: never a PASS
        return (
            FAIL,
            f"in Chromium: inconclusive: no login as alice on the app's page ({status})",
        )
    await tab.goto(f"http://{SIBLING_HOST}:{side.attacker.port}/")  # any page of the sibling
    for path in (a.protected_path, "/"):
        tossed = f"{a.session_cookie}={dave}; Domain={SHARED_DOMAIN}; Path={path}; Secure"
        await tab.evaluate("(cookie) => { document.cookie = cookie; }", tossed)
    stored = [c for c in await side.context.cookies() if c["domain"] == "." + SHARED_DOMAIN]
    page = await tab.goto(side.url(a.protected_path))  # alice opens the page
    user = json.loads(await page.text()).get("user") if page.ok else str(page.status)
    if not stored:
        return (
            PASS,
            f"in Chromium: the browser refused the sibling's cookies; the page shows {user}{how}",
        )
    status = FAIL if user == "dave" else PASS
    return (
        status,
        f"in Chromium: the sibling's {a.session_cookie} cookies stored; the page shows {user}{how}",
    )


class BrowserTab:
    """One browser context and one tab of a Playwright ``browser``, which the apps' browser items
    take in turns, the cookies cleared between apps: Chromium then keeps one renderer process per
    site for every app, rather than starting new ones for each. :meth:`close` closes the context.
    """

    def __init__(self, browser) -> None:
        self.browser = browser
        self.context = self.tab = None
        self._turn = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def turn(self, adapter: Adapter):
        async with self._turn:
            if self.context is None:
                self.context = await self.browser.new_context()
                self.tab = await self.context.new_page()
            await self.context.clear_cookies()
            await self.tab.set_extra_http_headers(adapter.extra_headers)
            yield self.context, self.tab

    async def close(self) -> None:
        if self.context is not None:
            await self.context.close()
            self.context = self.tab = None


async def _run_in_chromium(adapter: Adapter, chromium: BrowserTab, chosen: list[Item]) -> dict:
    """The Chromium items, in the shared tab, with the app's own attacker's server."""
    if not chosen:
        return {}
    from sessionlab.recommended.webauth import create_attacker_app

    port = urllib.parse.urlsplit(adapter.base_url).port
    form = {"username": "dave", "password": adapter.users["dave"][0]}  # the attacker's account
    attacker_app = create_attacker_app(
        f"http://{APP_HOST}:{port}", path=adapter.login_path, fields=form
    )
    found = {}
    with serve_wsgi(attacker_app, limits=ServerLimits(threads=2)) as attacker:
        async with chromium.turn(adapter) as (context, tab):
            side = InBrowser(adapter, context, attacker, tab)
            for c in chosen:
                await context.clear_cookies()
                found[c.title] = await c.in_chromium(side)
    return found


#: The name chapter 41's text and older code use.
ChromiumTab = BrowserTab
InChromium = InBrowser
