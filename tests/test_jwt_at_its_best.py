"""Chapter 32's harness: the pushed deny-list under faults, and pre-signed DPoP proofs."""

import pytest
import time_machine
from sessionlab.chapters import jwt_at_its_best as harness
from sessionlab.lab.fixtures import FIXED_NOW, book_users
from sessionlab.recommended import jwt_app
from sessionlab.recommended.tokens import generate_keys


@pytest.mark.parametrize("fault", ["kill", "silent", "restart"])
def test_the_pushed_deny_list_loses_no_revocation_and_fails_closed(fault):
    result = harness.deny_list_under_fault(fault)
    assert result["back in sync"] and result["lost"] == 0, result
    during = result["answers during the fault"]
    if fault == "restart":
        # Redis refused the revocations while down (the caller sees it), and without
        # persistence a process started afterwards knows none of the earlier ones.
        assert during == ["revocation refused"] and result["lost for a process started after"] == 5
    else:
        assert "not revoked" not in during and result["lost for a process started after"] == 0
    # A silent connection is noticed when the lease runs out; it never answers from a stale
    # copy longer than that (the old copy answered "not revoked" for the whole fault).
    assert result["longest 'not revoked' during, s"] <= 1.5 + 1.0


def test_nonces_refuse_proofs_signed_in_advance():
    origin = "http://localhost"
    results = {}
    with time_machine.travel(FIXED_NOW, tick=False) as traveller:
        for with_nonces in (False, True):
            nonces = jwt_app.DPoPNonces(period=60) if with_nonces else None
            app = jwt_app.create_jwt_app(
                generate_keys("HS256"),
                book_users(),
                lifetime=3600,
                dpop=jwt_app.DPoPVerifier(jwt_app.MemoryJtiStore(), nonces=nonces),
                origin=origin,
            )
            results[with_nonces] = harness.presigned_proofs(
                app, origin=origin, traveller=traveller, start=FIXED_NOW
            )
    assert set(results[False].values()) == {200}
    assert set(results[True].values()) == {401}
