"""The Store over a redis-py client: real Redis, or fakeredis for the in-process default."""

from __future__ import annotations

import contextlib
import math
import os
import select
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

import redis
from redis.client import Pipeline
from redis.sentinel import Sentinel

from ..errors import StoreUnavailable
from ..metrics import NO_METRICS, Recorder

T = TypeVar("T")


class RedisStore:
    """Keys are prefixed; values are UTF-8 strings; TTLs are kept in milliseconds."""

    def __init__(
        self, client: redis.Redis, prefix: str = "oidc-bridge:", *, one_thread: bool = False
    ) -> None:
        self._r = client
        self._one_thread = one_thread
        self._own: tuple[int, redis.Redis] | None = None  # (process id, its single-connection client)
        self._prefix = prefix
        self._metrics: Recorder = NO_METRICS
        # The open batch of this thread or task, if any (``batch``).
        self._pending: ContextVar[Pipeline | None] = ContextVar(f"store-batch-{id(self)}", default=None)

    def count_errors_in(self, metrics: Recorder) -> None:
        """Report each unreachable-store failure to ``metrics`` (the app factory's)."""
        self._metrics = metrics

    @classmethod
    def from_url(
        cls, url: str, prefix: str = "oidc-bridge:", pool_size: int | None = None, *, one_thread: bool = False
    ) -> RedisStore:
        """``redis://``, ``rediss://`` (TLS), ``unix://``, or Sentinel:
        ``redis+sentinel://host:26379[,host2:26379]/service_name[/db]`` follows failovers.

        ``pool_size`` caps the connections (None: redis-py's own, unbounded pool); a thread
        finding them all busy waits for one, up to the socket timeout, rather than failing.
        ``one_thread``: the process serves one request at a time (``_client``).
        """
        if url.startswith("redis+sentinel://"):
            master = _sentinel_master(url, {**_CLIENT_OPTIONS, "max_connections": pool_size})
            return cls(master, prefix, one_thread=one_thread)
        if pool_size is None:
            return cls(redis.Redis.from_url(url, **_CLIENT_OPTIONS), prefix, one_thread=one_thread)
        pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=pool_size, timeout=_CLIENT_OPTIONS["socket_timeout"], **_CLIENT_OPTIONS
        )
        return cls(redis.Redis(connection_pool=pool), prefix, one_thread=one_thread)

    def _k(self, key: str) -> str:
        return self._prefix + key

    def _client(self) -> redis.Redis:
        """The client single commands go through. A worker serving one request at a time
        (gunicorn's sync worker) sends them over one connection of its own, opened in this
        process after the fork, without the pool's checkout and return around every command
        (a third of a GET's CPU); batches still take a connection from the pool. Other threads
        (there are none in a sync worker) stay correct: redis-py locks the connection per command."""
        if not self._one_thread:
            return self._r
        own, pid = self._own, os.getpid()
        if own is None or own[0] != pid:
            client = redis.Redis(connection_pool=self._r.connection_pool, single_connection_client=True)
            own = self._own = (pid, client)
        client = own[1]
        with client.single_connection_lock:  # another thread may be mid-command on it
            _drop_if_stale(client.connection)
        return client

    def _call(self, command: str, *args: Any, **kwargs: Any) -> Any:
        return self._run(lambda: getattr(self._client(), command)(*args, **kwargs))

    def _run(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self._metrics.store_error()
            raise StoreUnavailable(f"store unreachable: {type(exc).__name__}") from exc

    def get(self, key: str) -> str | None:
        return self._call("get", self._k(key))

    def set(self, key: str, value: str, ttl: float) -> None:
        pending = self._pending.get()
        if pending is not None:
            pending.set(self._k(key), value, px=_ms(ttl))
            return
        self._call("set", self._k(key), value, px=_ms(ttl))

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Every ``set`` in the block reaches Redis at its end, together: one round trip instead
        of one each. Reads in the block do not see those writes; a block that raises sends none.
        A batch inside a batch joins the outer one."""
        if self._pending.get() is not None:
            yield
            return
        pipeline = self._r.pipeline(transaction=False)
        token = self._pending.set(pipeline)
        try:
            yield
        finally:
            self._pending.reset(token)
        if len(pipeline):
            self._run(pipeline.execute)

    def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        return bool(self._call("set", self._k(key), value, px=_ms(ttl), nx=True))

    def getdel(self, key: str) -> str | None:
        return self._call("getdel", self._k(key))

    def delete(self, *keys: str) -> int:
        if not keys:
            return 0
        return int(self._call("delete", *(self._k(k) for k in keys)))

    def ttl(self, key: str) -> float | None:
        ms = self._call("pttl", self._k(key))
        return None if ms is None or ms < 0 else ms / 1000.0

    def ping(self) -> None:
        self._call("ping")


def _drop_if_stale(connection: Any) -> None:
    """The check redis-py's pool makes at every checkout: a connection the server closed (a Redis
    restart) or with an unread answer is dropped, and the next command opens a fresh one, so the
    command is never sent on a dead socket. Usually nothing is waiting: one select()."""
    sock = getattr(connection, "_sock", None)  # redis-py keeps the socket here; tests pin it
    if sock is None or not select.select([sock], [], [], 0)[0]:
        return
    # Something is waiting: an end of stream, an answer nobody read, or (rediss://) a TLS record
    # without data, such as a session ticket. redis-py's own check tells them apart.
    try:
        stale = connection.can_read(timeout=0)
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        stale = True
    if stale:
        connection.disconnect()


_CLIENT_OPTIONS: dict[str, Any] = {
    "decode_responses": True,
    "socket_connect_timeout": 2,
    "socket_timeout": 2,
    "health_check_interval": 30,
    "retry_on_timeout": False,
}


def _sentinel_master(url: str, options: dict[str, Any]) -> redis.Redis:
    """The current master of a Sentinel-monitored service; redis-py re-asks Sentinel on failover."""
    rest = url[len("redis+sentinel://") :]
    hosts, _, path = rest.partition("/")
    service, _, db = path.partition("/")
    if not hosts or not service:
        raise ValueError("redis+sentinel:// needs host:port[,host:port]/service_name[/db]")
    nodes = []
    for node in hosts.split(","):
        host, _, port = node.rpartition(":")
        nodes.append((host or node, int(port) if port.isdigit() else 26379))
    sentinel = Sentinel(nodes, socket_timeout=2, socket_connect_timeout=2)
    return sentinel.master_for(service, db=int(db or 0), **options)


def _ms(ttl: float) -> int:
    """Milliseconds for PX; a key that never expires (0, negative, NaN, inf) is refused."""
    if not math.isfinite(ttl) or ttl <= 0:
        raise ValueError("every key needs a positive, finite TTL")
    # round, not int(): int(1.001 * 1000) is 1000; and a positive TTL under 1 ms is 1 ms, not an error.
    return max(1, round(ttl * 1000))
