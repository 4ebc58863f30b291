"""The checklist's two TOML files, read and checked field by field.

``implementations/<slug>/checklist.toml`` says how the launcher starts an implementation and how
the checklist talks to each of its configurations (:func:`load_implementation`);
``app.toml`` points the command-line tool at an app the user runs (:func:`load_app_config`).
Both share the ``[adapter]`` table, whose keys are :class:`~sessionlab.checklist.adapter.Adapter`'s
fields. A bad file raises :class:`ConfigError`, whose message names the file and the field.

In both files an adapter path that is absent means the app has no such route (the item that
needs it then FAILs or is N/A, by its own rule), except ``login_path`` (default ``/login``),
``protected_path`` (``/me``) and ``csrf_path`` (``/csrf`` when ``csrf = "endpoint"``). A
configuration removes a path its ``[adapter]`` table set with ``path = ""``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sessionlab.checklist.adapter import FAMILIES, USERS, Adapter, AdapterError, is_loopback_url


class ConfigError(AdapterError):
    """A checklist TOML file is unreadable, or a field is unknown, missing or of the wrong type."""


#: The [adapter] table's keys and their TOML types.
ADAPTER_FIELDS: dict[str, type | tuple[type, ...]] = {
    "session_cookie": str,
    "csrf": str,
    "csrf_header": str,
    "csrf_path": str,
    "transport": str,
    "token_field": str,
    "auth_scheme": str,
    "send_origin": bool,
    "self_contained": bool,
    "login_path": str,
    "protected_path": str,
    "logout_path": str,
    "logout_everywhere_path": str,
    "state_change_path": str,
    "elevate_path": str,
    "password_path": str,
    "admin_end_sessions_path": str,
    "admin_disable_path": str,
    "admin_role_path": str,
    "remember_cookie": str,
    "extra_headers": dict,
}
DEFAULT_PATHS = {"login_path": "/login", "protected_path": "/me"}
TOP_FIELDS = {"name": str, "family": str, "library": str, "docs": list}
START_FIELDS = {
    "command": list,
    "needs_redis": bool,
    "ready_path": str,
    "ready_timeout": (int, float),
    "env": dict,
}
APP_FIELDS = {
    "name": str,
    "base_url": str,
    "short_timeouts_url": str,
    "family": str,
    "browser": bool,
    "adapter": dict,
    "users": dict,
}


def _type_name(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", bool: "true or false", list: "an array", dict: "a table"}
    names |= {int: "a number", float: "a number"}
    return " or ".join(dict.fromkeys(names[k] for k in kinds))


def check_table(source: str, prefix: str, table: Any, fields: dict, required=()) -> dict:
    """``table`` has only ``fields``' keys, each of its type, and every ``required`` key."""
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: {prefix or 'the file'} must be a table")
    for key, value in table.items():
        where = f"{prefix}.{key}" if prefix else key
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"{source}: unknown field {where!r} (known: {known})")
        kind = fields[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _tuple(kind)):
            raise ConfigError(
                f"{source}: field {where!r} must be {_type_name(kind)}, not {value!r}"
            )
    for key in required:
        if key not in table:
            raise ConfigError(f"{source}: missing field {prefix + '.' if prefix else ''}{key}")
    return table


def _tuple(kind) -> tuple:
    return kind if isinstance(kind, tuple) else (kind,)


def adapter_options(source: str, prefix: str, table: dict, base: dict | None = None) -> dict:
    """Adapter keyword arguments from an [adapter]-like table (on top of ``base``)."""
    check_table(source, prefix, table, ADAPTER_FIELDS)
    options = dict(base or {})
    for key, value in table.items():
        options[key] = None if value == "" and key.endswith("_path") else value
    return options


def complete(source: str, options: dict) -> dict:
    """Absent paths are routes the app lacks; the three defaults are filled in."""
    done = {key: None for key in ADAPTER_FIELDS if key.endswith("_path")}
    done.update(DEFAULT_PATHS)
    if options.get("csrf", "endpoint") == "endpoint":
        done["csrf_path"] = "/csrf"
    done.update(options)
    if done.get("session_cookie") is None and done.get("transport") != "bearer":
        raise ConfigError(
            f"{source}: missing field adapter.session_cookie (or transport = 'bearer')"
        )
    done.setdefault("session_cookie", None)
    return done


def _read(path: Path) -> dict:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None


def _family(source: str, value: str) -> str:
    if value not in FAMILIES:
        raise ConfigError(f"{source}: field 'family' must be one of {', '.join(FAMILIES)}")
    return value


@dataclass
class Implementation:
    """One ``implementations/<slug>/`` folder, read from its ``checklist.toml``."""

    folder: Path
    name: str
    family: str
    library: str
    docs: list[str]
    command: list[str]
    needs_redis: bool = False
    ready_path: str = "/me"
    ready_timeout: float = 120.0
    env: dict[str, str] = field(default_factory=dict)
    configurations: dict[str, dict] = field(default_factory=dict)  # name -> adapter options
    descriptions: dict[str, str] = field(default_factory=dict)
    families: dict[str, str] = field(default_factory=dict)  # a configuration's own family

    def configuration_name(self, configuration: str) -> str:
        """The matrix's column name: ``"<name> <configuration>"``."""
        return f"{self.name} {configuration}"


