"""The checklist's HTTP client: one :class:`Client` is one device, with its own cookies (sent as
a loopback browser sends them: ``Secure`` cookies over plain http to 127.0.0.1, which Chromium
treats as a secure origin, and two cookies of one name at once, as after cookie tossing) or, for
an adapter with ``transport="bearer"``, its own token from the login's JSON, sent as
``Authorization: Bearer``. Plain ``http.client`` on a kept-alive connection per thread: the
checklist sends thousands of requests, and keeps cookies itself."""

from __future__ import annotations

import http.client
import json
import select
import threading
import urllib.parse
from dataclasses import dataclass, field

from sessionlab.checklist.adapter import Adapter


@dataclass
class SetCookie:
    name: str
    value: str
    attributes: dict[str, str]

    @property
    def persistent(self) -> bool:
        max_age = self.attributes.get("max-age")
        return ("expires" in self.attributes and max_age is None) or (
            max_age is not None and int(max_age) > 0
        )

    @property
    def deletes(self) -> bool:
        max_age = self.attributes.get("max-age")
        expires = self.attributes.get("expires", "")
        return (max_age is not None and int(max_age) <= 0) or "1970" in expires


def parse_set_cookie(header: str) -> SetCookie:
    first, *rest = header.split(";")
    name, _, value = first.partition("=")
    attributes = {}
    for part in rest:
        key, _, val = part.strip().partition("=")
        attributes[key.lower()] = val
    return SetCookie(name.strip(), value.strip().strip('"'), attributes)


@dataclass
class Response:
    """What the checklist reads of an HTTP response."""

    status_code: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    def json(self):
        return json.loads(self.body)


_local = threading.local()


#: Seconds an answer may take before the request is an error.
REQUEST_TIMEOUT = 60.0


class LastByteSync:
    """Many requests arriving at once, as in a race-condition test ("last-byte sync"): each
    thread sends its request but for the body's last byte and waits; :meth:`release`, when all
    ``count`` are held, sends those last bytes in one tight loop. The server then has every
    request complete within about a millisecond, whatever the threads' scheduling: the race
    starts on an event, not on a sleep or a barrier between whole requests."""

    def __init__(self, count: int):
        self.count = count
        self._held: list[tuple[http.client.HTTPConnection, bytes]] = []
        self._holders: set[int] = set()
        self._ready = threading.Condition()
        self._released = threading.Event()

    def hold(self, connection: http.client.HTTPConnection, last: bytes) -> None:
        with self._ready:
            if self._released.is_set():  # a retry after the release: nothing left to wait for
                connection.sock.sendall(last)
                return
            self._held.append((connection, last))
            self._holders.add(threading.get_ident())
            self._ready.notify_all()
        if not self._released.wait(REQUEST_TIMEOUT):
            raise TimeoutError("the held requests were never released")

    def abandon(self) -> None:
        """This thread will hold nothing (it failed first): wait for one request fewer."""
        with self._ready:
            if threading.get_ident() not in self._holders:
                self.count -= 1
                self._ready.notify_all()

    def release(self, timeout: float = REQUEST_TIMEOUT) -> None:
        """Wait until all ``count`` requests are held, then complete them together (a connection
        the server dropped meanwhile fails in its own thread, which sends its request again)."""
        with self._ready:
            if not self._ready.wait_for(lambda: len(self._held) >= self.count, timeout):
                raise TimeoutError(f"{len(self._held)} of {self.count} requests were held")
            for connection, last in self._held:
                try:
                    connection.sock.sendall(last)
                except OSError:
                    pass
            self._released.set()


def _request(connection, method: str, target: str, body, headers, sync) -> None:
    if sync is None or not body:
        connection.request(method, target, body=body, headers=headers)
        return
    connection.putrequest(method, target, skip_accept_encoding=True)
    for name, value in {**headers, "Content-Length": str(len(body))}.items():
        connection.putheader(name, value)
    connection.endheaders(body[:-1])
    sync.hold(connection, body[-1:])


def send(
    method: str,
    url: str,
    body: bytes | None,
    headers: dict[str, str],
    sync: LastByteSync | None = None,
) -> Response:
    """One request on this thread's kept-alive connection to the URL's server; with ``sync``,
    a request with a body is held before its last byte until ``sync`` releases it."""
    parts = urllib.parse.urlsplit(url)
    connections = _local.__dict__.setdefault("connections", {})
    key = (parts.scheme, parts.hostname, parts.port)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    for attempt in (1, 2):
        connection = connections.get(key)
        if connection is None or _dropped(connection):
            # A last resort for an app that never answers, not a wait: a loaded machine (two
            # chapter 41 runs at once) kept one answer waiting past the earlier 10 s.
            connection = connections[key] = kind(*key[1:], timeout=REQUEST_TIMEOUT)
        try:
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            _request(connection, method, target or "/", body, headers, sync)
            response = connection.getresponse()
            return Response(response.status, response.headers, response.read())
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            connection.close()
            connections.pop(key, None)
            if attempt == 2:
                raise
        except BaseException:  # a timeout, a reply that is no HTTP: never reuse this connection
            connection.close()
            connections.pop(key, None)
            raise
    raise AssertionError("unreachable")


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """The server closed this idle connection (readable with nothing to read), as urllib3 checks."""
    if connection.sock is None:
        return True
    readable, _, _ = select.select([connection.sock], [], [], 0)
    return bool(readable)


