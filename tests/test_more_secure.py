"""Unit tests of chapter 13's module."""

from sessionlab.chapters.more_secure import load_wordlist


def test_wordlist_loads_without_comments():
    words = load_wordlist()
    assert len(words) == len(set(words)) > 100 and not any(w.startswith("#") for w in words)


def test_the_tap_records_what_the_client_sent():
    import http.client

    from sessionlab.chapters.more_secure import wiretap

    with wiretap() as tap:
        connection = http.client.HTTPConnection("127.0.0.1", tap.port, timeout=5)
        connection.request("GET", "/x", headers={"Cookie": "session=abc"})
        assert connection.getresponse().status == 204
        connection.close()
        (capture,) = tap.wait_for_captures(1)
    assert b"Cookie: session=abc" in capture.wire and not capture.tls
