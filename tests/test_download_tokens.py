"""Chapter 40's download server, application server and exchange service, over their WSGI apps
and, for the process boundary, as the chapter starts the download server."""

import json
import os
import subprocess
import sys
import time

import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from hostile import token_cases
from sessionlab.chapters.download_tokens import (
    APP_ISSUER,
    DEFAULT_LIFETIME,
    authorise_download,
    create_app_server,
    create_download_app,
    create_exchange_service,
    issue_download_token,
    issue_exchange_token,
    verify_only,
)
from sessionlab.lab.clock import ManualClock
from sessionlab.lab.fixtures import make_users
from sessionlab.lab.servers import PACKAGE_ROOT
from sessionlab.recommended.sessions import MemorySessionStore, SessionCookie
from sessionlab.recommended.tokens import demo_keys
from sessionlab.recommended.webauth import MemoryJtiStore

NOW = 1_800_000_000
KEYS = demo_keys("EdDSA")
PUBLIC = verify_only(KEYS)
CHAT = "https://chat.sessionlab.test"
BODY = b"report bytes " * 100


@pytest.fixture
def files(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / "report.pdf").write_bytes(BODY)
    (served / ".secret").write_bytes(b"hidden")
    (tmp_path / "outside.txt").write_bytes(b"outside the served folder")
    (served / "link.txt").symlink_to(tmp_path / "outside.txt")
    return served


def decide(token, name, files, **kwargs):
    with time_machine.travel(NOW + 1, tick=False):
        return authorise_download(token, name, PUBLIC, files_dir=files, **kwargs)


def client_for(files, *, single_use):
    used = MemoryJtiStore(clock=lambda: NOW + 1) if single_use else None
    return create_download_app(PUBLIC, files, used=used).test_client()


def get(client, path, token, method="GET", **headers):
    with time_machine.travel(NOW + 1, tick=False):
        return client.open(
            path, method=method, headers={"Authorization": f"Bearer {token}", **headers}
        )


def test_a_valid_token_opens_its_file_once_with_single_use(files):
    token = issue_download_token("alice", "report.pdf", KEYS, now=NOW, jti="fixed-jti")
    used = MemoryJtiStore(clock=lambda: NOW + 1)
    assert decide(token, "report.pdf", files).status == 200
    assert [decide(token, "report.pdf", files, used=used).status for _ in range(2)] == [200, 409]


def test_head_304_and_range_do_not_use_up_the_token(files):
    client = client_for(files, single_use=True)
    token = issue_download_token("alice", "report.pdf", KEYS, now=NOW)
    assert get(client, "/files/report.pdf", token, method="HEAD").status_code == 200
    etag = get(client, "/files/report.pdf", token, method="HEAD").headers["ETag"]
    assert get(client, "/files/report.pdf", token, **{"If-None-Match": etag}).status_code == 304
    ranged = get(client, "/files/report.pdf", token, Range="bytes=0-9")
    assert (ranged.status_code, ranged.data) == (200, BODY)  # Range ignored: the whole file
    assert get(client, "/files/report.pdf", token).status_code == 409  # that 200 used it up
    assert get(client, "/files/report.pdf", token, method="HEAD").status_code == 409


def test_without_single_use_range_works(files):
    client = client_for(files, single_use=False)
    token = issue_download_token("alice", "report.pdf", KEYS, now=NOW)
    ranged = get(client, "/files/report.pdf", token, Range="bytes=0-9")
    assert (ranged.status_code, ranged.data) == (206, BODY[:10])


@pytest.mark.parametrize(
    "name, status",
    [("other.pdf", 403), ("../report.pdf", 403), (".secret", 403)],
    ids=["other", "traversal", "dot"],
)
def test_a_token_for_one_file_opens_no_other(files, name, status):
    token = issue_download_token("alice", "report.pdf", KEYS, now=NOW)
    assert decide(token, name, files).status == status


def test_unsafe_names_and_symlinks_out_of_the_folder_are_never_served(files):
    for name in ["../outside.txt", ".secret", "a/b", "x\x00y", "", "link.txt"]:
        token = issue_download_token("alice", name, KEYS, now=NOW)
        assert decide(token, name, files).status in (401, 404), name
    client = client_for(files, single_use=False)
    token = issue_download_token("alice", "link.txt", KEYS, now=NOW)
    assert get(client, "/files/link.txt", token).status_code == 404


def test_double_slash_is_no_redirect_and_every_response_is_no_store(files):
    client = client_for(files, single_use=False)
    token = issue_download_token("alice", "report.pdf", KEYS, now=NOW)
    for path in (f"//files/report.pdf?token={token}", f"/files//report.pdf?token={token}"):
        with time_machine.travel(NOW + 1, tick=False):
            response = client.get(path, headers={"Host": "evil.example"})
        assert response.status_code == 404 and "Location" not in response.headers
        assert response.headers["Cache-Control"] == "no-store"
    for response in (get(client, "/files/report.pdf", token), get(client, "/files/x", "bad")):
        assert response.headers["Cache-Control"] == "no-store"


