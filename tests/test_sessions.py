"""Session IDs, signed cookies and the stores, memory and a real Redis."""

import time

import itsdangerous
import pytest
from sessionlab.lab.clock import ManualClock
from sessionlab.lab.redis_service import redis_server
from sessionlab.recommended.sessions import (
    CookieTooLargeError,
    MemorySessionStore,
    RedisSessionStore,
    SessionCookie,
    new_session_id,
)

KEY_A = b"a" * 32
KEY_B = b"b" * 32


def test_session_ids_are_long_random_and_url_safe():
    ids = {new_session_id() for _ in range(1000)}
    assert len(ids) == 1000
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert all(len(i) == 43 and set(i) <= alphabet for i in ids)


def test_manual_clock_only_moves_forward():
    clock = ManualClock(100)
    assert clock.advance(5) == clock() == 105
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_cookie_round_trip_and_rotation():
    clock = ManualClock()
    old = SessionCookie([KEY_A], max_age=60, clock=clock)
    value = old.dumps("sid")
    rotated = SessionCookie([KEY_A, KEY_B], max_age=60, clock=clock)
    assert rotated.loads(value) == "sid"  # old cookies verify during the overlap
    assert SessionCookie([KEY_B], max_age=60, clock=clock).loads(rotated.dumps("x")) == "x"
    with pytest.raises(itsdangerous.BadSignature):
        SessionCookie([KEY_B], max_age=60, clock=clock).loads(value)  # old key dropped


def test_cookie_expires_by_its_signed_timestamp():
    clock = ManualClock()
    cookie = SessionCookie([KEY_A], max_age=60, clock=clock)
    value = cookie.dumps("sid")
    clock.advance(61)
    with pytest.raises(itsdangerous.SignatureExpired):
        cookie.loads(value)


def test_cookie_requires_long_keys():
    with pytest.raises(ValueError):
        SessionCookie([b"short"], max_age=60)


@pytest.mark.parametrize("bad", ["", "x" * 5000, "sid.sig", "é" * 10, None])
def test_cookie_rejects_garbage_with_bad_data(bad):
    cookie = SessionCookie([KEY_A], max_age=60)
    with pytest.raises(itsdangerous.BadData):
        cookie.loads(bad)


def test_oversized_cookie_has_its_own_error():
    with pytest.raises(CookieTooLargeError):
        SessionCookie([KEY_A], max_age=60).loads("x" * 4097)


def test_memory_store_idle_and_absolute_timeouts():
    clock = ManualClock()
    store = MemorySessionStore(idle_timeout=10, absolute_timeout=25, clock=clock)
    session = store.create("alice")
    for _ in range(2):
        clock.advance(9)
        assert store.get(session.session_id) is not None  # activity keeps it alive
    clock.advance(9)  # 27 s after login: past the absolute timeout
    assert store.get(session.session_id) is None
    assert len(store) == 0
    idle = store.create("bob")
    clock.advance(11)
    assert store.purge_expired() == 1 and store.get(idle.session_id) is None


def test_memory_store_logout_everywhere():
    store = MemorySessionStore(idle_timeout=10, absolute_timeout=25, clock=ManualClock())
    sessions = [store.create("alice") for _ in range(3)] + [store.create("bob")]
    assert store.delete_user("alice") == 3
    assert [store.get(s.session_id) is None for s in sessions] == [True, True, True, False]
    assert store.lookups == 4


def test_redis_store_on_a_real_server():
    with redis_server() as client:
        store = RedisSessionStore(client, idle_timeout=30, absolute_timeout=3600)
        session = store.create("alice", {"role": "admin"})
        assert 0 < client.ttl(f"session:{session.session_id}") <= 30
        assert (
            3500 < client.ttl("session:user:alice") <= 3600
        )  # the index expires with the sessions
        loaded = store.get(session.session_id)
        assert loaded.user_id == "alice" and loaded.data == {"role": "admin"}
        loaded.data["role"] = "user"
        store.save(loaded)
        assert store.get(session.session_id).data == {"role": "user"}
        store.create("alice")
        assert store.delete_user("alice") == 2
        assert store.get(session.session_id) is None
        pid = client.pid
    import psutil

    time.sleep(0.1)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_redis_store_absolute_timeout():
    clock = ManualClock(time.time())
    with redis_server() as client:
        store = RedisSessionStore(client, idle_timeout=30, absolute_timeout=60, clock=clock)
        session = store.create("alice")
        clock.advance(61)
        assert store.get(session.session_id) is None
        assert client.exists(f"session:{session.session_id}") == 0
