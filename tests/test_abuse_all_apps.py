"""Every app the book can serve withstands hostile requests: whatever the route and method, bad
cookies, bad bearer tokens and malformed requests never get a 5xx, never drop the connection,
never log a traceback, and never get further than the same request with no credential at all.

The apps are not listed here: the sweep enumerates :func:`sessionlab.lab.registry.registry`,
every factory decorated with ``registered_app``, and attacks every configuration its ``sample``
yields. ``Bench.serve`` refuses an app no registered factory built, so an app a chapter serves
cannot escape this sweep; a registration without a sample fails it. The two apps readers are
told to copy get more than a thousand requests each in ``test_abuse.py`` as well."""

import pytest
from hostile import cookie_cases, token_cases
from sessionlab.lab import registry as app_registry
from sessionlab.lab.registry import MARK
from test_abuse import as_header_value, malformed_requests, request_bytes, run_abusive_client

try:
    REGISTRY, IMPORT_ERROR = app_registry.registry(), None
except Exception as exc:  # one module that does not import must not hide every other app
    REGISTRY, IMPORT_ERROR = dict(app_registry._REGISTRY), exc
COOKIE_NAMES = (
    *("session", "__Host-session", "sessionid", "__Host-sessionid", "bank_auth", "service_session"),
    *("token", "jwt", "access_token_cookie", "__Host-access_token"),
)
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


def registered_samples(name):
    """The (label, app) pairs of one registration; the sample's generator is closed afterwards,
    so a sample that starts something (a Redis, say) around its yields stops it again."""
    sample = REGISTRY[name].sample
    assert callable(sample), f"{name}: registered without a sample"
    configurations = sample()
    try:
        yield from configurations
    finally:
        close = getattr(configurations, "close", None)
        if close is not None:
            close()


def test_every_module_that_may_register_an_app_imports():
    assert IMPORT_ERROR is None, f"{type(IMPORT_ERROR).__name__}: {IMPORT_ERROR}"


def test_the_registry_holds_the_book_apps():
    for name in ("reference session app", "bank", "attacker page"):
        assert name in REGISTRY, f"{name} is not registered"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_app_withstands_hostile_requests(name, tmp_path, capfd):
    from sessionlab.lab.servers import serve_wsgi

    report = {}
    for label, app in registered_samples(name):
        assert getattr(app, MARK, None) == name, f"{label}: not built by the {name!r} factory"
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
        assert not dropped, f"{label}: connections dropped: {dropped[:3]}"
        assert not errors, f"{label}: server errors: {errors[:3]}"
        assert all(400 <= s < 500 for s in malformed), (
            f"{label}: malformed requests answered {malformed}"
        )
        assert not let_through, (
            f"{label}: hostile credentials got further than none: {let_through[:3]}"
        )
        report[label] = (len(statuses), sorted(set(statuses)))
    assert report, f"{name}: its sample yields no configuration"
    logged = capfd.readouterr()
    assert "Traceback" not in logged.err + logged.out, (logged.err + logged.out)[-3000:]
    print(f"{name}: {sum(n for n, _ in report.values())} hostile requests, no 5xx:", report)
