"""Plumbing for the chapter "Claim: JWTs are easier to use": one feature suite over real HTTP,
the apps it runs against, the lines each app writes per feature, and Redis's command counters.

A :class:`Target` is one running app: how to make a client for it and how to change a user's
role in its users table (the stand-in for an administrator editing the database). The checks
know nothing else of the app.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask_login import user_logged_in

from sessionlab.recommended import webauth
from sessionlab.recommended.frameworks import flask_apps, flask_jwt_apps
from sessionlab.recommended.frameworks.common import DEMO_USERS
from sessionlab.recommended.webauth import CookieClient

__all__ = [
    "FEATURES",
    "FEATURE_CODE",
    "Target",
    "code_lines",
    "feature_lines",
    "flask_target",
    "jwt_target",
    "redis_commands_per_request",
    "run_suite",
]

ATTACKER_ORIGIN = "http://attacker.localhost"


@dataclass
class Target:
    """One running app under the suite."""

    name: str
    url: str
    csrf: str  # where CookieClient finds the CSRF token
    set_role: Callable[[str, str], None]
    app: object = None

    def client(self) -> CookieClient:
        return CookieClient(self.url, csrf=self.csrf)


def flask_target(bench, redis_client, *, config: str = "recommended") -> Target:
    """Flask-Session on Redis with Flask-Login and Flask-WTF, as chapter 41 configures it."""
    app = flask_apps.create_flask_app(config=config, store="redis", redis_client=redis_client)
    records = {}  # name -> the users-table row, handed over by Flask-Login at each login

    def keep(sender, user, **_):
        records[user.name] = user.record

    user_logged_in.connect(keep, app, weak=False)

    def set_role(name: str, role: str) -> None:
        records[name]["role"] = role

    return Target(
        f"Flask sessions ({config})", bench.serve(app).url, "endpoint:/csrf", set_role, app
    )


def jwt_target(bench, redis_client, config: str) -> Target:
    """flask-jwt-extended in cookies, its blocklist on Redis."""
    app = flask_jwt_apps.create_flask_jwt_app(config=config, redis_client=redis_client)
    users = app.extensions["flask_jwt_app"]["users"]
    csrf = "__Host-csrf_access_token" if config == "recommended" else "csrf_access_token"

    def set_role(name: str, role: str) -> None:
        users[name]["role"] = role

    name = f"flask-jwt-extended ({config})"
    return Target(name, bench.serve(app).url, f"cookie:{csrf}", set_role, app)


def logged_in(target: Target, user: str = "alice") -> CookieClient:
    client = target.client()
    if client.log_in(user, DEMO_USERS[user][0]).status_code != 200:
        raise RuntimeError(f"{target.name}: {user} cannot log in")
    return client


# --- the features: each check talks HTTP and returns whether the feature works ----------------


def check_log_in(target: Target) -> bool:
    anonymous = target.client().get("/me").status_code
    wrong = target.client().log_in("alice", "not the password").status_code
    page = logged_in(target).get("/me")
    return anonymous == 401 and wrong == 401 and page.json().get("user") == "alice"


def check_log_out(target: Target) -> bool:
    client = logged_in(target)
    response = client.post("/logout")
    return response.status_code == 200 and client.get("/me").status_code == 401


def check_log_out_everywhere(target: Target) -> bool:
    laptop, phone = logged_in(target), logged_in(target)
    laptop.post("/logout-everywhere")
    return phone.get("/me").status_code == 401


def check_role_change(target: Target) -> bool:
    """root is demoted in the users table; the next request must see it."""
    root = logged_in(target, "root")
    was_admin = root.get("/admin").status_code == 200
    target.set_role("root", "user")
    try:
        return was_admin and root.get("/admin").status_code == 403
    finally:
        target.set_role("root", "admin")


def check_csrf(target: Target) -> bool:
    """A cross-site POST with the victim's cookies but not the app's token is refused; the same
    POST from the app's own page, with the token, goes through."""
    victim = logged_in(target)
    form = {"to": "mallory", "amount": "1000"}
    cross_site = {"Origin": ATTACKER_ORIGIN, "Sec-Fetch-Site": "cross-site"}
    forged = victim.http.post(f"{target.url}/transfer", data=form, headers=cross_site)
    genuine = victim.post("/transfer", data=form)
    return 400 <= forged.status_code < 500 and genuine.status_code == 200


def check_replay_after_logout(target: Target) -> bool:
    """A copy of the credential taken before log-out (another tab, a thief) is refused after."""
    client = logged_in(target)
    copy = client.copy()
    worked = copy.get("/me").status_code == 200
    client.post("/logout")
    return worked and copy.get("/me").status_code == 401


FEATURES: dict[str, Callable[[Target], bool]] = {
    "log in": check_log_in,
    "log out": check_log_out,
    "log out everywhere": check_log_out_everywhere,
    "role change": check_role_change,
    "CSRF": check_csrf,
    "replay after logout": check_replay_after_logout,
}


def run_suite(target: Target) -> dict[str, bool]:
    return {feature: check(target) for feature, check in FEATURES.items()}


# --- the application's lines per feature -------------------------------------------------------


def _flask(*names: str) -> list[tuple[object, str]]:
    return [(flask_apps, n if "." in n else f"create_flask_app.{n}") for n in names]


def _jwt(*names: str) -> list[tuple[object, str]]:
    return [(flask_jwt_apps, n if "." in n else f"create_flask_jwt_app.{n}") for n in names]


