"""The JWT app against what an outside attack run found (issue 20) and DPoP's server nonces
(RFC 9449 §8, §9): each test fails on the code before the change."""

import time

import time_machine
from sessionlab.lab.fixtures import make_users
from sessionlab.recommended import jwt_app
from sessionlab.recommended.tokens import generate_keys

PASSWORD = "correct horse battery staple"
BASE = "http://127.0.0.1:8443"  # the origin the app is configured with


def users():
    return make_users(alice=(PASSWORD, "admin"), bob=(PASSWORD, "user"))


def login(client, headers=None, password=PASSWORD):
    return client.post("/login", data={"username": "alice", "password": password}, headers=headers)


def test_logout_ends_the_logins_refresh_token_family():
    store = jwt_app.RefreshTokenStore(lifetime=3600)
    app = jwt_app.create_jwt_app(
        generate_keys("HS256"), users(), lifetime=300, refresh_tokens=store
    )
    client = app.test_client()
    body = login(client).get_json()
    other = login(client).get_json()  # another device's login stays
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.post("/logout", headers=bearer).status_code == 200
    assert client.post("/refresh", data={"refresh_token": body["refresh_token"]}).status_code == 401
    assert (
        client.post("/refresh", data={"refresh_token": other["refresh_token"]}).status_code == 200
    )


def test_login_is_throttled_and_token_responses_are_not_cached():
    app = jwt_app.create_jwt_app(generate_keys("HS256"), users(), lifetime=300)
    client = app.test_client()
    statuses = [login(client, password="wrong").status_code for _ in range(100)]
    assert statuses.count(401) == 10 and statuses.count(429) == 90
    right = login(client)
    assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0
    fresh = jwt_app.create_jwt_app(generate_keys("HS256"), users(), lifetime=300).test_client()
    reply = login(fresh)
    assert reply.status_code == 200 and reply.headers["Cache-Control"] == "no-store"


def test_cookie_mode_refuses_login_csrf():
    app = jwt_app.create_jwt_app(generate_keys("HS256"), users(), lifetime=300, credential="cookie")
    client = app.test_client()
    assert login(client, {"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert login(client, {"Origin": "http://localhost:9999"}).status_code == 403
    assert login(client, {"Sec-Fetch-Site": "same-origin"}).status_code == 200


def dpop_app(*, nonces=None, cache=None):
    cache = cache if cache is not None else jwt_app.MemoryJtiStore()
    verifier = jwt_app.DPoPVerifier(cache, max_age=60, nonces=nonces)
    store = jwt_app.RefreshTokenStore(lifetime=3600)
    app = jwt_app.create_jwt_app(
        generate_keys("HS256"),
        users(),
        lifetime=3600,
        refresh_tokens=store,
        dpop=verifier,
        origin=BASE,
    )
    return app, cache


def test_dpop_htu_is_checked_against_the_configured_origin_not_the_host_header():
    app, _ = dpop_app()
    client, key = app.test_client(), jwt_app.DPoPKey()
    proof = key.proof("POST", f"{BASE}/login", now=time.time())
    body = login(client, {"DPoP": proof}).get_json()
    token = body["access_token"]
    # A proof made for another server, sent with that server's name as Host.
    elsewhere = key.proof("GET", "http://evil.example/me", access_token=token, now=time.time())
    headers = {"Authorization": f"DPoP {token}", "DPoP": elsewhere, "Host": "evil.example"}
    assert client.get("/me", headers=headers).status_code == 401
    mine = key.proof("GET", f"{BASE}/me", access_token=token, now=time.time())
    assert (
        client.get("/me", headers={"Authorization": f"DPoP {token}", "DPoP": mine}).status_code
        == 200
    )


def test_unauthenticated_refresh_proofs_are_not_stored():
    app, cache = dpop_app()
    client = app.test_client()
    for i in range(50):
        proof = jwt_app.DPoPKey().proof("POST", f"{BASE}/refresh", now=time.time())
        form = {"refresh_token": f"nofamily{i}.secret"}
        assert client.post("/refresh", data=form, headers={"DPoP": proof}).status_code == 401
    assert len(cache) == 0


def signed_later(key, token, at):
    """What an injected script does: have the page's key sign a proof dated later."""
    return key.proof("GET", f"{BASE}/me", access_token=token, now=at, nonce=key.nonce)


def test_nonces_stop_proofs_presigned_by_an_injected_script():
    """Without nonces, a proof the script signed at the start with a later ``iat`` is answered
    then; with nonces it is refused once the nonce has rotated (two periods)."""
    answered = {}
    with time_machine.travel(1_800_000_000, tick=False) as traveller:
        for with_nonces in (False, True):
            nonces = jwt_app.DPoPNonces(period=60) if with_nonces else None
            app, _ = dpop_app(nonces=nonces)
            client, key = app.test_client(), jwt_app.DPoPKey()
            key.nonce = None
            first = login(client, {"DPoP": key.proof("POST", f"{BASE}/login", now=time.time())})
            if with_nonces:
                assert first.status_code == 400 and first.get_json()["error"] == "use_dpop_nonce"
                key.nonce = first.headers["DPoP-Nonce"]
                first = login(
                    client,
                    {"DPoP": key.proof("POST", f"{BASE}/login", now=time.time(), nonce=key.nonce)},
                )
            token = first.get_json()["access_token"]
            start = time.time()
            presigned = {m: signed_later(key, token, start + 60 * m) for m in (0, 10, 30)}
            answered[with_nonces] = []
            for minute, proof in presigned.items():
                traveller.move_to(start + 60 * minute)
                headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
                answered[with_nonces].append(client.get("/me", headers=headers).status_code)
            traveller.move_to(1_800_000_000)
    assert answered[False] == [200, 200, 200]
    assert answered[True] == [200, 401, 401]
