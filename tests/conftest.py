"""Fixtures shared across test folders: the two stores every store-backed test can run on."""

from __future__ import annotations

import io
import logging
import secrets
import shutil
from collections.abc import Iterator

import pytest
import redis

from oidc_bridge.observability import configure_logging, forget_secrets
from oidc_bridge.store.memory_store import memory_store as _memory_store
from oidc_bridge.store.redis_store import RedisStore

from .own_redis import OwnRedis, free_port

# The store tests own db 12 of the real Redis and flush only it.
STORE_TEST_DB = 12


@pytest.fixture(autouse=True, scope="module")
def _forget_logged_secrets() -> Iterator[None]:
    """Registered secrets are process-wide: one module's app (with a one-letter WeCom secret,
    say) must not go on redacting another module's log lines, letter by letter."""
    yield
    forget_secrets()


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The bridge's log handler, JSON lines at DEBUG, writing to a string; removed afterwards."""
    stream, root = io.StringIO(), logging.getLogger()
    level = root.level
    configure_logging("DEBUG", "json", stream=stream)
    yield stream
    for handler in [h for h in root.handlers if h.get_name() == "oidc-bridge"]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


@pytest.fixture(scope="session")
def real_redis_url() -> str:
    """The real Redis on 127.0.0.1:6379, db 12; tests marked ``redis`` skip when it is not running."""
    url = f"redis://127.0.0.1:6379/{STORE_TEST_DB}"
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("the real Redis on 127.0.0.1:6379 is not running")
    finally:
        client.close()
    return url


def _flushed_around(url: str, store: RedisStore) -> Iterator[RedisStore]:
    """``store``, with its db flushed before and after (the store opens no connection until used)."""
    admin = redis.Redis.from_url(url)
    admin.flushdb()
    try:
        yield store
    finally:
        admin.flushdb()
        admin.close()


@pytest.fixture
def redis_store(real_redis_url: str) -> Iterator[RedisStore]:
    """A RedisStore on db 12 under a unique prefix; the db is flushed before and after."""
    yield from _flushed_around(
        real_redis_url, RedisStore.from_url(real_redis_url, prefix=f"test-{secrets.token_hex(4)}:")
    )


@pytest.fixture
def redis_one_thread_store(real_redis_url: str) -> Iterator[RedisStore]:
    """As ``redis_store``, the way a sync gunicorn worker has it: its own connection per process."""
    yield from _flushed_around(
        real_redis_url,
        RedisStore.from_url(real_redis_url, f"test-{secrets.token_hex(4)}:", 2, one_thread=True),
    )


@pytest.fixture
def memory_store() -> RedisStore:
    """The in-process store (fakeredis), fresh for each test."""
    return _memory_store(prefix=f"test-{secrets.token_hex(4)}:")


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    """A redis-server this test may kill and restart."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not on PATH")
    server = OwnRedis(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
