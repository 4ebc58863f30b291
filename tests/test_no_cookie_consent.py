"""Unit tests of the consent rule as code (chapter 15)."""

import pytest
from sessionlab.chapters.no_cookie_consent import (
    MECHANISMS,
    PURPOSES,
    consent_required,
    cookie_law_myth,
    login_purpose,
    mechanism_dependent_purposes,
)


def test_rule_is_mechanism_neutral_and_myth_is_not():
    assert mechanism_dependent_purposes(consent_required) == []
    assert mechanism_dependent_purposes(cookie_law_myth) == list(PURPOSES)


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
