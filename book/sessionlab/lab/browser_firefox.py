"""Firefox ESR behind :mod:`.browser`'s interface, spoken to in WebDriver BiDi.

Firefox ships its own WebDriver BiDi server (``--remote-debugging-port``), so no driver binary
and no Node.js process are needed: a websocket from Python (the ``websockets`` package) sends
W3C BiDi commands and receives its events, such as ``browsingContext.load``. A page is a tab in
a user context of its own (BiDi's isolated cookie jar and storage). Preferences that a user
would set (blocking cookies, per-site exceptions) need a profile, so a page that blocks cookies
lives in a second Firefox process started on such a profile, once, and reused.

Nothing leaves the machine: every non-loopback request is sent to a proxy at 127.0.0.1:9, where
nothing listens (Firefox never proxies loopback addresses).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

from sessionlab.lab.browser import (
    CALL,
    WAIT_SECONDS,
    Browser,
    Cookie,
    JavaScriptError,
    Page,
    PageOptions,
    UrlTest,
    call_result,
    engine_started,
    engine_stopped,
    find_executable,
)
from sessionlab.lab.browser_profiles import firefox_permissions, firefox_preferences

__all__ = ["FirefoxBrowser", "FirefoxPage"]


class _Bidi:
    """One Firefox process and its BiDi session: commands by id, events to waiting futures."""

    def __init__(self, process, websocket, profile: Path) -> None:
        self.process, self.websocket, self.profile = process, websocket, profile
        self._ids = itertools.count(1)
        self._replies: dict[int, asyncio.Future] = {}
        self._waiters: list[tuple[str, Any, asyncio.Future]] = []
        self._reader = asyncio.ensure_future(self._read())
        self.capabilities: dict = {}

    @classmethod
    async def launch(
        cls,
        *,
        block_cookies: bool,
        allowed_origins: tuple[str, ...],
        third_party_cookies: bool | None = None,
    ) -> _Bidi:
        import websockets

        profile = Path(tempfile.mkdtemp(prefix="sessionlab-firefox-"))
        preferences = firefox_preferences(
            block_cookies=block_cookies, third_party_cookies=third_party_cookies
        )
        if allowed_origins:  # the user's per-site exceptions, as Firefox's permission defaults
            (profile / "permissions").write_text(firefox_permissions(allowed_origins))
            preferences["permissions.manager.defaultsUrl"] = (profile / "permissions").as_uri()
        lines = [f"user_pref({json.dumps(k)}, {json.dumps(v)});" for k, v in preferences.items()]
        (profile / "user.js").write_text("\n".join(lines) + "\n")
        process = await asyncio.create_subprocess_exec(
            find_executable("firefox"),
            *("--headless", "--no-remote", "--profile", str(profile)),
            *("--remote-debugging-port=0", "about:blank"),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            env={**os.environ, "MOZ_CRASHREPORTER_DISABLE": "1"},
        )
        engine_started(process.pid)
        try:
            address = asyncio.get_running_loop().create_future()
            drain = asyncio.ensure_future(_drain(process.stderr, address))
            url = await asyncio.wait_for(address, WAIT_SECONDS)
            websocket = await websockets.connect(f"{url}/session", max_size=None)
            bidi = cls(process, websocket, profile)
            bidi._drain = drain
            reply = await bidi.send(
                "session.new", capabilities={"alwaysMatch": {"acceptInsecureCerts": True}}
            )
            bidi.capabilities = reply["capabilities"]
            await bidi.send("session.subscribe", events=["browsingContext.load"])
            return bidi
        except BaseException:
            _stop(process)
            await process.wait()
            shutil.rmtree(profile, ignore_errors=True)
            raise

    async def send(self, method: str, **params) -> dict:
        number = next(self._ids)
        reply = self._replies[number] = asyncio.get_running_loop().create_future()
        await self.websocket.send(json.dumps({"id": number, "method": method, "params": params}))
        return await asyncio.wait_for(reply, WAIT_SECONDS)

    def expect(self, event: str, test) -> asyncio.Future:
        """A future for the next ``event`` whose parameters pass ``test``; register it first."""
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((event, test, future))
        return future

    async def _read(self) -> None:
        async for text in self.websocket:
            message = json.loads(text)
            if "id" in message and message["id"] in self._replies:
                future = self._replies.pop(message["id"])
                if future.done():
                    continue
                if message.get("type") == "error":
                    future.set_exception(RuntimeError(f"{message['error']}: {message['message']}"))
                else:
                    future.set_result(message["result"])
            elif message.get("type") == "event":
                for waiter in list(self._waiters):
                    event, test, future = waiter
                    if event == message["method"] and not future.done() and test(message["params"]):
                        future.set_result(message["params"])
                        self._waiters.remove(waiter)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.send("browser.close"), 5)
        with contextlib.suppress(Exception):
            await self.websocket.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.process.wait(), 5)
        _stop(self.process)
        await self.process.wait()
        self._drain.cancel()
        shutil.rmtree(self.profile, ignore_errors=True)


async def _drain(stream, address: asyncio.Future) -> None:
    """Read Firefox's stderr to the end (a full pipe would block it); report the BiDi address."""
    async for line in stream:
        found = re.search(rb"WebDriver BiDi listening on (ws://\S+)", line)
        if found and not address.done():
            address.set_result(found.group(1).decode())
    if not address.done():
        address.set_exception(RuntimeError("Firefox exited before its BiDi server started"))


