"""The worker's Redis pool: capped at its threads (+1), and a busy pool makes threads wait, not fail."""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from oidc_bridge.errors import ConfigError
from oidc_bridge.store.factory import build_store
from oidc_bridge.store.redis_store import RedisStore
from oidc_bridge.threads import THREADS_ENV, redis_pool_size, worker_threads

pytestmark = pytest.mark.redis


def _connections_named(admin: redis.Redis, name: str) -> int:
    return sum(1 for c in admin.client_list() if c.get("name") == name)


def test_many_threads_share_a_small_pool_without_errors_and_never_open_more(real_redis_url: str) -> None:
    store = build_store(real_redis_url, f"pool-{secrets.token_hex(4)}:", pool_size=2)
    assert isinstance(store, RedisStore)
    name = f"pool-test-{secrets.token_hex(4)}"
    admin = redis.Redis.from_url(real_redis_url)
    peak = 0
    lock = threading.Lock()

    def work(i: int) -> str | None:
        nonlocal peak
        store._r.client_setname(name)  # every pooled connection that ever serves carries the name
        store.set(f"k{i}", str(i), 60)
        with lock:
            peak = max(peak, _connections_named(admin, name))
        return store.get(f"k{i}")

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(work, range(200)))
    assert results == [str(i) for i in range(200)]
    assert peak <= 2
    admin.close()


@pytest.mark.parametrize(("value", "threads"), [("", 1), ("4", 4), (" 8 ", 8)])
def test_threads_come_from_the_environment(value: str, threads: int) -> None:
    assert worker_threads({THREADS_ENV: value}) == threads
    assert redis_pool_size(threads) == threads + 1


@pytest.mark.parametrize("value", ["0", "-1", "abc", "65", "1.5"])
def test_a_bad_thread_count_is_one_line_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        worker_threads({THREADS_ENV: value})
    assert str(caught.value).startswith(f"environment: {THREADS_ENV}: must be a whole number from 1 to 64")
