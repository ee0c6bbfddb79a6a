"""One conformance suite every store passes (Dex, ``storage/conformance/``): in-process and Redis."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import pytest
import redis

from oidc_bridge.errors import StoreUnavailable
from oidc_bridge.store.base import Keys, Store, get_json, getdel_json, set_json
from oidc_bridge.store.redis_store import RedisStore

from ..own_redis import OwnRedis


@pytest.fixture(
    params=[
        "memory",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis_one_thread", marks=pytest.mark.redis),
    ]
)
def store(request: pytest.FixtureRequest) -> Store:
    return request.getfixturevalue(f"{request.param}_store")


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll instead of sleeping a guessed amount: expiry is checked without a timed assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def race(n: int, action: Callable[[], object]) -> list[object]:
    """Run ``action`` in n threads released together, and collect what each got."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = action()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not errors, errors
    return results


def test_a_value_set_can_be_read_back(store: Store) -> None:
    store.set("k", "v", 60)
    assert store.get("k") == "v"
    store.set("k", "v2", 60)
    assert store.get("k") == "v2"


def test_a_missing_key_reads_as_none(store: Store) -> None:
    assert store.get("nope") is None
    assert store.getdel("nope") is None
    assert store.ttl("nope") is None


@pytest.mark.parametrize("write", ["set", "set_if_absent", "set_json"])
def test_every_written_key_carries_its_ttl(store: Store, write: str) -> None:
    if write == "set_json":
        set_json(store, "k", {"a": 1}, 60)
    else:
        getattr(store, write)("k", "v", 60)
    ttl = store.ttl("k")
    assert ttl is not None
    assert 0 < ttl <= 60


def test_fractional_ttls_are_kept_to_the_millisecond(store: Store) -> None:
    store.set("k", "v", 1.5)
    ttl = store.ttl("k")
    assert ttl is not None
    assert 1.0 < ttl <= 1.5
    assert store.set_if_absent("short", "v", 0.25)
    short = store.ttl("short")
    assert short is not None
    assert 0 < short <= 0.25


def test_a_key_is_gone_after_its_ttl(store: Store) -> None:
    store.set("k", "v", 0.2)
    assert store.set_if_absent("nx", "v", 0.2)
    assert wait_until(lambda: store.get("k") is None and store.get("nx") is None)
    assert store.ttl("k") is None
    assert store.set_if_absent("nx", "again", 60), "an expired key can be created afresh"


@pytest.mark.parametrize("ttl", [0, -1, 0.0, -0.5, float("nan"), float("inf")])
def test_a_key_without_a_positive_finite_ttl_is_refused(store: Store, ttl: float) -> None:
    with pytest.raises(ValueError):
        store.set("k", "v", ttl)
    with pytest.raises(ValueError):
        store.set_if_absent("k", "v", ttl)
    assert store.get("k") is None


def test_a_sub_millisecond_ttl_is_rounded_up_not_refused(store: Store) -> None:
    store.set("k", "v", 0.0001)
    assert wait_until(lambda: store.get("k") is None)


def test_set_if_absent_succeeds_only_once(store: Store) -> None:
    assert store.set_if_absent("once", "first", 60) is True
    assert store.set_if_absent("once", "second", 60) is False
    assert store.get("once") == "first"


def test_set_if_absent_under_contention_has_exactly_one_winner(store: Store) -> None:
    results = race(20, lambda: store.set_if_absent("lock", threading.current_thread().name, 60))
    assert results.count(True) == 1
    assert results.count(False) == 19


def test_getdel_returns_the_value_once(store: Store) -> None:
    store.set("code", "grant", 60)
    assert store.getdel("code") == "grant"
    assert store.getdel("code") is None
    assert store.get("code") is None


def test_getdel_under_contention_gives_the_value_to_exactly_one_caller(store: Store) -> None:
    store.set("code", "grant", 60)
    results = race(20, lambda: store.getdel("code"))
    assert results.count("grant") == 1
    assert results.count(None) == 19


def test_delete_removes_several_keys_and_counts_them(store: Store) -> None:
    for k in ("a", "b", "c"):
        store.set(k, "v", 60)
    assert store.delete("a", "b", "missing") == 2
    assert store.get("a") is None
    assert store.get("b") is None
    assert store.get("c") == "v"
    assert store.delete() == 0


def test_non_ascii_values_round_trip(store: Store) -> None:
    value = "张三 · 企业微信 ✓ \U0001f600 \x00 end"
    store.set(Keys.user("zhangsan"), value, 60)
    assert store.get(Keys.user("zhangsan")) == value
    set_json(store, "j", {"name": "李四", "dept": ["研发部"]}, 60)
    assert get_json(store, "j") == {"name": "李四", "dept": ["研发部"]}
    assert getdel_json(store, "j") == {"name": "李四", "dept": ["研发部"]}
    assert store.getdel(Keys.user("zhangsan")) == value


def test_non_ascii_keys_work(store: Store) -> None:
    store.set(Keys.user("王五"), "v", 60)
    assert store.get(Keys.user("王五")) == "v"


def test_ping_answers_when_the_store_is_up(store: Store) -> None:
    store.ping()


