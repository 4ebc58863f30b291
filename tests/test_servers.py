"""Loopback servers start on 127.0.0.1, answer, and are gone when the block ends."""

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests
from sessionlab.lab.servers import (
    ServerLimits,
    free_port,
    serve_wsgi,
    spawn_server,
    wait_for_port,
)


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


# What one client can cost a server (issue "One house", item 3). The numbers are the
# ServerLimits defaults: a 5 s read timeout, 64 connections, 16 KiB of request head.
SLOW_CLIENTS = 150
BIG_HEADER_REQUESTS = 40
BIG_HEADER_BYTES = 6 * 1024 * 1024
MEMORY_BOUND_MB = 120


def test_half_sent_requests_are_closed_within_the_read_timeout():
    import threading
    import time

    from sessionlab.lab.servers import ServerLimits

    limits = ServerLimits()
    with serve_wsgi(hello_app, limits=limits) as server:
        clients = []
        for _ in range(SLOW_CLIENTS):
            try:
                conn = socket.create_connection(("127.0.0.1", server.port), timeout=2)
                conn.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                clients.append(conn)
            except OSError:
                pass  # past the connection limit the kernel's backlog refuses or resets
        # The server holds at most connection_limit of them at once, each for at most
        # channel_timeout (checked every second); the rest wait in the kernel's backlog.
        batches = -(-len(clients) // limits.connection_limit)
        budget = batches * (limits.channel_timeout + 1.5) + 2
        threads_during = threading.active_count()
        started = time.monotonic()
        closed = 0
        for conn in clients:
            conn.settimeout(max(0.1, budget - (time.monotonic() - started)))
            try:
                closed += conn.recv(1) == b""
            except (TimeoutError, ConnectionResetError):
                closed += 0
            conn.close()
        elapsed = time.monotonic() - started
        assert closed == len(clients) == SLOW_CLIENTS and elapsed < budget
        assert threads_during <= limits.threads + 3, "slow clients hold no worker thread"
        assert requests.get(server.url, timeout=5).text == "hello", "still serving afterwards"


def test_big_header_requests_get_431_and_memory_stays_bounded():
    import psutil

    port = free_port()
    code = (
        "from sessionlab.lab.servers import run_wsgi_forever\n"
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'hello']\n"
        f"run_wsgi_forever(app, port={port})\n"
    )
    with spawn_server([sys.executable, "-c", code], port=port) as server:
        process = psutil.Process(server.process.pid)
        before = process.memory_info().rss
        statuses, peak = [], before
        head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        filler = b"X-Filler: " + b"a" * 8000 + b"\r\n"
        for _ in range(BIG_HEADER_REQUESTS):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
                conn.sendall(head)
                try:
                    for _ in range(BIG_HEADER_BYTES // len(filler)):
                        conn.sendall(filler)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the server answered and hung up before all 6 MB arrived
                answer = conn.recv(200)
                statuses.append(answer.split(b" ")[1] if answer else b"(closed)")
            peak = max(peak, process.memory_info().rss)
        assert set(statuses) == {b"431"}, statuses
        assert (peak - before) / 2**20 < MEMORY_BOUND_MB, f"grew {(peak - before) / 2**20:.0f} MB"
        assert requests.get(server.url, timeout=5).text == "hello"


def test_free_port_never_hands_out_the_same_port_twice_in_a_row():
    from sessionlab.lab.servers import free_port

    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)


def test_a_spawned_server_left_running_stops_when_the_interpreter_exits(tmp_path):
    """A notebook whose cell fails never reaches its clean-up; its servers must still stop."""
    script = tmp_path / "leave_running.py"
    script.write_text(
        "from sessionlab.lab.servers import free_port, spawn_server\n"
        "port = free_port()\n"
        "argv = ['python', '-m', 'http.server', '--bind', '127.0.0.1', str(port)]\n"
        "import threading, time\n"
        "def hold():  # a daemon thread's frame is never cleaned up at exit: nor is this block\n"
        "    with spawn_server(argv, port=port) as server:\n"
        "        print(server.process.pid, flush=True)\n"
        "        ready.set()\n"
        "        time.sleep(3600)\n"
        "ready = threading.Event()\n"
        "threading.Thread(target=hold, daemon=True).start()\n"
        "ready.wait(30)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "book")}
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    pid = int(run.stdout)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def trickle(port, sockets, stop, sent):
    """A slow-header attacker: keep ``len(sockets)`` connections open, each sending one header
    byte every 2 s; a connection the server closes is replaced at once."""
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10_000
    while not stop.is_set():
        for i, sock in enumerate(sockets):
            try:
                if sock is None:
                    raise OSError
                sock.send(head[sent[i] % len(head) : sent[i] % len(head) + 1])
                sent[i] += 1
            except OSError:
                if sock is not None:
                    sock.close()
                sockets[i], sent[i] = None, 0
                with contextlib.suppress(OSError):
                    sockets[i] = socket.create_connection(("127.0.0.1", port), timeout=1)
        stop.wait(2)


def test_a_trickle_from_more_connections_than_the_limit_does_not_lock_out_other_clients():
    """80 connections (the limit is 64) each send a header byte every 2 s, for 14 s; a legitimate
    request every half second is answered within 5 s throughout. waitress alone measures only
    silence, so before the bound every request in this window timed out."""
    limits = ServerLimits()
    count = limits.connection_limit + 16
    stop, sockets, sent = threading.Event(), [None] * count, [0] * count
    waits = []
    with serve_wsgi(hello_app, limits=limits) as server:
        attacker = threading.Thread(target=trickle, args=(server.port, sockets, stop, sent))
        attacker.start()
        try:
            deadline = time.monotonic() + 14
            while time.monotonic() < deadline:
                start = time.monotonic()
                try:
                    ok = requests.get(server.url, timeout=5).text == "hello"
                except requests.RequestException:
                    ok = False
                waits.append(time.monotonic() - start if ok else float("inf"))
                time.sleep(0.5)
        finally:
            stop.set()
            attacker.join(10)
            for sock in sockets:
                if sock is not None:
                    sock.close()
    assert len(waits) >= 5 and max(waits) < 5, f"waits: {[round(w, 2) for w in waits]}"
