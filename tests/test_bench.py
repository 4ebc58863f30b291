"""The bench owns what a chapter starts: registered apps only, everything stopped by one call."""

import asyncio
import socket

import pytest
import requests
from sessionlab.lab.bench import Bench
from sessionlab.lab.registry import UnregisteredAppError, registered_app, registration_of


def _hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


@registered_app("test: hello", sample=lambda: [("hello", make_hello())])
def make_hello():
    def app(environ, start_response):
        return _hello(environ, start_response)

    return app


def port_is_open(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_the_bench_serves_a_registered_app_and_stops_everything():
    bench = Bench()
    server = bench.serve(make_hello())
    folder = bench.tmpdir()
    (folder / "file").write_text("x")
    assert requests.get(server.url, timeout=5).text == "hello"
    asyncio.run(bench.close())
    assert not port_is_open(server.port) and not folder.exists()
    asyncio.run(bench.close())  # a second close is harmless
    with pytest.raises(RuntimeError):
        bench.serve(make_hello())


def test_the_bench_refuses_an_app_no_registered_factory_built():
    bench = Bench()
    with pytest.raises(UnregisteredAppError):
        bench.serve(_hello)
    asyncio.run(bench.close())


def test_a_registration_knows_its_factory_and_sample():
    registration = registration_of(make_hello())
    assert registration.name == "test: hello"
    assert [label for label, _ in registration.sample()] == ["hello"]


def test_two_factories_cannot_share_a_name():
    with pytest.raises(ValueError):

        @registered_app("test: hello", sample=list)
        def another():
            return _hello
