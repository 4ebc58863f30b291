"""Chapter 41's checklist harness: it validates its adapters, reads cookies correctly, and every
item it runs can FAIL (over HTTP and in Chromium) as well as PASS."""

import asyncio
import base64
import json
import zlib

import pytest
from flask import Flask, abort, jsonify, request
from sessionlab.chapters import sessions_done_right as checklist
from sessionlab.lab.bench import Bench
from sessionlab.lab.servers import free_port, serve_wsgi
from sessionlab.recommended.frameworks.common import DEMO_HASH, DEMO_USERS
from werkzeug.security import check_password_hash, generate_password_hash


def adapter(**changes):
    fields = dict(name="t", base_url="http://127.0.0.1:1", session_cookie="s", users=DEMO_USERS)
    return checklist.Adapter(**{**fields, **changes})


@pytest.mark.parametrize(
    "changes",
    [
        {"base_url": "https://127.0.0.1:1"},
        {"base_url": "http://example.com"},
        {"session_cookie": "bad name"},
        {"login_path": "login"},
        {"csrf": "magic"},
        {"csrf": "endpoint", "csrf_path": None},
        {"users": {"alice": ("pw", "user")}},
        {"extra_headers": {"X-A": 1}},
    ],
)
def test_bad_adapters_are_refused(changes):
    with pytest.raises(checklist.AdapterError):
        adapter(**changes)


def test_run_checklist_refuses_what_is_not_an_adapter_or_not_listening():
    with pytest.raises(checklist.AdapterError, match="needs an Adapter"):
        asyncio.run(checklist.run_checklist({"base_url": "http://127.0.0.1:1"}))
    with pytest.raises(checklist.AdapterError, match="nothing answers"):
        asyncio.run(checklist.run_checklist(adapter(base_url=f"http://127.0.0.1:{free_port()}")))


def test_a_deployment_asks_for_the_redis_it_needs():
    apps = checklist.Deployment(bench=None)
    for ask in (
        lambda: apps.django(config="recommended", store="redis"),
        lambda: apps.flask_jwt(config="defaults"),
        lambda: apps.reference(),
    ):
        with pytest.raises(ValueError, match="redis_client"):
            ask()


def test_a_flask_cookie_decodes_to_its_data_and_an_id_does_not():
    data = base64.urlsafe_b64encode(zlib.compress(json.dumps({"_user_id": "a"}).encode()))
    flask_cookie = "." + data.decode().rstrip("=") + ".Zx1.sig"
    assert any(b"_user_id" in raw for raw in checklist.decode_attempts(flask_cookie))
    assert checklist.session_id_of("s%3Aabc.def") == "abc"


def test_set_cookie_parsing():
    cookie = checklist.parse_set_cookie("a=b; Max-Age=0; Path=/; HttpOnly")
    assert cookie.deletes and not cookie.persistent and "httponly" in cookie.attributes
    assert checklist.parse_set_cookie("a=b; Max-Age=60").persistent


def broken_app() -> Flask:
    """Vulnerable on purpose, for this test only: the cookie is the user's name in base64 JSON,
    accepted whatever it says; no CSRF check, no attributes, a password hash for known users only.
    """
    app = Flask("broken")
    hashes = {name: generate_password_hash(pw, DEMO_HASH) for name, (pw, _) in DEMO_USERS.items()}

    def value(user: str) -> str:
        return base64.urlsafe_b64encode(json.dumps({"user": user}).encode()).decode().rstrip("=")

    @app.get("/csrf")
    def csrf():
        return jsonify(csrf_token="t")

    @app.post("/login")
    def login():
        known = hashes.get(request.form.get("username", ""))
        if known is None or not check_password_hash(known, request.form.get("password", "")):
            abort(401)
        response = jsonify(user=request.form["username"])
        response.set_cookie("sid", value(request.form["username"]), max_age=3600)
        return response

    @app.get("/me")
    def me():
        raw = request.cookies.get("sid")
        if not raw:
            abort(401)
        try:
            user = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))["user"]
        except (ValueError, KeyError, TypeError):
            user = "?"
        return jsonify(user=user)

    return app


def test_every_item_can_fail_over_http_and_in_chromium():
    """An app that gets everything wrong FAILs every item that applies to it; in Chromium the
    other site's form logs the victim in as dave, and the sibling's cookie switches accounts."""
    paths = {
        f"{feature}_path": None
        for feature in (
            "logout",
            "logout_everywhere",
            "elevate",
            "password",
            "admin_end_sessions",
            "admin_disable",
        )
    }

    async def run():
        bench = Bench()
        try:
            server, twin = (bench.enter(serve_wsgi(broken_app())) for _ in range(2))
            fields = dict(name="broken", session_cookie="sid", **paths)
            short = adapter(base_url=twin.url, **fields)  # its sessions never expire either
            broken = adapter(base_url=server.url, short_timeouts=short, **fields)
            browser = await bench.browser()
            return await checklist.run_checklist(broken, browser=browser)
        finally:
            await bench.close()

    results = asyncio.run(run())
    letters = "".join({"PASS": "P", "FAIL": "F", "N/A": "-"}[r.status] for r in results)
    evidence = {r.item: r.evidence for r in results}
    assert letters == "FFFFFFFFFFFFFFFFFFFFF-FF", evidence
    assert "logged the victim in as dave" in evidence[checklist.LOGIN_CSRF]
    assert (
        "in Chromium" in evidence[checklist.TOSSING] and "shows dave" in evidence[checklist.TOSSING]
    )


def test_frameworks_fail_what_they_lack_and_pass_once_configured_in_chromium_too():
    items = [c.title for c in checklist.CHECKS][:4] + [
        "v5.0.0-3.3.1 session cookie Secure",
        checklist.LOGIN_CSRF,
        checklist.TOSSING,
        checklist.ABSOLUTE,
    ]

    async def run():
        bench = Bench()
        try:
            apps = checklist.Deployment(bench, redis_client=bench.redis())
            adapters = [
                apps.flask(config="defaults", store="redis"),
                apps.flask(config="recommended", store="redis"),
                apps.flask_jwt(config="defaults"),
            ]
            apps.start()
            browser = await bench.browser()
            runs = [checklist.run_checklist(a, browser=browser, items=items) for a in adapters]
            return dict(
                zip(["defaults", "recommended", "jwt"], await asyncio.gather(*runs), strict=True)
            )
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
