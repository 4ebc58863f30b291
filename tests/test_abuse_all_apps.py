"""Every app the book can serve withstands hostile requests: whatever the route and method, bad
cookies, bad bearer tokens and malformed requests never get a 5xx, never drop the connection,
never log a traceback, and never get further than the same request with no credential at all.

The apps are not listed here: the sweep enumerates :func:`sessionlab.lab.registry.registry`,
every factory decorated with ``registered_app``, and attacks every configuration its ``sample``
yields. ``Bench.serve`` refuses an app no registered factory built, so an app a chapter serves
cannot escape this sweep; a registration without a sample fails it. The two apps readers are
told to copy get more than a thousand requests each in ``test_abuse.py`` as well.

The implementations under chapter 41's checklist (``implementations/<slug>``: Node.js, Ruby,
PHP, Go and Python apps in processes of their own) are swept too, every configuration, through
the HTTP contract's routes; one that cannot be started fails, it is never skipped."""

from dataclasses import fields
from pathlib import Path

import pytest
from hostile import cookie_cases, token_cases
from sessionlab.checklist.adapter import Adapter
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
            add_route_requests(raw, baseline, method, path)
    return raw, baseline


def add_route_requests(raw, baseline, method, path, cookie_names=COOKIE_NAMES, schemes=("Bearer",)):
    """Append one route's requests: the bare request, then hostile tokens (in each scheme) and
    hostile cookies (under each name), each paired in ``baseline`` with the bare one, and for a
    POST hostile forms."""
    anonymous = len(raw)
    raw.append(request_bytes(method, path))
    baseline.append(None)
    for token in HOSTILE_TOKENS:
        for scheme in schemes:
            header = {"Authorization": scheme.encode() + b" " + token}
            raw.append(request_bytes(method, path, header))
            baseline.append(anonymous)
    for value in HOSTILE_COOKIES + HOSTILE_TOKENS[:10]:
        cookie = b"; ".join(name.encode() + b"=" + value for name in cookie_names)
        raw.append(request_bytes(method, path, {"Cookie": cookie}))
        baseline.append(anonymous)
    if method == "POST":
        for body in HOSTILE_FORMS:
            raw.append(request_bytes(method, path, FORM, body))
            baseline.append(None)


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


# --- The implementations under chapter 41's checklist ------------------------------------------
# Each implementations/<slug>/ app runs in a process of its own (Node.js, puma, php-fpm behind
# nginx, a Go binary, gunicorn or uvicorn), started by the checklist's launcher exactly as the
# checklist starts it. Their routes are not enumerable from outside, so the sweep attacks the
# HTTP contract's routes that the folder's checklist.toml declares (implementations/README.md).
# An implementation the machine cannot start is a failure naming it, never a pass: run
# `make node implementations redis` first.

IMPLEMENTATION_ROOT = Path(__file__).resolve().parents[1] / "implementations"
#: Known findings: "<slug>/<configuration>" -> (the problem's text, why: the library and its
#: version). Only a problem containing that text is expected; any other still fails, and an entry
#: that no longer fails makes the test fail too, so the list cannot go stale.
GO_MUX = (
    "301]",
    "Go 1.19's net/http ServeMux (Debian 12's golang-go) answers GET /../../etc/passwd with a "
    "301 to the cleaned path /etc/passwd (its documented path cleaning), not a 4xx: no 5xx, no "
    "file served, and the server keeps serving",
)
IMPLEMENTATION_FINDINGS: dict[str, tuple[str, str]] = {
    "gorilla/defaults": GO_MUX,
    "gorilla/recommended": GO_MUX,
}
CONTRACT_GETS = ("protected_path", "csrf_path")
#: Every other route of the contract is a POST: the adapter's other ``*_path`` fields.
CONTRACT_POSTS = tuple(
    f.name for f in fields(Adapter) if f.name.endswith("_path") and f.name not in CONTRACT_GETS
)


def implementation_slugs() -> list[str]:
    from sessionlab.checklist.config import find_implementations

    return [folder.name for folder in find_implementations(IMPLEMENTATION_ROOT)]


