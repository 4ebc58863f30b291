"""Token primitives: encoding, keys, issuing and the recommended verifier's happy paths."""

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from sessionlab.recommended.tokens import (
    ALGORITHMS,
    MAX_LIFETIME,
    KeyPair,
    TokenLifetimeError,
    b64url_decode,
    b64url_encode,
    demo_keys,
    generate_keys,
    issue_token,
    read_unverified,
    verify_token,
)

NOW = 1_800_000_000
#: Who issues the test tokens, for whom and to which client: what an at+jwt token must name.
WHERE = {"audience": "app", "issuer": "login", "client_id": "web-app"}


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
    token = issue_token({"sub": "alice"}, keys, now=NOW, lifetime=60, **WHERE)
    header, payload = read_unverified(token)
    assert header == {"alg": algorithm, "typ": "at+jwt"}
    assert payload == {
        "sub": "alice",
        "iat": NOW,
        "exp": NOW + 60,
        "aud": "app",
        "iss": "login",
        "client_id": "web-app",
        "jti": payload["jti"],
    }
    claims = verify_token(token, keys, audience="app", issuer="login", leeway=10**9)
    assert claims["sub"] == "alice"


@pytest.mark.parametrize("algorithm", ["HS256", "RS256", "EdDSA"])
def test_demo_keys_make_byte_identical_tokens(algorithm):
    def token():
        return issue_token(
            {"sub": "a"}, demo_keys(algorithm), now=NOW, lifetime=60, jti="j", **WHERE
        )

    assert token() == token()


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
        issue_token({"sub": "a"}, demo_keys("HS256"), now=NOW, lifetime=0, **WHERE)


@pytest.mark.parametrize("missing", ["audience", "issuer", "client_id", "sub"])
def test_an_access_token_is_issued_only_with_every_claim_rfc9068_requires(missing):
    """RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat and jti; the jti comes by itself."""
    where = {name: value for name, value in WHERE.items() if name != missing}
    claims = {} if missing == "sub" else {"sub": "a"}
    name = {"audience": "aud", "issuer": "iss"}.get(missing, missing)
    with pytest.raises(ValueError, match=f"needs {name} "):
        issue_token(claims, demo_keys("HS256"), now=NOW, lifetime=60, **where)
    other_type = issue_token(claims, demo_keys("HS256"), now=NOW, lifetime=60, typ="x+jwt", **where)
    assert "jti" not in read_unverified(other_type)[1]


def test_kid_is_carried_in_the_header():
    token = issue_token(
        {"sub": "a"}, demo_keys("EdDSA"), now=NOW, lifetime=60, kid="2026-11", **WHERE
    )
    assert read_unverified(token)[0]["kid"] == "2026-11"


def _fresh_token(keys, **kwargs):
    return issue_token({"sub": "alice"}, keys, now=NOW, lifetime=60, **{**WHERE, **kwargs})


@pytest.mark.parametrize(
    "header_typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/At+JWT"]
)
@pytest.mark.parametrize("expected_typ", ["at+jwt", "application/at+jwt"])
def test_typ_is_compared_as_a_media_type(header_typ, expected_typ):
    """RFC 7515 §4.1.9 (case-insensitive, application/ optional) and RFC 9068 §4."""
    keys = demo_keys("HS256")
    token = _fresh_token(keys, typ=header_typ)
    claims = verify_token(
        token, keys, audience="app", issuer="login", typ=expected_typ, leeway=10**9
    )
    assert claims["sub"] == "alice"


def test_every_access_token_is_a_conformant_rfc9068_token():
    keys = generate_keys("EdDSA")
    token = _fresh_token(keys)
    payload = read_unverified(token)[1]
    assert payload["client_id"] == "web-app" and len(payload["jti"]) >= 22  # 128 random bits
    assert read_unverified(_fresh_token(keys))[1]["jti"] != payload["jti"]
    assert read_unverified(_fresh_token(keys, jti="given"))[1]["jti"] == "given"
    claims = verify_token(token, keys, audience="app", issuer="login", leeway=10**9)
    assert claims["client_id"] == "web-app"
    for claim in ("client_id", "jti"):
        lacking = jwt.encode(
            {name: value for name, value in payload.items() if name != claim},
            keys.signing_key,
            algorithm="EdDSA",
            headers={"typ": "at+jwt"},
        )
        with pytest.raises(jwt.MissingRequiredClaimError):
            verify_token(lacking, keys, audience="app", issuer="login", leeway=10**9)
        options = {"leeway": 10**9, "require_rfc9068": False}
        assert verify_token(lacking, keys, audience="app", issuer="login", **options)


