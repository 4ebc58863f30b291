"""The launcher: it starts the apps under the checklist, each on a free loopback port and in a
process of its own, all at once, through the bench (so every process it starts is stopped, even
when a cell fails), and hands out their adapters.

Two kinds of app: the implementations under test, one folder each in ``implementations/`` with
a ``checklist.toml`` (:meth:`Deployment.implementation`; the format is in
``implementations/README.md``), and the apps chapter 41 started before that folder existed
(Django, Flask, flask-jwt-extended and the book's own session and JWT apps, served by
``python -m sessionlab.checklist.serve``, and express-session). Every configuration runs twice:
as configured, and with ``TIMEOUTS=short`` (idle 1 s, absolute 2 s) for the timeout items.
"""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sessionlab.checklist.adapter import Adapter, AdapterError
from sessionlab.checklist.client import send
from sessionlab.checklist.config import Implementation, find_implementations, load_implementation
from sessionlab.lab.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[3]
EXPRESS_APP = ROOT / "node" / "express-session" / "app.js"
IMPLEMENTATIONS = ROOT / "implementations"
#: The Python apps' process groups: each framework in a process of its own, as deployed.
PROCESS_OF = {
    "django": "django",
    "flask": "flask",
    "flask-jwt": "jwt",
    "book": "jwt",
    "book-jwt": "jwt",
}


#: The contract's routes the book's JWT app does not serve (its adapter sets each to ``None``):
#: a bearer API has no CSRF token to fetch, no log out everywhere, no state change, step-up,
#: password change or administrator action.
_ROUTES_A_BEARER_API_LACKS = (
    "csrf_path",
    "logout_everywhere_path",
    "state_change_path",
    "elevate_path",
    "password_path",
    "admin_end_sessions_path",
    "admin_disable_path",
)


