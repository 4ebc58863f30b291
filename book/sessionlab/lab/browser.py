"""Three browser engines behind one small interface, for the browser chapters.

A chapter asks its bench for an engine and does not care how the engine is driven::

    chromium = await bench.browser("chromium")      # or: browsers = await bench.browsers()
    page = await chromium.new_page()                # a fresh, isolated profile
    await page.goto(f"{bank_url}/")
    await page.fill("#username", "alice")
    await page.click("#login", until=lambda url: url.endswith("/account"))
    cookies = await page.cookies()                  # [Cookie(name, value, ..., same_site)]
    await page.close()

The engines and their drivers (each engine is a Debian package, used offline):

- ``chromium``: the ``chromium`` package, through Playwright (:mod:`.browser_chromium`);
- ``firefox``: ``firefox-esr``, through WebDriver BiDi spoken directly over a websocket
  (:mod:`.browser_firefox`);
- ``webkit``: WebKitGTK's ``MiniBrowser`` through ``WebKitWebDriver`` (``webkit2gtk-driver``)
  and Selenium, on a private Xvfb display (:mod:`.browser_webkit`).

Every wait is on an event or a condition of the browser (a load, an element appearing), never
a fixed sleep. A missing engine raises :class:`EngineMissing`, naming the package to install.

``chromium()`` below is the older entry point (a Playwright browser), kept for the chapters
that still use Playwright directly.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import textwrap
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CHROMIUM_ARGS",
    "ENGINES",
    "Browser",
    "Cookie",
    "EngineMissing",
    "JavaScriptError",
    "NotSupported",
    "Page",
    "PageOptions",
    "chromium",
    "chromium_executable",
    "find_executable",
    "open_browser",
    "stacked",
]

#: The engines, in the order chapters show their columns.
ENGINES = ("chromium", "firefox", "webkit")

#: Flags for a quiet, offline, sandbox-free headless run (root in a container has no sandbox).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

#: How long any single wait may take before it is an error (a loaded machine is slow, not stuck).
WAIT_SECONDS = 60.0

#: What each engine needs on the machine: (environment override, candidates, Debian package).
_EXECUTABLES = {
    "chromium": (
        "SESSIONLAB_CHROMIUM",
        (
            "chromium",
            "chromium-browser",
            # where Homebrew's Chromium cask and Google Chrome put them on macOS (not on PATH)
            "/Applications/Chromium.app/Contents/MacOS/Chromium",
            "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
        ),
        "chromium",
    ),
    "firefox": ("SESSIONLAB_FIREFOX", ("firefox-esr", "firefox"), "firefox-esr"),
    "webkit-driver": ("SESSIONLAB_WEBKIT_DRIVER", ("WebKitWebDriver",), "webkit2gtk-driver"),
    "webkit-browser": (
        "SESSIONLAB_WEBKIT_BROWSER",
        (
            "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
            "/usr/lib/aarch64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
            "MiniBrowser",
        ),
        "webkit2gtk-driver",
    ),
    "xvfb": ("SESSIONLAB_XVFB", ("Xvfb",), "xvfb"),
}


#: The process groups the engines started (Firefox, and WebKitGTK's Xvfb, under which every
#: MiniBrowser runs) and have not stopped yet. Each runs in a session of its own, so a kernel that
#: exits before its bench is closed (a restart, a chapter run halfway) would leave them running;
#: this interpreter stops them when it exits, as :mod:`.servers` does for its servers. Chromium
#: needs nothing: Playwright's driver stops it when this interpreter goes.
_ENGINE_GROUPS: set[int] = set()


def engine_started(pid: int) -> None:
    """Note an engine's process group (its leader's pid), to be stopped at exit if not before."""
    _ENGINE_GROUPS.add(pid)


def engine_stopped(pid: int) -> None:
    _ENGINE_GROUPS.discard(pid)


@atexit.register
def _stop_engine_leftovers() -> None:
    for pid in list(_ENGINE_GROUPS):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    _ENGINE_GROUPS.clear()


class EngineMissing(RuntimeError):
    """A browser engine (or what drives it) is not installed; the message names the package."""


class JavaScriptError(RuntimeError):
    """A script run in the page threw; the message is the page's ``name: message``."""


#: Wraps a function (source text) so that a page error comes back as a value, in every engine.
CALL = """(args) => Promise.resolve().then(() => (%s)(...args)).then(
  value => ({value: value === undefined ? null : value}),
  error => ({error: `${error.name}: ${error.message}`}))"""


def call_result(reply: dict):
    """The value a :data:`CALL` wrapper returned, or its page error raised."""
    if "error" in reply:
        raise JavaScriptError(reply["error"])
    return reply["value"]


class NotSupported(RuntimeError):
    """This engine, as driven here, cannot do what was asked; the message says why."""


