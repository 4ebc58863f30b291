"""Session IDs, signed cookies and the stores, memory and a real Redis."""

import time

import itsdangerous
import pytest
from sessionlab.lab.clock import ManualClock
from sessionlab.lab.redis_service import redis_server
from sessionlab.recommended.sessions import (
    CookieTooLargeError,
    MemorySessionStore,
    RedisSessionStore,
    SessionCookie,
    new_session_id,
)

KEY_A = b"a" * 32
KEY_B = b"b" * 32


def test_session_ids_are_long_random_and_url_safe():
    ids = {new_session_id() for _ in range(1000)}
    assert len(ids) == 1000
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert all(len(i) == 43 and set(i) <= alphabet for i in ids)


def test_manual_clock_only_moves_forward():
    clock = ManualClock(100)
    assert clock.advance(5) == clock() == 105
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_cookie_round_trip_and_rotation():
    clock = ManualClock()
    old = SessionCookie([KEY_A], max_age=60, clock=clock)
    value = old.dumps("sid")
    rotated = SessionCookie([KEY_A, KEY_B], max_age=60, clock=clock)
    assert rotated.loads(value) == "sid"  # old cookies verify during the overlap
    assert SessionCookie([KEY_B], max_age=60, clock=clock).loads(rotated.dumps("x")) == "x"
    with pytest.raises(itsdangerous.BadSignature):
        SessionCookie([KEY_B], max_age=60, clock=clock).loads(value)  # old key dropped


def test_cookie_expires_by_its_signed_timestamp():
    clock = ManualClock()
    cookie = SessionCookie([KEY_A], max_age=60, clock=clock)
    value = cookie.dumps("sid")
    clock.advance(61)
    with pytest.raises(itsdangerous.SignatureExpired):
        cookie.loads(value)


def test_cookie_requires_long_keys():
    with pytest.raises(ValueError):
        SessionCookie([b"short"], max_age=60)


@pytest.mark.parametrize("bad", ["", "x" * 5000, "sid.sig", "é" * 10, None])
def test_cookie_rejects_garbage_with_bad_data(bad):
    cookie = SessionCookie([KEY_A], max_age=60)
    with pytest.raises(itsdangerous.BadData):
        cookie.loads(bad)


def test_oversized_cookie_has_its_own_error():
    with pytest.raises(CookieTooLargeError):
        SessionCookie([KEY_A], max_age=60).loads("x" * 4097)


def test_memory_store_idle_and_absolute_timeouts():
    clock = ManualClock()
    store = MemorySessionStore(idle_timeout=10, absolute_timeout=25, clock=clock)
    session = store.create("alice")
    for _ in range(2):
        clock.advance(9)
        assert store.get(session.session_id) is not None  # activity keeps it alive
    clock.advance(9)  # 27 s after login: past the absolute timeout
    assert store.get(session.session_id) is None
    assert len(store) == 0
    idle = store.create("bob")
    clock.advance(11)
    assert store.purge_expired() == 1 and store.get(idle.session_id) is None


def test_memory_store_logout_everywhere():
    store = MemorySessionStore(idle_timeout=10, absolute_timeout=25, clock=ManualClock())
    sessions = [store.create("alice") for _ in range(3)] + [store.create("bob")]
    assert store.delete_user("alice") == 3
    assert [store.get(s.session_id) is None for s in sessions] == [True, True, True, False]
    assert store.lookups == 4


def test_redis_store_on_a_real_server():
    with redis_server() as client:
        store = RedisSessionStore(client, idle_timeout=30, absolute_timeout=3600)
        session = store.create("alice", {"role": "admin"})
        assert 0 < client.ttl(f"session:{session.session_id}") <= 30
        assert (
            3500 < client.ttl("session:user:alice") <= 3600
        )  # the index expires with the sessions
        loaded = store.get(session.session_id)
        assert loaded.user_id == "alice" and loaded.data == {"role": "admin"}
        loaded.data["role"] = "user"
        store.save(loaded)
        assert store.get(session.session_id).data == {"role": "user"}
        store.create("alice")
        assert store.delete_user("alice") == 2
        assert store.get(session.session_id) is None
        pid = client.pid
    import psutil

    time.sleep(0.1)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_redis_store_absolute_timeout():
    clock = ManualClock(time.time())
    with redis_server() as client:
        store = RedisSessionStore(client, idle_timeout=30, absolute_timeout=60, clock=clock)
        session = store.create("alice")
        clock.advance(61)
        assert store.get(session.session_id) is None
        assert client.exists(f"session:{session.session_id}") == 0


