"""Chapter 21's bank (vulnerable on purpose) and loot collector, over their WSGI apps."""

from sessionlab.chapters.storage_and_xss import create_loot_collector, create_xss_bank
from sessionlab.lab.fixtures import make_users

USERS = make_users(alice=("correct horse battery staple", "admin"))
FORM = {"username": "alice", "password": "correct horse battery staple"}


def test_the_bearer_api_accepts_only_its_own_token():
    client = create_xss_bank(USERS).test_client()
    token = client.post("/api/token-login", data=FORM).get_json()["access_token"]
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    for bad in ("", f"Basic {token}", f"Bearer {token}x", "Bearer"):
        assert client.get("/api/me", headers={"Authorization": bad}).status_code == 401
    assert client.post("/api/token-login", data={**FORM, "password": "x"}).status_code == 401


def test_the_search_page_reflects_script_and_the_escaped_one_does_not():
    client = create_xss_bank(USERS, content_security_policy="default-src 'self'").test_client()
    payload = "<script>alert(1)</script>"
    assert payload in client.get("/search", query_string={"q": payload}).get_data(as_text=True)
    escaped = client.get("/search-escaped", query_string={"q": payload})
    assert payload not in escaped.get_data(as_text=True)
    assert escaped.headers["Content-Security-Policy"] == "default-src 'self'"


def test_the_cookie_victims_logout_ends_the_session_on_the_server():
    client = create_xss_bank(USERS).test_client()
    csrf = client.post("/login", data=FORM).get_json()["csrf_token"]
    assert client.get("/me").status_code == 200
    assert client.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.get("/me").status_code == 401


def test_the_collector_keeps_every_body():
    loot = []
    client = create_loot_collector(loot).test_client()
    assert client.post("/collect", data=b"abc").status_code == 204
    assert loot == ["abc"]
