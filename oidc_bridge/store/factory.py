"""Chooses the store from the settings."""

from __future__ import annotations

from .base import Store
from .memory_store import memory_store
from .redis_store import RedisStore


def build_store(
    redis_url: str | None, prefix: str, pool_size: int | None = None, *, one_thread: bool = False
) -> Store:
    """Redis when a URL is configured (at most ``pool_size`` connections; None: redis-py's
    default; ``one_thread``: for a process serving one request at a time), otherwise the
    in-process store."""
    if redis_url:
        return RedisStore.from_url(redis_url, prefix, pool_size, one_thread=one_thread)
    return memory_store(prefix)