# --- the reference session app and the parts it is built from (recommended/webauth.py) -------

import threading  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import requests  # noqa: E402
from sessionlab.lab.fixtures import PASSWORD, book_users  # noqa: E402
from sessionlab.lab.servers import serve_wsgi  # noqa: E402
from sessionlab.recommended import webauth  # noqa: E402
from sessionlab.recommended.session_app import COOKIE_NAME, create_session_app  # noqa: E402


def reference_app(**options):
    store = MemorySessionStore(idle_timeout=900, absolute_timeout=3600)
    options.setdefault("secure", False)  # requests over plain http sends no Secure cookie
    return create_session_app(store, SessionCookie(KEY_A, max_age=3600), book_users(), **options)


def test_log_out_everywhere_under_concurrent_logins_leaves_no_session_and_no_5xx():
    """Logins and log-out-everywhere at once, against a store already holding many sessions."""
    store = MemorySessionStore(idle_timeout=900, absolute_timeout=3600)
    for i in range(20_000):
        store.create("alice" if i % 2 else f"user{i}")
    app = create_session_app(store, SessionCookie(KEY_A, max_age=3600), book_users(), secure=False)
    with serve_wsgi(app) as server:
        logged_in = []  # (time the login answered, its cookie)
        logouts = []  # (time the log-out-everywhere was sent, its status)
        lock = threading.Lock()

        def log_in():
            response = requests.post(
                f"{server.url}/login", data={"username": "alice", "password": PASSWORD}, timeout=30
            )
            with lock:
                logged_in.append((time.monotonic(), response.status_code, response.cookies))
            return response

        def log_out_everywhere():
            first = log_in()
            sent = time.monotonic()
            response = requests.post(
                f"{server.url}/logout-everywhere",
                cookies=first.cookies,
                headers={"X-CSRF-Token": first.json()["csrf_token"]},
                timeout=30,
            )
            with lock:
                logouts.append((sent, response.status_code))

        with ThreadPoolExecutor(16) as pool:
            jobs = [pool.submit(log_in if i % 4 else log_out_everywhere) for i in range(160)]
            for job in jobs:
                job.result()
        statuses = [status for _, status, _ in logged_in] + [status for _, status in logouts]
        assert not [s for s in statuses if s >= 500], sorted(set(statuses))
        assert all(status == 200 for _, status, _ in logged_in)
        # a log-out-everywhere may find its own session already ended by another one: 401
        assert {status for _, status in logouts} <= {200, 401}
        last_logout = max(sent for sent, _ in logouts)
        doomed = [cookies for answered, _, cookies in logged_in if answered < last_logout]
        survivors = [
            c for c in doomed if requests.get(f"{server.url}/me", cookies=c, timeout=10).ok
        ]
        assert len(doomed) > 50 and not survivors, f"{len(survivors)} of {len(doomed)} survived"
    assert len(store) >= 10_000  # the other users' sessions were never touched


def test_wrong_user_names_cost_a_password_hash_too(monkeypatch):
    checked = []
    real = webauth.check_password_hash
    monkeypatch.setattr(
        webauth, "check_password_hash", lambda h, p: checked.append(h) or real(h, p)
    )
    users = book_users()
    assert webauth.check_password(users, "alice", PASSWORD)
    assert not webauth.check_password(users, "alice", "wrong")
    assert not webauth.check_password(users, "nobody", "wrong")
    assert len(checked) == 3  # the unknown user was checked against a dummy hash
    method = users["alice"]["password_hash"].split("$")[0]
    assert checked[2].split("$")[0] == method and checked[2] not in (checked[0],)


