"""The whole stack on loopback: the WeCom simulator, the bridge on the real Redis, an RP."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import redis

from oidc_bridge.app import create_app
from oidc_bridge.config.schema import ClientSettings, Settings, WeComSettings
from oidc_bridge.devserver import ServerThread
from oidc_bridge.store.redis_store import RedisStore
from oidc_bridge.wecom_sim import Directory, SimulatorServer

from .rp import Client, RelyingParty

FLOWS_DB = 13
WEB = Client("webapp", "http://127.0.0.1:9/login/callback", "webapp-secret-0123456789")
SPA = Client("spa", "http://127.0.0.1:9/spa/callback")


@dataclass
class Stack:
    sim: SimulatorServer
    issuer: str
    settings: Settings
    store: RedisStore

    def rp(self, client: Client = WEB) -> RelyingParty:
        return RelyingParty(self.issuer, client)


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    server = SimulatorServer(Directory.sample())
    server.start()
    server.auto_approve = "zhangsan"
    yield server
    server.stop()


@pytest.fixture
def flows_redis() -> Iterator[redis.Redis]:
    client = redis.Redis(host="127.0.0.1", port=6379, db=FLOWS_DB, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def bridge_settings(issuer: str, sim_url: str, corp: Directory, keys_dir: Path, **wecom: object) -> Settings:
    return Settings(
        issuer=issuer,
        wecom=WeComSettings(
            corp_id=corp.corp_id,
            agent_id=corp.agent_id,
            secret=corp.secret,
            api_base=sim_url,
            oauth_base=sim_url,
            sso_base=sim_url,
            connect_timeout=1.0,
            read_timeout=1.5,
            **wecom,  # type: ignore[arg-type]
        ),
        clients=(
            ClientSettings(
                WEB.client_id, (WEB.redirect_uri,), client_secret=WEB.client_secret, name="Web App"
            ),
            ClientSettings(SPA.client_id, (SPA.redirect_uri,), name="SPA"),
        ),
        redis_url=f"redis://127.0.0.1:6379/{FLOWS_DB}",
        keys_dir=keys_dir,
        store_prefix=f"flows-{secrets.token_hex(4)}:",
    )


@pytest.fixture
def stack(sim: SimulatorServer, flows_redis: redis.Redis, tmp_path: Path) -> Iterator[Stack]:
    server = ServerThread()
    settings = bridge_settings(server.url, sim.base_url, sim.directory, tmp_path / "keys")
    store = RedisStore.from_url(settings.redis_url or "", settings.store_prefix)
    server.start(create_app(settings, store=store))
    yield Stack(sim, server.url, settings, store)
    server.stop()


def with_wecom(settings: Settings, **changes: object) -> Settings:
    return replace(settings, wecom=replace(settings.wecom, **changes))