def load_implementation(folder: str | Path) -> Implementation:
    """Read and check ``folder/checklist.toml``; raises :class:`ConfigError` naming the field."""
    folder = Path(folder).resolve()
    path = folder / "checklist.toml"
    source = str(path)
    data = _read(path)
    fields = {**TOP_FIELDS, "start": dict, "adapter": dict, "configurations": dict}
    check_table(source, "", data, fields, required=("name", "family", "library", "start"))
    family = _family(source, data["family"])
    docs = data.get("docs", [])
    if not all(isinstance(url, str) for url in docs):
        raise ConfigError(f"{source}: field 'docs' must be an array of strings")
    start = check_table(source, "start", data["start"], START_FIELDS, required=("command",))
    command = start["command"]
    if not command or not all(isinstance(part, str) for part in command):
        raise ConfigError(f"{source}: field 'start.command' must be a non-empty array of strings")
    env = start.get("env", {})
    if not all(isinstance(value, str) for value in env.values()):
        raise ConfigError(f"{source}: field 'start.env' maps names to strings")
    base = adapter_options(source, "adapter", data.get("adapter", {}))
    configurations, descriptions, families = {}, {}, {}
    tables = data.get("configurations", {})
    if not tables:
        raise ConfigError(f"{source}: missing field configurations (at least one table)")
    for config, table in tables.items():
        prefix = f"configurations.{config}"
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: {prefix} must be a table")
        table = dict(table)
        description = table.pop("description", "")
        if not isinstance(description, str):
            raise ConfigError(f"{source}: field '{prefix}.description' must be a string")
        descriptions[config] = description
        if "family" in table:  # e.g. a server-side store beside the library's signed cookie
            families[config] = _family(f"{source}: {prefix}", table.pop("family"))
        options = complete(source, adapter_options(source, prefix, table, base))
        try:  # check now: a bad field fails at load time, not when the app is started
            own = families.get(config, family)
            Adapter(name=config, base_url="http://127.0.0.1:1", family=own, **options)
        except AdapterError as error:
            raise ConfigError(f"{source}: {prefix}: {error}") from None
        configurations[config] = options
    return Implementation(
        folder=folder,
        name=data["name"],
        family=family,
        library=data["library"],
        docs=docs,
        command=command,
        needs_redis=start.get("needs_redis", False),
        ready_path=start.get("ready_path", "/me"),
        ready_timeout=float(start.get("ready_timeout", 120.0)),
        env=env,
        configurations=configurations,
        descriptions=descriptions,
        families=families,
    )


def find_implementations(root: str | Path, *, include_examples: bool = False) -> list[Path]:
    """Every ``root/<slug>/`` holding a ``checklist.toml``, by slug; a slug starting with ``_``
    (an example for the tests) only with ``include_examples``."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(
        folder
        for folder in root.iterdir()
        if (folder / "checklist.toml").is_file()
        and (include_examples or not folder.name.startswith("_"))
    )


@dataclass
class AppConfig:
    """What ``python -m sessionlab.checklist --config app.toml`` reads."""

    adapter: Adapter
    browser: bool = False


def load_app_config(path: str | Path, *, allow_remote: bool = False) -> AppConfig:
    """Read and check an ``app.toml``; raises :class:`ConfigError` naming the field."""
    path = Path(path)
    source = str(path)
    data = check_table(source, "", _read(path), APP_FIELDS, required=("name", "base_url"))
    for key in ("base_url", "short_timeouts_url"):
        url = data.get(key)
        if url is None:
            continue
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{source}: field {key!r} must be an http:// URL, not {url!r}")
        if not is_loopback_url(url) and not allow_remote:
            raise ConfigError(
                f"{source}: field {key!r} is {url!r}, not http on loopback (127.0.0.1, "
                "localhost): pass --allow-remote to test a remote app you own"
            )
    users = dict(USERS)
    for name, value in data.get("users", {}).items():
        ok = isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)
        if not ok:
            raise ConfigError(f"{source}: field 'users.{name}' must be [password, role]")
        users[name] = tuple(value)
    family = _family(source, data["family"]) if "family" in data else ""
    options = complete(source, adapter_options(source, "adapter", data.get("adapter", {})))
    common = dict(name=data["name"], users=users, family=family, allow_remote=allow_remote)
    try:
        short = None
        if "short_timeouts_url" in data:
            short = Adapter(base_url=data["short_timeouts_url"], **common, **options)
        adapter = Adapter(base_url=data["base_url"], short_timeouts=short, **common, **options)
    except ConfigError:
        raise
    except AdapterError as error:
        raise ConfigError(f"{source}: {error}") from None
    return AppConfig(adapter, browser=data.get("browser", False))
