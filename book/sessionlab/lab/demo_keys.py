"""The book's fixed demo keys (public by design: demo key, never reuse), kept out of the verifier.

Only :func:`sessionlab.recommended.tokens.demo_keys` imports this module, and only when called,
so a process that verifies tokens (chapter 40's download server) never loads a private key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

__all__ = ["demo_private_key"]

#: A fixed private scalar for the ES256 demo key (public by design: demo key, never reuse).
_DEMO_EC_SCALAR = int("de70" + "00" * 29 + "01", 16)
_DEMO_KEY_DIR = Path(__file__).resolve().parents[1] / "demo_keys"


def demo_private_key(algorithm: str, *, rsa_bits: int = 2048) -> Any:
    """The fixed demo secret (HS256, bytes) or private key for ``algorithm``; ``None`` if unknown."""
    if algorithm == "HS256":
        return b"demo key, never reuse: 32 bytes."
    if algorithm == "RS256":
        pem = (_DEMO_KEY_DIR / f"rsa{rsa_bits}-demo-never-reuse.pem").read_bytes()
        return serialization.load_pem_private_key(pem, password=None)
    if algorithm == "ES256":
        return ec.derive_private_key(_DEMO_EC_SCALAR, ec.SECP256R1())
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.from_private_bytes(b"demo key, never reuse: ed25519..")
    return None
