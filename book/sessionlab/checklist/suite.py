"""The run chapter 41 shows and ``make expectations`` stores: every configuration the launcher
knows (the built-in apps, then every ``implementations/`` folder), and the ablations that measure
which of a JWT's passes rest on server state (the same app with one server-side mechanism
switched off).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sessionlab.checklist.adapter import FAIL, PASS, Adapter, Result
from sessionlab.checklist.launcher import IMPLEMENTATIONS, Deployment
from sessionlab.checklist.runner import run_all

#: Ablations: (the configuration, a copy of it with one mechanism off, what was switched off).
ABLATED = "flask-jwt-extended recommended"


def builtin_configurations(apps: Deployment) -> list[Adapter]:
    """The apps chapter 41 ran before ``implementations/``, in the matrix's order."""
    return [
        apps.django(config="defaults", store="db"),
        apps.django(config="recommended", store="db"),
        apps.django(config="recommended", store="redis"),
        apps.flask(config="defaults", store="cookie"),
        apps.flask(config="defaults", store="redis"),
        apps.flask(config="recommended", store="redis"),
        apps.express(config="defaults"),
        apps.express(config="recommended"),
        apps.flask_jwt(config="defaults"),
        apps.flask_jwt(config="recommended"),
        apps.reference(),
        apps.book_jwt(deny_list=False),
        apps.book_jwt(deny_list=True),
    ]


@dataclass
class SuiteRun:
    """A run: the matrix's results, the ablations' results, and each configuration's family."""

    results: dict[str, list[Result]]
    ablations: dict[str, list[Result]]
    families: dict[str, str] = field(default_factory=dict)
    apps: Deployment | None = None  # the launcher, to start more configurations
    adapters: list[Adapter] = field(default_factory=list)

    def resting_on(self, base: str = ABLATED) -> dict[str, list[str]]:
        """For each mechanism switched off: the items ``base`` passes that then FAIL."""
        passed = {r.item for r in self.results[base] if r.status == PASS}
        found = {}
        for name, rows in self.ablations.items():
            mechanism = name.removeprefix(base + ", ").removesuffix(" off")
            found[mechanism] = [r.item for r in rows if r.item in passed and r.status == FAIL]
        return found

    def everything(self) -> dict[str, list[Result]]:
        return {**self.results, **self.ablations}


async def run_suite(
    bench, browser, *, redis_port: int, redis_client, root: Path = IMPLEMENTATIONS
) -> SuiteRun:
    """Start every configuration (and its short-timeout twin) at once, run the checklist on all
    side by side (the browser items in ``browser``), the ablations alongside; stop nothing (the
    bench does)."""
    apps = Deployment(bench, redis_client=redis_client, redis_port=redis_port)
    adapters = builtin_configurations(apps) + apps.implementations(root)
    ablations = [apps.flask_jwt(config="recommended", switch_off=m) for m in SWITCHED_OFF]
    families = {a.name: a.family for a in adapters}
    apps.start()
    found = await run_all(adapters, browser=browser, alongside=ablations)
    results = {a.name: found[a.name] for a in adapters}
    ablated = {a.name: found[a.name] for a in ablations}
    return SuiteRun(results, ablated, families, apps, adapters)


SWITCHED_OFF = ("blocklist", "user lookup")