@pytest.mark.redis
def test_stores_with_different_prefixes_on_one_redis_do_not_see_each_other(real_redis_url: str) -> None:
    admin = redis.Redis.from_url(real_redis_url, decode_responses=True)
    admin.flushdb()
    try:
        a = RedisStore.from_url(real_redis_url, prefix="bridge-a:")
        b = RedisStore.from_url(real_redis_url, prefix="bridge-b:")
        a.set("k", "from a", 60)
        assert b.get("k") is None
        assert b.set_if_absent("k", "from b", 60)
        assert a.get("k") == "from a"
        assert b.getdel("k") == "from b"
        assert a.get("k") == "from a"
        assert b.delete("k") == 0
        assert admin.get("bridge-a:k") == "from a", "the prefix is applied to the real key"
        assert admin.pttl("bridge-a:k") > 0
    finally:
        admin.flushdb()
        admin.close()


def test_in_process_stores_do_not_share_state() -> None:
    from oidc_bridge.store.memory_store import memory_store

    a, b = memory_store(), memory_store()
    a.set("k", "v", 60)
    assert b.get("k") is None


# --- an unreachable Redis -------------------------------------------------------------------------

STORE_CALLS: dict[str, Callable[[Store], object]] = {
    "get": lambda s: s.get("k"),
    "set": lambda s: s.set("k", "v", 60),
    "set_if_absent": lambda s: s.set_if_absent("k", "v", 60),
    "getdel": lambda s: s.getdel("k"),
    "delete": lambda s: s.delete("k", "l"),
    "ttl": lambda s: s.ttl("k"),
    "ping": lambda s: s.ping(),
}


@pytest.mark.parametrize("one_thread", [False, True])
@pytest.mark.parametrize("call", STORE_CALLS)
def test_an_unreachable_redis_raises_store_unavailable_not_a_redis_error(call: str, one_thread: bool) -> None:
    store = RedisStore.from_url("redis://127.0.0.1:1/0", pool_size=2, one_thread=one_thread)
    with pytest.raises(StoreUnavailable) as caught:
        STORE_CALLS[call](store)
    assert not isinstance(caught.value, redis.RedisError)


# --- a restarted Redis (the own_redis fixture is in tests/conftest.py) -----------------------------


@pytest.mark.parametrize("one_thread", [False, True])
def test_a_restarted_redis_is_used_again_by_the_same_store_object(
    own_redis: OwnRedis, one_thread: bool
) -> None:
    url = f"redis://127.0.0.1:{own_redis.port}/0"
    store = RedisStore.from_url(url, prefix="restart:", pool_size=2, one_thread=one_thread)
    store.set("k", "before", 60)
    assert store.get("k") == "before"

    own_redis.stop()
    for call in STORE_CALLS.values():
        with pytest.raises(StoreUnavailable):
            call(store)

    own_redis.start()
    store.ping()
    assert store.get("k") is None, "the restarted server kept nothing (no persistence)"
    store.set("k", "after", 60)
    assert store.get("k") == "after"
    assert store.getdel("k") == "after"


@pytest.mark.parametrize("one_thread", [False, True])
def test_a_redis_restart_between_two_requests_goes_unnoticed(own_redis: OwnRedis, one_thread: bool) -> None:
    url = f"redis://127.0.0.1:{own_redis.port}/0"
    store = RedisStore.from_url(url, prefix="restart:", pool_size=2, one_thread=one_thread)
    store.set("k", "before", 60)
    own_redis.stop()
    own_redis.start()
    assert store.get("k") is None, "the pooled connection to the old server is replaced, not reused"
    store.set("k", "after", 60)
    assert store.get("k") == "after"


def test_a_batch_sends_its_writes_together_when_it_ends(store: Store) -> None:
    with store.batch():
        store.set("a", "1", 60)
        with store.batch():  # joins the outer batch
            store.set("b", "2", 60)
        assert store.get("a") is None and store.get("b") is None, "nothing sent before the end"
    assert (store.get("a"), store.get("b")) == ("1", "2")
    assert 0 < (store.ttl("a") or 0) <= 60


def test_a_batch_that_raises_sends_nothing_and_the_next_write_goes_straight_out(store: Store) -> None:
    with pytest.raises(RuntimeError), store.batch():
        store.set("a", "1", 60)
        raise RuntimeError("the request failed half-way")
    assert store.get("a") is None
    store.set("c", "3", 60)
    assert store.get("c") == "3"


@pytest.mark.redis
def test_a_one_thread_store_keeps_one_connection_and_opens_its_own_after_a_fork(
    redis_one_thread_store: RedisStore,
) -> None:
    """A sync worker's commands share one connection; a forked worker never writes on its parent's."""
    store = redis_one_thread_store
    store.set("k", "v", 60)
    parent = store._client().client_id()
    for _ in range(5):
        with store.batch():
            store.set("b", "1", 60)
        assert store.get("k") == "v"
    assert store._client().client_id() == parent
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a gunicorn worker forked from the master that built the store
        try:
            ok = store.get("k") == "v" and store._client().client_id() != parent
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    assert store.get("k") == "v" and store._client().client_id() == parent
