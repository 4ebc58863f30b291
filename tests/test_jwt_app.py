"""Unit tests of the JWT app's parts and the bank: refresh-token rotation, deny-lists, and the
bank's input handling."""

import pytest
from sessionlab.lab.clock import ManualClock
from sessionlab.recommended import bank
from sessionlab.recommended import jwt_app as stateless
from sessionlab.recommended import jwt_remedies as fixes


def test_refresh_tokens_rotate_and_a_replay_revokes_the_family():
    store = fixes.RefreshTokenStore(lifetime=3600)
    first = store.issue("alice")
    user, second = store.rotate(first)
    assert user == "alice" and second != first
    with pytest.raises(fixes.RefreshTokenReused):
        store.rotate(first)  # the old token came back: someone else holds the chain
    with pytest.raises(fixes.RefreshTokenError):
        store.rotate(second)  # so the legitimate successor is dead too
    assert store.records_for("alice") == 1 and store.lookups == 3


@pytest.mark.parametrize("garbage", ["", ".", "no-dot", "é.é", "\x00.\x00", "a" * 10_000, "x.y.z"])
def test_refresh_garbage_is_a_refresh_token_error(garbage):
    store = fixes.RefreshTokenStore(lifetime=3600)
    store.issue("alice")
    with pytest.raises(fixes.RefreshTokenError):
        store.rotate(garbage)


def test_revoke_user_ends_every_family_of_that_user_only():
    store = fixes.RefreshTokenStore(lifetime=3600)
    alice = [store.issue("alice") for _ in range(3)]
    bob = store.issue("bob")
    assert store.revoke_user("alice") == 3
    for token in alice:
        with pytest.raises(fixes.RefreshTokenError):
            store.rotate(token)
    assert store.rotate(bob)[0] == "bob"


def test_memory_deny_list_forgets_entries_when_their_tokens_expire():
    clock = ManualClock(1_000)
    deny = stateless.MemoryDenyList(clock=clock)
    deny.add("jti-1", expires_at=1_060)
    assert deny.contains("jti-1") and not deny.contains("jti-2")
    clock.advance(60)
    assert not deny.contains("jti-1") and len(deny) == 0
    assert deny.lookups == 3


@pytest.mark.parametrize(
    "text, value",
    [
        ("100", 100),
        (" 7 ", 7),
        ("-5", -5),
        ("", None),
        ("1e3", None),
        ("١٢", None),
        ("9" * 13, None),
    ],
)
def test_bank_reads_amounts_as_plain_whole_numbers(text, value):
    assert bank._whole_number(text) == value


# --- the one JWT app: options, token kinds, DPoP, concurrency, the cached deny-list ----------

import threading  # noqa: E402
import time  # noqa: E402

import jwt as pyjwt  # noqa: E402
from jwcrypto import jwk as jwcrypto_jwk  # noqa: E402
from sessionlab.lab.fixtures import make_users  # noqa: E402
from sessionlab.lab.registry import registration_of  # noqa: E402
from sessionlab.recommended.tokens import generate_keys, read_unverified  # noqa: E402

PASSWORD = "correct horse battery staple"
USERS = make_users(alice=(PASSWORD, "admin"), bob=(PASSWORD, "user"))
BASE = "http://localhost"


def login(client, user="alice", headers=None):
    response = client.post("/login", data={"username": user, "password": PASSWORD}, headers=headers)
    assert response.status_code == 200, response.status_code
    return response.get_json()


def test_the_app_is_registered_and_keeps_its_old_signature():
    app = stateless.create_jwt_app(generate_keys("HS256"), USERS, lifetime=60)
    assert registration_of(app).name == "jwt app"
    labels = [label for label, _ in registration_of(app).sample()]
    assert "DPoP with refresh tokens" in labels and "deny-list" in labels


