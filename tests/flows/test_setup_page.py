"""The setup page and the WeCom-workbench entry, as an admin meets them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis
import requests

from oidc_bridge.app import create_app
from oidc_bridge.devserver import ServerThread
from oidc_bridge.store.redis_store import RedisStore
from oidc_bridge.wecom_sim import SimulatorServer

from .conftest import WEB, bridge_settings

TOKEN = "setup-token-0123456789"


@pytest.fixture
def bridge(sim: SimulatorServer, flows_redis: redis.Redis, tmp_path: Path) -> Iterator[str]:
    server = ServerThread()
    settings = bridge_settings(server.url, sim.base_url, sim.directory, tmp_path / "keys")
    clients = tuple(
        replace(c, initiate_login_uri="http://127.0.0.1:9/login/start") if c.client_id == WEB.client_id else c
        for c in settings.clients
    )
    settings = replace(settings, setup_token=TOKEN, clients=clients)
    server.start(
        create_app(settings, store=RedisStore.from_url(settings.redis_url or "", settings.store_prefix))
    )
    yield server.url
    server.stop()


def test_the_setup_page_needs_the_token(bridge: str) -> None:
    assert requests.get(bridge + "/setup", timeout=10).status_code == 401
    assert requests.get(bridge + "/setup", auth=("admin", "wrong"), timeout=10).status_code == 401


def test_the_setup_page_shows_the_console_values_checks_and_client_blocks_but_no_secret(
    bridge: str, sim: SimulatorServer
) -> None:
    page = requests.get(bridge + "/setup", auth=("admin", TOKEN), timeout=20)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = page.text
    assert "127.0.0.1:" in text and f"{bridge}/wecom/callback" in text
    assert f"{bridge}/.well-known/openid-configuration" in text
    assert "this machine&#39;s IP is trusted" in text or "this machine's IP is trusted" in text
    assert WEB.redirect_uri in text and f"{bridge}/start/{WEB.client_id}" in text
    assert WEB.client_secret not in text and sim.directory.secret not in text


def test_the_setup_page_shows_60020_with_the_ip_to_trust(bridge: str, sim: SimulatorServer) -> None:
    sim.directory.trusted_ips = ("198.51.100.7",)
    text = requests.get(bridge + "/setup", auth=("admin", TOKEN), timeout=20).text
    assert "60020" in text and "127.0.0.1" in text


def test_the_workbench_entry_sends_the_browser_to_the_clients_initiate_login_uri(bridge: str) -> None:
    entry = requests.get(f"{bridge}/start/{WEB.client_id}", allow_redirects=False, timeout=10)
    assert entry.status_code == 302
    assert entry.headers["Location"].startswith("http://127.0.0.1:9/login/start?iss=")
    assert requests.get(f"{bridge}/start/spa", allow_redirects=False, timeout=10).status_code == 404


def test_check_prints_the_app_homepage_for_in_app_entry(bridge: str) -> None:
    page = requests.get(bridge + "/setup", auth=("admin", TOKEN), timeout=20).text
    assert "App homepage" in page and f"{bridge}/start/{WEB.client_id}" in page


def test_wecom_domain_verification_files_are_served_at_the_root(
    sim: SimulatorServer, flows_redis, tmp_path
) -> None:
    server = ServerThread()
    settings = bridge_settings(server.url, sim.base_url, sim.directory, tmp_path / "keys")
    settings = replace(
        settings, wecom=replace(settings.wecom, verify_files={"WW_verify_abc123XYZ.txt": "abc123XYZ"})
    )
    server.start(
        create_app(settings, store=RedisStore.from_url(settings.redis_url or "", settings.store_prefix))
    )
    try:
        served = requests.get(server.url + "/WW_verify_abc123XYZ.txt", timeout=5)
        assert served.status_code == 200 and served.text == "abc123XYZ"
        assert served.headers["Content-Type"].startswith("text/plain")
        assert requests.get(server.url + "/WW_verify_other.txt", timeout=5).status_code == 404
    finally:
        server.stop()
