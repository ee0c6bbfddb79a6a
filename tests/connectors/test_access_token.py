"""The shared WeCom access token: one gettoken for many workers, and no gettoken storms."""

from __future__ import annotations

import multiprocessing
import secrets
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from oidc_bridge.config.schema import WeComSettings
from oidc_bridge.connectors.wecom.access_token import AccessToken, AccessTokenCache
from oidc_bridge.connectors.wecom.errcodes import unreachable, wecom_error
from oidc_bridge.errors import WeComError
from oidc_bridge.store.base import Keys, Store
from oidc_bridge.store.memory_store import memory_store
from oidc_bridge.store.redis_store import RedisStore

SETTINGS = WeComSettings(corp_id="wwcorp", agent_id="1000002", secret="s3cret")
TOKEN_KEY = Keys.wecom_token("wwcorp", "1000002")
LOCK_KEY = Keys.wecom_token_lock("wwcorp", "1000002")
TOKEN_TEST_DB = 11  # this module owns db 11 of the real Redis and flushes only it


class CountingFetch:
    """A gettoken stand-in: counts calls, optionally slow or failing."""

    def __init__(self, pause: float = 0.0, fail: Callable[[], WeComError] | None = None) -> None:
        self.calls = 0
        self._pause = pause
        self._fail = fail
        self._lock = threading.Lock()

    def __call__(self) -> AccessToken:
        with self._lock:
            self.calls += 1
            n = self.calls
        time.sleep(self._pause)
        if self._fail is not None:
            raise self._fail()
        return AccessToken(f"token-{n}", 7200)


def run_threads(n: int, target: Callable[[], str]) -> list[str]:
    """Start n threads together and collect what each got."""
    barrier = threading.Barrier(n)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(target())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def test_twenty_workers_on_a_cold_cache_make_one_gettoken() -> None:
    store, fetch = memory_store(), CountingFetch(pause=0.2)
    tokens = run_threads(20, lambda: AccessTokenCache(store, SETTINGS, fetch).get())
    assert fetch.calls == 1
    assert tokens == ["token-1"] * 20


def test_token_is_cached_for_wecoms_expiry_minus_a_margin() -> None:
    store, fetch = memory_store(), CountingFetch()
    AccessTokenCache(store, SETTINGS, fetch, margin=300).get()
    ttl = store.ttl(TOKEN_KEY)
    assert ttl is not None
    assert 6800 < ttl <= 6900
    assert store.get(LOCK_KEY) is None  # the lock is released once the token is stored


def test_invalidate_drops_the_token_only_if_it_is_still_current() -> None:
    store, fetch = memory_store(), CountingFetch()
    cache = AccessTokenCache(store, SETTINGS, fetch)
    assert cache.get() == "token-1"
    cache.invalidate("some-older-token")
    assert cache.get() == "token-1"
    cache.invalidate("token-1")
    assert cache.get() == "token-2"
    assert fetch.calls == 2


def test_a_lock_left_by_a_dead_worker_expires_and_another_fetches() -> None:
    store, fetch = memory_store(), CountingFetch()
    store.set(LOCK_KEY, "fetching:dead-worker", 0.3)
    assert AccessTokenCache(store, SETTINGS, fetch).get() == "token-1"
    assert fetch.calls == 1


def test_waiting_for_a_stuck_worker_gives_up_as_transient() -> None:
    store, fetch = memory_store(), CountingFetch()
    store.set(LOCK_KEY, "fetching:stuck-worker", 600)
    now = [0.0]

    def fake_sleep(seconds: float) -> None:
        now[0] += seconds

    cache = AccessTokenCache(store, SETTINGS, fetch, wait=5, sleep=fake_sleep, clock=lambda: now[0])
    with pytest.raises(WeComError) as caught:
        cache.get()
    assert (caught.value.errcode, caught.value.category) == (None, "transient")
    assert fetch.calls == 0
    assert 5 <= now[0] < 6  # bounded: it polled for about `wait` seconds, then stopped