@pytest.mark.parametrize(
    ("algorithm", "key"),
    [
        ("HS256", b"k" * 32),
        ("HS256", "k" * 32),
        ("HS256", "é" * 16),  # 32 bytes in UTF-8
        ("HS256", bytearray(b"k" * 32)),
        ("HS384", b"k" * 48),
        ("HS512", b"k" * 64),
    ],
    ids=["bytes", "str", "non-ASCII str", "bytearray", "HS384", "HS512"],
)
def test_keys_at_the_floor_are_accepted_in_every_form(algorithm, key):
    signing = bytes(key) if isinstance(key, bytearray) else key
    token = _fresh_token(KeyPair(algorithm, signing, signing))
    assert (
        verify_token(
            token, KeyPair(algorithm, signing, key), audience="app", issuer="login", leeway=10**9
        )["sub"]
        == "alice"
    )


def test_the_key_cache_never_lets_a_weak_key_through():
    """A strong key verified first must not make a weaker one with the same prefix pass."""
    strong = KeyPair("HS256", b"k" * 32, b"k" * 32)
    verify_token(_fresh_token(strong), strong, audience="app", issuer="login", leeway=10**9)
    weak = KeyPair("HS256", b"k" * 31, b"k" * 31)
    with pytest.raises(jwt.InvalidKeyError):
        verify_token(_fresh_token(strong), weak, audience="app", issuer="login", leeway=10**9)
    as_384 = KeyPair("HS384", b"k" * 32, b"k" * 32)
    with pytest.raises(jwt.InvalidKeyError):
        verify_token(_fresh_token(strong), as_384, audience="app", issuer="login", leeway=10**9)


def test_an_rsa_key_given_as_pem_text_is_accepted_at_2048_bits():
    keys = demo_keys("RS256")
    pem = keys.verification_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    claims = verify_token(
        _fresh_token(keys),
        KeyPair("RS256", keys.signing_key, pem),
        audience="app",
        issuer="login",
        leeway=10**9,
    )
    assert claims["sub"] == "alice"


def test_fractional_and_integer_numeric_dates_are_accepted():
    keys = demo_keys("HS256")
    token = jwt.encode(
        {"sub": "a", "iat": NOW + 0.5, "exp": NOW + 60.5, "aud": "app", "iss": "login"}
        | {"client_id": "web-app", "jti": "j"},
        keys.signing_key,
        algorithm="HS256",
        headers={"typ": "at+jwt"},
    )
    assert (
        verify_token(token, keys, audience="app", issuer="login", leeway=10**9)["exp"] == NOW + 60.5
    )


def test_the_docstring_states_the_contract():
    doc = verify_token.__doc__
    for phrase in ("NumericDate", "UTF-8", "HS384 48", "HS512 64", "media type", "RFC 9068 §2.2"):
        assert phrase in doc, phrase


def test_a_future_iat_is_accepted_unless_the_caller_asks_to_refuse_it():
    """An issuer whose clock runs ahead: RFC 7519 does not ask verifiers to refuse its tokens."""
    import time_machine

    keys = demo_keys("HS256")
    token = _fresh_token(keys)
    with time_machine.travel(NOW - 30, tick=False):
        assert verify_token(token, keys, audience="app", issuer="login")["sub"] == "alice"
        with pytest.raises(jwt.ImmatureSignatureError):
            verify_token(token, keys, audience="app", issuer="login", reject_future_iat=True)
        options = {"reject_future_iat": True, "leeway": 60}
        assert verify_token(token, keys, audience="app", issuer="login", **options)


def test_an_audience_array_is_accepted_only_when_asked_and_only_if_it_names_the_audience():
    keys = demo_keys("HS256")
    token = _fresh_token(keys, audience=["other", "app"])
    with pytest.raises(jwt.InvalidAudienceError):
        verify_token(token, keys, audience="app", issuer="login", leeway=10**9)
    claims = verify_token(
        token, keys, audience="app", issuer="login", leeway=10**9, audience_in_array=True
    )
    assert claims["aud"] == ["other", "app"]
    with pytest.raises(jwt.InvalidAudienceError):
        verify_token(
            token, keys, audience="third", issuer="login", leeway=10**9, audience_in_array=True
        )


def test_a_token_that_lives_longer_than_the_maximum_is_refused():
    keys = demo_keys("HS256")
    long_lived = issue_token({"sub": "alice"}, keys, now=NOW, lifetime=MAX_LIFETIME + 1, **WHERE)
    with pytest.raises(TokenLifetimeError):
        verify_token(long_lived, keys, audience="app", issuer="login", leeway=10**9)
    options = {"leeway": 10**9, "max_lifetime": None}
    assert verify_token(long_lived, keys, audience="app", issuer="login", **options)
    day = issue_token({"sub": "alice"}, keys, now=NOW, lifetime=MAX_LIFETIME, **WHERE)
    assert verify_token(day, keys, audience="app", issuer="login", leeway=10**9)
