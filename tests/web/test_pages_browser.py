"""The pages in a real browser: Debian's chromium driven by Playwright, against the running demo.

Each step is screenshotted into a temporary folder (and copied to $DEMO_SHOTS_DIR when set) so a
person can look at what the pages really look like. Never ``playwright install``: the system
chromium is used, and the module is skipped without it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from oidc_bridge.demo import Demo, build_demo

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# bridge.css's page background: proof that the stylesheet loaded under the page's CSP.
STYLED_BACKGROUND = "rgb(243, 245, 247)"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]
sync_api = pytest.importorskip("playwright.sync_api")


@dataclass
class Shots:
    """Where screenshots go, and the console messages seen while taking them."""

    folder: Path
    copy_to: Path | None
    console: list[str] = field(default_factory=list)

    def take(self, page: sync_api.Page, name: str) -> Path:
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if self.copy_to is not None:
            self.copy_to.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, self.copy_to / path.name)
        return path


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    running = build_demo(port=0)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Shots:
    copy_to = os.environ.get("DEMO_SHOTS_DIR")
    return Shots(tmp_path, Path(copy_to) if copy_to else None)


@pytest.fixture
def tab(chromium: sync_api.Browser, shots: Shots) -> Iterator[sync_api.Page]:
    """A fresh browser context (no cookies), recording console messages and page errors."""
    context = chromium.new_context(viewport={"width": 1100, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.on("console", lambda msg: shots.console.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda err: shots.console.append(f"pageerror: {err}"))
    yield page
    context.close()


def _no_csp_violations(shots: Shots) -> None:
    violations = [m for m in shots.console if "Content Security Policy" in m]
    assert not violations, violations


def _styled(page: sync_api.Page) -> bool:
    return page.evaluate("getComputedStyle(document.body).backgroundColor") == STYLED_BACKGROUND


def test_a_person_clicks_through_a_whole_sign_in(demo: Demo, tab: sync_api.Page, shots: Shots) -> None:
    tab.goto(demo.client_url)
    assert tab.get_by_text("Sign in with WeCom (browser)").is_visible()
    assert _styled(tab)
    shots.take(tab, "01-sample-app-home")

    tab.click("[data-action=sign-in]")
    tab.wait_for_url(demo.sim.base_url + "/**")
    assert tab.locator("a[data-userid=zhangsan]").is_visible()
    shots.take(tab, "02-wecom-chooser")

    tab.click("a[data-userid=zhangsan]")
    tab.wait_for_url(demo.client.url + "/me")
    assert tab.locator("h1").inner_text() == "Signed in as 张三"
    assert tab.locator("tr[data-claim=sub] td.value").inner_text() == "zhangsan"
    assert "研发部" in tab.locator("tr[data-claim=groups]").inner_text()
    assert "RS256" in tab.locator("pre[data-section=header]").inner_text()
    assert '"name": "张三"' in tab.locator("pre[data-section=userinfo]").inner_text()
    assert _styled(tab)
    shots.take(tab, "03-sample-app-signed-in")
    _no_csp_violations(shots)


def test_a_disabled_person_reads_why_on_both_sides(demo: Demo, tab: sync_api.Page, shots: Shots) -> None:
    tab.goto(demo.client_url)
    tab.click("[data-action=sign-in]")
    tab.click("a[data-userid=wangwu]")
    tab.wait_for_url(demo.issuer + "/**")
    assert tab.locator("h1").inner_text() == "You could not be signed in."
    assert "disabled" in tab.locator("main").inner_text()
    assert _styled(tab)
    shots.take(tab, "04-bridge-disabled-person")

    tab.get_by_text("Return to Sample app").click()
    tab.wait_for_url(demo.client.url + "/callback**")
    assert tab.locator("h1").inner_text() == "Sign-in was refused or cancelled"
    assert tab.locator("[data-error=access_denied]").is_visible()
    shots.take(tab, "05-sample-app-access-denied")
    _no_csp_violations(shots)


def test_bridge_error_pages_are_readable(demo: Demo, tab: sync_api.Page, shots: Shots) -> None:
    response = tab.goto(
        demo.issuer + "/authorize?client_id=nobody&response_type=code&scope=openid"
        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&state=s"
    )
    assert response is not None and response.status == 400
    text = tab.locator("main").inner_text()
    assert "This application is not registered" in text and "Error id" in text
    assert _styled(tab)
    shots.take(tab, "06-bridge-unknown-client")

    response = tab.goto(demo.issuer + "/wecom/callback?code=x&state=not-a-valid-state")
    assert response is not None and response.status == 400
    assert tab.locator("h1").inner_text() == "This sign-in link is not valid."
    assert "start signing in again" in tab.locator("main").inner_text()
    assert _styled(tab)
    shots.take(tab, "07-bridge-callback-bad-state")
    _no_csp_violations(shots)


def test_the_sample_app_refuses_a_callback_it_did_not_start(
    demo: Demo, tab: sync_api.Page, shots: Shots
) -> None:
    response = tab.goto(demo.client.url + "/callback?code=stolen&state=forged")
    assert response is not None and response.status == 400
    assert tab.locator("h1").inner_text() == "This sign-in does not match"
    assert tab.get_by_text("Sign in again").is_visible()
    shots.take(tab, "08-sample-app-bad-state")
    _no_csp_violations(shots)


WECOM_PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
    "Chrome/116.0 Mobile Safari/537.36 wxwork/4.1.38 MicroMessenger/7.0.1 NetType/WIFI Language/zh"
)


def test_inside_the_wecom_app_the_in_app_page_is_used_and_fits_a_phone(
    demo: Demo, chromium: sync_api.Browser, shots: Shots
) -> None:
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, user_agent=WECOM_PHONE_UA, is_mobile=True, locale="zh-CN"
    )
    try:
        tab = context.new_page()
        tab.on("console", lambda msg: shots.console.append(f"{msg.type}: {msg.text}"))
        tab.goto(demo.client_url)
        tab.click("[data-action=sign-in]")
        tab.wait_for_url(demo.sim.base_url + "/connect/oauth2/authorize**")
        assert "Choose who is using the WeCom app" in tab.locator("main").inner_text()
        shots.take(tab, "09-wecom-in-app-chooser")

        tab.click("a[data-userid=zhangsan]")
        # Email and phone are asked for, so WeCom asks the person to consent (snsapi_privateinfo).
        allow = tab.locator("[data-action=allow]")
        assert allow.is_visible()
        shots.take(tab, "10-wecom-in-app-consent")

        allow.click()
        tab.wait_for_url(demo.client.url + "/me")
        assert tab.locator("h1").inner_text() == "Signed in as 张三"
        assert tab.locator("tr[data-claim=email] td.value").inner_text() == "zhangsan@example.com"
        fits = tab.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
        shots.take(tab, "11-sample-app-signed-in-phone")
        assert fits, "the result page scrolls sideways on a phone"
    finally:
        context.close()
    _no_csp_violations(shots)