def find_executable(what: str) -> str:
    """The path of one executable an engine needs, or :class:`EngineMissing` naming its package.

    ``what`` is ``"chromium"``, ``"firefox"``, ``"webkit-driver"``, ``"webkit-browser"`` or
    ``"xvfb"``. An environment variable (``SESSIONLAB_CHROMIUM``, ``SESSIONLAB_FIREFOX``, ...)
    overrides the search; pointing it at a missing file is the same error.
    """
    variable, candidates, package = _EXECUTABLES[what]
    override = os.environ.get(variable)
    if override:
        if not Path(override).exists():
            raise EngineMissing(f"{variable}={override} does not exist")
        return override
    for candidate in candidates:
        found = shutil.which(candidate) if "/" not in candidate else None
        if found or ("/" in candidate and Path(candidate).exists()):
            return found or candidate
    raise EngineMissing(
        f"{what} not found: install the Debian package {package!r} "
        f"(as root: apt-get install {package}; or run `make browsers`), or set {variable}"
    )


def chromium_executable() -> str | None:
    """Path of a Chromium to drive, or ``None`` when Playwright should use its own browser."""
    try:
        return find_executable("chromium")
    except EngineMissing:
        if os.environ.get("SESSIONLAB_CHROMIUM"):
            raise
        return None


@dataclass(frozen=True)
class Cookie:
    """A cookie as the engine's automation interface reports it.

    ``same_site`` is the engine's own word (``"Lax"``, ``"Strict"``, ``"None"``, or what the
    engine says for a cookie set without the attribute): engines differ here, and chapters show it.
    """

    name: str
    value: str
    domain: str
    path: str
    http_only: bool
    secure: bool
    same_site: str


UrlTest = Callable[[str], bool]


class Page:
    """One page in a fresh profile of its own. Subclasses implement the underscore methods."""

    browser: Browser

    async def goto(self, url: str, *, until: UrlTest | None = None) -> str:
        """Navigate to ``url`` and wait for the load of the page whose URL passes ``until``.

        Without ``until``, wait for ``url`` itself; with it, for a later page too (one that
        ``url`` moves on to by itself, such as an auto-submitting form). Returns the URL loaded.
        """
        raise NotImplementedError

    async def click(self, selector: str, *, until: UrlTest | None = None) -> str | None:
        """Click the element; with ``until``, wait for the load of a page whose URL passes it."""
        raise NotImplementedError

    async def fill(self, selector: str, value: str) -> None:
        """Set an input's value, as typing would."""
        await self.evaluate(
            "(selector, value) => {"
            " const e = document.querySelector(selector); e.value = value;"
            " e.dispatchEvent(new Event('input', {bubbles: true})); }",
            selector,
            value,
        )

    async def evaluate(self, function: str, *args: Any) -> Any:
        """Run a JavaScript function (source text) in the page with JSON arguments; its result.

        A returned promise is awaited. Results come back as JSON values.
        """
        raise NotImplementedError

    async def wait_for(self, selector: str) -> None:
        """Wait until an element matching ``selector`` is shown (checked on each DOM mutation)."""
        await self.evaluate(_WAIT_FOR_SELECTOR, selector, WAIT_SECONDS * 1000)

    async def text(self, selector: str) -> str | None:
        """The trimmed text of the first visible element matching ``selector``, or ``None``."""
        return await self.evaluate(
            "(selector) => { for (const e of document.querySelectorAll(selector)) {"
            " if (e.offsetParent !== null || e.getClientRects().length) return e.textContent.trim(); }"
            " return null; }",
            selector,
        )

    async def url(self) -> str:
        """The address of the page now shown."""
        return await self.evaluate("() => location.href")

    async def cookies(self) -> list[Cookie]:
        """Every cookie this page's profile holds, with the attributes the engine reports."""
        raise NotImplementedError

    async def local_storage(self) -> dict[str, str]:
        """The ``localStorage`` of the page's origin (raises the page's error if it is denied)."""
        return await self.evaluate(
            "() => Object.fromEntries(Object.keys(localStorage)"
            ".map(k => [k, localStorage.getItem(k)]))"
        )

    async def reload(self) -> None:
        """Reload and wait for the load."""
        await self.goto(await self.url())

    async def status(self) -> int | None:
        """The HTTP status of the document now shown (Navigation Timing's ``responseStatus``),
        or ``None`` where the engine does not report it."""
        return await self.evaluate(
            "() => performance.getEntriesByType('navigation')[0]?.responseStatus ?? null"
        )

    async def add_cookie(self, cookie: Cookie) -> None:
        """Store ``cookie`` in this page's profile, as if a response had set it: host-only for
        a ``domain`` without a leading dot, for the domain and its subdomains with one."""
        raise NotSupported(f"{self.browser.name}: adding cookies is not driven here")

    async def set_extra_headers(self, headers: dict[str, str]) -> None:
        """Send ``headers`` with every request this page makes from now on (a proxy's, say)."""
        if headers:
            raise NotSupported(f"{self.browser.name}: extra request headers are not driven here")

    async def close(self) -> None:
        """Close the page and delete its profile."""
        raise NotImplementedError


