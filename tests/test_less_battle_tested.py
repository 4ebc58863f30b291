"""The naive verifier must stay vulnerable, or chapter 24's gallery would prove nothing; the
library matrix's adapters must reach every library they claim to call."""

import json

import jwt
import pytest
import time_machine
from sessionlab.chapters import less_battle_tested as naive_jwt
from sessionlab.recommended.tokens import b64url_encode, demo_keys, issue_token

API, ISSUER, START = "https://api.example", "https://login.example", 1_800_000_000


def test_the_naive_verifier_is_still_vulnerable_to_alg_none():
    """Vulnerable on purpose: if this ever fails, chapter 24 no longer shows the attack."""
    header = b64url_encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64url_encode(json.dumps({"sub": "mallory", "role": "admin"}).encode())
    claims = naive_jwt.naive_verify(
        f"{header}.{payload}.", default_key=b"never used by a none token"
    )
    assert claims["role"] == "admin"


def _genuine_and_tampered():
    keys = demo_keys("RS256")
    token = issue_token(
        {"sub": "alice"},
        keys,
        now=START,
        lifetime=900,
        audience=API,
        issuer=ISSUER,
        client_id="app",
    )
    header, _, signature = token.split(".")
    admin = b64url_encode(json.dumps({"sub": "mallory", "exp": START + 900}).encode())
    deployment = naive_jwt.Deployment("RS256", keys.verification_key, keys.signing_key)
    return deployment, token, f"{header}.{admin}.{signature}"


@pytest.mark.parametrize("style", sorted(naive_jwt.PYTHON_STYLES))
def test_every_python_style_accepts_a_genuine_token(style):
    """A style that refused the genuine token would make every refusal in the matrix meaningless."""
    deployment, token, _ = _genuine_and_tampered()
    run = naive_jwt.PYTHON_STYLES[style]
    with time_machine.travel(START + 60, tick=False):  # PyJWT and jwcrypto read the clock
        assert naive_jwt.outcome_of(run, token, deployment, API, ISSUER, START + 60) == "accepted"


def test_only_decode_only_styles_accept_an_edited_payload():
    deployment, _, tampered = _genuine_and_tampered()
    cases = {"tampered": ("api", tampered)}
    with time_machine.travel(START + 60, tick=False):
        outcomes = naive_jwt.run_python_libraries(
            cases, {"api": deployment}, audience=API, issuer=ISSUER, now=START + 60
        )["tampered"]
    accepted = {style for style, result in outcomes.items() if result == "accepted"}
    assert accepted == {"PyJWT, decode only"}


def test_node_libraries_run_and_refuse_an_edited_payload():
    deployment, token, tampered = _genuine_and_tampered()
    cases = {"genuine": ("api", token), "tampered": ("api", tampered)}
    found = naive_jwt.run_node_libraries(
        cases, {"api": deployment}, audience=API, issuer=ISSUER, now=START + 60
    )
    assert set(found["genuine"].values()) == {"accepted"}
    assert {s for s, r in found["tampered"].items() if r == "accepted"} == {
        "jsonwebtoken, decode only",
        "jose, decode only",
    }


def test_versions_are_the_pinned_ones():
    versions = naive_jwt.library_versions()
    assert versions["PyJWT"] == jwt.__version__
    assert set(versions) == {"PyJWT", "joserfc", "jwcrypto", "Authlib", "jsonwebtoken", "jose"}


def test_every_cve_row_names_a_checkable_record():
    """Each history row is one CVE, names the record it was checked against (a GHSA, the CVE
    record or NVD) and states affected versions, not a pointer elsewhere. Fails on a duplicated
    ID, a year that disagrees with the ID, or a placeholder such as "per GHSA-..."."""
    ids = [str(row["cve"]) for row in naive_jwt.CVE_HISTORY]
    assert len(ids) == len(set(ids))
    for row in naive_jwt.CVE_HISTORY:
        cve, record, affected = str(row["cve"]), str(row["record"]), str(row["affected"])
        assert cve.startswith("CVE-") and int(cve.split("-")[1]) == row["year"], cve
        assert any(mark in record for mark in ("GHSA-", "CVE record", "NVD", "notes")), cve
        assert "per " not in affected and affected.strip(), cve
        assert row["impact"] in naive_jwt.CVE_IMPACTS, cve
        assert row["side"] in ("session", "JWT"), cve


def test_every_package_the_rule_names_is_counted_or_accounted_for():
    """A package in the history, in the records left out or among those with no CVE is one the
    rule names; a record is either in the history or left out (with its reason), never both."""
    rows = {str(row["cve"]) for row in naive_jwt.CVE_HISTORY}
    assert not rows & set(naive_jwt.CVE_LEFT_OUT)
    assert all(reason.strip() for reason in naive_jwt.CVE_LEFT_OUT.values())
    for package in naive_jwt.CVE_NONE_FOUND:
        assert package.split()[0] in naive_jwt.CVE_RULE, package
    for row in naive_jwt.CVE_HISTORY:
        name = str(row["package"]).split(" (")[0]
        assert name in naive_jwt.CVE_RULE or name == "PHP sessions", name
