"""Chapter 41's own measurements, beside the checklist (``sessionlab.checklist``) that it runs:
the Redis commands each configuration spends per authenticated request."""

from __future__ import annotations

from sessionlab.checklist import Adapter, AdapterError
from sessionlab.checklist.items import logged_in

__all__ = ["redis_commands"]


def redis_commands(adapter: Adapter, redis_client, *, requests: int = 10) -> dict[str, float]:
    """Redis commands per authenticated ``GET`` of the protected page, by command name: the
    server's own counters (``INFO commandstats``) before and after ``requests`` of them by one
    logged-in client. A new connection's handshake (``HELLO``, ``CLIENT SETINFO``) is left out:
    it happens once per server thread, not per request. Nothing else may use this Redis
    meanwhile."""
    client = logged_in(adapter)
    before = redis_client.info("commandstats")
    for _ in range(requests):
        if not client.authenticated():
            raise AdapterError(f"{adapter.name}: the session ended while counting")
    after = redis_client.info("commandstats")
    counts = {}
    for key, stats in after.items():
        name = key.removeprefix("cmdstat_")
        calls = stats["calls"] - before.get(key, {"calls": 0})["calls"]
        if calls and name not in ("info", "hello", "client"):
            counts[name] = calls / requests
    return counts
