"""CVE-2026-117499 on the pinned @fastify/session 11.1.3: with rolling saves (the default), a
request that loaded the session before a logout can save it again after destroy(), so the
logged-out session ID works again. Six threads read /me with alice's cookie while that cookie
logs out; afterwards, does the cookie still work? Writes extra_results.md beside this file.

Usage, from book/:  PYTHONPATH=. ../.venv/bin/python ../implementations/fastify-session/measure_race.py
"""

from __future__ import annotations

import http.client
import os
import subprocess
import threading
import time
from pathlib import Path

from sessionlab.lab.redis_service import redis_server
from sessionlab.lab.servers import free_port, wait_for_port

HERE = Path(__file__).resolve().parent
TRIALS = 30


def request(port, method, path, cookie=None, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"X-Forwarded-Proto": "https"}  # the TLS proxy the app trusts
    if cookie:
        headers["Cookie"] = cookie
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


def revived(port: int) -> int:
    """In how many of TRIALS logouts raced by readers the session works afterwards."""
    count = 0
    for _ in range(TRIALS):
        login = request(port, "POST", "/login", body="username=alice&password=correct+horse")
        cookie = login.getheader("Set-Cookie").split(";")[0]
        stop = threading.Event()

        def read(cookie=cookie, stop=stop):
            while not stop.is_set():
                request(port, "GET", "/me", cookie)

        readers = [threading.Thread(target=read) for _ in range(6)]
        for reader in readers:
            reader.start()
        time.sleep(0.05)
        assert request(port, "POST", "/logout", cookie, body="").status == 200
        time.sleep(0.1)
        stop.set()
        for reader in readers:
            reader.join()
        count += request(port, "GET", "/me", cookie).status == 200
    return count


def main() -> None:
    lines = ["## Logout raced by reads (measure_race.py, CVE-2026-117499)", ""]
    with redis_server(tcp_port=free_port()) as redis_client:
        url = f"redis://127.0.0.1:{redis_client.config_get('port')['port']}"
        for config in ("defaults", "recommended"):
            port = free_port()
            env = {**os.environ, "PORT": str(port), "CONFIG": config, "REDIS_URL": url}
            proc = subprocess.Popen(
                ["node", "app.js"], cwd=HERE, env=env, stdout=subprocess.DEVNULL
            )
            try:
                wait_for_port(port, timeout=30)
                found = revived(port)
            finally:
                proc.terminate()
                proc.wait(10)
            lines.append(
                f"- {config}: the logged-out cookie still worked after {found} of {TRIALS} "
                "logouts raced by six readers"
            )
    (HERE / "extra_results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