def test_refusals_do_not_name_the_check_that_failed(files):
    client = client_for(files, single_use=False)
    expired = issue_download_token("alice", "report.pdf", KEYS, now=NOW - 3600)
    wrong_issuer = issue_download_token("alice", "report.pdf", KEYS, now=NOW, issuer="https://x")
    bodies = {
        get(client, "/files/report.pdf", t).get_json()["error"]
        for t in (expired, wrong_issuer, "x")
    }
    assert bodies == {"invalid_token"}
    assert set(get(client, "/files/report.pdf", expired).get_json()) == {"error"}


def test_lifetimes_above_the_servers_limit_are_refused(files):
    token = issue_download_token("alice", "report.pdf", KEYS, now=NOW, lifetime=3600)
    assert decide(token, "report.pdf", files).status == 401


@pytest.mark.parametrize("case", token_cases(), ids=lambda case: case.name)
def test_every_hostile_token_is_a_401(files, case):
    decision = authorise_download(case.token, "report.pdf", PUBLIC, files_dir=files)
    assert decision.status == 401, decision.reason


def test_single_use_store_is_bounded_by_rate_times_lifetime():
    clock = ManualClock(NOW)
    used = MemoryJtiStore(clock=clock)
    sizes = []
    for second in range(600):  # 10 tokens a second for ten minutes
        for n in range(10):
            assert used.claim(f"{second}-{n}", int(clock()) + DEFAULT_LIFETIME)
        sizes.append(len(used))
        clock.advance(1)
    assert max(sizes) <= 10 * (DEFAULT_LIFETIME + 1)
    clock.advance(DEFAULT_LIFETIME)
    assert len(used) == 0


def test_servers_that_verify_refuse_a_key_pair_that_can_sign(files):
    with pytest.raises(ValueError, match="public key only"):
        create_download_app(KEYS, files)
    with pytest.raises(ValueError, match="public key only"):
        create_exchange_service(
            KEYS,
            MemorySessionStore(idle_timeout=900, absolute_timeout=3600),
            SessionCookie([b"k" * 32], max_age=3600),
            audience=CHAT,
        )


def run_self_check(tmp_path, prelude=""):
    pem = tmp_path / "public.pem"
    pem.write_bytes(
        KEYS.verification_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    code = (
        f"{prelude}\nfrom sessionlab.chapters.download_tokens import main\n"
        f"main(['--public-key', {str(pem)!r}, '--files', {str(tmp_path)!r}, '--self-check'])"
    )
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_the_download_server_process_can_check_tokens_but_never_make_one(tmp_path):
    report = run_self_check(tmp_path)
    assert report == {
        "signing_key": False,
        "private_key_objects": False,
        "demo_key_modules": [],
        "app": "download_tokens.download_server",
    }
    # The check can fail: a process that loaded the demo keys is caught.
    tainted = run_self_check(
        tmp_path, "from sessionlab.recommended.tokens import demo_keys; demo_keys('EdDSA')"
    )
    assert tainted["demo_key_modules"] == ["sessionlab.lab.demo_keys"]


def exchange_client():
    store = MemorySessionStore(idle_timeout=900, absolute_timeout=3600)
    cookie = SessionCookie([b"k" * 32], max_age=3600)
    return create_exchange_service(PUBLIC, store, cookie, audience=CHAT).test_client(), store


def test_exchange_refuses_a_cross_site_ticket_and_logout_needs_csrf():
    client, store = exchange_client()
    ticket = issue_exchange_token("mallory", KEYS, now=int(time.time()), audience=CHAT)
    for cross_site in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://attacker.example"}):
        assert (
            client.post("/exchange", data={"token": ticket}, headers=cross_site).status_code == 403
        )
    first = client.post(
        "/exchange", data={"token": ticket}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert first.status_code == 200
    assert client.post("/exchange", data={"token": ticket}).status_code == 409
    assert client.post("/logout").status_code == 403 and len(store) == 1
    csrf = {"X-CSRF-Token": first.get_json()["csrf_token"]}
    assert client.post("/logout", headers=csrf).status_code == 200 and len(store) == 0


def test_app_server_uses_the_session_apps_own_checks():
    users = make_users(alice=("correct horse battery staple", "user"))
    store = MemorySessionStore(idle_timeout=900, absolute_timeout=3600)
    app = create_app_server(
        store, SessionCookie([b"k" * 32], max_age=3600), users, {"alice": {"report.pdf"}}, KEYS,
        download_url="http://downloads", issuer=APP_ISSUER,
    )  # fmt: skip
    client = app.test_client()
    login = client.post(
        "/login", data={"username": "alice", "password": "correct horse battery staple"}
    )
    csrf = {"X-CSRF-Token": login.get_json()["csrf_token"]}
    assert client.post("/download-token", data={"file": "report.pdf"}).status_code == 403
    issued = client.post("/download-token", data={"file": "report.pdf"}, headers=csrf)
    assert issued.status_code == 200 and issued.headers["Cache-Control"] == "no-store"
    assert client.post("/download-token", data={"file": "x"}, headers=csrf).status_code == 403