@dataclass(frozen=True)
class PageOptions:
    """What :meth:`Browser.new_page` was asked for; each engine's ``_open`` reads it."""

    block_cookies: bool = False
    allow_origins: tuple = ()
    regular: bool = False
    third_party_cookies: bool | None = None


class Browser:
    """A running engine. ``new_page()`` gives a page in a profile nobody else uses."""

    engine: str  #: "chromium", "firefox" or "webkit"
    name: str  #: the product, e.g. "Firefox ESR"
    version: str  #: the version the engine itself reports

    async def new_page(
        self,
        *,
        block_cookies: bool = False,
        allow_origins: tuple = (),
        regular: bool = False,
        third_party_cookies: bool | None = None,
    ) -> Page:
        """A page in a fresh profile; ``block_cookies`` switches on the engine's own "block all
        cookies" setting, with ``allow_origins`` as the user's per-site exceptions.

        ``regular=True`` asks for an ordinary profile where the engine's fresh page would
        otherwise be a private one: Chromium's fresh page is a Playwright context, which is
        incognito-like, and incognito blocks third-party cookies by default. Firefox's and
        WebKitGTK's pages are ordinary profiles already. ``third_party_cookies`` sets the user's
        third-party cookie switch, allowed or blocked (an ordinary profile); ``None`` leaves the
        engine's default (:mod:`.browser_profiles` says where each engine keeps it).

        An engine whose setting has no per-site exceptions raises :class:`NotSupported`.
        """
        options = PageOptions(block_cookies, tuple(allow_origins), regular, third_party_cookies)
        return await self._open(options)

    async def _open(self, options: PageOptions) -> Page:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    @property
    def label(self) -> str:
        """``"Chromium 156"``, ``"WebKitGTK 2.50"``: the product and the version that names a
        release (WebKitGTK's major version has been 2 for years), for table columns."""
        parts = self.version.split(".")
        return f"{self.name} {'.'.join(parts[:2] if parts[0] == '2' else parts[:1])}"


def stacked(rows: dict[str, dict[str, object]], *, width: int = 52) -> str:
    """A table as stacked lines that fit a phone: each row's title, then one line per column.

    ``rows`` maps a row title to ``{column: value}`` (columns are usually engine labels). A line
    longer than ``width`` puts its value below the column name, wrapped.
    """
    name_width = max((len(column) for cells in rows.values() for column in cells), default=0)
    lines = []
    for title, cells in rows.items():
        lines.append(title)
        for column, value in cells.items():
            line = f"  {column:<{name_width}}  {value}"
            if len(line) <= width:
                lines.append(line)
            else:
                lines.append(f"  {column}")
                lines.extend(textwrap.wrap(str(value), width - 4, initial_indent="    ",
                                           subsequent_indent="    "))  # fmt: skip
    return "\n".join(lines)


@contextlib.asynccontextmanager
async def open_browser(engine: str, **options) -> AsyncIterator[Browser]:
    """Start ``engine`` (one of :data:`ENGINES`) and stop it when the block ends."""
    if engine == "chromium":
        from sessionlab.lab.browser_chromium import ChromiumBrowser as kind
    elif engine == "firefox":
        from sessionlab.lab.browser_firefox import FirefoxBrowser as kind
    elif engine == "webkit":
        from sessionlab.lab.browser_webkit import WebKitBrowser as kind
    else:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    browser = await kind.start(**options)
    try:
        yield browser
    finally:
        await browser.close()


@contextlib.asynccontextmanager
async def chromium(*, extra_args: tuple[str, ...] = (), **launch_options) -> AsyncIterator:
    """Start Playwright and a headless Chromium; close both when the block ends.

    ``extra_args`` are added to :data:`CHROMIUM_ARGS`, e.g. an ``--enable-features=`` switch.
    """
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_executable(),
            headless=True,
            args=[*CHROMIUM_ARGS, *extra_args],
            **launch_options,
        )
        try:
            yield browser
        finally:
            await browser.close()


# Resolves once a matching element is shown: checked now, then on every DOM mutation (no polling).
_WAIT_FOR_SELECTOR = """(selector, timeout) => new Promise((resolve, reject) => {
  const shown = () => [...document.querySelectorAll(selector)].some(e => e.getClientRects().length);
  if (shown()) return resolve(true);
  const observer = new MutationObserver(() => {
    if (shown()) { observer.disconnect(); resolve(true); }
  });
  observer.observe(document, {childList: true, subtree: true, attributes: true});
  setTimeout(() => { observer.disconnect(); reject(new Error(`no ${selector}`)); }, timeout);
})"""
