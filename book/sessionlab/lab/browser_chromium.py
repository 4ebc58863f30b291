"""Chromium behind :mod:`.browser`'s interface: Playwright with the system's ``chromium``.

Playwright drives Chromium over the DevTools protocol, with real events for loads and
responses. A page is a fresh browser context (incognito-like: third-party cookies blocked, as
Chromium's incognito does by default); a page whose user blocks cookies, or a ``regular`` one, is
a persistent context on a fresh profile whose ``Preferences`` carry the setting
(:mod:`.browser_profiles`).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sessionlab.lab.browser import (
    CALL,
    CHROMIUM_ARGS,
    WAIT_SECONDS,
    Browser,
    Cookie,
    Page,
    PageOptions,
    UrlTest,
    call_result,
    find_executable,
)
from sessionlab.lab.browser_profiles import cookie_preferences

__all__ = ["ChromiumBrowser", "ChromiumPage"]


class ChromiumPage(Page):
    def __init__(self, browser, context, page, profile: Path | None = None) -> None:
        self.browser, self.context, self.page, self._profile = browser, context, page, profile

    async def goto(self, url: str, *, until: UrlTest | None = None) -> str:
        if until is None:
            await self.page.goto(url, timeout=WAIT_SECONDS * 1000)
        else:  # wait for the later page's load; ``url`` itself may never finish loading (a form
            # that submits itself from a script supersedes it), so its goto waits for the commit
            async with self.page.expect_navigation(url=until, timeout=WAIT_SECONDS * 1000):
                await self.page.goto(url, wait_until="commit", timeout=WAIT_SECONDS * 1000)
        return self.page.url

    async def click(self, selector: str, *, until: UrlTest | None = None) -> str | None:
        if until is None:
            await self.page.click(selector)
            return None
        async with self.page.expect_navigation(url=until, timeout=WAIT_SECONDS * 1000):
            await self.page.click(selector)
        return self.page.url

    async def evaluate(self, function: str, *args: Any) -> Any:
        # Playwright's evaluate has no time limit of its own: a script that never settles (a
        # fetch to a stalled server) is an error after WAIT_SECONDS, as in the other engines.
        reply = await asyncio.wait_for(
            self.page.evaluate(CALL % function, list(args)), WAIT_SECONDS
        )
        return call_result(reply)

    async def cookies(self) -> list[Cookie]:
        return [
            Cookie(
                c["name"], c["value"], c["domain"], c["path"], c["httpOnly"], c["secure"],
                c["sameSite"],
            )
            for c in await asyncio.wait_for(self.context.cookies(), WAIT_SECONDS)
        ]  # fmt: skip

    async def add_cookie(self, cookie: Cookie) -> None:
        fields = {"name": cookie.name, "value": cookie.value, "secure": cookie.secure}
        fields["httpOnly"] = cookie.http_only
        if cookie.same_site.capitalize() in ("Lax", "Strict", "None"):
            fields["sameSite"] = cookie.same_site.capitalize()
        if cookie.domain.startswith("."):
            fields |= {"domain": cookie.domain, "path": cookie.path}
        else:  # host-only. Chromium refuses a Secure cookie for an http:// URL here, even on a
            # secure context; one stored for https:// is sent to http://that-host as well.
            scheme = "https" if cookie.secure else "http"
            fields["url"] = f"{scheme}://{cookie.domain}{cookie.path}"
        await self.context.add_cookies([fields])

    async def set_extra_headers(self, headers: dict[str, str]) -> None:
        await self.page.set_extra_http_headers(headers)

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.context.close(), WAIT_SECONDS)  # no limit of its own
        finally:
            if self._profile is not None:
                shutil.rmtree(self._profile, ignore_errors=True)


class ChromiumBrowser(Browser):
    """Headless Chromium. Attributes it does not define are the Playwright browser's, so older
    chapters that call ``browser.new_context()`` keep working."""

    engine, name = "chromium", "Chromium"

    def __init__(self, playwright, browser, args: tuple[str, ...]) -> None:
        self._playwright, self.playwright_browser, self._args = playwright, browser, args
        self.version = browser.version

    @classmethod
    async def start(cls, *, extra_args: tuple[str, ...] = (), **launch_options) -> ChromiumBrowser:
        from playwright.async_api import async_playwright

        executable = find_executable("chromium")
        playwright = await async_playwright().start()
        args = (*CHROMIUM_ARGS, *extra_args)
        try:
            browser = await playwright.chromium.launch(
                executable_path=executable, headless=True, args=list(args), **launch_options
            )
        except BaseException:
            await playwright.stop()
            raise
        return cls(playwright, browser, args)

    async def _open(self, options: PageOptions) -> Page:
        # Playwright sets no time limit on opening a context or a page: bounded here, as every
        # other wait is, so a browser that stops answering is an error, not a hang.
        return await asyncio.wait_for(self._open_now(options), WAIT_SECONDS)

    async def _open_now(self, options: PageOptions) -> Page:
        ordinary = options.regular or options.third_party_cookies is not None
        if not options.block_cookies and not options.allow_origins and not ordinary:
            context = await self.playwright_browser.new_context(ignore_https_errors=True)
            try:
                return ChromiumPage(self, context, await context.new_page())
            except BaseException:  # cancelled by the bound above, say: close what was opened
                await asyncio.shield(context.close())
                raise
        profile = Path(tempfile.mkdtemp(prefix="sessionlab-chromium-"))
        try:
            (profile / "Default").mkdir()
            preferences = cookie_preferences(
                block_cookies=options.block_cookies,
                allowed_origins=options.allow_origins,
                third_party_cookies=options.third_party_cookies,
            )
            (profile / "Default" / "Preferences").write_text(json.dumps(preferences))
            context = await self._playwright.chromium.launch_persistent_context(
                str(profile),
                executable_path=find_executable("chromium"),
                headless=True,
                args=list(self._args),
                ignore_https_errors=True,
            )
            return ChromiumPage(self, context, context.pages[0], profile)
        except BaseException:
            shutil.rmtree(profile, ignore_errors=True)
            raise

    async def close(self) -> None:
        try:
            await self.playwright_browser.close()
        finally:
            await self._playwright.stop()

    def __getattr__(self, name: str):
        return getattr(self.__dict__["playwright_browser"], name)
