"""Chapter 15: the consent rule as an encoding of the sources, tested against the cases the texts
decide (not against itself), and the essay's rule and the folk rule tested the same way."""

import pytest
from sessionlab.chapters.no_cookie_consent import (
    MECHANISMS,
    PURPOSES,
    SOURCE_CASES,
    agreement_with_sources,
    consent_required,
    cookie_law_myth,
    essay_rule,
    login_purpose,
)


def test_the_encoding_agrees_with_every_case_the_texts_decide():
    assert agreement_with_sources(consent_required) == []
    assert {case.purpose for case in SOURCE_CASES} == set(PURPOSES)  # every row is sourced
    assert {case.mechanism for case in SOURCE_CASES} >= {"cookie", "localStorage"}


def test_the_essays_rule_is_wrong_about_logins_and_preferences_kept_beyond_the_session():
    wrong = {case.purpose for case, _ in agreement_with_sources(essay_rule)}
    assert wrong == {"login-persistent", "ui-persistent"}


def test_the_cookie_law_myth_is_wrong_wherever_the_texts_speak():
    wrong = agreement_with_sources(cookie_law_myth)
    assert {case.mechanism for case, _ in wrong} == {"cookie", "localStorage"}


def test_a_rule_that_got_one_row_wrong_would_be_caught():
    def flipped(mechanism, purpose):
        return (
            not consent_required(mechanism, purpose)
            if purpose == "load-balancing"
            else consent_required(mechanism, purpose)
        )

    assert [case.purpose for case, _ in agreement_with_sources(flipped)] == ["load-balancing"]


def test_unknown_inputs_are_refused():
    with pytest.raises(ValueError):
        consent_required("WebSQL", "analytics")
    with pytest.raises(ValueError):
        consent_required("cookie", "advertising")


def test_login_lifetime_decides():
    assert not consent_required("cookie", login_purpose(survives_browser_restart=False))
    assert all(
        consent_required(m, login_purpose(survives_browser_restart=True)) for m in MECHANISMS
    )
