"""The registry of every web app the book starts, so that the abuse sweep can reach them all.

A factory joins with :func:`registered_app`; the apps it builds carry its name.
:meth:`sessionlab.lab.bench.Bench.serve` refuses an app that does not, so an app a notebook
defines for itself cannot escape the sweep: it fails the chapter until it is registered.
Each registration names a ``sample``: a function of no arguments that yields ``(label, app)``
pairs, the configurations the abuse sweep attacks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Registration", "UnregisteredAppError", "registered_app", "registration_of", "registry"]

MARK = "sessionlab_app"


class UnregisteredAppError(ValueError):
    """An app was about to be served that no registered factory built."""


@dataclass(frozen=True)
class Registration:
    name: str
    factory: Callable[..., Any]
    sample: Callable[[], Iterable[tuple[str, Any]]]


_REGISTRY: dict[str, Registration] = {}


def registered_app(name: str, *, sample: Callable[[], Iterable[tuple[str, Any]]]):
    """Decorate an app factory: it joins the registry, and every app it returns is marked."""

    def decorate(factory):
        if name in _REGISTRY and _REGISTRY[name].factory.__qualname__ != factory.__qualname__:
            raise ValueError(f"two app factories are registered as {name!r}")

        @functools.wraps(factory)
        def build(*args, **kwargs):
            app = factory(*args, **kwargs)
            setattr(app, MARK, name)
            return app

        _REGISTRY[name] = Registration(name, build, sample)
        return build

    return decorate


def registration_of(app) -> Registration:
    """The registration of the factory that built ``app``; raises :class:`UnregisteredAppError`."""
    name = getattr(app, MARK, None)
    if name not in _REGISTRY:
        raise UnregisteredAppError(
            f"{app!r} was not built by a registered factory: decorate its factory with "
            "sessionlab.lab.registry.registered_app so the abuse sweep attacks it too"
        )
    return _REGISTRY[name]


def registry() -> dict[str, Registration]:
    """Every registered factory, after importing every module that registers one."""
    import importlib
    import pkgutil

    import sessionlab

    for module in pkgutil.walk_packages(sessionlab.__path__, "sessionlab."):
        if module.ispkg:
            continue
        origin = module.module_finder.find_spec(module.name.rpartition(".")[2]).origin
        # Only modules that register an app: some (Django's URL conf) import only once the
        # framework is configured, which the module that registers the app does first.
        if "registered_app(" in Path(origin).read_text(encoding="utf-8"):
            importlib.import_module(module.name)
    return dict(_REGISTRY)
