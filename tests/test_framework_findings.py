"""The framework apps against what an outside attack run found (issue 20): each test fails on the
code before the fix. Flask-Login's remembered login, hostile bytes the libraries choke on, a
missing field, and concurrent guesses against the throttle."""

import contextlib
import shutil
import threading
import time
from pathlib import Path

import pytest
import time_machine
from sessionlab.lab.redis_service import redis_server
from sessionlab.recommended.frameworks.common import DEMO_USERS
from sessionlab.recommended.frameworks.flask_apps import create_flask_app

PASSWORD = DEMO_USERS["alice"][0]


@pytest.fixture(scope="module")
def redis_client():
    with redis_server() as client:
        yield client


def remember_name(app):
    return app.config.get("REMEMBER_COOKIE_NAME", "remember_token")  # Flask-Login's default


def flask_client(app):
    client = app.test_client()
    client.csrf = lambda: client.get("/csrf").get_json()["csrf_token"]
    return client


def post(client, path, **form):
    return client.post(path, data=form, headers={"X-CSRFToken": client.csrf()})


def remembered(app, user="alice"):
    client = flask_client(app)
    reply = post(client, "/login", username=user, password=DEMO_USERS[user][0], remember="1")
    assert reply.status_code == 200
    cookie = client.get_cookie(remember_name(app))
    assert cookie is not None, "no remember cookie set"
    return client, cookie.value


def only_remember_cookie(app, value):
    """A browser that kept (or a thief who copied) the remember cookie alone."""
    client = flask_client(app)
    client.set_cookie(remember_name(app), value)
    return client


@pytest.fixture
def recommended(redis_client):
    return create_flask_app(config="recommended", redis_client=redis_client)


def test_flask_logout_ends_a_remembered_login_and_its_copies(recommended):
    client, cookie = remembered(recommended)
    assert only_remember_cookie(recommended, cookie).get("/me").status_code == 200  # it works
    client, cookie = remembered(recommended)
    assert post(client, "/logout").status_code == 200
    # The browser is told to delete the cookie (Flask-Login's flag survived) ...
    assert client.get_cookie(remember_name(recommended)) is None
    assert client.get("/me").status_code == 401
    # ... and a copy taken before the logout no longer logs anyone in.
    assert only_remember_cookie(recommended, cookie).get("/me").status_code == 401


def test_flask_log_out_everywhere_ends_remembered_logins(recommended):
    _, elsewhere = remembered(recommended)
    client, _ = remembered(recommended)
    assert post(client, "/logout-everywhere").status_code == 200
    assert only_remember_cookie(recommended, elsewhere).get("/me").status_code == 401


def test_flask_absolute_timeout_ends_a_remembered_login(redis_client):
    app = create_flask_app(config="recommended", redis_client=redis_client, absolute_timeout=60)
    with time_machine.travel(time.time(), tick=False) as traveller:
        client, cookie = remembered(app)
        traveller.shift(59)
        assert only_remember_cookie(app, cookie).get("/me").status_code == 200
        traveller.shift(2)
        assert client.get("/me").status_code == 401
        assert only_remember_cookie(app, cookie).get("/me").status_code == 401


def test_flask_defaults_keep_flask_logins_remember_cookie_as_shipped():
    """The library's default, shown as it is: the copied remember cookie survives logout."""
    app = create_flask_app(store="cookie")
    client, cookie = remembered(app)
    assert post(client, "/logout").status_code == 200
    assert only_remember_cookie(app, cookie).get("/me").status_code == 200


def test_flask_non_ascii_remember_cookie_is_a_4xx(recommended):
    reply = only_remember_cookie(recommended, "alice|\u00e9\u00e9").get("/me")
    assert 400 <= reply.status_code < 500
    assert flask_client(recommended).get("/csrf").status_code == 200


def test_flask_login_itself_answers_500_to_a_non_ascii_remember_cookie():
    """Flask-Login's fault, left as shipped in the defaults: hmac.compare_digest on str."""
    app = create_flask_app(store="cookie")
    assert only_remember_cookie(app, "alice|\u00e9\u00e9").get("/me").status_code == 500


def test_concurrent_guesses_get_at_most_the_limit_of_password_checks(monkeypatch):
    """30 guesses released at once by a barrier: the throttle's check and count are one step."""
    from sessionlab.recommended.frameworks import common

    checks = []
    real = common.check_password_evenly

    def slow_check(password_hash, password):
        checks.append(password)
        time.sleep(0.02)  # widen the window a non-atomic check-then-count leaves open
        return real(password_hash, password)

    monkeypatch.setattr(common, "check_password_evenly", slow_check)
    throttle = common.framework_throttle()
    users = {"dave": {"hash": common.generate_password_hash("x", common.DEMO_HASH)}}
    barrier = threading.Barrier(30)
    statuses = []

    def guess(i):
        barrier.wait()
        statuses.append(
            common.password_login(users, "dave", f"guess {i}", recommended=True, throttle=throttle)
        )

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(checks) <= throttle.max_failures
    assert statuses.count(401) <= throttle.max_failures
    assert statuses.count(429) >= 30 - throttle.max_failures


