"""Redis restarted under a running bridge: a clear 503 while it is down, recovery on its own."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from oidc_bridge.app import create_app
from oidc_bridge.devserver import ServerThread
from oidc_bridge.store.redis_store import RedisStore
from oidc_bridge.wecom_sim import SimulatorServer

from .conftest import WEB, bridge_settings
from .rp import Browser, RelyingParty

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


class OwnRedis:
    """A redis-server of this test's own, on a fixed port, that can be killed and started again."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis()
    server.start()
    yield server
    server.stop()


def test_requests_get_503_while_redis_is_down_and_the_bridge_recovers(
    sim: SimulatorServer, own_redis: OwnRedis, tmp_path: Path
) -> None:
    server = ServerThread()
    settings = bridge_settings(server.url, sim.base_url, sim.directory, tmp_path / "keys")
    url = f"redis://127.0.0.1:{own_redis.port}/0"
    server.start(create_app(settings, store=RedisStore.from_url(url, settings.store_prefix)))
    try:
        rp = RelyingParty(server.url, WEB)
        assert rp.login(Browser()).id_claims["sub"] == "zhangsan"

        own_redis.stop()
        page = Browser().http.get(rp.start()[1], allow_redirects=False, timeout=10)
        assert page.status_code == 503 and "temporarily unavailable" in page.text
        token = requests.post(
            rp.meta["token_endpoint"],
            data={"grant_type": "authorization_code", "code": "x"},
            auth=(WEB.client_id, WEB.client_secret),
            timeout=10,
        )
        assert token.status_code == 503 and token.json()["error"] == "temporarily_unavailable"
        assert requests.get(server.url + "/readyz", timeout=10).status_code == 503
        assert requests.get(server.url + "/healthz", timeout=10).status_code == 200

        own_redis.start()  # empty: nothing was kept, as with a Redis that lost its data
        assert requests.get(server.url + "/readyz", timeout=10).status_code == 200
        assert rp.login(Browser()).id_claims["sub"] == "zhangsan"
    finally:
        server.stop()
