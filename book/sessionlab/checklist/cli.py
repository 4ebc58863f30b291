"""``python -m sessionlab.checklist``: the checklist against an app you run, from the command line.

    cd book && ../.venv/bin/python -m sessionlab.checklist --config app.toml
    cd book && ../.venv/bin/python -m sessionlab.checklist --implementation ../implementations/x

``--config`` reads a small TOML file naming the app's URL, its login, protected page, logout and
optional routes (``implementations/README.md`` lists every field); ``--implementation`` starts an
implementation folder's configurations itself and checks each. It prints one line per item
(status and evidence). Exit status: 0 when no item FAILs, 1 when one does, 2 when the
configuration is bad (the message names the field) or the app cannot be reached.

Only loopback URLs, unless ``--allow-remote``: the throttling items send password guesses (ten
in a row, then thirty at once) and the hostile-input items send malformed requests, which a
remote app's owner may count as an attack. Test only an app you own.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import urllib.parse
from pathlib import Path

from sessionlab.checklist.adapter import FAIL, Adapter, AdapterError, Result
from sessionlab.checklist.browser import engines
from sessionlab.checklist.config import ConfigError, load_app_config, load_implementation
from sessionlab.checklist.report import evidence_lines
from sessionlab.checklist.runner import run_checklist

OK, FAILED, BAD_CONFIG = 0, 1, 2
REMOTE_WARNING = (
    "warning: --allow-remote: the checklist will send {host} password guesses (ten in a row, "
    "then thirty at once, for the throttling items), malformed and hostile requests, and "
    "logins for the demo users. Run it only against an app you own."
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sessionlab.checklist",
        description="Run the session checklist against an app on loopback.",
    )
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--config", type=Path, help="app.toml: the app's URL and routes")
    target.add_argument(
        "--implementation", type=Path, help="an implementations/<slug> folder to start and check"
    )
    target.add_argument(
        "--write-expectations",
        action="store_true",
        help="run chapter 41's whole matrix and rewrite book/sessionlab/checklist/expected.toml",
    )
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback base_url (sends password guesses: only to an app you own)",
    )
    p.add_argument(
        "--browser",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run the browser items in Chromium and Firefox (default: the config's 'browser' field)",
    )
    return p


def print_results(name: str, rows: list[Result], out=None) -> None:
    out = out or sys.stdout
    width = max(len(r.status) for r in rows)
    print(f"== {name}", file=out)
    for r in rows:
        print(f"{r.status:<{width}}  {r.item}", file=out)
    evidence = evidence_lines({name: rows}, statuses=(FAIL, "PASS", "N/A"))
    print("-- evidence (configuration | item | evidence)", file=out)
    for line in evidence:
        print(line, file=out)


async def _run(adapters: list[Adapter], browser: bool, implementation=None):
    from sessionlab.lab.bench import Bench

    bench = Bench()
    try:
        if implementation is not None:
            from sessionlab.checklist.launcher import Deployment

            deployment, adapters = Deployment.alone(bench, implementation)
            deployment.start()
        browsers = await engines(bench) if browser else None
        return {a.name: await run_checklist(a, browser=browsers) for a in adapters}
    finally:
        await bench.close()


async def _write_expectations() -> Path:
    from sessionlab.checklist.report import write_expected
    from sessionlab.checklist.suite import run_suite
    from sessionlab.lab.bench import Bench
    from sessionlab.lab.servers import free_port

    bench = Bench()
    try:
        redis_port = free_port()
        redis_client = bench.redis(tcp_port=redis_port)
        browsers = await engines(bench)
        run = await run_suite(bench, browsers, redis_port=redis_port, redis_client=redis_client)
    finally:
        await bench.close()
    for line in evidence_lines(run.everything()):
        print(line)
    return write_expected(run.everything())


def main(argv: list[str] | None = None, out=None, err=None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    args = parser().parse_args(argv)
    if args.write_expectations:
        path = asyncio.run(_write_expectations())
        print(f"wrote {path}: review it with git diff", file=out)
        return OK
    try:
        if args.config is not None:
            config = load_app_config(args.config, allow_remote=args.allow_remote)
            adapters, implementation = [config.adapter], None
            browser = config.browser if args.browser is None else args.browser
            host = urllib.parse.urlsplit(config.adapter.base_url).hostname
            if args.allow_remote and host not in ("127.0.0.1", "localhost", "::1"):
                print(REMOTE_WARNING.format(host=host), file=err)
        else:
            implementation = load_implementation(args.implementation)
            adapters, browser = [], bool(args.browser)
    except ConfigError as error:
        print(f"config error: {error}", file=err)
        return BAD_CONFIG
    try:
        results = asyncio.run(_run(adapters, browser, implementation))
    except AdapterError as error:
        print(f"cannot run the checklist: {error}", file=err)
        return BAD_CONFIG
    except RuntimeError as error:  # a launch that failed (LaunchError) or no browser
        print(f"cannot run the checklist: {error}", file=err)
        return BAD_CONFIG
    failed = False
    for name, rows in results.items():
        print_results(name, rows, out)
        failed |= any(r.status == FAIL for r in rows)
    fails = sum(r.status == FAIL for rows in results.values() for r in rows)
    print(f"== {fails} FAIL", file=out)
    return FAILED if failed else OK
