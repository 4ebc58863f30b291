"""The lab's browser interface in each of its three engines (sessionlab.lab.browser)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from flask import Flask, make_response, request
from sessionlab.lab.bench import Bench
from sessionlab.lab.browser import (
    ENGINES,
    EngineMissing,
    JavaScriptError,
    NotSupported,
    find_executable,
    open_browser,
)
from sessionlab.lab.registry import registered_app


def _sample():
    yield "two pages", create_two_pages()


@registered_app("test_browser_engines.two_pages", sample=_sample)
def create_two_pages() -> Flask:
    """``/`` sets a cookie and submits a form to ``/landed`` by itself; ``/landed`` echoes;
    ``/echo`` answers the request's cookies and its ``X-Proxy-Proto`` header as JSON (waitress drops
    an untrusted proxy's ``X-Forwarded-*``)."""
    app = Flask("two_pages")

    @app.get("/")
    def start():
        response = make_response(
            '<!doctype html><title>start</title><form id="f" method="post" action="/landed">'
            '<input name="x" value="1"></form><script>document.getElementById("f").submit()'
            "</script>"
        )
        response.set_cookie("probe", "1", httponly=True, secure=True, samesite="Strict")
        return response

    @app.post("/landed")
    def landed():
        cookie = request.cookies.get("probe", "(none)")
        return f'<!doctype html><title>landed</title><p id="seen">{cookie}</p>'

    @app.get("/echo")
    def echo():
        return {"cookies": dict(request.cookies), "proto": request.headers.get("X-Proxy-Proto")}

    return app


async def _exercise(engine: str) -> dict:
    bench = Bench()
    try:
        server = bench.serve(create_two_pages(), https=True)
        browser = await bench.browser(engine)
        assert await bench.browser(engine) is browser, "started once, reused"
        page = await browser.new_page()
        # The page moves on by itself: the wait is for the load of /landed, an event.
        landed = await page.goto(f"{server.url}/", until=lambda url: url.endswith("/landed"))
        await page.wait_for("#seen")
        seen = await page.text("#seen")
        cookies = await page.cookies()
        try:
            await page.evaluate("() => { throw new TypeError('on purpose'); }")
            error = None
        except JavaScriptError as caught:
            error = str(caught)
        await page.close()
        blocked = await browser.new_page(block_cookies=True)
        await blocked.goto(f"{server.url}/", until=lambda url: url.endswith("/landed"))
        blocked_cookies = await blocked.cookies()
        await blocked.close()
        return {
            "engine": browser.engine,
            "label": browser.label,
            "version": browser.version,
            "landed": landed,
            "seen": seen,
            "cookies": [(c.name, c.http_only, c.secure, c.same_site) for c in cookies],
            "error": error,
            "blocked cookies": blocked_cookies,
            "sum": await _sum(browser),
        }
    finally:
        await bench.close()


async def _sum(browser) -> int:
    page = await browser.new_page()
    try:
        return await page.evaluate("(a, b) => Promise.resolve(a + b)", 2, 3)
    finally:
        await page.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_each_engine_opens_reports_its_version_and_waits_on_a_load(engine):
    result = asyncio.run(_exercise(engine))
    assert result["engine"] == engine
    assert re.fullmatch(r"\d+(\.\d+)+", result["version"]), result["version"]
    assert result["label"].split(" ")[-1] in result["version"]
    assert result["landed"].endswith("/landed")
    assert result["seen"] == "1", "the Strict cookie went with the same-site POST"
    assert [c[:3] for c in result["cookies"]] == [("probe", True, True)]
    assert result["cookies"][0][3].lower() == "strict"
    assert result["error"] == "TypeError: on purpose"
    assert result["blocked cookies"] == [], "the engine's own setting blocked the cookie"
    assert result["sum"] == 5


