"""form_post in a real browser: the auto-submit runs under a CSP that allows only its hash."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import pytest

from oidc_bridge.app import create_app
from oidc_bridge.config.schema import ClientSettings, Settings, WeComSettings
from oidc_bridge.devserver import ServerThread
from oidc_bridge.store.memory_store import memory_store
from oidc_bridge.wecom_sim import Directory, SimulatorServer

from .test_pages_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]
sync_api = pytest.importorskip("playwright.sync_api")


def _receiver(environ, start_response):
    """The client's redirect_uri: shows what the form posted."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    fields = parse_qs(environ["wsgi.input"].read(length).decode())
    body = "".join(f"<p id='{k}'>{v[0]}</p>" for k, v in fields.items())
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [f"<html><body><h1>{environ['REQUEST_METHOD']}</h1>{body}</body></html>".encode()]


@pytest.fixture
def bridge(tmp_path: Path) -> Iterator[tuple[str, str]]:
    sim = SimulatorServer(Directory.sample()).start()
    sim.auto_approve = "zhangsan"
    client_app = ServerThread().start(_receiver)
    server = ServerThread()
    d = sim.directory
    settings = Settings(
        issuer=server.url,
        wecom=WeComSettings(
            d.corp_id,
            d.agent_id,
            d.secret,
            api_base=sim.base_url,
            oauth_base=sim.base_url,
            sso_base=sim.base_url,
        ),
        clients=(ClientSettings("fp", (client_app.url + "/cb",), client_secret="fp-secret-0123456789"),),
        keys_dir=tmp_path / "keys",
    )
    server.start(create_app(settings, store=memory_store()))
    yield server.url, client_app.url + "/cb"
    server.stop()
    client_app.stop()
    sim.stop()


def test_the_form_post_page_submits_itself_to_the_client(bridge: tuple[str, str]) -> None:
    issuer, redirect_uri = bridge
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode(
        {
            "client_id": "fp",
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "openid",
            "state": "中文 state",
            "response_mode": "form_post",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    console: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("console", lambda msg: console.append(msg.text))
        page.goto(f"{issuer}/authorize?{query}")
        page.wait_for_url(redirect_uri)
        assert page.locator("h1").inner_text() == "POST"
        assert page.locator("#state").inner_text() == "中文 state"
        assert page.locator("#iss").inner_text() == issuer
        assert page.locator("#code").inner_text()
        browser.close()
    assert not [m for m in console if "Content Security Policy" in m], console
