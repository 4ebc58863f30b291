"""The checklist: drive any web app over real HTTP, and a real browser where the item is about
the browser, and report PASS / FAIL / N/A per item with its evidence.

Its parts, one module each: :mod:`~sessionlab.checklist.adapter` (how to talk to one app),
:mod:`~sessionlab.checklist.client` (the HTTP client: cookies or a bearer token),
:mod:`~sessionlab.checklist.items` (the items), :mod:`~sessionlab.checklist.browser` (the browser
runner), :mod:`~sessionlab.checklist.runner` (running them), :mod:`~sessionlab.checklist.report`
(matrix, expectation, figure), :mod:`~sessionlab.checklist.config` (the TOML files),
:mod:`~sessionlab.checklist.launcher` (starting the apps) and :mod:`~sessionlab.checklist.cli`
(``python -m sessionlab.checklist --config app.toml``).

It sits between ``sessionlab.recommended`` and ``sessionlab.chapters``: it may import the lab and
recommended (the apps it deploys), and chapters may import it.
"""

from sessionlab.checklist.adapter import (
    FAIL,
    NA,
    PASS,
    RACE_VICTIMS,
    USERS,
    Adapter,
    AdapterError,
    Result,
)
from sessionlab.checklist.browser import ENGINES, BrowserTab, engines
from sessionlab.checklist.client import Client, parse_set_cookie
from sessionlab.checklist.config import (
    ConfigError,
    Implementation,
    find_implementations,
    load_app_config,
    load_implementation,
)
from sessionlab.checklist.items import (
    ABSOLUTE,
    CHECKS,
    CONCURRENT,
    FIELDS,
    HOSTILE,
    IDLE,
    LOGIN_CSRF,
    PRIVILEGE,
    REMEMBER,
    REVOCATION,
    ROLE,
    STOLEN,
    THROTTLING,
    TIMING,
    TOSSING,
    session_id_of,
)
from sessionlab.checklist.launcher import Deployment, LaunchError
from sessionlab.checklist.report import differences, letters, load_expected, matrix, write_expected
from sessionlab.checklist.runner import run_all, run_checklist

__all__ = [
    "ABSOLUTE",
    "CHECKS",
    "CONCURRENT",
    "FAIL",
    "FIELDS",
    "HOSTILE",
    "IDLE",
    "LOGIN_CSRF",
    "NA",
    "PASS",
    "PRIVILEGE",
    "REMEMBER",
    "REVOCATION",
    "ROLE",
    "STOLEN",
    "THROTTLING",
    "TIMING",
    "TOSSING",
    "RACE_VICTIMS",
    "USERS",
    "Adapter",
    "AdapterError",
    "BrowserTab",
    "ENGINES",
    "engines",
    "Client",
    "ConfigError",
    "Deployment",
    "Implementation",
    "LaunchError",
    "Result",
    "differences",
    "find_implementations",
    "letters",
    "load_app_config",
    "load_expected",
    "load_implementation",
    "matrix",
    "parse_set_cookie",
    "run_all",
    "run_checklist",
    "session_id_of",
    "write_expected",
]
