"""The in-process store: fakeredis behind the same interface, for the demo and one process."""

from __future__ import annotations

import fakeredis

from .redis_store import RedisStore


def memory_store(prefix: str = "oidc-bridge:") -> RedisStore:
    """A store that lives and dies with this process; not shared between workers."""
    return RedisStore(fakeredis.FakeRedis(decode_responses=True), prefix)