def contract_requests(adapter) -> tuple[list[bytes], list[int | None]]:
    """Hostile requests to every route the implementation declares, each paired (as for the
    registered apps) with the same request sent with no credential at all."""
    routes = [("GET", getattr(adapter, f)) for f in CONTRACT_GETS]
    routes += [("POST", getattr(adapter, f)) for f in CONTRACT_POSTS]
    names = [*COOKIE_NAMES, *([adapter.session_cookie] if adapter.session_cookie else [])]
    schemes = sorted({"Bearer", adapter.auth_scheme})
    raw, baseline = [], []
    for method, path in routes:
        if path is not None:
            add_route_requests(raw, baseline, method, path, names, schemes)
    return raw, baseline


@pytest.mark.parametrize("slug", implementation_slugs())
def test_every_implementation_withstands_hostile_requests(slug, tmp_path):
    """Every configuration of implementations/<slug>: hostile cookies and tokens, malformed
    forms, oversized heads and broken request lines get a 4xx (or no further than no credential
    at all), never a 5xx or a dropped connection, and the server still answers afterwards."""
    import asyncio

    from sessionlab.checklist.config import load_implementation
    from sessionlab.checklist.launcher import Deployment
    from sessionlab.lab.bench import Bench

    impl = load_implementation(IMPLEMENTATION_ROOT / slug)
    bench = Bench()
    failures, report, found = {}, {}, set()
    try:
        deployment, adapters = Deployment.alone(bench, impl)
        try:
            deployment.start()
        except Exception as error:  # refuse, do not pass: name what could not be started
            pytest.fail(f"{slug}: could not start it, so it was not tested:\n{error}")
        for config, adapter in zip(impl.configurations, adapters, strict=True):
            port = int(adapter.base_url.rsplit(":", 1)[1])
            raw, baseline = contract_requests(adapter)
            raw += malformed_requests()
            statuses = run_abusive_client(port, raw, tmp_path)
            after = run_abusive_client(
                port, [request_bytes("GET", adapter.protected_path)], tmp_path
            )
            problems = abuse_problems(raw, statuses, baseline)
            if statuses[0] is None or not 400 <= statuses[0] < 500:  # GET protected_path, bare
                problems.append(
                    f"not testable: GET {adapter.protected_path} without a credential answered "
                    f"{statuses[0]}, so no hostile credential can be judged against it"
                )
            if after[0] is None or after[0] >= 500:
                problems.append(f"stopped serving: GET {adapter.protected_path} -> {after[0]}")
            key = f"{slug}/{config}"
            text, _ = IMPLEMENTATION_FINDINGS.get(key, (None, None))
            expected_problems = [p for p in problems if text is not None and text in p]
            if expected_problems:
                found.add(key)
            problems = [p for p in problems if p not in expected_problems]
            if problems:
                failures[key] = problems
            report[key] = (len(statuses), sorted(set(statuses), key=str))
    finally:
        asyncio.run(bench.close())
    print(f"{slug}:", report)
    expected = {k for k in IMPLEMENTATION_FINDINGS if k.startswith(f"{slug}/")}
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())
    gone = expected - found
    assert not gone, f"listed as findings but no longer found (remove them): {sorted(gone)}"
    if expected:
        pytest.xfail("; ".join(sorted({IMPLEMENTATION_FINDINGS[k][1] for k in expected})))


def abuse_problems(raw, statuses, baseline) -> list[str]:
    """What the sweep's rules find wrong in one configuration's answers (empty: nothing)."""
    dropped = [raw[i][:80] for i, s in enumerate(statuses) if s is None]
    errors = [(s, raw[i][:80]) for i, s in enumerate(statuses) if s is not None and s >= 500]
    malformed = statuses[len(baseline) :]
    let_through = [
        (statuses[i], raw[i][:80])
        for i, anonymous in enumerate(baseline)
        if anonymous is not None
        and statuses[anonymous] is not None
        and 400 <= statuses[anonymous] < 500
        and statuses[i] is not None
        and not 400 <= statuses[i] < 500
    ]
    problems = []
    if dropped:
        problems.append(f"{len(dropped)} connections dropped, e.g. {dropped[:2]}")
    if errors:
        problems.append(f"{len(errors)} server errors, e.g. {errors[:2]}")
    if not all(s is not None and 400 <= s < 500 for s in malformed):
        problems.append(f"malformed requests answered {malformed}")
    if let_through:
        problems.append(f"hostile credentials got further than none: {let_through[:2]}")
    return problems
