"""The WeCom access token, one per app, shared by every worker through the store.

Calling gettoken per login is the classic failure of WeCom integrations (45009, frequency
blocking; Doc 91039). So the token lives at ``Keys.wecom_token(corp, agent)``; on a miss one
worker fetches it under a short lock and the others wait for it (single flight).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ...config.schema import WeComSettings
from ...errors import WeComError
from ...metrics import NO_METRICS, Recorder
from ...store.base import Keys, Store
from .errcodes import unreachable, wecom_error

log = logging.getLogger(__name__)

_FETCHING = "fetching:"
_FAILED = "failed:"


@dataclass(frozen=True)
class AccessToken:
    """What gettoken gave. ``value`` is a secret: kept out of repr, logs and error text."""

    value: str = field(repr=False)
    expires_in: int


class AccessTokenCache:
    """Single-flight, store-backed cache of the app's access token.

    A config failure of gettoken (40001 bad secret, 40013 bad corp...) is remembered in the lock
    key for ``failure_ttl`` so the other workers do not repeat it: WeCom bans an IP for an hour
    after repeated bad secrets (wecom-api.md §3).
    """

    def __init__(
        self,
        store: Store,
        settings: WeComSettings,
        fetch: Callable[[], AccessToken],
        *,
        margin: float = 300.0,
        lock_ttl: float = 10.0,
        wait: float = 5.0,
        failure_ttl: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        metrics: Recorder = NO_METRICS,
        memo_seconds: float = 60.0,
    ) -> None:
        self.metrics = metrics
        # A per-process copy for a minute saves a store read on every WeCom call. If another
        # worker replaced the token meanwhile, WeCom answers 40014 and invalidate() drops it here.
        self._memo: tuple[str, float] | None = None
        self._memo_seconds = memo_seconds
        self._store = store
        self._fetch = fetch
        self._key = Keys.wecom_token(settings.corp_id, settings.agent_id)
        self._lock = Keys.wecom_token_lock(settings.corp_id, settings.agent_id)
        self._margin = margin
        self._lock_ttl = lock_ttl
        self._wait = wait
        self._failure_ttl = failure_ttl
        self._sleep = sleep
        self._clock = clock

    def get(self) -> str:
        """The current token: from the store, or fetched by exactly one worker."""
        memo = self._memo
        if memo is not None and self._clock() < memo[1]:
            self.metrics.wecom_token_cache_hit()
            return memo[0]
        deadline = self._clock() + self._wait
        pause = 0.01
        while True:
            token = self._store.get(self._key)
            if token:
                self.metrics.wecom_token_cache_hit()
                return self._remember(token)
            owner = _FETCHING + secrets.token_hex(8)
            if self._store.set_if_absent(self._lock, owner, self._lock_ttl):
                return self._fetch_as_owner(owner)
            self._raise_if_failed(self._store.get(self._lock))
            if self._clock() >= deadline:
                raise unreachable(
                    "gettoken", "timed out waiting for another worker to fetch the access token"
                )
            self._sleep(pause)
            pause = min(pause * 2, 0.2)

    def invalidate(self, token: str) -> None:
        """Drop ``token`` after WeCom called it invalid (40014/42001), unless it was already replaced.

        Not atomic: a token replaced between the read and the delete costs one extra gettoken.
        """
        if self._memo is not None and self._memo[0] == token:
            self._memo = None
        if self._store.get(self._key) == token:
            self._store.delete(self._key)

    def _remember(self, token: str) -> str:
        self._memo = (token, self._clock() + self._memo_seconds)
        return token

    def _fetch_as_owner(self, owner: str) -> str:
        try:
            # Another worker may have stored a token between our read and taking the lock.
            token = self._store.get(self._key)
            if token:
                self.metrics.wecom_token_cache_hit()
                return self._remember(token)
            self.metrics.wecom_token_fetch()
            fetched = self._fetch()
            self._store.set(self._key, fetched.value, self._ttl(fetched.expires_in))
            log.info("wecom access token fetched", extra={"wecom_expires_in": fetched.expires_in})
            return self._remember(fetched.value)
        except WeComError as exc:
            if exc.category == "config" and exc.errcode is not None:
                self._store.set(self._lock, f"{_FAILED}{exc.errcode}", self._failure_ttl)
                owner = ""
            raise
        finally:
            if owner and self._store.get(self._lock) == owner:
                self._store.delete(self._lock)

    def _ttl(self, expires_in: int) -> float:
        ttl = expires_in - self._margin
        # A very short expiry (a simulator, or WeCom ending early) still gets cached briefly.
        return ttl if ttl > 0 else max(expires_in / 2, 1.0)

    @staticmethod
    def _raise_if_failed(lock_value: str | None) -> None:
        if lock_value and lock_value.startswith(_FAILED):
            errcode = int(lock_value.removeprefix(_FAILED))
            raise wecom_error("gettoken", errcode, "(remembered from a recent failed gettoken)")