@dataclass
class Client:
    """One device: its own cookies, or its own bearer token, sent as a loopback browser would."""

    adapter: Adapter
    cookies: dict[str, str] = field(default_factory=dict)
    set_cookies: list[SetCookie] = field(default_factory=list)
    csrf_token: str | None = None
    login_response: Response | None = None
    bearer_token: str | None = None
    #: When set, every request with a body waits before its last byte (:class:`LastByteSync`).
    sync: LastByteSync | None = None

    def request(
        self, method: str, path: str, *, data=None, headers=None, cookie_header=None, body=None
    ):
        """``data`` is a form; ``body`` raw bytes (with a Content-Type in ``headers``)."""
        sent = {**self.adapter.extra_headers}
        if self.adapter.send_origin and method != "GET":
            parts = urllib.parse.urlsplit(self.adapter.base_url)
            sent["Origin"] = f"{parts.scheme}://{parts.netloc}"
        if self.bearer_token is not None:
            sent["Authorization"] = f"{self.adapter.auth_scheme} {self.bearer_token}"
        sent.update(headers or {})
        cookie = cookie_header or "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if cookie:
            sent["Cookie"] = cookie
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        response = send(method, self.adapter.base_url + path, body, sent, self.sync)
        for header in response.headers.get_all("Set-Cookie") or []:
            parsed = parse_set_cookie(header)
            self.set_cookies.append(parsed)
            if parsed.deletes:
                self.cookies.pop(parsed.name, None)
            else:
                self.cookies[parsed.name] = parsed.value
        return response

    def token(self) -> str | None:
        """The CSRF token to send, fetched the way the adapter says."""
        a = self.adapter
        if a.csrf == "endpoint":
            response = self.request("GET", a.csrf_path)
            try:
                self.csrf_token = response.json().get("csrf_token")
            except ValueError:
                self.csrf_token = None
        elif a.csrf.startswith("cookie:"):
            self.csrf_token = self.cookies.get(a.csrf.removeprefix("cookie:"))
        return self.csrf_token

    def post(self, path: str, data: dict | None = None, *, headers: dict | None = None):
        token = self.token()
        sent = {a: token for a in [self.adapter.csrf_header] if token}
        return self.request("POST", path, data=data or {}, headers={**sent, **(headers or {})})

    def login(self, user: str, password: str | None = None, *, remember: bool = False):
        password = self.adapter.users[user][0] if password is None else password
        form = {"username": user, "password": password, **({"remember": "1"} if remember else {})}
        response = self.login_response = self.post(self.adapter.login_path, form)
        if response.ok and (self.adapter.csrf == "login-json" or self.adapter.bearer):
            try:
                body = response.json()
            except ValueError:
                body = {}
            body = body if isinstance(body, dict) else {}
            if self.adapter.csrf == "login-json":
                self.csrf_token = body.get("csrf_token")
            if self.adapter.bearer:
                self.bearer_token = body.get(self.adapter.token_field)
        return response

    def authenticated(self) -> bool:
        return self.request("GET", self.adapter.protected_path).status_code == 200

    @property
    def session_value(self) -> str | None:
        """The credential: the session cookie's value, or the bearer token."""
        if self.adapter.bearer:
            return self.bearer_token
        return self.cookies.get(self.adapter.session_cookie)

    def holding(self, credential: str | None, *, keep_cookies: bool = True) -> Client:
        """Another device holding ``credential`` where this one holds its own (its other cookies
        and CSRF token copied too, unless ``keep_cookies=False``)."""
        cookies = dict(self.cookies) if keep_cookies else {}
        other = Client(self.adapter, cookies, csrf_token=self.csrf_token)
        if self.adapter.bearer:
            other.bearer_token = credential
        elif credential is None:
            other.cookies.pop(self.adapter.session_cookie, None)
        else:
            other.cookies[self.adapter.session_cookie] = credential
        return other

    def copy(self) -> Client:
        """A thief's copy of everything this device holds."""
        return self.holding(self.session_value)