#: flask-jwt-extended ships no store: the blocklist's methods are the app's to bring.
_STORE = [(webauth, f"RedisJtiStore.{name}") for name in ("add", "contains", "_ttl")]
#: The functions of each app's own source that implement a feature (module, dotted path through
#: the enclosing functions and classes). Not listed: settings, the pages the suite requests
#: (/me, /admin, /transfer) and the login hardening both sides share from frameworks/common.py.
#: ``None``: the configuration lacks the feature.
FEATURE_CODE = {
    "Flask sessions (recommended)": {
        "log in": _flask("login", "load_user", "user_object", "unauthorized", "_User.__init__")
        + [(flask_apps, "_new_session_id")],  # the session-fixation fix
        "log out": _flask("logout"),
        "log out everywhere": _flask(
            "logout_everywhere", "end_sessions", "load_user", "_User.get_id"
        ),
        "role change": _flask("load_user"),
        "CSRF": _flask("csrf"),
        "replay after logout": [],
    },
    "flask-jwt-extended (defaults)": {
        "log in": _jwt("login", "issue"),
        "log out": _jwt("logout", "forget"),
        "log out everywhere": None,
        "role change": None,
        "CSRF": [],
        "replay after logout": _jwt("token_revoked", "end_login") + _STORE,
    },
    "flask-jwt-extended (recommended)": {
        "log in": _jwt("login", "_add_recommended_parts.issue"),
        "log out": _jwt("logout", "forget"),
        "log out everywhere": _jwt(
            "logout_everywhere", "forget", "_add_recommended_parts.load_user"
        ),
        "role change": _jwt("role", "_add_recommended_parts.load_user"),
        "CSRF": [],
        "replay after logout": _jwt("token_revoked", "end_login") + _STORE,
    },
}


def _find(tree: ast.AST, dotted: str) -> ast.AST:
    node = tree
    for part in dotted.split("."):
        found = [
            child
            for child in ast.walk(node)
            if isinstance(child, ast.FunctionDef | ast.ClassDef) and child.name == part
        ]
        if not found:
            raise LookupError(f"no {part!r} on the way to {dotted!r}")
        node = found[0]
    return node


def _is_flag(test: ast.AST) -> bool:
    return isinstance(test, ast.Name) and test.id == "recommended"


def _other_configuration(node: ast.AST, config: str) -> set[int]:
    """Lines of ``node`` that exist only for the other configuration, and the headers of
    ``if recommended:`` / ``else:`` (a reader writing one configuration writes neither)."""
    dropped: set[int] = set()
    for branch in ast.walk(node):
        if not isinstance(branch, ast.If):
            continue
        test, body, orelse = branch.test, branch.body, branch.orelse
        negated = isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)
        if negated and _is_flag(test.operand):
            body, orelse = orelse, body
        if _is_flag(test) or (negated and _is_flag(test.operand)):
            kept, gone = (body, orelse) if config == "recommended" else (orelse, body)
            headers = set(range(branch.lineno, branch.end_lineno + 1))
            for statement in kept:  # everything but the kept statements
                headers -= set(range(statement.lineno, statement.end_lineno + 1))
            dropped |= headers
        elif isinstance(test, ast.BoolOp) and _is_flag(test.values[0]) and config != "recommended":
            dropped |= set(range(branch.lineno, branch.end_lineno + 1))  # `if recommended and`
    return dropped


def code_lines(module, dotted: str, config: str = "recommended") -> int:
    """Lines of code of one function in one configuration: from its first decorator to its end,
    without blank lines, comment-only lines, the docstring and the branches that belong to the
    other configuration (``if recommended:`` ... ``else:``)."""
    source = Path(inspect.getsourcefile(module)).read_text(encoding="utf-8")
    node = _find(ast.parse(source), dotted)
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    skipped = _other_configuration(node, config)
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        skipped |= set(range(body[0].lineno, body[0].end_lineno + 1))
    lines = source.splitlines()[first - 1 : node.end_lineno]
    return sum(
        1
        for number, line in enumerate(lines, start=first)
        if line.strip() and not line.strip().startswith("#") and number not in skipped
    )


def _config(app: str) -> str:
    return "recommended" if app.endswith("(recommended)") else "defaults"


def feature_lines() -> dict[str, dict[str, int | None]]:
    """App -> feature -> lines of code (``None``: the app lacks the feature)."""
    return {
        app: {
            feature: None
            if parts is None
            else sum(code_lines(m, d, _config(app)) for m, d in parts)
            for feature, parts in features.items()
        }
        for app, features in FEATURE_CODE.items()
    }


def total_lines(app: str) -> int:
    """The lines of every function the app lists, each counted once."""
    parts = {part for parts in FEATURE_CODE[app].values() if parts for part in parts}
    return sum(code_lines(m, d, _config(app)) for m, d in parts)


# --- what a request costs on the server -------------------------------------------------------


def redis_commands_per_request(
    redis_client, client: CookieClient, path: str = "/admin", n: int = 10
) -> dict[str, float]:
    """Redis commands per request to ``path``, from ``INFO commandstats`` (its own counters)."""

    def calls():
        stats = redis_client.info("commandstats")
        return {name.removeprefix("cmdstat_"): row["calls"] for name, row in stats.items()}

    before = calls()
    for _ in range(n):
        if client.get(path).status_code != 200:
            raise RuntimeError(f"{path} refused the client")
    after = calls()
    counted = {k: (after[k] - before.get(k, 0)) / n for k in after if k != "info"}
    return {k: int(v) if v.is_integer() else v for k, v in sorted(counted.items()) if v}
