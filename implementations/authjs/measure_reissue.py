"""Does every session read re-issue Auth.js's cookie with a new expiry, so that a replayed cookie
never expires? Measured on the defaults configuration with TIMEOUTS=short (maxAge 1 s); writes
extra_results.md beside this file, beside the checklist's own results (chapter 41).

Usage, from book/:  PYTHONPATH=. ../.venv/bin/python ../implementations/authjs/measure_reissue.py
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from sessionlab.chapters.sessions_done_right import Adapter, Client, parse_set_cookie
from sessionlab.lab.servers import free_port, wait_for_port
from sessionlab.recommended.frameworks.common import DEMO_USERS

HERE = Path(__file__).resolve().parent
NAME = "authjs.session-token"


def set_cookie_of(response):
    for header in response.headers.get_all("Set-Cookie") or []:
        cookie = parse_set_cookie(header)
        if cookie.name == NAME:
            return cookie
    return None


def main() -> None:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "CONFIG": "defaults", "TIMEOUTS": "short"}
    proc = subprocess.Popen(
        ["node", "app.js"], cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    lines = ["## Re-issue on read (measure_reissue.py, defaults, maxAge 1 s)", ""]
    try:
        wait_for_port(port, timeout=30)
        adapter = Adapter(
            name="authjs",
            base_url=f"http://127.0.0.1:{port}",
            session_cookie=NAME,
            users=DEMO_USERS,
        )
        client = Client(adapter)
        assert client.login("alice").status_code == 200
        login_cookie = set_cookie_of(client.login_response)
        captured = client.session_value
        logged_in_at = time.monotonic()
        me = client.request("GET", "/me")
        lines.append(
            f"- GET /me (the app's route, @auth/express getSession): status {me.status_code}, "
            f"Set-Cookie for the session: {'yes' if set_cookie_of(me) else 'none'}"
        )
        session = client.request("GET", "/auth/session")
        fresh = set_cookie_of(session)
        lines.append(
            f"- GET /auth/session (Auth.js's endpoint): status {session.status_code}, "
            f"new cookie: {'yes' if fresh and fresh.value != captured else 'no'}; login cookie "
            f"Expires {login_cookie.attributes.get('expires')}, re-issued cookie Expires "
            f"{fresh.attributes.get('expires') if fresh else '-'}"
        )
        # One device keeps reading /auth/session (a replaying attacker does the same); the
        # captured copy is never refreshed. When does each stop working?
        refreshed = Client(adapter, {NAME: captured})
        copy_ended = None
        while time.monotonic() - logged_in_at < 22:
            refreshed.request("GET", "/auth/session")
            if copy_ended is None and not Client(adapter, {NAME: captured}).authenticated():
                copy_ended = time.monotonic() - logged_in_at
            time.sleep(0.5)
        alive = refreshed.authenticated()
        ended = f"{copy_ended:.1f} s" if copy_ended else "never within 22 s"
        lines.append(
            f"- the captured login cookie, never refreshed, was refused from {ended} after login "
            "(maxAge 1 s; Auth.js decodes with a clock tolerance of 15 s)"
        )
        lines.append(
            "- the same cookie replayed to /auth/session every 0.5 s and replaced by each "
            f"re-issued one: still logged in after 22 s: {'yes' if alive else 'no'}"
        )
        # ECOSYSTEM's login-CSRF hypothesis: the double-submit check only compares the cookie
        # with the form field, so a pair the attacker fetched from /auth/csrf, planted in the
        # victim's browser (a sibling host can set an unprefixed cookie), passes it.
        attacker = Client(adapter)
        token = attacker.request("GET", "/auth/csrf").json()["csrfToken"]
        planted = {k: v for k, v in attacker.cookies.items() if "csrf-token" in k}
        victim = Client(adapter, dict(planted))
        form = {"username": "dave", "password": DEMO_USERS["dave"][0], "csrfToken": token}
        headers = {"Origin": "http://attacker.localhost", "Sec-Fetch-Site": "cross-site"}
        posted = victim.request("POST", "/auth/callback/credentials", data=form, headers=headers)
        who = victim.request("GET", "/me")
        lines.append(
            "- login CSRF with a planted pair: the attacker's own csrf cookie "
            f"({', '.join(planted)}) set in the victim's browser, and a cross-site form posting "
            f"its token with dave's password to /auth/callback/credentials: status "
            f"{posted.status_code}; the victim's /me then shows "
            f"{who.json().get('user') if who.status_code == 200 else who.status_code}"
        )
    finally:
        proc.terminate()
        proc.wait(10)
    (HERE / "extra_results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
