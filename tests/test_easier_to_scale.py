"""Chapter 10's worker, its HAProxy configuration and its bounded load test."""

import secrets

import pytest
from sessionlab.chapters import easier_to_scale as scale
from sessionlab.lab.bench import Bench
from sessionlab.lab.registry import registration_of
from sessionlab.recommended.sessions import MemorySessionStore, SessionCookie
from sessionlab.recommended.tokens import generate_keys, issue_token

LOGIN = {"username": "alice", "password": scale.DEMO_PASSWORD}


@pytest.fixture
def worker():
    import asyncio

    bench = Bench()
    store = MemorySessionStore(idle_timeout=60, absolute_timeout=600)
    keys = generate_keys("HS256")
    app = scale.create_worker_app(
        "w", store, SessionCookie(secrets.token_bytes(32), max_age=600), keys
    )
    yield bench.serve(app), keys
    asyncio.run(bench.close())


def _tokens(server):
    import requests

    http = requests.Session()
    csrf = http.post(f"{server.url}/login", data=LOGIN).json()["csrf_token"]
    return http, http.post(f"{server.url}/tokens", headers={"X-CSRF-Token": csrf}).json()


def test_the_worker_and_the_jwt_version_are_registered(worker):
    server, keys = worker
    assert (
        registration_of(
            scale.create_worker_app(
                "x",
                MemorySessionStore(idle_timeout=1, absolute_timeout=2),
                SessionCookie(secrets.token_bytes(32), max_age=2),
                keys,
            )
        ).name
        == "easier_to_scale: worker"
    )
    assert (
        registration_of(scale.create_jwt_version("v1", keys)).name == "easier_to_scale: jwt version"
    )


def test_each_token_kind_is_refused_on_the_other_kinds_route(worker):
    """Issue 11: both kinds shared typ, so each was accepted on the other's route (and 500'd)."""
    server, _ = worker
    http, tokens = _tokens(server)

    def status(path, token):
        return http.get(
            f"{server.url}{path}", headers={"Authorization": f"Bearer {token}"}
        ).status_code

    assert status("/me/stateless-jwt", tokens["stateless"]) == 200
    assert status("/me/stateful-jwt", tokens["stateful"]) == 200
    assert status("/me/stateless-jwt", tokens["stateful"]) == 401
    assert status("/me/stateful-jwt", tokens["stateless"]) == 401


def test_a_token_of_the_default_type_is_refused_on_both_routes(worker):
    server, keys = worker
    import time

    import requests

    token = issue_token(
        {"sub": "alice", "role": "admin", "sid": "x"},
        keys,
        now=int(time.time()),
        lifetime=60,
        audience=scale.AUDIENCE,
        issuer=scale.ISSUER,
        client_id="web-app",
    )
    for path in ("/me/stateless-jwt", "/me/stateful-jwt"):
        answer = requests.get(
            f"{server.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        assert answer.status_code == 401


def test_haproxy_config_pins_by_cookie_and_binds_loopback_only():
    config = scale.haproxy_config(
        8000, {"a": ["127.0.0.2:8001"], "b": ["127.0.0.5:8002"]}, {"a": 9001, "b": 9002}
    )
    assert "cookie cluster insert indirect nocache httponly" in config
    assert (
        "server a 127.0.0.1:9001 cookie a" in config
        and "server b 127.0.0.1:9002 cookie b" in config
    )
    assert "  bind 127.0.0.1:8000" in config and "option redispatch" in config
    with pytest.raises(ValueError):
        scale.haproxy_config(8000, {"a": ["10.0.0.2:8001"]}, {"a": 9001})


def test_run_wrk_is_bounded_and_loopback_only():
    with pytest.raises(ValueError):
        scale.run_wrk("http://10.0.0.1:80/", seconds=1)
    with pytest.raises(ValueError):
        scale.run_wrk("http://127.0.0.1:80/", seconds=600)
    with pytest.raises(ValueError):
        scale.run_wrk("http://127.0.0.1:80/", seconds=1.5)


def test_run_wrk_reports_requests_latency_and_errors(worker):
    server, _ = worker
    if scale.shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (make loadtools)")
    report = scale.run_wrk(f"{server.url}/ping", seconds=1, connections=2)
    assert report["requests"] > 0 and report["errors"] == 0
    assert 0 < report["p50_us"] <= report["p99_us"]
    refused = scale.run_wrk(f"{server.url}/me", seconds=1, connections=2)
    assert refused["errors"] == refused["requests"] > 0  # every 401 counts as an error
