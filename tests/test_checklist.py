"""The checklist (``sessionlab.checklist``): it validates its adapters and its TOML files, reads
cookies correctly, every item it runs can FAIL (over HTTP and in Chromium), its launcher starts
and stops implementation folders, and its command line exits 0, 1 or 2 as documented."""

import asyncio
import base64
import json
import re
import threading

import pytest
import sessionlab.checklist as checklist
from flask import Flask, abort, jsonify, request
from sessionlab.checklist import cli
from sessionlab.lab.bench import Bench
from sessionlab.lab.servers import free_port, serve_wsgi
from sessionlab.recommended.frameworks.common import DEMO_HASH, DEMO_USERS
from toc import ROOT
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


def test_a_jws_is_judged_by_the_claims_that_do_not_follow_the_clock():
    import jwt
    from sessionlab.checklist.items import _jws_claims_beyond_time

    key = "k" * 32
    one, two = ({"sub": "alice", "iat": t, "exp": t + 60} for t in (1, 2))
    tokens = [jwt.encode(claims, key, algorithm="HS256") for claims in (one, two)]
    assert _jws_claims_beyond_time(*tokens) == set()  # the user and the clock: FAIL
    with_ids = [jwt.encode({**c, "jti": str(c["iat"])}, key, algorithm="HS256") for c in (one, two)]
    assert _jws_claims_beyond_time(*with_ids) == {"jti"}  # a claim besides the clock: PASS
    for opaque in ("a" * 43, "x.y.z", "s%3Aabc.def", tokens[0] + "." + tokens[0]):
        assert _jws_claims_beyond_time(opaque, tokens[1]) is None  # decided by pairs of logins


def test_set_cookie_parsing():
    cookie = checklist.parse_set_cookie("a=b; Max-Age=0; Path=/; HttpOnly")
    assert cookie.deletes and not cookie.persistent and "httponly" in cookie.attributes
    assert checklist.parse_set_cookie("a=b; Max-Age=60").persistent


def broken_app(*, racy_throttle: int | None = None, serialized: frozenset = frozenset()) -> Flask:
    """Vulnerable on purpose, for this test only: the cookie is the user's name and role in base64
    JSON, accepted whatever it says; a remember cookie that is the user's name; no CSRF check, no
    attributes, a password hash for known users only; a role change that changes nothing the
    cookie says; a transfer route and a cookie reader that crash on bad input (500). With
    ``racy_throttle=n``, at most n failed logins per name, checked and counted apart (a race),
    except for the names in ``serialized``, whose logins take one lock (as a loaded machine can
    serialize a round of the race by chance)."""
    app = Flask("broken")
    one_at_a_time = threading.Lock()
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
        if name in serialized:
            with one_at_a_time:
                return attempt(name)
        return attempt(name)

    def attempt(name: str):
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


