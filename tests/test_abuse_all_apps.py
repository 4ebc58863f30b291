"""Every app a chapter starts withstands hostile requests: whatever the route and method, bad
cookies, bad bearer tokens and malformed requests never get a 5xx, never drop the connection,
never log a traceback, and never get further than the same request with no credential at all.

The two apps readers are told to copy, the reference session app and the download server, get
more than a thousand requests each in ``test_abuse.py``; this test sweeps the others."""

import secrets

import pytest
from hostile import cookie_cases, token_cases
from sessionlab.lab.redis_service import redis_server
from sessionlab.recommended.sessions import MemorySessionStore, SessionCookie
from sessionlab.recommended.tokens import generate_keys
from test_abuse import as_header_value, malformed_requests, request_bytes, run_abusive_client

COOKIE_NAMES = ("session", "bank_auth", "service_session", "token", "jwt")
HOSTILE_TOKENS = [as_header_value(case.token)[:9000] for case in token_cases()]
HOSTILE_COOKIES = [as_header_value(case.value)[:9000] for case in cookie_cases()]
FORM = {"Content-Type": b"application/x-www-form-urlencoded"}
FORM_FIELDS = (
    "username",
    "password",
    "refresh_token",
    "token",
    "csrf_token",
    "amount",
    "to",
    "file",
)
HOSTILE_VALUES = [
    "",
    "%C3%A9%00",
    "%FF%FE",
    "a" * 5000,
    "-1",
    "1e309",
    "NaN",
    "..%2F..%2Fetc%2Fpasswd",
    "x.y.z",
]
HOSTILE_FORMS = [
    "&".join(f"{field}={value}" for field in FORM_FIELDS).encode() for value in HOSTILE_VALUES
] + [b"%%%", b"=&=&", b"username=alice&username=bob", "username=\u00e9".encode()]


def fresh_cookie():
    return SessionCookie([secrets.token_bytes(32)], max_age=3600)


def fresh_store():
    return MemorySessionStore(idle_timeout=900, absolute_timeout=3600)


def book_apps(redis_client):
    from sessionlab.chapters import download_tokens as download
    from sessionlab.chapters import easier_to_scale as scaling
    from sessionlab.chapters import easier_to_use as twoapps
    from sessionlab.chapters import storage_and_xss as xss_demo
    from sessionlab.lab.fixtures import make_users
    from sessionlab.recommended import bank
    from sessionlab.recommended import jwt_remedies as fixes

    users = make_users(
        alice=("correct horse battery staple", "admin"),
        bob=("correct horse battery staple", "user"),
    )
    hs = generate_keys("HS256")
    ed = generate_keys("EdDSA")
    yield (
        "scaling worker",
        scaling.create_worker_app(
            "worker-1",
            scaling.RedisSessionStore(redis_client, idle_timeout=900, absolute_timeout=3600),
            fresh_cookie(),
            hs,
        ),
    )
    yield (
        "version A (sessions)",
        twoapps.create_session_version(users, fresh_store(), fresh_cookie(), secure=False),
    )
    yield "version B (stateless JWT)", twoapps.create_jwt_version(users, hs)
    yield "version B with a store", twoapps.create_jwt_version_with_store(users, hs, fresh_store())
    for credential in bank.CREDENTIALS:
        yield (
            f"bank ({credential})",
            bank.create_bank_app(credential=credential, samesite="None", csrf_protection=True),
        )
    yield (
        "bank (no CSRF token)",
        bank.create_bank_app(credential="session-cookie", csrf_protection=False),
    )
    yield "XSS bank", xss_demo.create_xss_bank(users)
    service = fixes.TokenService(users, fixes.KeyRing(), access_lifetime=300)
    yield (
        "token app with refresh tokens",
        fixes.create_token_app(
            service, users, refresh_tokens=fixes.RefreshTokenStore(lifetime=3600)
        ),
    )
    versions = fixes.TokenService(
        users, fixes.KeyRing(), access_lifetime=300, token_versions=fixes.TokenVersions(users)
    )
    yield "token app with token versions", fixes.create_token_app(versions, users)
    deny = fixes.DenyList(redis_client, max_token_lifetime=300)
    yield (
        "token app with a deny-list",
        fixes.create_token_app(
            fixes.TokenService(users, fixes.KeyRing(), access_lifetime=300, deny_list=deny), users
        ),
    )
    yield (
        "download app server",
        download.create_app_server(
            fresh_store(),
            fresh_cookie(),
            users,
            {"alice": {"report.pdf"}},
            ed,
            download_url="http://127.0.0.1:9",
        ),
    )
    yield (
        "exchange service",
        download.create_exchange_service(
            ed, fresh_store(), fresh_cookie(), audience="https://service.example"
        ),
    )


def hostile_requests_for(app) -> tuple[list[bytes], list[int | None]]:
    """Requests to every route and method, and for each the index of the same request sent with
    no credential at all: a hostile credential must not get further than no credential."""
    raw, baseline = [], []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = path.replace(f"<{argument}>", "x").replace(f"<path:{argument}>", "x")
        path = path.replace("<", "").replace(">", "")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            anonymous = len(raw)
            raw.append(request_bytes(method, path))
            baseline.append(None)
            for token in HOSTILE_TOKENS:
                raw.append(request_bytes(method, path, {"Authorization": b"Bearer " + token}))
                baseline.append(anonymous)
            for value in HOSTILE_COOKIES + HOSTILE_TOKENS[:10]:
                cookie = b"; ".join(name.encode() + b"=" + value for name in COOKIE_NAMES)
                raw.append(request_bytes(method, path, {"Cookie": cookie}))
                baseline.append(anonymous)
            if method == "POST":
                for body in HOSTILE_FORMS:
                    raw.append(request_bytes(method, path, FORM, body))
                    baseline.append(None)
    return raw, baseline


@pytest.fixture(scope="module")
def redis_client():
    with redis_server() as client:
        yield client


def test_every_book_app_withstands_hostile_requests(tmp_path, capfd, redis_client):
    from sessionlab.lab.servers import serve_wsgi

    report = {}
    for name, app in book_apps(redis_client):
        raw, baseline = hostile_requests_for(app)
        raw += malformed_requests()
        with serve_wsgi(app) as server:
            statuses = run_abusive_client(server.port, raw, tmp_path)
        dropped = [raw[i][:100] for i, s in enumerate(statuses) if s is None]
        errors = [(s, raw[i][:100]) for i, s in enumerate(statuses) if s is not None and s >= 500]
        malformed = statuses[len(baseline) :]
        # where no credential is refused, a hostile one must be refused too
        let_through = [
            (statuses[i], raw[i][:100])
            for i, anonymous in enumerate(baseline)
            if anonymous is not None
            and 400 <= statuses[anonymous] < 500
            and not 400 <= statuses[i] < 500
        ]
        assert not dropped, f"{name}: connections dropped: {dropped[:3]}"
        assert not errors, f"{name}: server errors: {errors[:3]}"
        assert all(400 <= s < 500 for s in malformed), (
            f"{name}: malformed requests answered {malformed}"
        )
        assert not let_through, (
            f"{name}: hostile credentials got further than none: {let_through[:3]}"
        )
        report[name] = (len(statuses), sorted(set(statuses)))
    logged = capfd.readouterr()
    assert "Traceback" not in logged.err + logged.out, (logged.err + logged.out)[-3000:]
    total = sum(count for count, _ in report.values())
    assert total >= 1000
    print(f"{len(report)} apps, {total} hostile requests, no 5xx:", report)
