"""Chapter 18's embedded widget: its login, what ``/me`` reports, and its refusals."""

import pytest
from sessionlab.chapters.blocked_cookies import (
    COOKIE,
    create_embedder_app,
    create_widget_app,
)
from sessionlab.lab.fixtures import PASSWORD

OWN = {"Origin": "https://127.0.0.1"}


def logged_in():
    app = create_widget_app()
    client = app.test_client()
    login = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD},
        headers=OWN,
        base_url="https://127.0.0.1",
    )
    return app, client, login


def test_login_sets_an_embeddable_session_cookie_and_returns_a_jwt():
    _, _, login = logged_in()
    assert login.status_code == 200
    set_cookie = login.headers["Set-Cookie"]
    assert set_cookie.startswith(f"{COOKIE}=")
    for attribute in ("Secure", "HttpOnly", "SameSite=None", "Path=/"):
        assert attribute in set_cookie
    assert login.get_json()["access_token"].count(".") == 2


def test_me_reports_each_credential_that_arrived_valid():
    app, client, login = logged_in()
    token = login.get_json()["access_token"]
    both = client.get(
        "/me", headers={"Authorization": f"Bearer {token}"}, base_url="https://127.0.0.1"
    )
    assert both.get_json() == {"cookie": "alice", "jwt": "alice"}
    client.delete_cookie(COOKIE, domain="127.0.0.1")
    jwt_only = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert jwt_only.get_json() == {"cookie": None, "jwt": "alice"}
    forged = client.get("/me", headers={"Authorization": f"Bearer {token[:-2]}xx"})
    assert forged.get_json() == {"cookie": None, "jwt": None}
    assert [app.seen.get_nowait() for _ in range(3)] == [
        {"cookie": "alice", "jwt": "alice"},
        {"cookie": None, "jwt": "alice"},
        {"cookie": None, "jwt": None},
    ]
    assert both.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "cookie, authorization",
    [("x" * 600, "Bearer " + "y" * 3000), ("\u00e9t\u00e9", "Bearer \u00e9"), ("", "Basic abc")],
)
def test_hostile_credentials_are_no_one_not_an_error(cookie, authorization):
    app = create_widget_app()
    client = app.test_client()
    client.set_cookie(COOKIE, cookie, domain="localhost")
    answer = client.get("/me", headers={"Authorization": authorization})
    assert answer.status_code == 200 and answer.get_json() == {"cookie": None, "jwt": None}


def test_login_refuses_another_sites_form_wrong_passwords_and_missing_fields():
    client = create_widget_app().test_client()
    form = {"username": "alice", "password": PASSWORD}
    cross_site = client.post("/login", data=form, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403 and "Set-Cookie" not in cross_site.headers
    wrong = client.post("/login", data={"username": "alice", "password": "guess"})
    assert wrong.status_code == 401
    assert client.post("/login", data={}).status_code == 401
    assert client.post("/login", data={"username": "a" * 5000}).status_code == 413


def test_only_the_embedder_may_frame_the_widget_and_the_login_page_not_at_all():
    client = create_widget_app(embedder="https://localhost:*").test_client()
    embed = client.get("/embed")
    assert embed.headers["Content-Security-Policy"] == "frame-ancestors https://localhost:*"
    login_page = client.get("/")
    assert "frame-ancestors 'none'" in login_page.headers["Content-Security-Policy"]


def test_the_embedder_frames_only_a_loopback_https_widget():
    page = create_embedder_app("https://127.0.0.1:8443/embed").test_client().get("/")
    assert b'<iframe id="widget" src="https://127.0.0.1:8443/embed">' in page.data
    for bad in ("http://127.0.0.1:8443/embed", "https://example.com/embed", "javascript:x"):
        with pytest.raises(ValueError):
            create_embedder_app(bad)