def jwt_cookie_client(config):
    from sessionlab.recommended.frameworks.flask_jwt_apps import create_flask_jwt_app

    app = create_flask_jwt_app(config=config)
    client = app.test_client()
    assert (
        client.post("/login", data={"username": "alice", "password": PASSWORD}).status_code == 200
    )
    return client


def test_flask_jwt_extended_non_ascii_csrf_header_is_a_4xx_when_recommended():
    client = jwt_cookie_client("recommended")
    reply = client.post(
        "/transfer", data={"amount": "1"}, headers={"X-CSRF-TOKEN": "\u00e9t\u00e9"}
    )
    assert 400 <= reply.status_code < 500
    assert client.get("/me").status_code == 200  # and it keeps serving


def test_flask_jwt_extended_itself_answers_500_to_a_non_ascii_csrf_header():
    """The library's fault, left as shipped in the defaults: hmac.compare_digest on str."""
    client = jwt_cookie_client("defaults")
    reply = client.post(
        "/transfer", data={"amount": "1"}, headers={"X-CSRF-TOKEN": "\u00e9t\u00e9"}
    )
    assert reply.status_code == 500


@pytest.mark.parametrize("config", ["defaults", "recommended"])
def test_flask_wtf_non_ascii_csrf_header_is_a_4xx(config, redis_client):
    app = create_flask_app(config=config, redis_client=redis_client)
    client = flask_client(app)
    assert post(client, "/login", username="alice", password=PASSWORD).status_code == 200
    reply = client.post("/transfer", data={"amount": "1"}, headers={"X-CSRFToken": "\u00e9t\u00e9"})
    assert 400 <= reply.status_code < 500


def test_django_password_change_without_the_new_password_is_a_400():
    from sessionlab.lab.servers import serve_wsgi
    from sessionlab.recommended.frameworks.django_apps import create_django_app
    from sessionlab.recommended.webauth import CookieClient

    for config in ("defaults", "recommended"):
        with serve_wsgi(create_django_app(config=config)) as server:
            client = CookieClient(server.url, csrf="endpoint:/csrf")
            token = {"X-CSRFToken": client.current_csrf_token()}
            login = {"username": "carol", "password": DEMO_USERS["carol"][0]}
            assert client.post("/login", data=login, headers=token).status_code == 200
            token = {"X-CSRFToken": client.current_csrf_token()}
            form = {"old": DEMO_USERS["carol"][0]}
            assert client.post("/password", data=form, headers=token).status_code == 400
            assert client.get("/me").status_code == 200


EXPRESS_APP = Path(__file__).resolve().parents[1] / "node" / "express-session" / "app.js"


@pytest.fixture(scope="module")
def express():
    """The Express app in both configurations, on a Redis reachable over TCP."""
    from sessionlab.lab.servers import free_port, spawn_server

    if shutil.which("node") is None or not (EXPRESS_APP.parent / "node_modules").is_dir():
        pytest.skip("Node.js 20 and `make node` are needed")
    redis_port = free_port()
    with redis_server(tcp_port=redis_port), contextlib.ExitStack() as stack:
        servers = {}
        for config in ("defaults", "recommended"):
            port = free_port()
            argv = ["node", str(EXPRESS_APP), "--port", str(port), "--redis-port", str(redis_port)]
            servers[config] = stack.enter_context(
                spawn_server([*argv, "--config", config], port=port)
            )
        yield {**servers, "redis_port": redis_port}


def express_client(server):
    from sessionlab.recommended.webauth import CookieClient

    client = CookieClient(server.url, csrf="endpoint:/csrf")
    client.http.headers["X-Forwarded-Proto"] = "https"  # TLS ends at a proxy on this host
    return client


@pytest.mark.parametrize("config", ["defaults", "recommended"])
def test_express_password_change_without_the_new_password_is_a_400(express, config):
    client = express_client(express[config])
    assert client.log_in("carol", DEMO_USERS["carol"][0]).status_code == 200
    assert client.post("/password", data={"old": DEMO_USERS["carol"][0]}).status_code == 400
    assert client.get("/me").status_code == 200


def test_express_failed_login_memory_does_not_grow_with_hostile_names(express):
    """600 failed logins with 99 KB user names against an Express app whose V8 heap may hold
    40 MB: kept for good, as before the fix, the names alone (58 MB) exhaust that heap and the
    process dies; bounded, it keeps answering. The heap's limit decides, not a reading of
    RSS, which moves with when the garbage collector runs (a busy machine changed it by 17 MB)."""
    from sessionlab.lab.servers import free_port, spawn_server

    port = free_port()
    argv = ["node", str(EXPRESS_APP), "--port", str(port), "--config", "defaults"]
    argv += ["--redis-port", str(express["redis_port"])]
    heap = {"NODE_OPTIONS": "--max-old-space-size=40"}
    with spawn_server(argv, port=port, env=heap) as server:
        client = express_client(server)
        for i in range(600):
            name = f"n{i:04d}" + "n" * (99 * 1024)
            reply = client.post("/login", data={"username": name, "password": "x"})
            assert reply.status_code == 401
        assert client.log_in("alice", PASSWORD).status_code == 200  # still serving
