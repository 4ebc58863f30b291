"""Chapter 41's checklist harness: it validates its adapters and reads cookies correctly."""

import asyncio
import base64
import json
import zlib

import pytest
from sessionlab.chapters import sessions_done_right as checklist
from sessionlab.lab.bench import Bench
from sessionlab.lab.servers import free_port
from sessionlab.recommended.frameworks.common import DEMO_USERS


def adapter(**changes):
    fields = dict(name="t", base_url="http://127.0.0.1:1", session_cookie="s", users=DEMO_USERS)
    return checklist.Adapter(**{**fields, **changes})


@pytest.mark.parametrize(
    "changes",
    [
        {"base_url": "https://127.0.0.1:1"},
        {"base_url": "http://example.com"},
        {"session_cookie": "bad name"},
        {"login_path": "login"},
        {"csrf": "magic"},
        {"csrf": "endpoint", "csrf_path": None},
        {"users": {"alice": ("pw", "user")}},
        {"extra_headers": {"X-A": 1}},
    ],
)
def test_bad_adapters_are_refused(changes):
    with pytest.raises(checklist.AdapterError):
        adapter(**changes)


def test_run_checklist_refuses_what_is_not_an_adapter_or_not_listening():
    with pytest.raises(checklist.AdapterError, match="needs an Adapter"):
        checklist.run_checklist({"base_url": "http://127.0.0.1:1"})
    with pytest.raises(checklist.AdapterError, match="nothing answers"):
        checklist.run_checklist(adapter(base_url=f"http://127.0.0.1:{free_port()}"))


def test_a_flask_cookie_decodes_to_its_data_and_an_id_does_not():
    data = base64.urlsafe_b64encode(zlib.compress(json.dumps({"_user_id": "a"}).encode()))
    flask_cookie = "." + data.decode().rstrip("=") + ".Zx1.sig"
    assert any(b"_user_id" in raw for raw in checklist.decode_attempts(flask_cookie))
    assert checklist.session_id_of("s%3Aabc.def") == "abc"


def test_set_cookie_parsing():
    cookie = checklist.parse_set_cookie("a=b; Max-Age=0; Path=/; HttpOnly")
    assert cookie.deletes and not cookie.persistent and "httponly" in cookie.attributes
    assert checklist.parse_set_cookie("a=b; Max-Age=60").persistent


def test_flask_defaults_fail_what_they_lack_and_the_recommended_config_passes():
    bench = Bench()
    try:
        redis_client = bench.redis()
        items = [title for title, _ in checklist.CHECKS][:4] + [
            "v5.0.0-3.3.1 session cookie Secure"
        ]
        results = {}
        for config in ("defaults", "recommended"):
            a = checklist.flask_adapter(
                bench, config=config, store="redis", redis_client=redis_client
            )
            results[config] = [r.status for r in checklist.run_checklist(a, items=items)]
        assert results == {
            "defaults": ["PASS", "PASS", "PASS", "FAIL", "FAIL"],
            "recommended": ["PASS"] * 5,
        }
    finally:
        asyncio.run(bench.close())
