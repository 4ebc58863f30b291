"""WebKitGTK behind :mod:`.browser`'s interface: ``WebKitWebDriver`` and Selenium, under Xvfb.

Debian's ``webkit2gtk-driver`` brings ``WebKitWebDriver`` and ``MiniBrowser``, WebKitGTK's
test browser (Safari's engine, not Safari: none of Safari's own privacy features). MiniBrowser
needs a display even in automation mode, so the engine starts a private Xvfb server. Each page
is a WebDriver session of its own: a new MiniBrowser with an ephemeral data store, so pages
share nothing. Selenium's calls block, so they run in worker threads.

Classic WebDriver sends no events to the client. ``driver.get`` and an element click return
after the load they started; a navigation the page starts by itself (an auto-submitting form)
is awaited by watching the condition it produces (the page's address and ``readyState``), with
Selenium's ``WebDriverWait``. The outcome is a state of the browser, not a guess about time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import subprocess
import warnings
from typing import Any

from sessionlab.lab.browser import (
    CALL,
    WAIT_SECONDS,
    Browser,
    Cookie,
    NotSupported,
    Page,
    PageOptions,
    UrlTest,
    call_result,
    engine_started,
    engine_stopped,
    find_executable,
)
from sessionlab.lab.browser_profiles import webkit_arguments

__all__ = ["WebKitBrowser", "WebKitPage"]

# Selenium's asynchronous script: the wrapped function's reply goes to the callback.
_ASYNC = "const done = arguments[arguments.length - 1]; (%s)(arguments[0]).then(done);"


def _start_xvfb() -> tuple[subprocess.Popen, str]:
    """A private X server on the first free display; returns it and its ``DISPLAY``."""
    read, write = os.pipe()
    try:
        process = subprocess.Popen(
            [find_executable("xvfb"), "-displayfd", str(write), "-nolisten", "tcp"],
            pass_fds=(write,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        os.close(write)
    engine_started(process.pid)
    with os.fdopen(read, "rb") as announced:
        number = announced.readline().strip().decode()  # written once the server is ready
    if not number:
        process.kill()
        process.wait()
        engine_stopped(process.pid)
        raise RuntimeError("Xvfb did not start")
    return process, f":{number}"


class WebKitPage(Page):
    def __init__(self, browser: WebKitBrowser, driver) -> None:
        self.browser, self.driver = browser, driver

    async def _wait_until(self, until: UrlTest, *, new_document: bool = False) -> str:
        from selenium.webdriver.support.ui import WebDriverWait

        state = "return [document.readyState, window.__sessionlabOld === true]"

        def loaded(driver) -> str | bool:
            url = driver.current_url
            ready, old = driver.execute_script(state)
            return (
                url if ready == "complete" and not (new_document and old) and until(url) else False
            )

        wait = WebDriverWait(self.driver, WAIT_SECONDS, poll_frequency=0.02)
        return await asyncio.to_thread(wait.until, loaded)

    async def goto(self, url: str, *, until: UrlTest | None = None) -> str:
        # WebKitWebDriver's get can return before the new document is complete on a loaded
        # machine (a form's input was not there yet). The document shown before is marked, and
        # the wait is for a complete document without the mark: the new one, whatever its URL.
        await asyncio.to_thread(self.driver.execute_script, "window.__sessionlabOld = true")
        await asyncio.to_thread(self.driver.get, url)
        return await self._wait_until(until or (lambda _url: True), new_document=True)

    async def click(self, selector: str, *, until: UrlTest | None = None) -> str | None:
        from selenium.webdriver.common.by import By

        def click() -> None:
            self.driver.find_element(By.CSS_SELECTOR, selector).click()

        await asyncio.to_thread(click)
        return await self._wait_until(until) if until else None

    async def evaluate(self, function: str, *args: Any) -> Any:
        script = _ASYNC % (CALL % function)
        return call_result(await asyncio.to_thread(self.driver.execute_async_script, script, args))

    async def cookies(self) -> list[Cookie]:
        # Classic WebDriver returns the cookies of the page now shown (its host), which is
        # what the chapters ask for in every engine.
        found = await asyncio.to_thread(self.driver.get_cookies)
        return [
            Cookie(
                c["name"], c["value"], c.get("domain", ""), c.get("path", "/"),
                c.get("httpOnly", False), c.get("secure", False),
                c.get("sameSite", "(not reported)"),
            )
            for c in found
        ]  # fmt: skip

    async def close(self) -> None:
        self.browser._drivers.discard(self.driver)
        await asyncio.to_thread(self.driver.quit)


@functools.cache  # one class, built on first use (Selenium is imported only then)
def _bounded_webkitgtk():
    """Selenium's WebKitGTK driver whose requests to WebKitWebDriver have a time limit.

    Selenium sets none by default (the socket's default, no limit): under load, a new session
    whose MiniBrowser never came up kept its thread waiting for good, and chapter 16 with it
    (twice, once under ``make stress``). With WAIT_SECONDS, the session's creation raises
    urllib3's ``TimeoutError``, the driver quits (stopping WebKitWebDriver), and
    :meth:`WebKitBrowser._open` asks for a new session once more.
    """
    from selenium import webdriver
    from selenium.webdriver.common.webdriver import LocalWebDriver
    from selenium.webdriver.remote.client_config import ClientConfig
    from selenium.webdriver.remote.webdriver import WebDriver as RemoteWebDriver

    class BoundedWebKitGTK(webdriver.WebKitGTK):
        def __init__(self, options, service) -> None:  # Selenium 4.51's, plus client_config
            self.options, self.service = options, service
            self.service.path = find_executable("webkit-driver")
            self.service.start()
            config = ClientConfig(remote_server_addr=service.service_url, timeout=WAIT_SECONDS)
            try:
                RemoteWebDriver.__init__(
                    self, command_executor=service.service_url, options=options,
                    client_config=config,
                )  # fmt: skip
                self._is_remote = False
            except Exception:
                LocalWebDriver.quit(self)
                raise

    return BoundedWebKitGTK


class WebKitBrowser(Browser):
    """WebKitGTK's MiniBrowser, one WebDriver session per page, on a private Xvfb display."""

    engine, name = "webkit", "WebKitGTK"

    def __init__(self, xvfb: subprocess.Popen, display: str) -> None:
        self._xvfb, self._display = xvfb, display
        self._drivers: set = set()
        self.version = ""

    @classmethod
    async def start(cls) -> WebKitBrowser:
        find_executable("webkit-driver"), find_executable("webkit-browser")
        xvfb, display = await asyncio.to_thread(_start_xvfb)
        browser = cls(xvfb, display)
        try:
            page = await browser.new_page()  # the first session tells the version
            browser.version = page.driver.capabilities.get("browserVersion", "")
            await page.close()
        except BaseException:
            await browser.close()
            raise
        return browser

    def _new_driver(self, block_cookies: bool, third_party_cookies: bool | None = None):
        from selenium.webdriver.webkitgtk.options import Options
        from selenium.webdriver.webkitgtk.service import Service

        options = Options()
        options.binary_location = find_executable("webkit-browser")
        options.accept_insecure_certs = True  # the lab's self-signed loopback certificates
        arguments = webkit_arguments(
            block_cookies=block_cookies, third_party_cookies=third_party_cookies
        )
        for argument in arguments:
            options.add_argument(argument)
        service = Service(
            executable_path=find_executable("webkit-driver"),
            env={**os.environ, "DISPLAY": self._display},
        )
        with warnings.catch_warnings():  # Selenium 4.51 warns about its own internals
            warnings.simplefilter("ignore", DeprecationWarning)
            driver = _bounded_webkitgtk()(options=options, service=service)
        driver.set_script_timeout(WAIT_SECONDS)
        driver.set_page_load_timeout(WAIT_SECONDS)
        # Every later command: a script or a load may take WAIT_SECONDS, then its answer comes.
        driver.command_executor.client_config.timeout = 2 * WAIT_SECONDS
        return driver

    async def _open(self, options: PageOptions) -> Page:
        # every page is an ordinary profile already: ``regular`` changes nothing
        if options.allow_origins:
            raise NotSupported(
                "MiniBrowser's cookie policy is one switch for every site (always, never, "
                "no-third-party): WebKitGTK offers no per-site cookie exceptions"
            )
        from urllib3.exceptions import TimeoutError as NoAnswer

        for attempt in (1, 2):
            try:
                driver = await asyncio.to_thread(
                    self._new_driver, options.block_cookies, options.third_party_cookies
                )
                break
            except NoAnswer:  # a MiniBrowser that never came up (seen under load): once more
                if attempt == 2:
                    raise
        self._drivers.add(driver)
        return WebKitPage(self, driver)

    async def close(self) -> None:
        try:
            for driver in list(self._drivers):
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(driver.quit)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._xvfb.pid, signal.SIGTERM)
            await asyncio.to_thread(self._xvfb.wait)
            engine_stopped(self._xvfb.pid)