def test_password_guesses_are_throttled_per_user():
    clock = ManualClock(1000)
    app = reference_app(
        login_throttle=webauth.LoginThrottle(max_failures=5, window=60, clock=clock)
    )
    client = app.test_client()
    for _ in range(5):
        assert client.post("/login", data={"username": "alice", "password": "x"}).status_code == 401
    right = {"username": "alice", "password": PASSWORD}
    refused = client.post("/login", data=right)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert client.post("/login", data={"username": "bob", "password": PASSWORD}).status_code == 200
    clock.advance(61)
    assert client.post("/login", data=right).status_code == 200


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 200),  # curl, a native app, a test: not a browser that can be tricked
        ({"Sec-Fetch-Site": "same-origin"}, 200),
        ({"Sec-Fetch-Site": "none"}, 200),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Sec-Fetch-Site": "same-site"}, 403),
        ({"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"}, 403),
        ({"Origin": "http://localhost"}, 200),  # the test client's own origin
        ({"Origin": "https://evil.example"}, 403),
        ({"Origin": "null"}, 403),
    ],
)
def test_login_csrf_is_refused_by_fetch_metadata_with_the_origin_fallback(headers, status):
    response = (
        reference_app()
        .test_client()
        .post("/login", data={"username": "alice", "password": PASSWORD}, headers=headers)
    )
    assert response.status_code == status


def test_authenticated_responses_are_not_cached_sniffed_or_framed():
    client = reference_app().test_client()
    login = client.post("/login", data={"username": "alice", "password": PASSWORD})
    me = client.get("/me")
    for response in (login, me):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in me.headers
    hsts = reference_app(hsts=True).test_client().get("/me")
    assert hsts.headers["Strict-Transport-Security"].startswith("max-age=")


def test_session_fixation_and_non_ascii_csrf_token():
    client = reference_app().test_client()
    first = client.post("/login", data={"username": "alice", "password": PASSWORD})
    planted = client.get_cookie(COOKIE_NAME).value
    second = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert client.get_cookie(COOKIE_NAME).value != planted
    other = reference_app().test_client()
    assert first.status_code == second.status_code == 200
    response = client.post("/logout", headers={"X-CSRF-Token": "\u00e9\u00e8"})
    assert response.status_code == 403
    assert other.get("/me").status_code == 401


def test_options_cookie_name_samesite_and_pages():
    app = reference_app(cookie_name="__Host-session", secure=True, samesite="Strict", pages=True)
    client = app.test_client()
    login = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert login.status_code == 303 and login.headers["Location"] == "/account"
    set_cookie = login.headers["Set-Cookie"]
    assert set_cookie.startswith("__Host-session=") and "Secure" in set_cookie
    assert "SameSite=Strict" in set_cookie and "Path=/" in set_cookie and "Domain" not in set_cookie
    assert "Hello, alice" in client.get("/account").text
    none = reference_app(samesite=None).test_client()
    cookie = none.post("/login", data={"username": "alice", "password": PASSWORD}).headers
    assert "SameSite" not in cookie["Set-Cookie"]
    with pytest.raises(ValueError):
        reference_app(samesite="lax")


def test_bank_transfers_need_the_csrf_token_of_the_session():
    from sessionlab.recommended.bank import create_bank_app

    for credential in ("session-cookie", "jwt-cookie"):
        bank = create_bank_app(credential=credential)
        client = bank.test_client()
        client.post("/login", data={"username": "alice", "password": PASSWORD})
        page = client.get("/account").text
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        forged = client.post("/transfer", data={"to": "mallory", "amount": "9"})
        own = client.post("/transfer", data={"to": "bob", "amount": "25", "csrf_token": token})
        assert (forged.status_code, own.status_code) == (403, 200), credential
        assert [(r["to"], r["amount"]) for r in bank.ledger] == [("bob", 25)]
        assert bank.refusals[0]["reason"] == "missing or wrong CSRF token"


@pytest.mark.parametrize(
    ("value", "token"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc", "abc"),
        ("Bearer", None),
        ("Bearer ", None),
        ("Bearer a b", None),
        ("Bearer  a", None),
        ("Basic YWxpY2U6cA==", None),
        ("", None),
        (None, None),
    ],
)
def test_one_bearer_parser(value, token):
    assert webauth.bearer_token(value) == token


def check_jti_store(store, clock):
    assert not store.contains("a")
    store.add("a", clock() + 10)
    assert store.contains("a")
    assert store.claim("b", clock() + 10) and not store.claim("b", clock() + 10)
    assert not store.claim("old", clock() - 1)  # already expired: its token is refused anyway
    clock.advance(11)
    assert not store.contains("a") and store.claim("b", clock() + 10)


def test_memory_jti_store():
    clock = ManualClock(1000)
    store = webauth.MemoryJtiStore(clock)
    check_jti_store(store, clock)
    with ThreadPoolExecutor(8) as pool:
        wins = list(pool.map(lambda _: store.claim("race", clock() + 60), range(200)))
    assert wins.count(True) == 1


