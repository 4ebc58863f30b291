"""flask-jwt-extended in cookies, over real HTTP: what its documented setup gives and what the
recommended configuration adds (CSRF, log-out, log out everywhere, fresh roles, timeouts)."""

import asyncio
import time

import jwt
import pytest
import time_machine
from hostile import token_cases
from sessionlab.lab.bench import Bench
from sessionlab.recommended.frameworks.common import DEMO_USERS
from sessionlab.recommended.frameworks.flask_jwt_apps import CONFIGS, create_flask_jwt_app
from sessionlab.recommended.webauth import CookieClient
from test_abuse import as_header_value, request_bytes, run_abusive_client

CSRF_COOKIE = {"defaults": "csrf_access_token", "recommended": "__Host-csrf_access_token"}
TOKEN_COOKIE = {"defaults": "access_token_cookie", "recommended": "__Host-access_token"}


@pytest.fixture(scope="module")
def bench():
    bench = Bench()
    yield bench
    asyncio.run(bench.close())


def serve(bench, config, **options):
    app = create_flask_jwt_app(config=config, **options)
    url = bench.serve(app).url
    return app, lambda: CookieClient(url, csrf=f"cookie:{CSRF_COOKIE[config]}")


def logged_in(new_client, user="alice"):
    client = new_client()
    assert client.log_in(user, DEMO_USERS[user][0]).status_code == 200
    assert client.get("/me").status_code == 200
    return client


@pytest.mark.parametrize(
    "options",
    [
        {"config": "magic"},
        {"access_lifetime": 0},
        {"access_lifetime": 1.5},
        {"access_lifetime": True},
        {"absolute_timeout": "8h"},
        {"access_lifetime": 600, "absolute_timeout": 60},
    ],
)
def test_bad_arguments_are_refused(options):
    with pytest.raises(ValueError):
        create_flask_jwt_app(**options)


@pytest.mark.parametrize("config", CONFIGS)
def test_a_post_without_the_csrf_header_is_refused(bench, config):
    _, new_client = serve(bench, config)
    client = logged_in(new_client)
    forged = client.http.post(
        f"{client.base_url}/transfer", data={"amount": "5"}, headers={"Origin": "http://evil"}
    )
    assert forged.status_code == 401 and "CSRF" in forged.json()["msg"]
    assert client.post("/transfer", data={"amount": "5"}).json() == {"transferred": "5"}


@pytest.mark.parametrize("config", CONFIGS)
def test_a_copied_token_cookie_is_refused_after_logout(bench, config):
    _, new_client = serve(bench, config)
    client = logged_in(new_client)
    copy = client.copy()
    assert client.post("/logout").status_code == 200
    assert client.get("/me").status_code == 401  # the cookies are unset
    assert copy.get("/me").status_code == 401  # and the token is blocklisted


def test_logout_ends_every_token_of_the_login_not_only_the_newest(bench):
    _, new_client = serve(bench, "recommended")
    client = logged_in(new_client)
    before_refresh = client.copy()
    assert client.get("/me").status_code == 200  # every authenticated response refreshes
    newest, older = (c.http.cookies["__Host-access_token"] for c in (client, before_refresh))
    assert newest != older and before_refresh.get("/me").status_code == 200
    client.post("/logout")
    assert before_refresh.get("/me").status_code == 401  # its sid is blocklisted


@pytest.mark.parametrize("config", CONFIGS)
def test_log_out_everywhere(bench, config):
    _, new_client = serve(bench, config)
    laptop, phone = logged_in(new_client), logged_in(new_client)
    status = laptop.post("/logout-everywhere").status_code
    if config == "defaults":
        assert status == 404 and phone.get("/me").status_code == 200
    else:
        assert status == 200 and phone.get("/me").status_code == 401
        assert logged_in(new_client).get("/me").status_code == 200  # a new login works


