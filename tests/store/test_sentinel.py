"""redis+sentinel:// URLs: the store finds the master through a real Sentinel."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from oidc_bridge.store.redis_store import RedisStore

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[int]:
    master, sentinel_port = _port(), _port()
    config = tmp_path / "sentinel.conf"
    config.write_text(f"port {sentinel_port}\nbind 127.0.0.1\nsentinel monitor bridge 127.0.0.1 {master} 1\n")
    procs = [
        subprocess.Popen(
            ["redis-server", "--port", str(master), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            ["redis-server", str(config), "--sentinel"], stdout=subprocess.DEVNULL, cwd=tmp_path
        ),
    ]
    try:
        _wait(master)
        _wait(sentinel_port)
        yield sentinel_port
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=10)


@pytest.mark.parametrize("one_thread", [False, True])
def test_a_sentinel_url_reaches_the_monitored_master(sentinel: int, one_thread: bool) -> None:
    url = f"redis+sentinel://127.0.0.1:{sentinel}/bridge/0"
    store = RedisStore.from_url(url, "sentinel-test:", 2, one_thread=one_thread)
    store.set("k", "值", 5)
    with store.batch():
        store.set("b", "1", 5)
    assert store.getdel("k") == "值" and store.get("b") == "1"
    store.ping()


def test_a_malformed_sentinel_url_is_refused() -> None:
    with pytest.raises(ValueError):
        RedisStore.from_url("redis+sentinel://127.0.0.1:26379")


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/bridge/2", True),
        ("redis+sentinel://10.0.0.1:26379/bridge", True),
        ("rediss://redis.example:6380/0", True),
        ("redis+sentinel://10.0.0.1:26379", False),
        ("http://redis.example", False),
    ],
)
def test_the_config_accepts_sentinel_and_tls_urls(url: str, ok: bool) -> None:
    from oidc_bridge.config.schema import Settings, WeComSettings
    from oidc_bridge.config.validate import problems

    settings = Settings(
        issuer="https://sso.example.com", wecom=WeComSettings("ww", "1", "s"), clients=(), redis_url=url
    )
    assert (not [p for p in problems(settings) if p.key == "redis_url"]) is ok
