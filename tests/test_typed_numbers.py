"""No number is typed into the prose (issue: prose never outruns its numbers).

Numbers reach the text through glue; the few typed on purpose (a standard's constant, an
experiment's input, the shape of a format) are listed with a reason in tests/typed_numbers.toml.
"""

from __future__ import annotations

import pytest
import toc
import typed_numbers as tn

ALLOWED = tn.allowed_phrases()
#: Files whose prose has been reviewed number by number. The rest are listed in NOT_YET_REVIEWED
#: and shrink as chapters are reviewed; a file in neither list fails below.
REVIEWED = {
    "18_blocked_cookies.ipynb",
    "41_sessions_done_right.ipynb",
    "00_preface.md",
    "00_answer.md",
    "glossary.md",
    "10_easier_to_scale.ipynb",
    "instructor_guide.md",
    "worksheet_single_session.md",
    "worksheet_session_1.md",
    "worksheet_session_2.md",
    "worksheet_session_3.md",
    "24_less_battle_tested.ipynb",
    "21_storage_and_xss.ipynb",
    "01_anatomy_of_a_jwt.ipynb",
    "02_anatomy_of_a_session.ipynb",
    "11_easier_to_use.ipynb",
    "12_more_flexible.ipynb",
    "13_more_secure.ipynb",
    "14_built_in_expiration.ipynb",
    "15_no_cookie_consent.ipynb",
    "16_prevents_csrf.ipynb",
    "17_better_on_mobile.ipynb",
    "20_more_space.ipynb",
    "22_no_invalidation.ipynb",
    "23_stale_data.ipynb",
    "30_short_expiry_and_refresh.ipynb",
    "31_denylists_and_key_rotation.ipynb",
    "32_jwt_at_its_best.ipynb",
    "40_download_tokens.ipynb",
    "references.md",
}
NOT_YET_REVIEWED: set[str] = set()
PAGES = {path.name: path for path in toc.toc_files()}


def test_every_page_is_reviewed_or_listed():
    assert set(PAGES) <= REVIEWED | NOT_YET_REVIEWED, set(PAGES) - REVIEWED - NOT_YET_REVIEWED
    assert not REVIEWED & NOT_YET_REVIEWED
    assert set(ALLOWED) <= set(PAGES), set(ALLOWED) - set(PAGES)


@pytest.mark.parametrize("name", sorted(REVIEWED & set(PAGES)))
def test_no_number_is_typed(name):
    path = PAGES[name]
    typed, unused = tn.find_typed(name, tn.sources_of(path), ALLOWED.get(name, []))
    assert not typed, "typed numbers (glue them, or allow them with a reason):\n" + "\n".join(
        map(str, typed)
    )
    assert not unused, f"allowed phrases no longer in the text: {unused}"
    code = tn.code_of(path)
    for entry in ALLOWED.get(name, []):
        if "code" in entry:
            assert entry["code"] in code, f"{entry['text']!r}: its code {entry['code']!r} is gone"


@pytest.mark.parametrize(
    "sentence",
    [
        "The server answered 1234 requests a second.",
        "Of the nine configurations, two let the forgery through.",
        "A lookup costs about a millisecond.",
        "Sessions were within 2.5× of the JWT's throughput.",
        "The JWT check took 68 µs.",
        "```{figure} x.png\n:alt: Bars rising to 4,500 bytes.\n\nA caption.\n```",
    ],
)
def test_a_planted_number_is_found(sentence):
    typed, _ = tn.find_typed("planted.md", [sentence], [])
    assert typed, sentence


@pytest.mark.parametrize(
    "sentence",
    [
        "RFC 7519 §4.1.4 defines `exp`; ASVS v5.0.0-7.2.4 asks for it (CVE-2022-23540).",
        "The check took {glue:text}`scale_hs256` in Python 3.11 {cite}`rfc7519`.",
        "1. First step\n2. Second step",
        "```python\nx = 1234\n```",
        "HS256 and P-256 over HTTP/1.1, answered 401 in chapter 16 (2016).",
    ],
)
def test_identifiers_code_and_glue_are_not_numbers(sentence):
    typed, _ = tn.find_typed("clean.md", [sentence], [])
    assert not typed, typed
