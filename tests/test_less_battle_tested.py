"""The naive verifier must stay vulnerable, or chapter 24's gallery would prove nothing."""

import json

from sessionlab.chapters import less_battle_tested as naive_jwt
from sessionlab.recommended.tokens import b64url_encode


def test_the_naive_verifier_is_still_vulnerable_to_alg_none():
    """Vulnerable on purpose: if this ever fails, chapter 24 no longer shows the attack."""
    header = b64url_encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64url_encode(json.dumps({"sub": "mallory", "role": "admin"}).encode())
    claims = naive_jwt.naive_verify(
        f"{header}.{payload}.", default_key=b"never used by a none token"
    )
    assert claims["role"] == "admin"
