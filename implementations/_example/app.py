"""The example implementation for the checklist's own tests: the book's session app
(``sessionlab.recommended.session_app``) run as an implementation folder would run it, on
waitress on 127.0.0.1:$PORT, its configuration from $CONFIG and its timeouts from $TIMEOUTS.

Not a library under test: a template for a folder, and the launcher's test subject.
"""

import os
import secrets

from sessionlab.lab.servers import run_wsgi_forever
from sessionlab.recommended.frameworks.common import DEMO_HASH, DEMO_USERS
from sessionlab.recommended.session_app import create_session_app
from sessionlab.recommended.sessions import MemorySessionStore, SessionCookie
from werkzeug.security import generate_password_hash

config = os.environ["CONFIG"]
if config not in ("defaults", "recommended", "crash"):
    raise SystemExit(f"CONFIG must be defaults or recommended, not {config!r}")
if config == "crash":  # for the launcher's test: a process that dies at start
    raise SystemExit("this configuration crashes at start, on purpose")
idle, absolute = (1, 2) if os.environ.get("TIMEOUTS") == "short" else (1800, 8 * 3600)
users = {
    name: {"password_hash": generate_password_hash(password, DEMO_HASH), "role": role}
    for name, (password, role) in DEMO_USERS.items()
}
recommended = config == "recommended"
app = create_session_app(
    MemorySessionStore(idle_timeout=idle, absolute_timeout=absolute),
    SessionCookie([secrets.token_bytes(32)], max_age=absolute),
    users,
    secure=recommended,
    cookie_name="__Host-session" if recommended else "session",
    transfer=True,
)
run_wsgi_forever(app, port=int(os.environ["PORT"]))
