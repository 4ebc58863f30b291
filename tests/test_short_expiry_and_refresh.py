"""Chapter 30's harness: one trial of the sweep over T, issuances, the busy hour."""

import pytest
from sessionlab.chapters.short_expiry_and_refresh import (
    issuances_per_user_hour,
    one_busy_hour,
    windows_after_detection,
)
from sessionlab.lab.fixtures import make_users
from sessionlab.recommended.jwt_remedies import AttackTimeline

USERS = make_users(alice=("correct horse battery staple", "admin"))
TIMELINE = AttackTimeline()


@pytest.mark.parametrize("lifetime, phase", [(60, 0), (300, 1), (300, 239), (3600, 1800)])
def test_a_trial_measures_the_windows_the_model_predicts(lifetime, phase):
    trial = windows_after_detection(
        lifetime, phase, users=USERS, detected_at=TIMELINE.at(TIMELINE.detected), renew_at=0.8
    )
    assert trial["checked by the verifier"]
    assert trial["exposure"] == lifetime - phase
    assert trial["stale role"] == int(0.8 * lifetime) - phase
    assert USERS["alice"]["role"] == "admin", "the trial demotes a copy, not the shared table"


def test_issuances_are_one_per_renewal():
    assert issuances_per_user_hour(300, users=USERS, start=TIMELINE.start, renew_at=0.8) == 15


def test_the_busy_hour_counts_one_lookup_per_request_against_one_per_renewal():
    hour = one_busy_hour(
        users=USERS,
        start=TIMELINE.start,
        access_lifetime=300,
        refresh_lifetime=86400,
        renew_every=240,
        request_every=10,
    )
    assert hour["server-side session"]["store lookups"] == hour["server-side session"]["requests"]
    assert hour["refresh rotation"]["store lookups"] == 3600 // 240 - 1
