"""Every hostile token and cookie is refused with the exception the book documents, and no
mutation of a valid token or cookie is ever accepted."""

import itsdangerous
import jwt
import pytest
import time_machine
from hostile import (
    AUDIENCE,
    COOKIE_KEY,
    ISSUER,
    NOW,
    cookie_cases,
    cookie_loader,
    token_cases,
    valid_token,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sessionlab.recommended.sessions import SessionCookie
from sessionlab.recommended.tokens import demo_keys, verify_token

TOKEN_CASES = token_cases()
COOKIE_CASES = cookie_cases()
MUTATION_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \n%é\x00"


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def test_the_corpus_is_large_and_names_are_unique():
    names = [case.name for case in TOKEN_CASES] + [case.name for case in COOKIE_CASES]
    assert len(names) >= 40
    assert len(names) == len(set(names))


def test_the_valid_originals_are_accepted():
    """The baseline: without this the rejections below would prove nothing."""
    for algorithm in ("HS256", "RS256", "ES256", "EdDSA"):
        keys = demo_keys(algorithm)
        assert (
            verify_token(valid_token(keys), keys, audience=AUDIENCE, issuer=ISSUER)["sub"]
            == "alice"
        )
    loader = cookie_loader()
    assert loader.loads(loader.dumps("sid")) == "sid"


@pytest.mark.parametrize("case", TOKEN_CASES, ids=lambda case: case.name)
def test_hostile_token_is_rejected_with_its_documented_exception(case):
    with pytest.raises(jwt.PyJWTError) as caught:
        verify_token(case.token, case.keys, audience=AUDIENCE, issuer=ISSUER, **case.options)
    assert type(caught.value) is case.expected, f"{type(caught.value).__name__}: {caught.value}"


@pytest.mark.parametrize("case", COOKIE_CASES, ids=lambda case: case.name)
def test_hostile_cookie_is_rejected_with_its_documented_exception(case):
    with pytest.raises(itsdangerous.BadData) as caught:
        cookie_loader().loads(case.value)
    assert type(caught.value) is case.expected, f"{type(caught.value).__name__}: {caught.value}"


def _mutate(original: str, edits) -> str:
    text = list(original)
    for position, replacement in edits:
        index = position % (len(text) + 1)
        if replacement == "":
            if index < len(text):
                del text[index]
        elif index < len(text) and replacement.startswith("="):
            text[index] = replacement[1:]
        else:
            text.insert(index, replacement)
    return "".join(text)


# An edit at a position: "" deletes, "=c" replaces with c, "c" inserts c.
CHARACTERS = st.sampled_from(MUTATION_ALPHABET)
EDITS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10_000),
        st.one_of(
            st.just(""),
            st.sampled_from(MUTATION_ALPHABET),
            st.sampled_from(MUTATION_ALPHABET).map("={}".format),
        ),
    ),
    min_size=1,
    max_size=4,
)
PROPERTY_SETTINGS = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.parametrize("algorithm", ["HS256", "EdDSA", "ES256", "RS256"])
@PROPERTY_SETTINGS
@given(edits=EDITS)
def test_no_mutated_token_is_ever_accepted(algorithm, edits):
    keys = demo_keys(algorithm)
    original = valid_token(keys)
    mutated = _mutate(original, edits)
    if mutated == original:
        return
    with pytest.raises(jwt.PyJWTError):
        verify_token(mutated, keys, audience=AUDIENCE, issuer=ISSUER)


@PROPERTY_SETTINGS
@given(edits=EDITS)
def test_no_mutated_cookie_is_ever_accepted(edits):
    loader = cookie_loader()
    original = loader.dumps("A" * 43)
    mutated = _mutate(original, edits)
    if mutated == original:
        return
    with pytest.raises(itsdangerous.BadData):
        loader.loads(mutated)


@pytest.mark.parametrize(
    "secret_keys",
    [[], (), b"", [b"short"], ["é" * 15], [bytearray(b"k" * 32)], [None], [COOKIE_KEY, b"short"]],
    ids=[
        "empty list",
        "empty tuple",
        "empty bytes",
        "short bytes",
        "short str in UTF-8",
        "bytearray",
        "None",
        "one short among good",
    ],
)
def test_session_cookie_refuses_missing_or_weak_keys_at_construction(secret_keys):
    """The contract: a ValueError when the object is made, never a late IndexError in loads."""
    with pytest.raises(ValueError):
        SessionCookie(secret_keys, max_age=60)
