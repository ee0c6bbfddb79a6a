"""The WeCom simulator over real HTTP, and settings pointing the bridge at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from oidc_bridge.config.schema import WeComSettings
from oidc_bridge.connectors.base import LoginContext
from oidc_bridge.connectors.wecom.connector import WeComConnector
from oidc_bridge.wecom_sim.directory import Directory
from oidc_bridge.wecom_sim.server import SimulatorServer

STATE = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
CALLBACK = "https://sso.example.com/wecom/callback"  # never contacted: tests read the 302's Location
WECOM_UA = "Mozilla/5.0 (Linux; Android 13) wxwork/4.1.38 MicroMessenger/7.0.1 NetType/WIFI"
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    server = SimulatorServer(Directory.sample()).start()
    try:
        yield server
    finally:
        server.stop()


def settings_for(sim: SimulatorServer, **overrides: object) -> WeComSettings:
    """Settings for the simulator's app, with short timeouts so a hung call ends a test quickly."""
    d = sim.directory
    values: dict[str, object] = {
        "corp_id": d.corp_id,
        "agent_id": d.agent_id,
        "secret": d.secret,
        "api_base": sim.base_url,
        "oauth_base": sim.base_url,
        "sso_base": sim.base_url,
        "connect_timeout": 1.0,
        "read_timeout": 0.5,
    }
    return WeComSettings(**{**values, **overrides})  # type: ignore[arg-type]


@pytest.fixture
def make_settings(sim: SimulatorServer) -> Callable[..., WeComSettings]:
    """``make_settings(secret="wrong")``: the simulator's settings with some values changed."""
    return lambda **overrides: settings_for(sim, **overrides)


@pytest.fixture
def sim_settings(sim: SimulatorServer) -> WeComSettings:
    return settings_for(sim)


SignIn = Callable[..., tuple[dict[str, str], dict[str, str]]]


@pytest.fixture
def sign_in(sim: SimulatorServer) -> SignIn:
    """``sign_in(connector, userid, ua=..., scopes=...)``: WeCom's callback params and connector_data."""
    return lambda connector, userid, ua=BROWSER_UA, scopes="openid": sign_in_at_wecom(
        sim, connector, userid, ua, scopes
    )


def sign_in_at_wecom(
    sim: SimulatorServer, connector: WeComConnector, userid: str, ua: str, scopes: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Open the login page the connector chose, as ``userid``, and read where WeCom sends the browser."""
    redirect = connector.login_url(LoginContext(STATE, CALLBACK, ua, frozenset(scopes.split())))
    sim.auto_approve = userid
    resp = requests.get(redirect.url, allow_redirects=False, timeout=5)
    assert resp.status_code == 302, resp.text[:500]
    location = resp.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    return dict(parse_qsl(urlsplit(location).query)), dict(redirect.connector_data)