def test_neither_token_kind_is_accepted_on_the_other_route():
    store = stateless.RefreshTokenStore(lifetime=3600)
    app = stateless.create_jwt_app(generate_keys("HS256"), USERS, lifetime=60, refresh_tokens=store)
    client = app.test_client()
    body = login(client)
    bearer = {"Authorization": f"Bearer {body['refresh_token']}"}
    assert client.get("/me", headers=bearer).status_code == 401
    as_refresh = client.post("/refresh", data={"refresh_token": body["access_token"]})
    assert as_refresh.status_code == 401
    proof = stateless.DPoPKey().proof("GET", f"{BASE}/me", now=time.time())
    assert client.get("/me", headers={"Authorization": f"Bearer {proof}"}).status_code == 401


def test_cookie_credential_and_role_from_users():
    users = make_users(alice=(PASSWORD, "admin"))
    app = stateless.create_jwt_app(
        generate_keys("HS256"), users, lifetime=60, credential="cookie", role_from="users"
    )
    client = app.test_client()
    login(client)
    assert client.get("/admin").status_code == 200
    users["alice"]["role"] = "user"
    assert client.get("/admin").status_code == 403 and app.users_lookups == 2


def test_jwk_thumbprint_agrees_with_jwcrypto():
    key = stateless.DPoPKey()
    oracle = jwcrypto_jwk.JWK(**key.public_jwk).thumbprint()
    assert key.thumbprint == oracle


def dpop_app():
    verifier = stateless.DPoPVerifier(stateless.MemoryJtiStore(), max_age=60)
    store = stateless.RefreshTokenStore(lifetime=3600)
    app = stateless.create_jwt_app(
        generate_keys("HS256"),
        USERS,
        lifetime=300,
        refresh_tokens=store,
        dpop=verifier,
        origin=BASE,
    )
    return app, verifier


def dpop_login(client, key):
    proof = key.proof("POST", f"{BASE}/login", now=time.time())
    return login(client, headers={"DPoP": proof})


def dpop_get(client, path, token, sign):
    proof = sign("GET", f"{BASE}{path}", access_token=token, now=time.time())
    return client.get(path, headers={"Authorization": f"DPoP {token}", "DPoP": proof})


def test_dpop_binds_the_token_to_the_key_and_refuses_the_thief():
    app, verifier = dpop_app()
    client, key = app.test_client(), stateless.DPoPKey()
    body = dpop_login(client, key)
    token = body["access_token"]
    assert read_unverified(token)[1]["cnf"] == {"jkt": key.thumbprint}
    assert dpop_get(client, "/me", token, key.proof).status_code == 200
    # The thief copied the token, not the key.
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/me", headers={"Authorization": f"DPoP {token}"}).status_code == 401
    assert dpop_get(client, "/me", token, stateless.DPoPKey().proof).status_code == 401
    # A proof copied as well is single-use, and made for one method, URL and token.
    proof = key.proof("GET", f"{BASE}/me", access_token=token, now=time.time())
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
    assert client.get("/me", headers=headers).status_code == 200
    assert client.get("/me", headers=headers).status_code == 401
    assert client.get("/admin", headers=headers).status_code == 401
    # Script injected into the page asks the non-extractable key to sign: accepted.
    assert dpop_get(client, "/admin", token, key.signer()).status_code == 200
    assert len(verifier.replay_cache) == 4  # login + three accepted proofs: the state is back


def test_dpop_refresh_tokens_are_sender_constrained():
    app, _ = dpop_app()
    client, key = app.test_client(), stateless.DPoPKey()
    body = dpop_login(client, key)
    thief = stateless.DPoPKey().proof("POST", f"{BASE}/refresh", now=time.time())
    stolen = client.post(
        "/refresh", data={"refresh_token": body["refresh_token"]}, headers={"DPoP": thief}
    )
    assert stolen.status_code == 401
    mine = key.proof("POST", f"{BASE}/refresh", now=time.time())
    renewed = client.post(
        "/refresh", data={"refresh_token": body["refresh_token"]}, headers={"DPoP": mine}
    )
    assert renewed.status_code == 200


