"""Unit tests of chapter 13's module."""

from sessionlab.chapters.more_secure import load_wordlist


def test_wordlist_loads_without_comments():
    words = load_wordlist()
    assert len(words) == len(set(words)) > 100 and not any(w.startswith("#") for w in words)
