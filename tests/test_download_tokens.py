"""The download server's check (chapter 40): every hostile token of the corpus is a 401, and the
replay cache stays bounded by the token lifetime."""

import pytest
import time_machine
from hostile import token_cases
from sessionlab.chapters.download_tokens import (
    DEFAULT_LIFETIME,
    JtiCache,
    authorise_download,
    issue_download_token,
)
from sessionlab.lab.clock import ManualClock
from sessionlab.recommended.tokens import demo_keys

NOW = 1_800_000_000
KEYS = demo_keys("EdDSA")


@pytest.fixture
def files(tmp_path):
    (tmp_path / "report.pdf").write_bytes(b"report")
    (tmp_path / ".secret").write_bytes(b"hidden")
    return tmp_path


def decide(token, name, files, **kwargs):
    with time_machine.travel(NOW + 1, tick=False):
        return authorise_download(token, name, KEYS, files_dir=files, **kwargs)


def test_a_valid_token_opens_its_file_once_with_a_cache(files):
    token = issue_download_token("alice", "report.pdf", KEYS, now=NOW, jti="fixed-jti")
    cache = JtiCache(clock=lambda: NOW + 1)
    assert decide(token, "report.pdf", files).status == 200
    assert [decide(token, "report.pdf", files, jti_cache=cache).status for _ in range(2)] == [
        200,
        409,
    ]


@pytest.mark.parametrize(
    "name, status",
    [("other.pdf", 403), ("../report.pdf", 403), (".secret", 403)],
    ids=["other", "traversal", "dot"],
)
def test_a_token_for_one_file_opens_no_other(files, name, status):
    token = issue_download_token("alice", "report.pdf", KEYS, now=NOW)
    assert decide(token, name, files).status == status


def test_unsafe_names_are_never_served_even_when_the_token_names_them(files):
    for name in ["../etc/passwd", ".secret", "a/b", "x\x00y", ""]:
        token = issue_download_token("alice", name, KEYS, now=NOW)
        assert decide(token, name, files).status in (401, 404)


def test_lifetimes_above_the_servers_limit_are_refused(files):
    token = issue_download_token("alice", "report.pdf", KEYS, now=NOW, lifetime=3600)
    assert decide(token, "report.pdf", files).status == 401


@pytest.mark.parametrize("case", token_cases(), ids=lambda case: case.name)
def test_every_hostile_token_is_a_401(files, case):
    decision = authorise_download(case.token, "report.pdf", KEYS, files_dir=files)
    assert decision.status == 401, decision.reason


def test_replay_cache_is_bounded_by_rate_times_lifetime():
    clock = ManualClock(NOW)
    cache = JtiCache(clock=clock)
    sizes = []
    for second in range(600):  # 10 tokens a second for ten minutes
        for n in range(10):
            assert cache.claim(f"{second}-{n}", int(clock()) + DEFAULT_LIFETIME)
        sizes.append(len(cache))
        clock.advance(1)
    assert max(sizes) <= 10 * (DEFAULT_LIFETIME + 1)
    clock.advance(DEFAULT_LIFETIME)
    assert cache.purge_expired() > 0 and len(cache) == 0


def test_a_full_cache_refuses_rather_than_forgets():
    cache = JtiCache(clock=lambda: NOW, max_entries=2)
    cache.claim("a", NOW + 60)
    cache.claim("b", NOW + 60)
    with pytest.raises(JtiCache.CacheFullError):
        cache.claim("c", NOW + 60)
    assert not cache.claim("a", NOW + 60)