def _stop(process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    engine_stopped(process.pid)


def _local_value(value: Any) -> dict:
    """A JSON value as a BiDi ``LocalValue``, to pass to a script."""
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool):
        return {"type": "boolean", "value": value}
    if isinstance(value, int | float):
        return {"type": "number", "value": value}
    if isinstance(value, str):
        return {"type": "string", "value": value}
    if isinstance(value, list | tuple):
        return {"type": "array", "value": [_local_value(v) for v in value]}
    if isinstance(value, dict):
        return {"type": "object", "value": [[str(k), _local_value(v)] for k, v in value.items()]}
    raise TypeError(f"cannot pass {type(value).__name__} to a script")


def _json_value(remote: dict) -> Any:
    """A BiDi ``RemoteValue`` as a JSON value (other objects become their type name)."""
    kind, value = remote["type"], remote.get("value")
    if kind in ("string", "boolean"):
        return value
    if kind == "number":
        return value if isinstance(value, int | float) else float(value.replace("Infinity", "inf"))
    if kind in ("null", "undefined"):
        return None
    if kind == "array":
        return [_json_value(v) for v in value or []]
    if kind == "object":
        return {k if isinstance(k, str) else str(_json_value(k)): _json_value(v) for k, v in value}
    return f"[{kind}]"