def test_every_item_can_fail_over_http_and_in_chromium_and_firefox():
    """An app that gets everything wrong FAILs every item that applies to it; in Chromium and in
    Firefox the other site's form logs the victim in as dave, and the sibling's cookie switches accounts;
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
            lucky = bench.enter(serve_wsgi(broken_app(racy_throttle=3, serialized={"erin"})))
            serializing = adapter(base_url=lucky.url, session_cookie="sid", **NO_FEATURES)
            every = await checklist.run_checklist(broken, browser=await checklist.engines(bench))
            race = [checklist.THROTTLING, checklist.CONCURRENT]
            races = [await checklist.run_checklist(x, items=race) for x in (racing, serializing)]
            return every, races
        finally:
            await bench.close()

    results, (race, serialized_first) = asyncio.run(run())
    statuses = {r.item: r.status for r in results}
    evidence = {r.item: r.evidence for r in results}
    not_failed = {item: s for item, s in statuses.items() if s != "FAIL"}
    # No elevation route: N/A; no throttle: nothing to race, N/A.
    assert not_failed == {checklist.PRIVILEGE: "N/A", checklist.CONCURRENT: "N/A"}, evidence
    assert "logged the victim in as dave" in evidence[checklist.LOGIN_CSRF]
    engines = {r.item: r.engines for r in results if r.engines}
    both = {"Chromium": "FAIL", "Firefox": "FAIL"}  # each engine fails each browser item
    assert engines == {checklist.LOGIN_CSRF: both, checklist.TOSSING: both}, evidence
    assert (
        "in Chromium" in evidence[checklist.TOSSING] and "in Firefox" in evidence[checklist.TOSSING]
    )
    assert evidence[checklist.TOSSING].count("shows dave") == 2
    assert "non-ASCII sid -> 500" in evidence[checklist.HOSTILE]
    assert "/transfer no amount -> 500" in evidence[checklist.FIELDS]
    assert [r.status for r in race] == ["PASS", "FAIL"], race
    assert "(limit 3)" in race[1].evidence
    # A round the load serialized is no PASS: the next victim's round shows the race (one
    # round, as before, PASSed this app).
    assert [r.status for r in serialized_first] == ["PASS", "FAIL"], serialized_first
    assert "in round ~2 of 4" in serialized_first[1].evidence, serialized_first


# --- the TOML files, the launcher and the command line ---------------------------------------

EXAMPLE = ROOT / "implementations" / "_example"
GOOD_APP = """
name = "my app"
base_url = "{url}"
family = "server-side"

[adapter]
session_cookie = "session"
csrf = "login-json"
logout_path = "/logout"
"""


def write(tmp_path, text: str, name: str = "app.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_an_app_config_gives_an_adapter_whose_absent_routes_are_none(tmp_path):
    config = checklist.load_app_config(write(tmp_path, GOOD_APP.format(url="http://127.0.0.1:9")))
    a = config.adapter
    assert (a.login_path, a.protected_path, a.logout_path) == ("/login", "/me", "/logout")
    assert a.logout_everywhere_path is None and a.csrf_path is None and a.users == checklist.USERS


@pytest.mark.parametrize(
    "change, field",
    [
        (("[adapter]", "[adapter]\nlogot_path = '/x'"), "adapter.logot_path"),
        (("[adapter]", "[adapter]\nlogout_everywhere_path = 3"), "adapter.logout_everywhere_path"),
        (("[adapter]", "[adapter]\nself_contained = 'yes'"), "adapter.self_contained"),
        (('family = "server-side"', 'family = "magic"'), "family"),
        (('family = "server-side"', "colour = 1"), "colour"),
        (('name = "my app"', ""), "name"),
        (("http://127.0.0.1:9", "http://example.com"), "base_url"),
        (("http://127.0.0.1:9", "ftp://127.0.0.1:9"), "base_url"),
        (('session_cookie = "session"', 'session_cookie = "a b"'), "session_cookie"),
        (('logout_path = "/logout"', 'logout_path = "logout"'), "logout_path"),
        (("[adapter]", "[users]\nalice = 'pw'\n[adapter]"), "users.alice"),
        (("[adapter]", "[adapter"), "not valid TOML"),
    ],
)
def test_a_bad_app_config_names_the_field_and_exits_2(tmp_path, change, field, capsys):
    path = write(tmp_path, GOOD_APP.format(url="http://127.0.0.1:9").replace(*change))
    with pytest.raises(checklist.ConfigError, match=re.escape(field)):
        checklist.load_app_config(path)
    assert cli.main(["--config", str(path)]) == 2
    assert field in capsys.readouterr().err


def test_a_remote_target_needs_the_flag_and_gets_the_warning(tmp_path, capsys):
    path = write(tmp_path, GOOD_APP.format(url="http://192.0.2.1:9"))
    with pytest.raises(checklist.ConfigError, match="--allow-remote"):
        checklist.load_app_config(path)
    config = checklist.load_app_config(path, allow_remote=True)
    assert config.adapter.allow_remote
    # No traffic leaves loopback in this test: the warning is printed before any request, and
    # the run is not started (the CLI is asked only to parse here).
    assert "password guesses" in cli.REMOTE_WARNING


def test_the_command_line_exits_0_on_a_clean_run_and_1_on_a_fail(tmp_path, capsys):
    """A FAIL anywhere exits 1 (the broken app); only PASS and N/A exits 0 (the book's session
    app, asked for the items it passes)."""
    with serve_wsgi(broken_app()) as server:
        text = GOOD_APP.format(url=server.url).replace('"session"', '"sid"')
        text = text.replace('csrf = "login-json"', 'csrf = "endpoint"')
        status = cli.main(["--config", str(write(tmp_path, text))])
    out = capsys.readouterr().out
    assert status == 1, out
    assert "FAIL  v5.0.0-7.4.1 copied cookie replayed after logout" in out
    assert "== my app" in out and "FAIL" in out.splitlines()[-1]


def test_a_bearer_app_from_the_command_line(tmp_path, capsys):
    """The book's JWT app with its token in the login's JSON: the cookie items are N/A, and the
    copied token replayed after logout FAILs without a deny-list."""
    from sessionlab.checklist.serve import _book_jwt_app

    text = """
