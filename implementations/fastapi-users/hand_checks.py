"""Claims checked by hand, in-process with Starlette's TestClient (not part of the checklist):

    CONFIG=jwt python hand_checks.py

1. JWT logout answers 204 and revokes nothing: a copy of the cookie still works.
2. Two logins within one second get byte-identical JWTs (no jti, no iat).
3. The cookie's JWT carries only sub, aud and exp.
"""

import base64
import json
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("CONFIG", "jwt")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_python"))  # serving.USERS
warnings.filterwarnings("ignore")
import app  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

FORM = {"username": "alice", "password": "correct horse"}
with TestClient(app.asgi, base_url="https://testserver") as browser:
    login = browser.post("/login", data=FORM)
    stolen = browser.cookies["fastapiusersauth"]
    logout = browser.post("/logout")
    browser.cookies.clear()
    browser.cookies.set("fastapiusersauth", stolen)
    replay = browser.get("/me")
    print(
        f"1. login {login.status_code} (204 from CookieTransport, 200 through the contract "
        f"wrapper) | logout {logout.status_code}, body {logout.content!r} | the copied cookie "
        f"after logout: GET /me {replay.status_code} {replay.json()}"
    )
    browser.cookies.clear()
    tokens = [browser.post("/login", data=FORM).cookies["fastapiusersauth"] for _ in range(2)]
    print("2. two logins back to back, same token:", tokens[0] == tokens[1])
    claims = json.loads(base64.urlsafe_b64decode(tokens[0].split(".")[1] + "=="))
    print("3. claims:", sorted(claims), claims)
