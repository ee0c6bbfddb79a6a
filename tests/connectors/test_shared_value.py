"""The department tree and tag index: built once for every worker, read from this process's copy."""

from __future__ import annotations

from oidc_bridge.connectors.wecom.shared_value import MEMO_SECONDS, SharedValue
from oidc_bridge.store.base import Store


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_build_for_every_worker_and_no_store_read_while_the_copy_is_fresh(memory_store: Store) -> None:
    builds: list[int] = []

    def build() -> dict:
        builds.append(1)
        return {"n": len(builds)}

    clock = Clock()
    worker_a = SharedValue(memory_store, "k", 300, build, clock=clock)
    worker_b = SharedValue(memory_store, "k", 300, build, clock=clock)
    assert worker_a.get() == worker_b.get() == {"n": 1}, "b read what a built"
    memory_store.delete("k")
    assert worker_a.get() == {"n": 1}, "a fresh copy needs no store"
    clock.now += MEMO_SECONDS
    assert worker_a.get() == {"n": 2}, "after a minute the store is asked again (here: rebuilt)"
    assert len(builds) == 2


def test_a_short_cache_lifetime_also_bounds_the_copy(memory_store: Store) -> None:
    clock = Clock()
    builds: list[int] = []
    value = SharedValue(memory_store, "k", 5, lambda: builds.append(1) or {}, clock=clock)
    value.get()
    clock.now += 5
    memory_store.delete("k")
    value.get()
    assert len(builds) == 2


def test_zero_lifetime_builds_every_time_and_stores_nothing(memory_store: Store) -> None:
    builds: list[int] = []
    value = SharedValue(memory_store, "k", 0, lambda: builds.append(1) or {"x": 1})
    assert value.get() == value.get() == {"x": 1}
    assert len(builds) == 2 and memory_store.get("k") is None