name = "jwt api"
base_url = "{url}"
[adapter]
transport = "bearer"
token_field = "access_token"
csrf = "none"
logout_path = "/logout"
"""
    with serve_wsgi(_book_jwt_app(short=False, deny_list=False)) as server:
        path = write(tmp_path, text.format(url=server.url))
        status = cli.main(["--config", str(path)])
    out = capsys.readouterr().out
    assert status == 1
    assert "FAIL  v5.0.0-7.4.1 copied cookie replayed after logout" in out
    assert "the copied token still works after logout" in out
    assert "N/A   v5.0.0-3.3.4 session cookie HttpOnly" in out


def test_every_language_reads_the_one_table_of_demo_users():
    """implementations/demo_users.json, which the Go, Node, PHP, Ruby and Python apps read, is the
    table the book's own apps seed and the checklist logs in with."""
    table = json.loads((ROOT / "implementations" / "demo_users.json").read_text(encoding="utf-8"))
    assert {name: tuple(value) for name, value in table.items()} == DEMO_USERS
    assert set(checklist.RACE_VICTIMS) <= set(table)


def test_an_implementation_folder_is_read_and_checked(tmp_path):
    impl = checklist.load_implementation(EXAMPLE)
    assert impl.name == "example" and impl.command == ["python", "app.py"]
    assert set(impl.configurations) == {"defaults", "recommended", "crash"}
    assert impl.configurations["recommended"]["session_cookie"] == "__Host-session"
    assert impl.configurations["defaults"]["admin_role_path"] is None
    text = (EXAMPLE / "checklist.toml").read_text()
    for change, field in [
        (("[start]", "[start]\nport = 1"), "start.port"),
        (('command = ["python", "app.py"]', "command = []"), "start.command"),
        (('family = "server-side"', 'family = "sessions"'), "family"),
        (("[configurations.crash]", "[configurations.crash]\ncsrf = 'magic'"), "csrf"),
        (('name = "example"', ""), "name"),
    ]:
        folder = tmp_path / field.replace(".", "-")
        folder.mkdir()
        (folder / "checklist.toml").write_text(text.replace(*change))
        with pytest.raises(checklist.ConfigError, match=re.escape(field)):
            checklist.load_implementation(folder)
    assert checklist.find_implementations(EXAMPLE.parent) == [
        p for p in checklist.find_implementations(EXAMPLE.parent) if not p.name.startswith("_")
    ]
    assert EXAMPLE in checklist.find_implementations(EXAMPLE.parent, include_examples=True)


def test_the_launcher_starts_an_implementation_and_names_one_that_does_not_start():
    async def run():
        bench = Bench()
        try:
            apps = checklist.Deployment(bench)
            (adapter_,) = apps.implementation(EXAMPLE, ["recommended"])
            apps.start()
            found = await checklist.run_checklist(
                adapter_, items=["v5.0.0-3.3.3 session cookie named __Host-", checklist.ABSOLUTE]
            )
            crash = checklist.Deployment(bench)
            crash.implementation(EXAMPLE, ["crash"])
            with pytest.raises(checklist.LaunchError) as error:
                crash.start()
            return adapter_, found, str(error.value)
        finally:
            await bench.close()

    adapter_, found, message = asyncio.run(run())
    assert adapter_.name == "example recommended" and adapter_.family == "server-side"
    assert [r.status for r in found] == ["PASS", "PASS"], found
    assert "implementations/_example (crash, TIMEOUTS=" in message
    assert "crashes at start, on purpose" in message  # the tail of its output


