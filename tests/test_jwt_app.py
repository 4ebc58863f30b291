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