def test_redis_jti_store():
    with redis_server() as client:
        clock = ManualClock(time.time())
        store = webauth.RedisJtiStore(client, clock=clock)
        assert not store.contains("a")
        store.add("a", clock() + 10)
        assert store.contains("a") and 0 < client.ttl("jti:a") <= 10
        assert store.claim("b", clock() + 10) and not store.claim("b", clock() + 10)
        assert not store.claim("old", clock() - 1)


def test_attacker_page_posts_or_navigates():
    post = webauth.create_attacker_app("http://127.0.0.1:1").test_client().get("/").text
    assert 'method="post" action="http://127.0.0.1:1/transfer"' in post and "mallory" in post
    get = webauth.create_attacker_app(
        "http://127.0.0.1:1", method="get", path="/account", fields={}
    )
    assert 'method="get" action="http://127.0.0.1:1/account"' in get.test_client().get("/").text


def test_memory_store_log_out_everywhere_while_another_thread_logs_in():
    store = MemorySessionStore(idle_timeout=900, absolute_timeout=3600)
    for i in range(20_000):
        store.create("alice" if i % 2 else f"user{i}")
    errors = []

    def log_in_many():
        for _ in range(20_000):
            store.create("alice")

    def log_out_everywhere_many():
        for _ in range(50):
            try:
                store.delete_user("alice")
            except RuntimeError as exc:  # "dictionary changed size during iteration"
                errors.append(exc)

    threads = [
        threading.Thread(target=log_in_many),
        threading.Thread(target=log_out_everywhere_many),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.delete_user("alice")
    assert not errors and not any(s.user_id == "alice" for s in store._sessions.values())


def test_login_csrf_from_another_site_is_refused_in_chromium():
    """A cross-site auto-submitting form must not log the victim's browser into the attacker's
    account (SameSite limits which cookies are sent, not which Set-Cookie is stored)."""
    import asyncio

    from sessionlab.lab.browser import chromium
    from sessionlab.lab.fixtures import make_users
    from sessionlab.recommended.bank import create_bank_app

    bank = create_bank_app(users=make_users(mallory=(PASSWORD, "customer")))
    fields = {"username": "mallory", "password": PASSWORD}

    async def visit(attacker_host):
        with serve_wsgi(bank) as bank_server:
            page_app = webauth.create_attacker_app(bank_server.url, path="/login", fields=fields)
            with serve_wsgi(page_app) as attacker:
                async with chromium() as browser:
                    context = await browser.new_context()
                    page = await context.new_page()
                    async with page.expect_response(lambda r: "/login" in r.url) as login:
                        await page.goto(f"http://{attacker_host}:{attacker.port}/")
                    status = (await login.value).status
                    cookies = [c["name"] for c in await context.cookies()]
                    await context.close()
                    return status, cookies

    assert asyncio.run(visit("localhost")) == (403, [])  # cross-site: Sec-Fetch-Site decides
    assert asyncio.run(visit("127.0.0.1")) == (403, [])  # same site, other origin: refused too


def test_redis_log_out_everywhere_keeps_a_concurrent_login_indexed():
    """A login that lands between reading the index and ending its sessions is not lost from the
    index: the next log-out-everywhere still ends it (a DEL of the whole index would drop it)."""
    from sessionlab.lab.redis_service import redis_server
    from sessionlab.recommended.sessions import RedisSessionStore

    with redis_server() as client:
        store = RedisSessionStore(client, idle_timeout=900, absolute_timeout=3600)
        first = store.create("alice")
        real_smembers = client.smembers
        late = {}

        def smembers_then_a_login(name):
            members = real_smembers(name)
            late["session"] = store.create("alice")  # the concurrent login
            return members

        client.smembers = smembers_then_a_login
        assert store.delete_user("alice") == 1
        client.smembers = real_smembers
        assert store.get(first.session_id) is None
        assert store.delete_user("alice") == 1
        assert store.get(late["session"].session_id) is None


def test_jti_store_claims_stay_fast_with_many_live_entries():
    """A claim touches only expired entries: 50,000 live ones do not make each claim a scan.

    Counted, not timed (a timing changes with the machine's load): every comparison of an
    expiry time is counted, and a claim among 50,000 live entries may cost a heap's logarithm,
    never a pass over them (the scanning version compared each claim with every live entry)."""
    from sessionlab.lab.clock import ManualClock
    from sessionlab.recommended.webauth import MemoryJtiStore

    comparisons = [0]

    class Expiry(float):
        """An expiry time that counts how often it is compared."""

        def _count(self, other, op):
            comparisons[0] += 1
            return op(float(self), float(other))

        def __lt__(self, other):
            return self._count(other, float.__lt__)

        def __le__(self, other):
            return self._count(other, float.__le__)

        def __gt__(self, other):
            return self._count(other, float.__gt__)

        def __ge__(self, other):
            return self._count(other, float.__ge__)

        def __eq__(self, other):
            return self._count(other, float.__eq__)

        __hash__ = float.__hash__

    def comparisons_per_claim(live_entries: int, claims: int = 2_000) -> float:
        clock = ManualClock(1_000)
        store = MemoryJtiStore(clock=clock)
        for n in range(live_entries):
            store.claim(f"live-{n}", Expiry(2_000 + n % 7))
        comparisons[0] = 0
        for n in range(claims):
            assert store.claim(f"more-{n}", Expiry(2_000 + n % 5))
        counted = comparisons[0] / claims
        assert not store.claim("more-7", Expiry(2_000)), "still single-use"
        clock.advance(1_010)
        assert len(store) == 0, "expired entries are purged"
        return counted

    few, many = comparisons_per_claim(0), comparisons_per_claim(50_000)
    assert few > 0, "the counter sees the store's comparisons"
    # A binary heap of 52,000 entries is 16 levels deep: a push compares at most once per level.
    assert many < few + 2 * 16, (few, many)


def _logged_in(app, user):
    client = app.test_client()
    login = client.post("/login", data={"username": user, "password": PASSWORD})
    assert login.status_code == 200
    return client, {"X-CSRF-Token": login.json["csrf_token"]}


def test_password_change_ends_the_other_sessions_and_keeps_this_one():
    app = reference_app()
    here, csrf = _logged_in(app, "bob")
    other, _ = _logged_in(app, "bob")
    form = {"old": PASSWORD, "new": "a new password", "end_other_sessions": "1"}
    assert here.post("/password", data=form).status_code == 403  # no CSRF token
    assert here.post("/password", data={**form, "old": "wrong"}, headers=csrf).status_code == 401
    short = {**form, "new": "short"}
    assert here.post("/password", data=short, headers=csrf).status_code == 400
    assert here.post("/password", data=form, headers=csrf).status_code == 200
    assert other.get("/me").status_code == 401 and here.get("/me").status_code == 200
    assert here.post("/logout", headers=csrf).status_code == 200  # the CSRF token carried over
    fresh = app.test_client()
    assert fresh.post("/login", data={"username": "bob", "password": PASSWORD}).status_code == 401
    new = {"username": "bob", "password": "a new password"}
    assert fresh.post("/login", data=new).status_code == 200


def test_an_administrator_ends_or_disables_a_user_and_a_user_cannot():
    app = reference_app()
    admin, admin_csrf = _logged_in(app, "alice")
    victim, victim_csrf = _logged_in(app, "bob")
    assert (
        victim.post("/admin/end-sessions", data={"user": "alice"}, headers=victim_csrf).status_code
        == 403
    )
    assert (
        admin.post("/admin/end-sessions", data={"user": "nobody"}, headers=admin_csrf).status_code
        == 404
    )
    ended = admin.post("/admin/end-sessions", data={"user": "bob"}, headers=admin_csrf)
    assert ended.json["sessions_ended"] == 1 and victim.get("/me").status_code == 401
    victim, _ = _logged_in(app, "bob")
    assert admin.post("/admin/disable", data={"user": "bob"}, headers=admin_csrf).status_code == 200
    assert victim.get("/me").status_code == 401
    again = app.test_client().post("/login", data={"username": "bob", "password": PASSWORD})
    assert again.status_code == 401  # the same answer as a wrong password


def test_the_session_cookie_ends_with_the_browser_session():
    login = (
        reference_app()
        .test_client()
        .post("/login", data={"username": "alice", "password": PASSWORD})
    )
    set_cookie = login.headers["Set-Cookie"].lower()
    assert "max-age" not in set_cookie and "expires" not in set_cookie
