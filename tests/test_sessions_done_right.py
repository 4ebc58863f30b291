"""Chapter 41's configurations under the checklist: the frameworks FAIL what they lack and PASS
once configured, in Chromium too, and the chapter's Redis count reads the server's counters."""

import asyncio

import sessionlab.checklist as checklist
from sessionlab.chapters.sessions_done_right import redis_commands
from sessionlab.lab.bench import Bench


def test_frameworks_fail_what_they_lack_and_pass_once_configured_in_chromium_too():
    items = [c.title for c in checklist.CHECKS][:4] + [
        "v5.0.0-3.3.1 session cookie Secure",
        checklist.LOGIN_CSRF,
        checklist.TOSSING,
        checklist.ABSOLUTE,
    ]

    counts = {}

    async def run():
        bench = Bench()
        try:
            redis_client = bench.redis()
            apps = checklist.Deployment(bench, redis_client=redis_client)
            adapters = [
                apps.flask(config="defaults", store="redis"),
                apps.flask(config="recommended", store="redis"),
                apps.flask_jwt(config="defaults"),
            ]
            apps.start()
            browser = await bench.browser()
            runs = [checklist.run_checklist(a, browser=browser, items=items) for a in adapters]
            found = await asyncio.gather(*runs)
            counts.update(redis_commands(adapters[1], redis_client))
            return dict(zip(["defaults", "recommended", "jwt"], found, strict=True))
        finally:
            await bench.close()

    results = {name: [r.status for r in rows] for name, rows in asyncio.run(run()).items()}
    # In the checklist's order: the first four items, the absolute timeout, Secure, login CSRF
    # and tossing.
    assert results == {
        "defaults": ["PASS", "PASS", "PASS", "FAIL", "FAIL", "FAIL", "PASS", "FAIL"],
        "recommended": ["PASS"] * 8,
        "jwt": ["PASS", "PASS", "N/A", "FAIL", "PASS", "FAIL", "FAIL", "FAIL"],
    }
    # Flask-Session reads the session and writes it back with a fresh expiry: GET, SET.
    assert counts == {"get": 1, "set": 1}, counts
