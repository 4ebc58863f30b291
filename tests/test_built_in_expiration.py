"""Chapter 14's claims about the Redis store's expiry, pinned on a real Redis."""

import time

import time_machine
from sessionlab.lab.clock import ManualClock
from sessionlab.lab.redis_service import redis_server
from sessionlab.recommended.sessions import RedisSessionStore


def test_workers_with_skewed_clocks_agree_on_the_absolute_timeout():
    """One worker's created_at is never compared with another worker's clock: with the default
    clock, both times are Redis's. A worker 9 hours ahead of the one that created the session
    would otherwise end it at once (absolute timeout 8 h); one 9 hours behind would create
    sessions that every other worker sees as already 9 hours old."""
    with redis_server() as client:
        on_time = RedisSessionStore(client, idle_timeout=60, absolute_timeout=8 * 3600)
        session = on_time.create("alice")
        with time_machine.travel(time.time() + 9 * 3600, tick=False):
            ahead = RedisSessionStore(client, idle_timeout=60, absolute_timeout=8 * 3600)
            assert ahead.get(session.session_id) is not None
        with time_machine.travel(time.time() - 9 * 3600, tick=False):
            behind = RedisSessionStore(client, idle_timeout=60, absolute_timeout=8 * 3600)
            late_session = behind.create("bob")
        assert on_time.get(late_session.session_id) is not None
        assert abs(late_session.created_at - time.time()) < 60  # Redis's clock, not the worker's


def test_an_injected_clock_still_drives_the_absolute_timeout():
    clock = ManualClock(1_800_000_000)
    with redis_server() as client:
        store = RedisSessionStore(client, idle_timeout=60, absolute_timeout=120, clock=clock)
        session = store.create("alice")
        clock.advance(121)
        assert store.get(session.session_id) is None
