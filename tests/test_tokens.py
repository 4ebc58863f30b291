"""Token primitives: encoding, keys, issuing and the recommended verifier's happy paths."""

import jwt
import pytest
from sessionlab.recommended.tokens import (
    ALGORITHMS,
    b64url_decode,
    b64url_encode,
    demo_keys,
    generate_keys,
    issue_token,
    read_unverified,
    verify_token,
)

NOW = 1_800_000_000


@pytest.mark.parametrize("data", [b"", b"f", b"fo", b"foo", bytes(range(256))])
def test_b64url_round_trip_without_padding(data):
    encoded = b64url_encode(data)
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded
    assert b64url_decode(encoded) == data


@pytest.mark.parametrize("bad", ["a", "ab==", "a+b/", "ab c", 42])
def test_b64url_decode_rejects_other_input(bad):
    with pytest.raises(jwt.DecodeError):
        b64url_decode(bad)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_issue_and_verify_each_algorithm(algorithm):
    keys = generate_keys(algorithm)
    token = issue_token(
        {"sub": "alice"}, keys, now=NOW, lifetime=60, audience="app", issuer="login"
    )
    header, payload = read_unverified(token)
    assert header == {"alg": algorithm, "typ": "at+jwt"}
    assert payload == {"sub": "alice", "iat": NOW, "exp": NOW + 60, "aud": "app", "iss": "login"}
    claims = verify_token(token, keys, audience="app", issuer="login", leeway=10**9)
    assert claims["sub"] == "alice"


@pytest.mark.parametrize("algorithm", ["HS256", "RS256", "EdDSA"])
def test_demo_keys_make_byte_identical_tokens(algorithm):
    first = issue_token({"sub": "a"}, demo_keys(algorithm), now=NOW, lifetime=60)
    second = issue_token({"sub": "a"}, demo_keys(algorithm), now=NOW, lifetime=60)
    assert first == second


def test_demo_rsa_4096_exists_and_is_that_long():
    assert demo_keys("RS256", rsa_bits=4096).verification_key.key_size == 4096


def test_fresh_keys_differ_each_time():
    assert generate_keys("HS256").signing_key != generate_keys("HS256").signing_key
    assert len(generate_keys("HS256").signing_key) == 32


def test_unknown_algorithm_is_refused():
    with pytest.raises(ValueError):
        generate_keys("HS1")
    with pytest.raises(ValueError):
        demo_keys("none")


def test_issue_token_refuses_a_non_positive_lifetime():
    with pytest.raises(ValueError):
        issue_token({"sub": "a"}, demo_keys("HS256"), now=NOW, lifetime=0)


def test_kid_is_carried_in_the_header():
    token = issue_token({"sub": "a"}, demo_keys("EdDSA"), now=NOW, lifetime=60, kid="2026-11")
    assert read_unverified(token)[0]["kid"] == "2026-11"
