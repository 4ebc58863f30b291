"""Running the checklist: :func:`run_checklist` runs every item against one adapter and returns
:class:`~sessionlab.checklist.adapter.Result` rows with their evidence; it asserts nothing.
:func:`run_all` runs several apps side by side.

The slow timeout probes start first, in the background, on the configuration's short-timeout
twin; the items that only read alice's first login share it and run alongside the browser items
(phase 0); then the items that end sessions or count failed logins (phase 1); then the items
that wait for the probes (phase 2). The timing item runs last, one app at a time.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from sessionlab.checklist.adapter import FAIL, Adapter, AdapterError, Result
from sessionlab.checklist.browser import BrowserTab, _run_in_browsers
from sessionlab.checklist.client import send
from sessionlab.checklist.items import _CACHE, CHECKS, INCONCLUSIVE, TIMING, Item, _start_timeouts


def _run_items(adapter: Adapter, chosen: list[Item]) -> dict:
    return {c.title: c.check(adapter) for c in chosen}


async def run_checklist(
    adapter: Adapter, *, browser=None, items: list[str] | None = None
) -> list[Result]:
    """Every item (or those titled in ``items``) against one app; rows in order; asserts nothing.

    With a lab ``browser`` (``bench.browser()``), a list of them (one per engine), or a
    :class:`BrowserTab` that several runs share, the items with a browser version run in each
    engine, alongside the HTTP items of phase 0. Raises :class:`AdapterError` for an adapter
    that is not one, or an app that does not answer.
    """
    if not isinstance(adapter, Adapter):
        raise AdapterError(f"run_checklist needs an Adapter, not {type(adapter).__name__}")
    if browser is not None and not isinstance(browser, BrowserTab):
        return await run_checklist(adapter, browser=browser_tab(browser), items=items)
    chosen = [c for c in CHECKS if items is None or c.title in items]
    browser_items = [
        c for c in chosen if browser is not None and c.in_browser is not None and not adapter.bearer
    ]
    over_http = [c for c in chosen if c not in browser_items]
    loop = asyncio.get_running_loop()
    _CACHE[id(adapter)] = {}
    with ThreadPoolExecutor(3) as pool:
        try:
            url = adapter.base_url + adapter.protected_path
            await loop.run_in_executor(pool, lambda: send("GET", url, None, {}))
        except OSError:
            raise AdapterError(f"{adapter.name}: nothing answers at {adapter.base_url}") from None
        try:
            _start_timeouts(adapter, pool, {c.title for c in chosen})
            first = [c for c in over_http if c.phase == 0]
            parts = await asyncio.gather(
                loop.run_in_executor(pool, _run_items, adapter, first),
                _run_in_browsers(adapter, browser, browser_items),
            )
            rest = [c for phase in (1, 2) for c in over_http if c.phase == phase]
            parts.append(await loop.run_in_executor(pool, _run_items, adapter, rest))
        finally:
            for kept in (adapter, adapter.short_timeouts):
                _CACHE.pop(id(kept), None)
    found = {title: answer for part in parts for title, answer in part.items()}
    return [Result(c.title, *found[c.title]) for c in chosen]


def browser_tab(browser) -> BrowserTab:
    """A :class:`BrowserTab` of one lab browser or of a list of them."""
    return BrowserTab(*browser) if isinstance(browser, list | tuple) else BrowserTab(browser)


async def run_all(
    adapters: list[Adapter], *, browser=None, alongside: list[Adapter] = ()
) -> dict[str, list[Result]]:
    """Every app's checklist, the apps side by side; ``{app name: results}``.

    Every app's timeout probes start at once; the browser items share one :class:`BrowserTab`.
    The apps in ``alongside`` (ablations) run every item but timing meanwhile, without a browser.
    The timing item runs afterwards, one app at a time, with nothing else running: on a busy
    machine the other apps' work would drown the few milliseconds it looks for.
    """
    quiet = [c.title for c in CHECKS if c.title != TIMING]
    tab = browser_tab(browser) if browser is not None else None  # each turn closes its page
    everyone = [*adapters, *alongside]
    runs = [run_checklist(a, browser=tab, items=quiet) for a in adapters]
    runs += [run_checklist(a, items=quiet) for a in alongside]
    found = await asyncio.gather(*runs)
    results = dict(zip([a.name for a in everyone], found, strict=True))
    for adapter in everyone:  # a probe the load made inconclusive runs again, alone, before
        results[adapter.name] = await _settle(adapter, results[adapter.name])  # timing's guesses
    order = {c.title: i for i, c in enumerate(CHECKS)}
    for adapter in adapters:
        rows = results[adapter.name] + await run_checklist(adapter, items=[TIMING])
        results[adapter.name] = sorted(rows, key=lambda r: order[r.item])
    return results


async def _settle(adapter: Adapter, rows: list[Result], tries: int = 2) -> list[Result]:
    """Run again, one app at a time, the items that came back inconclusive: a timeout probe's
    refusal that may have been the other timeout, or new-token pairs none of which fell within one
    second, on a machine too busy to tell. It runs before the timing item, whose wrong-password
    guesses for alice could meet a login throttle here."""
    for _ in range(tries):
        again = [r.item for r in rows if r.status == FAIL and r.evidence.startswith(INCONCLUSIVE)]
        if not again:
            break
        found = {r.item: r for r in await run_checklist(adapter, items=again)}
        rows = [found.get(r.item, r) for r in rows]
    return rows
