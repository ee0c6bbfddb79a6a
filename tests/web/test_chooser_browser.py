"""The WeCom-app chooser in Debian's chromium: a client open to two corps shows both, and the
chosen one's WeCom signs the person in (tests/flows/test_wecom_apps.py has the protocol side)."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.flows import conftest as flows
from tests.flows import test_wecom_apps as apps
from tests.flows.conftest import WEB
from tests.flows.rp import RelyingParty

from .test_pages_browser import Shots, _no_csp_violations, _styled, chromium, shots, tab

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.browser, pytest.mark.redis]
# Fixtures used by name below.
flows_redis, corps = flows.flows_redis, apps.corps
__all__ = ["chromium", "shots", "tab"]


def test_a_person_chooses_their_organization_and_signs_in_through_its_wecom(
    corps: apps.TwoCorps, tab: sync_api.Page, shots: Shots
) -> None:
    landed: list[str] = []

    def client_callback(route: sync_api.Route) -> None:
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/plain", body="the client got its code")

    tab.context.route(WEB.redirect_uri + "*", client_callback)
    _, url, _ = RelyingParty(corps.issuer, WEB).start("openid profile")
    response = tab.goto(url)
    assert response is not None and response.status == 200
    assert tab.locator("h1").inner_text() == "Sign in to Web App"
    buttons = tab.locator("ul.choices a.button")
    assert buttons.all_inner_texts() == ["Example HQ", "Example Factory"]
    assert _styled(tab)
    shots.take(tab, "10-choose-wecom-organization")

    buttons.nth(1).click()
    tab.wait_for_url(WEB.redirect_uri + "*")
    assert landed and "code" in parse_qs(urlsplit(landed[-1]).query)
    assert corps.factory.stats.calls.get("/wwlogin/sso/login") == 1
    assert corps.hq.stats.calls.get("/wwlogin/sso/login") is None
    _no_csp_violations(shots)


def test_the_setup_page_checks_and_lists_every_wecom_app(
    corps: apps.TwoCorps, tab: sync_api.Page, shots: Shots
) -> None:
    tab.context.set_extra_http_headers(
        {"Authorization": "Basic " + base64.b64encode(f"admin:{apps.SETUP_TOKEN}".encode()).decode()}
    )
    response = tab.goto(corps.issuer + "/setup")
    assert response is not None and response.status == 200
    text = tab.locator("main").inner_text()
    for corp, name in ((apps.HQ_CORP, "Example HQ"), (apps.FACTORY_CORP, "Example Factory")):
        assert f"{corp} / 1000002" in text
        assert "WeCom API of app" in text and name in text
    assert "WeCom apps:          Example Factory (factory)" in text  # the client pinned to the factory
    assert "✘" not in text, "both simulated corps trust this machine"
    assert _styled(tab)
    shots.take(tab, "11-setup-two-wecom-apps")
    _no_csp_violations(shots)