def test_a_missing_engine_is_a_clear_error_naming_its_package(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("SESSIONLAB_FIREFOX", raising=False)
    with pytest.raises(EngineMissing, match="apt-get install firefox-esr"):
        find_executable("firefox")
    monkeypatch.setenv("SESSIONLAB_FIREFOX", "/nonexistent/firefox")
    with pytest.raises(EngineMissing, match="SESSIONLAB_FIREFOX=/nonexistent/firefox"):
        asyncio.run(open_browser("firefox").__aenter__())
    monkeypatch.setenv("SESSIONLAB_WEBKIT_DRIVER", "/nonexistent/WebKitWebDriver")
    with pytest.raises(EngineMissing, match="WebKitWebDriver"):
        asyncio.run(open_browser("webkit").__aenter__())


FAKE_WEBKIT_DRIVER = """#!{python}
# A WebKitWebDriver that is up (/status) but never answers a new session: as WebKitGTK did once
# under load, when its MiniBrowser never came up.
import http.server, sys, threading, time
port = int(sys.argv[sys.argv.index("-p") + 1])
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.end_headers(); self.wfile.write(b'{{"value": {{"ready": true, "message": ""}}}}')
        if self.path == "/shutdown":
            threading.Thread(target=server.shutdown).start()
    def do_POST(self):
        with open({log!r}, "a") as log:
            log.write(self.path + "\\n")
        time.sleep(30)  # then the connection closes unanswered
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
server.daemon_threads = True
server.serve_forever()
"""


def test_a_webkit_session_that_never_starts_is_asked_once_more_then_an_error(tmp_path, monkeypatch):
    """Selenium's requests to WebKitWebDriver have no time limit of their own: a new session
    whose MiniBrowser never came up hung chapter 16 under `make stress`. Each request is bounded
    now, and a session that does not start is asked for once more, then raises."""
    import sys

    from sessionlab.lab import browser_webkit
    from urllib3.exceptions import TimeoutError as NoAnswer

    log = tmp_path / "sessions.log"
    driver = tmp_path / "WebKitWebDriver"
    driver.write_text(FAKE_WEBKIT_DRIVER.format(python=sys.executable, log=str(log)))
    driver.chmod(0o755)
    monkeypatch.setenv("SESSIONLAB_WEBKIT_DRIVER", str(driver))
    monkeypatch.setattr(browser_webkit, "WAIT_SECONDS", 2.0)
    with pytest.raises(NoAnswer):
        asyncio.run(asyncio.wait_for(open_browser("webkit").__aenter__(), 60))
    assert log.read_text().splitlines() == ["/session", "/session"]


LEFT_OPEN = """
import asyncio
from sessionlab.lab.browser_firefox import FirefoxBrowser
from sessionlab.lab.browser_webkit import WebKitBrowser

async def main():
    firefox, webkit = await FirefoxBrowser.start(), await WebKitBrowser.start()
    print(firefox._processes[(False, (), None)].process.pid, webkit._xvfb.pid)

asyncio.run(main())  # and exit without closing either: a kernel restarted mid-chapter
"""


def _running(pid: int) -> bool:
    try:  # a zombie has stopped; whoever adopted it may not reap it at once
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_an_interpreter_that_exits_without_closing_its_engines_stops_them():
    """Firefox and WebKitGTK's Xvfb run in sessions of their own, so an interpreter that exits
    before its bench closes (a kernel restart) left them running; it stops them at exit now."""
    import subprocess
    import sys

    book = Path(__file__).resolve().parents[1] / "book"
    done = subprocess.run(
        [sys.executable, "-c", LEFT_OPEN], cwd=book, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    pids = [int(pid) for pid in done.stdout.split()]
    assert len(pids) == 2 and not any(_running(pid) for pid in pids), pids


def test_an_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="engine must be one of"):
        asyncio.run(open_browser("netscape").__aenter__())


def test_webkit_says_it_has_no_per_site_exceptions():
    async def run():
        async with open_browser("webkit") as browser:
            await browser.new_page(block_cookies=True, allow_origins=("https://127.0.0.1:1",))

    with pytest.raises(NotSupported, match="no per-site cookie exceptions"):
        asyncio.run(run())


def test_only_webkit_refuses_a_secure_cookie_over_plain_http_on_loopback():
    """Why the browser chapters serve their apps over HTTPS (``bench.serve(app, https=True)``)."""

    async def run() -> dict:
        bench = Bench()
        try:
            server = bench.serve(create_two_pages())  # plain http on 127.0.0.1
            kept = {}
            for browser in await bench.browsers():
                page = await browser.new_page()
                await page.goto(f"{server.url}/", until=lambda url: url.endswith("/landed"))
                kept[browser.engine] = [c.name for c in await page.cookies()]
                await page.close()
            return kept
        finally:
            await bench.close()

    assert asyncio.run(run()) == {"chromium": ["probe"], "firefox": ["probe"], "webkit": []}


@pytest.mark.parametrize("engine", ["chromium", "firefox"])
def test_a_page_adds_cookies_sends_extra_headers_and_reports_its_status(engine):
    """What the checklist's browser items need of an engine: a cookie stored as a response
    would store it (host-only and for a domain), headers a proxy would add, the page's status."""
    from sessionlab.lab.browser import Cookie

    async def run() -> tuple:
        bench = Bench()
        try:
            port = bench.serve(create_two_pages()).port
            page = await (await bench.browser(engine)).new_page()
            host_only = Cookie("a", "1", "app.site.localhost", "/", True, True, "Lax")
            domain = Cookie("b", "2", ".site.localhost", "/", False, True, "Lax")
            for cookie in (host_only, domain):
                await page.add_cookie(cookie)
            await page.set_extra_headers({"X-Proxy-Proto": "https"})
            await page.goto(f"http://app.site.localhost:{port}/echo")
            seen = await page.evaluate("() => JSON.parse(document.body.innerText)")
            status = await page.status()
            await page.goto(f"http://other.site.localhost:{port}/missing")
            elsewhere = await page.evaluate("() => document.cookie")
            missing = await page.status()
            await page.close()
            return seen, status, elsewhere, missing
        finally:
            await bench.close()

    seen, status, elsewhere, missing = asyncio.run(run())
    assert seen == {"cookies": {"a": "1", "b": "2"}, "proto": "https"} and status == 200
    assert elsewhere == "b=2" and missing == 404  # the host-only cookie stays on its host


def test_webkit_says_it_does_not_add_cookies_or_headers():
    from sessionlab.lab.browser import Cookie

    async def run(what: str):
        async with open_browser("webkit") as browser:
            page = await browser.new_page()
            try:
                if what == "cookie":
                    await page.add_cookie(Cookie("a", "1", "localhost", "/", True, True, "Lax"))
                else:
                    await page.set_extra_headers({"X-A": "1"})
            finally:
                await page.close()

    for what in ("cookie", "headers"):
        with pytest.raises(NotSupported, match="not driven here"):
            asyncio.run(run(what))