def test_the_timing_rule_holds_an_oracle_on_a_loaded_machine_and_no_more():
    """The timing item's decision rule on the figures it met: an oracle on a quiet machine
    (8.9 against 2.4 ms) and the same app at a load average of 70 (12.9 against 8.3 ms) FAIL;
    a slow hash on both paths, a small ratio or a small difference PASS."""
    from sessionlab.checklist.items import timing_oracle

    assert timing_oracle(3.7, 3.7, 0.0065)  # quiet: ratios above 2
    assert timing_oracle(1.55, 1.7, 0.0046)  # loaded: 1.4x and 3 ms more
    assert not timing_oracle(0.73, 1.1, -0.047)  # better-auth: scrypt on both paths
    assert not timing_oracle(1.3, 1.9, 0.0045)  # a ratio of 1.3 is no oracle
    assert not timing_oracle(1.9, 1.9, 0.0012)  # 1.2 ms more is not enough on its own


class _RecordingSocket:
    def __init__(self, events: list, name: str):
        self.events, self.name = events, name

    def sendall(self, data: bytes) -> None:
        self.events.append(("sent", self.name, data))


def test_last_byte_sync_sends_no_last_byte_before_every_request_is_held():
    """The concurrent-guess item's race starts on an event: no held request completes until all
    are held; a thread that fails before holding is waited for no longer; a request sent again
    after the release goes at once."""
    from types import SimpleNamespace

    from sessionlab.checklist.client import LastByteSync

    events: list = []
    sync = LastByteSync(4)

    def hold(i: int) -> None:
        connection = SimpleNamespace(sock=_RecordingSocket(events, f"request {i}"))
        events.append(("held", f"request {i}", None))
        sync.hold(connection, b"!")

    def fails_first() -> None:
        sync.abandon()

    threads = [threading.Thread(target=hold, args=(i,)) for i in range(3)]
    threads.append(threading.Thread(target=fails_first))
    for thread in threads:
        thread.start()
    sync.release(timeout=30)
    for thread in threads:
        thread.join(30)
    kinds = [kind for kind, _, _ in events]
    assert kinds == ["held"] * 3 + ["sent"] * 3, events
    assert sorted(name for kind, name, _ in events if kind == "sent") == [
        f"request {i}" for i in range(3)
    ]
    late = SimpleNamespace(sock=_RecordingSocket(events, "again"))
    sync.hold(late, b"!")
    assert events[-1] == ("sent", "again", b"!")


def test_an_idle_timeout_seen_late_is_no_absolute_timeout(monkeypatch):
    """The absolute probe on an app with a 1-second idle timeout and no absolute one, on a
    machine so busy that the login's answer reaches the probe 1.2 s after the server last used
    the session: the first request after it is refused by the idle timeout. That refusal must
    not count as an absolute timeout (it did while the idle clock started at the login's
    answer: Express's defaults PASSed the absolute item under a second `make test`)."""
    import time

    from sessionlab.checklist import items

    used = {}

    class Device:
        session_value = "sid"

        def copy(self):
            return self

    def slow_login(adapter, *, remember=False):
        used["at"] = time.monotonic()  # the server's last use: the login's own check
        time.sleep(1.2)  # its answer is late
        return Device()

    def idle_only(client):
        now = time.monotonic()
        if now - used["at"] > 1.0:
            return False
        used["at"] = now
        return True

    monkeypatch.setattr(items, "_probe_login", slow_login)
    monkeypatch.setattr(items, "_logged_in_now", idle_only)
    assert items._absolute(None) == (None, 0)  # inconclusive, never "refused within 2.4 s"