@dataclass
class Deployment:
    """The apps under the checklist, each with its adapter, and each framework in its own
    process (Django's configurations in one, Flask's in another, Express's each in Node.js).

    Every configuration runs twice: as configured, and with its timeouts shrunk to 1 s idle and
    2 s absolute for the timeout items. Ask for the adapters first, then :meth:`start` launches
    every process at once; the bench stops them.
    """

    bench: Any
    redis_client: Any = None  # the bench's Redis, for the configurations that keep state there
    redis_port: int | None = None  # its TCP port, for Node.js
    _python: dict[str, list[dict]] = field(default_factory=dict, repr=False)
    _node: list[tuple[list[str], list[int]]] = field(default_factory=list, repr=False)
    _launches: list[Launch] = field(default_factory=list, repr=False)
    _ports: set[int] = field(default_factory=set, repr=False)
    families: dict[str, str] = field(default_factory=dict)  # configuration name -> family

    def _free_ports(self) -> list[int]:
        """Two free ports, never one handed out before: the kernel may offer a port twice."""
        ports = []
        while len(ports) < 2:
            port = free_port()
            if port not in self._ports and port != self.redis_port:
                self._ports.add(port)
                ports.append(port)
        return ports

    def _pair(self, kind: str, options: dict, **adapter) -> Adapter:
        ports = self._free_ports()
        for port, short in zip(ports, (False, True), strict=True):
            spec = {"kind": kind, "port": port, "short": short, **options}
            self._python.setdefault(PROCESS_OF[kind], []).append(spec)
        short = Adapter(base_url=f"http://127.0.0.1:{ports[1]}", **adapter)
        return Adapter(base_url=f"http://127.0.0.1:{ports[0]}", short_timeouts=short, **adapter)

    def _redis(self, needed: bool) -> None:
        if needed and self.redis_client is None:
            raise ValueError("this configuration keeps its state on Redis: pass redis_client=")

    def django(self, *, config: str, store: str, settings: dict | None = None) -> Adapter:
        """Django's sessions; ``settings`` overrides settings.py (e.g. for an exercise)."""
        self._redis(store == "redis")
        name = "__Host-sessionid" if config == "recommended" else "sessionid"
        options = {"config": config, "store": store, "settings": settings or {}}
        return self._pair(
            "django",
            options,
            name=f"Django {store} {config}",
            session_cookie=name,
            csrf_header="X-CSRFToken",
            family="server-side",
        )

    def flask(self, *, config: str, store: str) -> Adapter:
        """Flask-Login and Flask-WTF, on Flask's signed cookie or on Flask-Session (Redis)."""
        self._redis(store == "redis")
        name = "__Host-session" if config == "recommended" else "session"
        return self._pair(
            "flask",
            {"config": config, "store": store},
            name=f"Flask {store} {config}",
            session_cookie=name,
            csrf_header="X-CSRFToken",
            self_contained=store == "cookie",
            family="signed-cookie" if store == "cookie" else "server-side",
            remember_cookie="__Host-remember" if config == "recommended" else "remember_token",
        )

    def flask_jwt(self, *, config: str, switch_off: str | None = None) -> Adapter:
        """flask-jwt-extended in its cookie mode, its blocklist on Redis. ``switch_off``: remove
        one server-side mechanism (``"blocklist"``, ``"user lookup"``), to measure which passes
        rest on it (:func:`sessionlab.checklist.serve.switch_off`)."""
        self._redis(True)
        prefix = "__Host-" if config == "recommended" else ""
        name = f"flask-jwt-extended {config}" + (f", {switch_off} off" if switch_off else "")
        return self._pair(
            "flask-jwt",
            {"config": config, "switch_off": switch_off},
            name=name,
            session_cookie=f"{prefix}access_token" if prefix else "access_token_cookie",
            csrf=f"cookie:{prefix}csrf_access_token",
            csrf_header="X-CSRF-TOKEN",
            self_contained=True,
            family="jwt",
        )

    def reference(self) -> Adapter:
        """The book's own session app (``recommended/session_app.py``), deployed as it advises:
        ``Secure``, ``__Host-session``, on :class:`~sessionlab.recommended.sessions.RedisSessionStore`."""
        self._redis(True)
        return self._pair(
            "book",
            {},
            name="book's session app",
            session_cookie="__Host-session",
            csrf="login-json",
            csrf_path=None,
            elevate_path=None,
            family="server-side",
        )

    def book_jwt(self, *, deny_list: bool) -> Adapter:
        """The book's JWT app (``recommended/jwt_app.py``) as an API: the token in the login's
        JSON, sent as ``Authorization: Bearer``; with ``deny_list`` its logout denies the token."""
        return self._pair(
            "book-jwt",
            {"deny_list": deny_list},
            name=f"book's JWT app (bearer) {'recommended' if deny_list else 'defaults'}",
            session_cookie=None,
            transport="bearer",
            token_field="access_token",
            csrf="none",
            self_contained=True,
            family="jwt",
            **dict.fromkeys(_ROUTES_A_BEARER_API_LACKS),
        )

    def express(self, *, config: str) -> Adapter:
        """express-session on connect-redis with csrf-sync (``make node`` installs them)."""
        if shutil.which("node") is None:
            raise RuntimeError("express-session needs Node.js 20: install it, then run `make node`")
        if not (EXPRESS_APP.parent / "node_modules").is_dir():
            raise RuntimeError("express-session's packages are missing: run `make node`")
        if self.redis_port is None:
            raise ValueError("express-session reaches Redis over TCP: pass redis_port=")
        ports = self._free_ports()  # one process: as configured, and with short timeouts
        argv = ["node", str(EXPRESS_APP), "--port", str(ports[0]), "--short-port", str(ports[1])]
        argv += ["--redis-port", str(self.redis_port), "--config", config]
        self._node.append((argv, ports))
        recommended = config == "recommended"
        adapter = dict(
            name=f"Express redis {config}",
            session_cookie="__Host-sid" if recommended else "connect.sid",
            # Behind its TLS proxy the recommended app sees https (it trusts loopback proxies).
            extra_headers={"X-Forwarded-Proto": "https"} if recommended else {},
            family="server-side",
        )
        short = Adapter(base_url=f"http://127.0.0.1:{ports[1]}", **adapter)
        return Adapter(base_url=f"http://127.0.0.1:{ports[0]}", short_timeouts=short, **adapter)

    def implementation(
        self, folder: str | Path | Implementation, configurations: list[str] | None = None
    ) -> list[Adapter]:
        """An ``implementations/<slug>/`` folder's configurations (all, or those named), each
        with its short-timeout twin: one adapter per configuration, started by :meth:`start`."""
        impl = folder if isinstance(folder, Implementation) else load_implementation(folder)
        if impl.needs_redis and self.redis_port is None:
            raise ValueError(f"{impl.name} needs Redis over TCP: pass redis_port=")
        chosen = configurations or list(impl.configurations)
        unknown = set(chosen) - set(impl.configurations)
        if unknown:
            raise AdapterError(f"{impl.name}: no configuration {sorted(unknown)}")
        adapters = []
        for config in chosen:
            ports = self._free_ports()
            for port, short in zip(ports, (False, True), strict=True):
                env = {**impl.env, "PORT": str(port), "HOST": "127.0.0.1", "CONFIG": config}
                env["TIMEOUTS"] = "short" if short else "normal"
                if impl.needs_redis:
                    # One Redis, a database per process: no configuration sees another's keys.
                    env["REDIS_URL"] = self._next_redis_url()
                label = f"implementations/{impl.folder.name} ({config}, TIMEOUTS={env['TIMEOUTS']})"
                self._launches.append(
                    Launch(label, impl.command, port, env, impl.folder, impl.ready_path,
                           impl.ready_timeout)
                )  # fmt: skip
            name = impl.configuration_name(config)
            family = impl.families.get(config, impl.family)
            options = dict(impl.configurations[config], name=name, family=family)
            short = Adapter(base_url=f"http://127.0.0.1:{ports[1]}", **options)
            adapters.append(
                Adapter(base_url=f"http://127.0.0.1:{ports[0]}", short_timeouts=short, **options)
            )
            self.families[name] = family
        return adapters

    @classmethod
    def alone(cls, bench, folder: str | Path | Implementation) -> tuple[Deployment, list[Adapter]]:
        """One implementation folder on its own: a Redis on the bench first if it needs one, then
        its configurations' adapters (not started: call :meth:`start`). The command line and the
        abuse sweep each deploy one implementation this way."""
        impl = folder if isinstance(folder, Implementation) else load_implementation(folder)
        redis_port = None
        if impl.needs_redis:
            redis_port = free_port()
            bench.redis(tcp_port=redis_port)
        deployment = cls(bench, redis_port=redis_port)
        return deployment, deployment.implementation(impl)

    def implementations(self, root: str | Path = IMPLEMENTATIONS) -> list[Adapter]:
        """Every implementation folder under ``root``, every configuration."""
        return [a for folder in find_implementations(root) for a in self.implementation(folder)]

    def _next_redis_url(self) -> str:
        """A Redis database of its own for one process: the bench's Redis has 16, and when they
        are used up the bench starts another Redis."""
        used = getattr(self, "_databases", 0)
        port = self.redis_port
        if used >= 16:
            extra = getattr(self, "_extra_redis", {})
            port = extra.get(used // 16)
            if port is None:
                port = free_port()
                self.bench.redis(tcp_port=port)
                extra[used // 16] = port
                self._extra_redis = extra
        self._databases = used + 1
        return f"redis://127.0.0.1:{port}/{used % 16}"

    def start(self) -> None:
        """Launch every process asked for so far, all at once; return when every one is ready
        (its port open, then its ``ready_path`` answering), or raise :class:`LaunchError` naming
        the one that is not and the end of its output. The bench stops them all."""
        socket_file = getattr(self.redis_client, "socket_file", None)
        launches = list(self._launches)
        for argv, ports in self._node:
            launches.append(
                Launch(f"{argv[1]} --config {argv[-1]}", argv, ports[0], extra=ports[1:])
            )
        for specs in self._python.values():
            spec = json.dumps({"redis_socket": socket_file, "apps": specs})
            argv = ["python", "-m", "sessionlab.checklist.serve", "--serve", spec]
            ports = [s["port"] for s in specs]
            kinds = sorted({s["kind"] for s in specs})
            launches.append(Launch(f"the {'/'.join(kinds)} apps", argv, ports[0], extra=ports[1:]))
        self._python, self._node, self._launches = {}, [], []
        with ThreadPoolExecutor(len(launches) or 1) as pool:
            for outcome in list(pool.map(lambda launch: self._start_one(launch), launches)):
                if isinstance(outcome, Exception):
                    raise outcome

    def _start_one(self, launch: Launch):
        """Start one process and wait until it is ready; an exception is returned, not raised,
        so that every other launch still ends in the bench."""
        try:
            server = self.bench.spawn(
                launch.argv,
                port=launch.port,
                env=launch.env,
                cwd=launch.cwd,
                ready_timeout=launch.ready_timeout,
            )
        except RuntimeError as error:
            return LaunchError(f"{launch.label}: did not start\n{_tail(str(error))}")
        deadline = time.monotonic() + launch.ready_timeout
        try:
            for port in launch.extra:
                _wait_for_port(server, port, deadline)
            if launch.ready_path is not None:
                _wait_until_answering(launch, server, deadline)
        except (TimeoutError, LaunchError) as error:
            return LaunchError(f"{launch.label}: {error}\n{_tail(server.log())}")
        return None


@dataclass
class Launch:
    """One process to start: what it runs, where, on which port, and how it says it is ready."""

    label: str
    argv: list[str]
    port: int
    env: dict[str, str] | None = None
    cwd: Path | None = None
    ready_path: str | None = None
    ready_timeout: float = 120.0
    extra: list[int] = field(default_factory=list)  # more ports the same process opens


class LaunchError(RuntimeError):
    """A process the launcher started did not become ready; the message names it and ends with
    the last lines of its output."""


def _tail(log: str, lines: int = 20) -> str:
    kept = log.rstrip().splitlines()[-lines:]
    return "its output ends:\n" + "\n".join(f"  | {line}" for line in kept) if kept else "no output"


def _wait_until_answering(launch: Launch, server, deadline: float) -> None:
    """Until ``ready_path`` answers with any HTTP status (the port may open before the app is
    routed, behind nginx or a framework that loads lazily), the process still running."""
    url = f"http://127.0.0.1:{launch.port}{launch.ready_path}"
    while True:
        if server.process is not None and server.process.poll() is not None:
            raise LaunchError(f"exited with status {server.process.returncode}")
        try:
            send("GET", url, None, {})
            return
        except OSError:
            if time.monotonic() > deadline:
                raise LaunchError(
                    f"{launch.ready_path} did not answer within {launch.ready_timeout:g} s"
                ) from None
            time.sleep(0.05)


def _wait_for_port(server, port: int, deadline: float) -> None:
    """Until ``port`` accepts connections, the process still running."""
    while True:
        if server.process is not None and server.process.poll() is not None:
            raise LaunchError(f"exited with status {server.process.returncode}")
        try:
            wait_for_port(port, timeout=0.5)
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                raise LaunchError(f"did not listen on {port}") from None