class FirefoxPage(Page):
    def __init__(self, browser: FirefoxBrowser, bidi: _Bidi, user_context: str, context: str):
        self.browser, self._bidi, self._user_context, self._context = (
            browser, bidi, user_context, context,
        )  # fmt: skip

    def _loaded(self, until: UrlTest) -> asyncio.Future:
        return self._bidi.expect(
            "browsingContext.load", lambda p: p["context"] == self._context and until(p["url"])
        )

    async def goto(self, url: str, *, until: UrlTest | None = None) -> str:
        if until is None:
            reply = await self._bidi.send(
                "browsingContext.navigate", context=self._context, url=url, wait="complete"
            )
            return reply["url"]
        loaded = self._loaded(until)
        await self._bidi.send("browsingContext.navigate", context=self._context, url=url)
        return (await asyncio.wait_for(loaded, WAIT_SECONDS))["url"]

    async def click(self, selector: str, *, until: UrlTest | None = None) -> str | None:
        loaded = self._loaded(until) if until else None
        await self.evaluate("(s) => { document.querySelector(s).click(); }", selector)
        return (await asyncio.wait_for(loaded, WAIT_SECONDS))["url"] if loaded else None

    async def evaluate(self, function: str, *args: Any) -> Any:
        reply = await self._bidi.send(
            "script.callFunction",
            functionDeclaration=CALL % function,
            arguments=[_local_value(list(args))],
            target={"context": self._context},
            awaitPromise=True,
            resultOwnership="none",
            serializationOptions={"maxObjectDepth": 20},
        )
        if reply["type"] == "exception":
            details = reply["exceptionDetails"]
            raise JavaScriptError(details.get("text") or str(details["exception"]))
        return call_result(_json_value(reply["result"]))

    async def cookies(self) -> list[Cookie]:
        reply = await self._bidi.send(
            "storage.getCookies", partition={"type": "context", "context": self._context}
        )
        return [
            Cookie(
                c["name"], c["value"]["value"], c["domain"], c["path"], c["httpOnly"],
                c["secure"], c["sameSite"],
            )
            for c in reply["cookies"]
        ]  # fmt: skip

    async def add_cookie(self, cookie: Cookie) -> None:
        fields = {"name": cookie.name, "value": {"type": "string", "value": cookie.value}}
        fields |= {"domain": cookie.domain, "path": cookie.path, "secure": cookie.secure}
        fields["httpOnly"] = cookie.http_only
        if cookie.same_site.lower() in ("lax", "strict", "none"):
            fields["sameSite"] = cookie.same_site.lower()
        partition = {"type": "storageKey", "userContext": self._user_context}
        await self._bidi.send("storage.setCookie", cookie=fields, partition=partition)

    async def set_extra_headers(self, headers: dict[str, str]) -> None:
        # Firefox ESR 153 accepts network.setExtraHeaders for one tab or one user context and
        # sends nothing more; for the whole process it works. So the headers go to every page of
        # this process until this page closes: for one page at a time (the checklist's turns).
        self._extra_headers = bool(headers)
        values = [{"name": k, "value": {"type": "string", "value": v}} for k, v in headers.items()]
        await self._bidi.send("network.setExtraHeaders", headers=values)

    async def close(self) -> None:
        if getattr(self, "_extra_headers", False):
            with contextlib.suppress(RuntimeError):
                await self._bidi.send("network.setExtraHeaders", headers=[])
        with contextlib.suppress(RuntimeError):
            await self._bidi.send("browsingContext.close", context=self._context)
        await self._bidi.send("browser.removeUserContext", userContext=self._user_context)


class FirefoxBrowser(Browser):
    """Firefox ESR, headless. One process per set of preferences, started when first needed."""

    engine = "firefox"

    def __init__(self, bidi: _Bidi) -> None:
        self._processes = {(False, (), None): bidi}
        self.version = bidi.capabilities["browserVersion"]
        binary = Path(find_executable("firefox")).name
        self.name = "Firefox ESR" if "esr" in binary else "Firefox"
        self._lock = asyncio.Lock()

    @classmethod
    async def start(cls) -> FirefoxBrowser:
        return cls(await _Bidi.launch(block_cookies=False, allowed_origins=()))

    async def _open(self, options: PageOptions) -> Page:
        # every page is an ordinary profile already: ``regular`` changes nothing
        key = (options.block_cookies, options.allow_origins, options.third_party_cookies)
        async with self._lock:
            if key not in self._processes:
                self._processes[key] = await _Bidi.launch(
                    block_cookies=key[0], allowed_origins=key[1], third_party_cookies=key[2]
                )
        bidi = self._processes[key]
        user_context = (await bidi.send("browser.createUserContext"))["userContext"]
        # Firefox can answer a tab's creation with "no such frame" (DiscardedBrowsingContext)
        # while other tabs open and close at once: an answer, not a timeout, so ask again.
        for attempt in range(3):
            try:
                created = await bidi.send(
                    "browsingContext.create", type="tab", userContext=user_context
                )
                break
            except RuntimeError as error:
                if not str(error).startswith("no such frame") or attempt == 2:
                    raise
        return FirefoxPage(self, bidi, user_context, created["context"])

    async def close(self) -> None:
        await asyncio.gather(*(bidi.close() for bidi in self._processes.values()))
