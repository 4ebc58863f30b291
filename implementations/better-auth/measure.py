"""Two things the checklist does not measure: how long the cookie cache keeps a revoked session
alive, and what better-auth's production rate limiter (its documented rules) does to password
guesses. Writes extra_results.md beside this file, beside the checklist's own results (chapter 41).

Usage, from book/:  PYTHONPATH=. ../.venv/bin/python ../implementations/better-auth/measure.py
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

from sessionlab.chapters.sessions_done_right import Adapter, Client
from sessionlab.lab.servers import free_port, wait_for_port
from sessionlab.recommended.frameworks.common import DEMO_USERS

HERE = Path(__file__).resolve().parent


@contextlib.contextmanager
def app(**env):
    port = free_port()
    full = {**os.environ, "PORT": str(port), **env}
    proc = subprocess.Popen(
        ["node", "app.js"], cwd=HERE, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, timeout=60)
        url = f"http://127.0.0.1:{port}"
        yield Adapter(
            name="better-auth",
            base_url=url,
            session_cookie="better-auth.session_token",
            users=DEMO_USERS,
            csrf="login-json",
            csrf_path=None,
            extra_headers={"Origin": url},
        )
    finally:
        proc.terminate()
        proc.wait(10)


def revocation_delay(max_age: int, give_up: float) -> float | None:
    """Seconds from log out everywhere until another device of alice's is refused."""
    with app(CONFIG="cookie-cache", COOKIE_CACHE_MAX_AGE=str(max_age)) as adapter:
        here, other = Client(adapter), Client(adapter)
        assert here.login("alice").status_code == 200 and other.login("alice").status_code == 200
        assert other.authenticated()
        assert here.post("/logout-everywhere").status_code == 200
        revoked = time.monotonic()
        while time.monotonic() - revoked < give_up:
            if not other.authenticated():
                return time.monotonic() - revoked
            time.sleep(0.1)
    return None


def main() -> None:
    lines = ["## Measured by measure.py", ""]
    for max_age, give_up in ((3, 10), (300, 10)):
        delay = revocation_delay(max_age, give_up)
        found = f"refused after {delay:.1f} s" if delay else f"still logged in after {give_up} s"
        lines.append(
            f"- cookie cache maxAge {max_age} s: the other device, after log out everywhere: "
            f"{found}"
        )
    with app(CONFIG="defaults", NODE_ENV="production") as adapter:
        guesser = Client(adapter)
        guesses = [guesser.login("dave", f"guess {i}").status_code for i in range(10)]
        right = Client(adapter).login("alice").status_code
    lines.append(
        "- NODE_ENV=production, documented rate limits (sign-in 3 per 10 s per IP): 10 wrong "
        f"guesses for dave answered {guesses}; alice's right password from the same address "
        f"right after: {right}"
    )
    (HERE / "extra_results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
