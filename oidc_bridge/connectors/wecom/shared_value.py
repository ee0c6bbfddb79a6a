"""A value built from WeCom's directory (the department tree, the tag index), shared by every
worker through the store and kept in each process for a short while.

Building costs WeCom calls, so one worker builds and stores it for ``department_cache_ttl``;
reading it from the store still costs a round trip and a JSON parse of the whole value per
login, which grows with the corp's size. So each process also keeps what it
read for at most a minute (like the access token, ``access_token.py``): a change in WeCom shows
after at most ``department_cache_ttl`` plus that minute.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ...store.base import Store, get_json, set_json

MEMO_SECONDS = 60.0


class SharedValue:
    """``get()``: this process's copy, else the store's, else ``build()`` (then stored)."""

    def __init__(
        self,
        store: Store,
        key: str,
        ttl: int,
        build: Callable[[], dict[str, Any]],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._key = key
        self._ttl = ttl
        self._build = build
        self._clock = clock
        self._memo: tuple[dict[str, Any], float] | None = None

    def get(self) -> dict[str, Any]:
        memo = self._memo
        if memo is not None and self._clock() < memo[1]:
            return memo[0]
        if self._ttl <= 0:  # department_cache_ttl = 0: no cache anywhere, built for every login
            return self._build()
        value = get_json(self._store, self._key)
        if not isinstance(value, dict):
            value = self._build()
            set_json(self._store, self._key, value, self._ttl)
        self._memo = (value, self._clock() + min(MEMO_SECONDS, self._ttl))
        return value
