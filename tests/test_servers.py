"""Loopback servers start on 127.0.0.1, answer, and are gone when the block ends."""

import socket
import sys

import pytest
import requests
from sessionlab.servers import free_port, serve_wsgi, spawn_server, wait_for_port


def hello_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def port_is_open(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_serve_wsgi_serves_and_stops():
    with serve_wsgi(hello_app) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert requests.get(server.url, timeout=5).text == "hello"
        port = server.port
    assert not port_is_open(port)


def test_serve_wsgi_stops_when_the_block_raises():
    with pytest.raises(RuntimeError), serve_wsgi(hello_app) as server:
        port = server.port
        raise RuntimeError("a cell failed half-way")
    assert not port_is_open(port)


def test_spawn_server_runs_a_process_and_kills_it():
    port = free_port()
    argv = ["python", "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    with spawn_server(argv, port=port) as server:
        assert requests.get(server.url, timeout=5).status_code == 200
        process = server.process
    assert process.poll() is not None
    assert not port_is_open(port)


def test_spawn_server_reports_a_server_that_never_starts():
    port = free_port()
    with pytest.raises(RuntimeError, match="did not start|exited"):
        with spawn_server(
            [sys.executable, "-c", "print('no server here')"], port=port, ready_timeout=1
        ):
            pass


def test_wait_for_port_times_out():
    with pytest.raises(TimeoutError):
        wait_for_port(free_port(), timeout=0.2)