@pytest.mark.parametrize("age", [-120, 120])
def test_dpop_refuses_stale_and_future_proofs(age):
    verifier = stateless.DPoPVerifier(stateless.MemoryJtiStore(), max_age=60)
    key = stateless.DPoPKey()
    proof = key.proof("GET", f"{BASE}/me", now=time.time() + age)
    with pytest.raises(stateless.InvalidDPoPProofError):
        verifier.verify(proof, htm="GET", htu=f"{BASE}/me")


def test_dpop_refuses_a_proof_carrying_a_private_key():
    key = stateless.DPoPKey()
    private = jwcrypto_jwk.JWK.generate(kty="EC", crv="P-256")
    header = {"typ": "dpop+jwt", "jwk": private.export(private_key=True, as_dict=True)}
    pem = private.export_to_pem(private_key=True, password=None)
    proof = pyjwt.encode(
        {"jti": "x", "htm": "GET", "htu": f"{BASE}/me", "iat": int(time.time())},
        pem,
        algorithm="ES256",
        headers=header,
    )
    verifier = stateless.DPoPVerifier(stateless.MemoryJtiStore())
    with pytest.raises(stateless.InvalidDPoPProofError):
        verifier.verify(proof, htm="GET", htu=f"{BASE}/me")
    assert key.thumbprint  # an honest key still works
    verifier.verify(key.proof("GET", f"{BASE}/me", now=time.time()), htm="GET", htu=f"{BASE}/me")


def test_jti_store_claims_each_id_once_under_concurrency():
    store = stateless.MemoryJtiStore()
    wins = []

    def race():
        wins.extend(jti for jti in map(str, range(200)) if store.claim(jti, time.time() + 60))

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins, key=int) == [str(i) for i in range(200)]


def test_concurrent_logins_and_logouts_leave_no_live_token():
    deny = stateless.MemoryDenyList()
    app = stateless.create_jwt_app(generate_keys("HS256"), USERS, lifetime=300, deny_list=deny)
    statuses, tokens = [], []

    def user_session():
        client = app.test_client()
        for _ in range(10):
            token = login(client, "bob")["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            statuses.append(client.get("/me", headers=headers).status_code)
            statuses.append(client.post("/logout", headers=headers).status_code)
            tokens.append(token)

    threads = [threading.Thread(target=user_session) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client = app.test_client()
    after = {
        client.get("/me", headers={"Authorization": f"Bearer {t}"}).status_code for t in tokens
    }
    assert set(statuses) == {200} and after == {401} and len(tokens) == 60


def test_cached_deny_list_is_pushed_to_every_process_and_loaded_at_start():
    from sessionlab.lab.redis_service import redis_server

    claims = {"jti": "j1", "sub": "bob", "iat": int(time.time()), "exp": int(time.time()) + 60}
    with redis_server() as client:
        with stateless.CachedDenyList(client) as one, stateless.CachedDenyList(client) as two:
            one.deny_token(claims)
            deadline = time.monotonic() + 2
            while not two.is_denied(claims) and time.monotonic() < deadline:
                time.sleep(0.005)
            assert two.is_denied(claims) and two.remote_lookups == 0
            two.deny_user("alice")
            late = stateless.CachedDenyList(client)
            with late:
                alice = {**claims, "jti": "j2", "sub": "alice", "iat": int(time.time()) - 1}
                assert late.is_denied(claims) and late.is_denied(alice)


def test_sliding_renewal_stops_at_its_cap_and_works_for_any_holder(monkeypatch):
    import time_machine

    with time_machine.travel(1_800_000_000, tick=False) as traveller:
        app = stateless.create_jwt_app(
            generate_keys("HS256"), USERS, lifetime=300, sliding_renewal=600
        )
        client = app.test_client()
        token = login(client)["access_token"]
        for _ in range(2):
            traveller.shift(240)
            reply = client.post("/renew", headers={"Authorization": f"Bearer {token}"})
            assert reply.status_code == 200
            token = reply.get_json()["access_token"]
        traveller.shift(240)  # 720 s after login: past the cap
        assert (
            client.post("/renew", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        )
