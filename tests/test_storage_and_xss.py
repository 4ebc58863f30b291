"""Chapter 21's bank (vulnerable on purpose) and loot collector, over their WSGI apps."""

import base64

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from sessionlab.chapters.storage_and_xss import (
    create_loot_collector,
    create_xss_bank,
    signature_verifies,
)
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


def test_the_collector_keeps_every_body_under_its_victims_name():
    loot = {}
    client = create_loot_collector(loot).test_client()
    assert client.post("/collect/chromium", data=b"abc").status_code == 204
    assert client.post("/collect/webkit", data=b"def").status_code == 204
    assert client.post("/collect/chromium", data=b"ghi").status_code == 204
    assert loot == {"chromium": ["abc", "ghi"], "webkit": ["def"]}


def test_the_worker_script_is_served_as_javascript():
    response = create_xss_bank(USERS).test_client().get("/bank-worker.js")
    assert response.mimetype == "text/javascript" and b"sessionId" in response.data


def test_the_session_id_control_is_revoked_at_logout_and_refuses_junk():
    client = create_xss_bank(USERS).test_client()
    session_id = client.post("/api/session-login", data=FORM).get_json()["session_id"]
    bearer = {"Authorization": f"Bearer {session_id}"}
    assert client.get("/api/session-me", headers=bearer).get_json()["user"] == "alice"
    for bad in ("", "Bearer", f"Bearer {session_id}x", "Bearer \u00e9t\u00e9"):
        assert client.get("/api/session-me", headers={"Authorization": bad}).status_code == 401
    assert client.post("/api/session-logout", headers=bearer).status_code == 204
    assert client.get("/api/session-me", headers=bearer).status_code == 401
    assert client.post("/api/session-login", data={**FORM, "password": "x"}).status_code == 401


def test_the_jwt_cookie_control_is_httponly_and_outlives_its_logout():
    client = create_xss_bank(USERS).test_client()
    response = client.post("/jwt-cookie-login", data=FORM)
    set_cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "Secure" in set_cookie and "SameSite=Lax" in set_cookie
    token = set_cookie.split(";")[0].split("=", 1)[1]
    assert client.get("/jwt-cookie-me").get_json()["user"] == "alice"
    cross_site = {"Sec-Fetch-Site": "cross-site"}
    assert client.post("/jwt-cookie-logout", headers=cross_site).status_code == 403
    assert client.post("/jwt-cookie-logout").status_code == 204
    assert client.get("/jwt-cookie-me").status_code == 401  # the browser's copy is gone
    copy = create_xss_bank(USERS).test_client()  # another bank: another key refuses it
    copy.set_cookie("jwt", token)
    assert copy.get("/jwt-cookie-me").status_code == 401
    client.set_cookie("jwt", token)  # the same bank accepts the copy after logout: stateless
    assert client.get("/jwt-cookie-me").status_code == 200
    client.set_cookie("jwt", "not.a.token")
    assert client.get("/jwt-cookie-me").status_code == 401


def test_a_webcrypto_signature_verifies_with_its_key_only():
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()

    def jwk_of(numbers):
        def b64url(n):
            return base64.urlsafe_b64encode(n.to_bytes(32)).rstrip(b"=").decode()

        return {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x), "y": b64url(numbers.y)}

    r, s = decode_dss_signature(key.sign(b"message", ec.ECDSA(hashes.SHA256())))
    raw = base64.b64encode(r.to_bytes(32) + s.to_bytes(32)).decode()  # WebCrypto's format
    assert signature_verifies(jwk_of(numbers), b"message", raw)
    assert not signature_verifies(jwk_of(numbers), b"other message", raw)
    other = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    assert not signature_verifies(jwk_of(other), b"message", raw)
    assert not signature_verifies(jwk_of(numbers), b"message", base64.b64encode(b"short").decode())