def test_a_bad_secret_is_remembered_so_other_workers_do_not_repeat_it() -> None:
    store = memory_store()
    fetch = CountingFetch(
        fail=lambda: wecom_error("gettoken", 40001, "invalid credential, from ip: 198.51.100.7")
    )
    with pytest.raises(WeComError) as first:
        AccessTokenCache(store, SETTINGS, fetch).get()
    assert first.value.errcode == 40001
    assert first.value.from_ip == "198.51.100.7"
    for _ in range(3):
        with pytest.raises(WeComError) as again:
            AccessTokenCache(store, SETTINGS, fetch).get()
        assert (again.value.errcode, again.value.category) == (40001, "config")
    assert fetch.calls == 1  # repeated bad secrets would get this IP banned for an hour


def test_bad_secret_under_concurrency_costs_one_gettoken() -> None:
    store = memory_store()
    fetch = CountingFetch(pause=0.2, fail=lambda: wecom_error("gettoken", 40001))
    errors: list[int | None] = []

    def attempt() -> str:
        try:
            return AccessTokenCache(store, SETTINGS, fetch).get()
        except WeComError as exc:
            errors.append(exc.errcode)
            return "failed"

    assert run_threads(10, attempt) == ["failed"] * 10
    assert errors == [40001] * 10
    assert fetch.calls == 1


def test_a_transient_failure_is_not_remembered() -> None:
    store = memory_store()
    failing = CountingFetch(fail=lambda: unreachable("gettoken", "timed out"))
    with pytest.raises(WeComError):
        AccessTokenCache(store, SETTINGS, failing).get()
    assert store.get(LOCK_KEY) is None
    assert AccessTokenCache(store, SETTINGS, CountingFetch()).get() == "token-1"


def test_a_short_wecom_expiry_is_still_cached() -> None:
    store = memory_store()
    AccessTokenCache(store, SETTINGS, lambda: AccessToken("short", 120)).get()
    ttl = store.ttl(TOKEN_KEY)
    assert ttl is not None
    assert 0 < ttl <= 60


def test_the_token_value_stays_out_of_repr() -> None:
    assert "sekrit" not in repr(AccessToken("sekrit", 7200))


# -- across processes, on the real Redis --------------------------------------------------------


@pytest.fixture
def token_redis_url() -> Iterator[str]:
    url = f"redis://127.0.0.1:6379/{TOKEN_TEST_DB}"
    admin = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        admin.ping()
    except redis.ConnectionError:
        pytest.skip("the real Redis on 127.0.0.1:6379 is not running")
    admin.flushdb()
    try:
        yield url
    finally:
        admin.flushdb()
        admin.close()


def _process_worker(url: str, prefix: str, threads: int, calls, start) -> None:  # type: ignore[no-untyped-def]
    """One bridge worker process: `threads` requests, each with a fresh cache on its own connection."""

    def fetch() -> AccessToken:
        with calls.get_lock():
            calls.value += 1
        time.sleep(0.3)
        return AccessToken("shared-token", 7200)

    def request() -> str:
        store: Store = RedisStore.from_url(url, prefix)
        return AccessTokenCache(store, SETTINGS, fetch).get()

    start.wait()
    assert run_threads(threads, request) == ["shared-token"] * threads


@pytest.mark.redis
def test_four_processes_of_five_threads_make_one_gettoken_through_redis(token_redis_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    calls = ctx.Value("i", 0)
    start = ctx.Barrier(4)
    prefix = f"test-{secrets.token_hex(4)}:"
    procs = [
        ctx.Process(target=_process_worker, args=(token_redis_url, prefix, 5, calls, start)) for _ in range(4)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert calls.value == 1
    store = RedisStore.from_url(token_redis_url, prefix)
    assert store.get(TOKEN_KEY) == "shared-token"
