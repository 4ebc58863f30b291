"""Chapter 31's harness: the users table that counts its reads (book-wide), and the replay's summary."""

import pandas as pd
from sessionlab.chapters.denylists_and_key_rotation import summarise
from sessionlab.lab.fixtures import CountingUsers, make_users
from sessionlab.recommended.jwt_app import KeyRing, create_jwt_app
from sessionlab.recommended.jwt_remedies import AttackTimeline
from sessionlab.recommended.webauth import check_password


def test_every_way_of_reading_a_row_counts_and_writes_reach_the_rows():
    rows = make_users(alice=("correct horse battery staple", "admin"))
    users = CountingUsers(rows)
    assert "alice" in users and users.get("bob") is None and users["alice"]["role"] == "admin"
    assert users.reads == 3
    users["alice"]["role"] = "user"
    assert rows["alice"]["role"] == "user" and len(users) == 1 and list(users) == ["alice"]


def test_the_jwt_app_reads_no_row_per_request_and_one_per_login():
    users = CountingUsers(make_users(alice=("correct horse battery staple", "admin")))
    client = create_jwt_app(KeyRing(), users, lifetime=300).test_client()
    reply = client.post(
        "/login", data={"username": "alice", "password": "correct horse battery staple"}
    )
    after_login = users.reads
    assert check_password(users, "alice", "correct horse battery staple")
    headers = {"Authorization": f"Bearer {reply.get_json()['access_token']}"}
    before = users.reads
    assert client.get("/me", headers=headers).status_code == 200
    assert after_login >= 1 and users.reads == before


def _steps(variant, attacker, bystander=200, relogged=False):
    timeline = AttackTimeline()
    return timeline, pd.DataFrame(
        {
            "variant": variant,
            "minute": minute,
            "attacker_status": attacker(minute),
            "bystander_status": bystander,
            "bystander_relogged": relogged,
            "lookups": minute,
            "renewals": 0,
            "renewal_lookups": 0,
            "records": 1 if minute < timeline.outage // 60 else None,
        }
        for minute in range(timeline.end // 60 + 1)
    )


def test_summary_of_a_variant_that_revokes_at_T_and_fails_open_later():
    timeline, steps = _steps("deny-list, fail-open", lambda m: 200 if m < 20 or m >= 40 else 401)
    row = summarise(steps, timeline)
    assert row["revokes one user at T"] and row["server-side state"]
    assert row["attacker's admin minutes after T"] == 20
    assert row["lookups per request"] == 1.0 and row["outage: attacker/bob"] == "200/200"


def test_summary_of_a_variant_that_never_revokes():
    timeline, steps = _steps("stateless JWT", lambda m: 200 if m < 60 else 401)
    row = summarise(steps, timeline)
    assert not row["revokes one user at T"] and row["attacker's admin minutes after T"] == 40
    assert row["outage: attacker/bob"] == ""
