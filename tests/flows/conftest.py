"""The whole stack on loopback: the WeCom simulator, the bridge on the real Redis, an RP."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import redis

from oidc_bridge.app import create_app
from oidc_bridge.config.schema import ClientSettings, Settings, WeComSettings
from oidc_bridge.devserver import ServerThread
from oidc_bridge.store.redis_store import RedisStore
from oidc_bridge.wecom_sim import Directory, SimulatorServer

from .rp import Client, RelyingParty

# This package owns one db of the real Redis and flushes only it; a second checkout running
# the flows at the same time picks another with OIDC_BRIDGE_FLOWS_DB.
FLOWS_DB = int(os.environ.get("OIDC_BRIDGE_FLOWS_DB", "13"))
WEB = Client("webapp", "http://127.0.0.1:9/login/callback", "webapp-secret-0123456789")
SPA = Client("spa", "http://127.0.0.1:9/spa/callback")
PORTAL = Client("portal", "http://127.0.0.1:9/portal/callback", "portal-secret-0123456789")
POST_LOGOUT = "http://127.0.0.1:9/signed-out"


class LogoutReceiver:
    """A client's back-channel logout endpoint: records every logout_token POSTed to it."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.received = threading.Event()
        self.server = ServerThread().start(self._app)

    def _app(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = parse_qs(environ["wsgi.input"].read(length).decode())
        self.tokens.extend(body.get("logout_token", []))
        self.received.set()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]

    @property
    def url(self) -> str:
        return self.server.url + "/backchannel"


@dataclass
class Stack:
    sim: SimulatorServer
    issuer: str
    settings: Settings
    store: RedisStore
    receiver: LogoutReceiver

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


def bridge_settings(
    issuer: str,
    sim_url: str,
    corp: Directory,
    keys_dir: Path,
    backchannel: str = "http://127.0.0.1:9/bc",
    **wecom: object,
) -> Settings:
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
                WEB.client_id,
                (WEB.redirect_uri,),
                client_secret=WEB.client_secret,
                name="Web App",
                post_logout_redirect_uris=(POST_LOGOUT,),
            ),
            ClientSettings(SPA.client_id, (SPA.redirect_uri,), name="SPA"),
            ClientSettings(
                PORTAL.client_id,
                (PORTAL.redirect_uri,),
                client_secret=PORTAL.client_secret,
                name="Portal",
                backchannel_logout_uri=backchannel,
                refresh_tokens=True,
                access_token_lifetime=2,
            ),
        ),
        redis_url=f"redis://127.0.0.1:6379/{FLOWS_DB}",
        keys_dir=keys_dir,
        store_prefix=f"flows-{secrets.token_hex(4)}:",
    )


@pytest.fixture
def stack_with(
    sim: SimulatorServer, flows_redis: redis.Redis, tmp_path: Path
) -> Iterator[Callable[[Callable[[Settings], Settings]], Stack]]:
    """``stack_with(change)``: the stack, its settings passed through ``change`` first."""
    started: list[tuple[ServerThread, LogoutReceiver]] = []

    def start(change: Callable[[Settings], Settings]) -> Stack:
        server = ServerThread()
        receiver = LogoutReceiver()
        started.append((server, receiver))
        settings = change(
            bridge_settings(server.url, sim.base_url, sim.directory, tmp_path / "keys", receiver.url)
        )
        store = RedisStore.from_url(settings.redis_url or "", settings.store_prefix)
        server.start(create_app(settings, store=store))
        return Stack(sim, server.url, settings, store, receiver)

    yield start
    for server, receiver in started:
        server.stop()
        receiver.server.stop()


@pytest.fixture
def stack(stack_with: Callable[[Callable[[Settings], Settings]], Stack]) -> Stack:
    return stack_with(lambda settings: settings)


def with_client(settings: Settings, client_id: str, **changes: object) -> Settings:
    """The settings with one client's settings changed."""
    clients = tuple(replace(c, **changes) if c.client_id == client_id else c for c in settings.clients)
    return replace(settings, clients=clients)


def with_wecom(settings: Settings, **changes: object) -> Settings:
    return replace(settings, wecom=replace(settings.wecom, **changes))
