"""The checklist (``sessionlab.checklist``): it validates its adapters and its TOML files, reads
cookies correctly, every item it runs can FAIL (over HTTP and in Chromium), its launcher starts
and stops implementation folders, and its command line exits 0, 1 or 2 as documented."""

import asyncio
import base64
import json

import pytest
import sessionlab.checklist as checklist
from flask import Flask, abort, jsonify, request
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


def test_a_session_id_is_read_without_a_signers_prefix_and_mac():
    assert checklist.session_id_of("s%3Aabc.def") == "abc"


def test_set_cookie_parsing():
    cookie = checklist.parse_set_cookie("a=b; Max-Age=0; Path=/; HttpOnly")
    assert cookie.deletes and not cookie.persistent and "httponly" in cookie.attributes
    assert checklist.parse_set_cookie("a=b; Max-Age=60").persistent


def broken_app(*, racy_throttle: int | None = None) -> Flask:
    """Vulnerable on purpose, for this test only: the cookie is the user's name and role in base64
    JSON, accepted whatever it says; a remember cookie that is the user's name; no CSRF check, no
    attributes, a password hash for known users only; a role change that changes nothing the
    cookie says; a transfer route and a cookie reader that crash on bad input (500). With
    ``racy_throttle=n``, at most n failed logins per name, checked and counted apart (a race)."""
    app = Flask("broken")
    hashes = {name: generate_password_hash(pw, DEMO_HASH) for name, (pw, _) in DEMO_USERS.items()}
    failures: dict[str, int] = {}

    def value(user: str) -> str:
        data = json.dumps({"user": user, "role": DEMO_USERS[user][1]}).encode()
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    @app.get("/csrf")
    def csrf():
        return jsonify(csrf_token="t")

    @app.post("/login")
    def login():
        name = request.form.get("username", "")
        if racy_throttle is not None and failures.get(name, 0) >= racy_throttle:
            abort(429)
        known = hashes.get(name)
        if known is None or not check_password_hash(known, request.form.get("password", "")):
            failures[name] = failures.get(name, 0) + 1
            abort(401)
        response = jsonify(user=name)
        response.set_cookie("sid", value(name), max_age=3600)
        if request.form.get("remember") == "1":
            response.set_cookie("remember", name, max_age=3600)
        return response

    @app.get("/me")
    def me():
        raw = request.cookies.get("sid")
        if not raw and request.cookies.get("remember") in DEMO_USERS:
            raw = value(request.cookies["remember"])
        if not raw:
            abort(401)
        raw.encode("ascii")  # a UnicodeEncodeError, so a 500, for non-ASCII bytes
        try:
            data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
            user, role = data["user"], data.get("role")
        except (ValueError, KeyError, TypeError):
            user, role = "?", None
        return jsonify(user=user, role=role)

    @app.post("/transfer")
    def transfer():
        return jsonify(amount=int(request.form.get("amount")))  # int(None): a 500

    @app.post("/admin/role")
    def role():
        return jsonify(changed=True)  # the role in every cookie stays what it was

    return app


NO_FEATURES = {
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


def test_every_item_can_fail_over_http_and_in_chromium():
    """An app that gets everything wrong FAILs every item that applies to it; in Chromium the
    other site's form logs the victim in as dave, and the sibling's cookie switches accounts;
    the concurrency item runs against a racy throttle (the only item the broken app passes,
    since a throttle is what it races)."""

    async def run():
        bench = Bench()
        try:
            server, twin = (bench.enter(serve_wsgi(broken_app())) for _ in range(2))
            fields = dict(
                name="broken",
                session_cookie="sid",
                remember_cookie="remember",
                admin_role_path="/admin/role",
                **NO_FEATURES,
            )
            short = adapter(base_url=twin.url, **fields)  # its sessions never expire either
            broken = adapter(base_url=server.url, short_timeouts=short, **fields)
            racy = bench.enter(serve_wsgi(broken_app(racy_throttle=3)))
            racing = adapter(base_url=racy.url, session_cookie="sid", **NO_FEATURES)
            browser = await bench.browser()
            every = await checklist.run_checklist(broken, browser=browser)
            race = [checklist.THROTTLING, checklist.CONCURRENT]
            return every, await checklist.run_checklist(racing, items=race)
        finally:
            await bench.close()

    results, race = asyncio.run(run())
    statuses = {r.item: r.status for r in results}
    evidence = {r.item: r.evidence for r in results}
    not_failed = {item: s for item, s in statuses.items() if s != "FAIL"}
    # No elevation route: N/A; no throttle: nothing to race, N/A.
    assert not_failed == {checklist.PRIVILEGE: "N/A", checklist.CONCURRENT: "N/A"}, evidence
    assert "logged the victim in as dave" in evidence[checklist.LOGIN_CSRF]
    assert "in Chromium" in evidence[checklist.TOSSING]
    assert "shows dave" in evidence[checklist.TOSSING]
    assert "non-ASCII sid -> 500" in evidence[checklist.HOSTILE]
    assert "/transfer no amount -> 500" in evidence[checklist.FIELDS]
    assert [r.status for r in race] == ["PASS", "FAIL"], race
    assert "(limit 3)" in race[1].evidence
