"""Redis restarted under a running bridge: a clear 503 while it is down, recovery on its own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests

from oidc_bridge.app import create_app
from oidc_bridge.devserver import ServerThread
from oidc_bridge.store.redis_store import RedisStore
from oidc_bridge.wecom_sim import SimulatorServer

from ..own_redis import OwnRedis
from .conftest import WEB, bridge_settings
from .rp import Browser, RelyingParty

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


def test_requests_get_503_while_redis_is_down_and_the_bridge_recovers(
    sim: SimulatorServer, own_redis: OwnRedis, tmp_path: Path
) -> None:
    server = ServerThread()
    settings = bridge_settings(server.url, sim.base_url, sim.directory, tmp_path / "keys")
    url = own_redis.url
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
