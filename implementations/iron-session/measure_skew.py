"""How long does iron-session accept a seal whose ttl has passed? iron-webcrypto's unseal allows
a clock skew (timestampSkewSec, 60 s by default, which iron-session does not change), so a 1 s
ttl should be refused only after about 61 s. Writes extra_results.md beside this file.

Usage, from book/:  PYTHONPATH=. ../.venv/bin/python ../implementations/iron-session/measure_skew.py
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from sessionlab.chapters.sessions_done_right import Adapter, Client
from sessionlab.lab.servers import free_port, wait_for_port
from sessionlab.recommended.frameworks.common import DEMO_USERS

HERE = Path(__file__).resolve().parent


def main() -> None:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "CONFIG": "defaults", "TIMEOUTS": "short"}
    proc = subprocess.Popen(
        ["node", "app.js"], cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, timeout=30)
        adapter = Adapter(
            name="iron",
            base_url=f"http://127.0.0.1:{port}",
            session_cookie="iron-session",
            users=DEMO_USERS,
            csrf="login-json",
            csrf_path=None,
        )
        client = Client(adapter)
        sent = time.monotonic()
        assert client.login("alice").status_code == 200
        seal = client.session_value
        refused_at = None
        while time.monotonic() - sent < 75:
            if not Client(adapter, {"iron-session": seal}).authenticated():
                refused_at = time.monotonic() - sent
                break
            time.sleep(1)
    finally:
        proc.terminate()
        proc.wait(10)
    found = (
        f"refused from {refused_at:.0f} s after login"
        if refused_at
        else "still accepted after 75 s"
    )
    lines = [
        "## Seal expiry (measure_skew.py, defaults, ttl 1 s)",
        "",
        f"- a seal sealed with ttl 1 s (cookie Max-Age 1 s), replayed once a second: {found}",
        "",
    ]
    (HERE / "extra_results.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
