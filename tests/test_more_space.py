"""Chapter 20's size lab sets cookies of exactly the size asked for, refuses what is out of range
with a 400, and reports the sizes it received; its tokens are the ones the chapter measures."""

import pytest
from sessionlab.chapters.more_space import (
    COOKIE_NAME,
    MAX_COOKIE_BYTES,
    create_size_lab,
    http_header_line_bytes,
    stateless_jwt,
)


@pytest.fixture()
def client():
    return create_size_lab().test_client()


def set_cookies(response):
    return [value for name, value in response.headers.items() if name == "Set-Cookie"]


@pytest.mark.parametrize("size", [len(COOKIE_NAME) + 1, 4096, 4097, MAX_COOKIE_BYTES])
def test_filler_sets_one_cookie_of_exactly_the_size_asked(client, size):
    (header,) = set_cookies(client.get(f"/filler?bytes={size}"))
    name, value = header.split(";")[0].split("=", 1)
    assert name == COOKIE_NAME and len(name) + len(value) == size


def test_filler_splits_into_parts_of_the_same_size(client):
    headers = set_cookies(client.get("/filler?bytes=4000&parts=3"))
    pairs = [h.split(";")[0].split("=", 1) for h in headers]
    assert [n for n, _ in pairs] == ["part0", "part1", "part2"]
    assert all(len(n) + len(v) == 4000 for n, v in pairs)


@pytest.mark.parametrize(
    "query",
    [
        "bytes=",
        "bytes=-1",
        "bytes=1e9",
        "bytes=%C3%A9",
        f"bytes={MAX_COOKIE_BYTES + 1}",
        "bytes=4000&parts=0",
        "bytes=4000&parts=9",
        "bytes=4000&parts=x",
    ],
)
def test_filler_refuses_out_of_range_input_with_400(client, query):
    assert client.get(f"/filler?{query}").status_code == 400


@pytest.mark.parametrize("query", ["", "permissions=-1", "permissions=1001", "permissions=NaN"])
def test_token_refuses_out_of_range_input_with_400(client, query):
    assert client.get(f"/token?{query}").status_code == 400


def test_token_sets_the_chapters_hs256_token(client):
    (header,) = set_cookies(client.get("/token?permissions=3"))
    assert header.startswith(f"{COOKIE_NAME}={stateless_jwt('HS256', 3)};")


def test_echo_reports_the_sizes_received(client):
    client.set_cookie("a", "1")
    answer = client.get("/echo?token=abc", headers={"Authorization": "Bearer xyz"}).get_json()
    assert answer == {"cookie_bytes": 3, "authorization_bytes": 10, "query_bytes": 9}


def test_header_line_bytes_count_name_colon_space_value_and_crlf():
    assert http_header_line_bytes("Cookie", "x") == len("Cookie: x\r\n") == 11