@pytest.mark.parametrize("config", CONFIGS)
def test_a_role_change_is_immediate_only_when_the_role_is_read_per_request(bench, config):
    app, new_client = serve(bench, config)
    root = logged_in(new_client, "root")
    assert root.get("/admin").status_code == 200
    app.extensions["flask_jwt_app"]["users"]["root"]["role"] = "user"  # demoted in the database
    expected = {"defaults": 200, "recommended": 403}[config]  # defaults: the token's stale claim
    assert root.get("/admin").status_code == expected
    assert root.get("/me").json()["role"] == {"defaults": "admin", "recommended": "user"}[config]


def test_recommended_cookies_and_headers(bench):
    _, new_client = serve(bench, "recommended")
    client = new_client()
    login = client.log_in("alice", DEMO_USERS["alice"][0])
    set_cookie = login.headers["Set-Cookie"]
    assert "__Host-access_token=" in set_cookie and "Max-Age" not in set_cookie
    assert set_cookie.count("Secure") == 2 and set_cookie.count("SameSite=Lax") == 2
    assert login.headers["Cache-Control"] == "no-store"
    assert client.get("/me").headers["Cache-Control"] == "no-store"
    cross_site = new_client().http.post(
        f"{client.base_url}/login",
        data={"username": "dave", "password": DEMO_USERS["dave"][0]},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert cross_site.status_code == 403


def test_the_absolute_timeout_holds_however_active_the_user(bench):
    _, new_client = serve(bench, "recommended", access_lifetime=60, absolute_timeout=120)
    start = time.time()
    client = logged_in(new_client)
    for offset, status in ((50, 200), (100, 200), (125, 401)):
        # A new connection each time: waitress closes a kept-alive one once time jumps, and a
        # request sent on it meanwhile fails (seen under load when the login's was reused).
        client.http.close()
        with time_machine.travel(start + offset, tick=False):
            me = client.http.get(f"{client.base_url}/me", headers={"Connection": "close"})
            assert me.status_code == status, offset


def test_a_login_over_an_existing_token_and_elevate_end_the_old_login(bench):
    _, new_client = serve(bench, "recommended")
    client = logged_in(new_client)
    first = client.copy()
    client.log_in("alice", DEMO_USERS["alice"][0])
    second = client.copy()
    assert first.get("/me").status_code == 401 and second.get("/me").status_code == 200
    assert client.post("/elevate", data={"password": DEMO_USERS["alice"][0]}).status_code == 200
    assert second.get("/me").status_code == 401 and client.get("/me").status_code == 200


def test_the_blocklist_is_on_redis_when_given_one(bench):
    redis_client = bench.redis()
    app, new_client = serve(bench, "recommended", redis_client=redis_client)
    client = logged_in(new_client)
    client.post("/logout")
    assert len(redis_client.keys("jti:*")) == 1
    assert app.extensions["flask_jwt_app"]["blocklist"].lookups >= 2


@pytest.mark.parametrize("config", CONFIGS)
def test_hostile_tokens_in_the_cookie_get_a_4xx(bench, config, tmp_path):
    # The sweep in test_abuse_all_apps.py sends hostile cookies under other names than these.
    app = create_flask_jwt_app(config=config)
    port = bench.serve(app).port
    key = app.config["JWT_SECRET_KEY"]
    own_key_tokens = [  # signed with the app's own key but missing what it issues
        jwt.encode({"sub": "alice", "type": "access", "exp": time.time() + 60}, key),
        jwt.encode({"sub": "alice", "jti": 5, "sid": 5, "auth_time": "x"}, key),
    ]
    raw = []
    for token in [case.token for case in token_cases()] + own_key_tokens:
        cookie = f"{TOKEN_COOKIE[config]}=".encode() + as_header_value(token)[:6000]
        headers = {"Cookie": cookie, "X-CSRF-TOKEN": b"x"}
        raw += [request_bytes("GET", "/me", headers), request_bytes("POST", "/transfer", headers)]
    statuses = run_abusive_client(port, raw, tmp_path)
    assert all(s is not None and 400 <= s < 500 for s in statuses), sorted(set(map(str, statuses)))
