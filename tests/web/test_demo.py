"""The demo, walked through as a person would: sample app → simulated WeCom → claims."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from oidc_bridge.demo import Demo, build_demo


@pytest.fixture
def demo() -> Iterator[Demo]:
    running = build_demo(port=0)
    yield running
    running.stop()


def _choose(demo: Demo, userid: str) -> requests.Response:
    browser = requests.Session()
    home = browser.get(demo.client_url, timeout=10)
    assert "Sign in with WeCom" in home.text
    chooser = browser.get(demo.client.url + "/login", timeout=10)
    assert chooser.url.startswith(demo.sim.base_url), "the person lands on the simulated WeCom page"
    link = re.search(
        rf'href="([^"]+)"[^>]*data-userid="{userid}"|data-userid="{userid}"[^>]*href="([^"]+)"', chooser.text
    )
    assert link, "the chooser offers this person"
    href = (link.group(1) or link.group(2)).replace("&amp;", "&")
    return browser.get(requests.compat.urljoin(chooser.url, href), timeout=10)


def test_choosing_a_person_signs_in_and_shows_verified_claims(demo: Demo) -> None:
    result = _choose(demo, "zhangsan")
    assert result.status_code == 200
    assert "Signed in as 张三" in result.text
    assert "signature was verified" in result.text
    assert "zhangsan" in result.text and "研发部" in result.text


def test_a_disabled_person_sees_why_and_can_return_to_the_app(demo: Demo) -> None:
    page = _choose(demo, "wangwu")
    assert page.status_code == 403 and "disabled" in page.text
    back = re.search(r'href="([^"]+)"[^>]*>Return to Sample app', page.text)
    assert back
    landed = requests.get(back.group(1).replace("&amp;", "&"), timeout=10)
    assert landed.status_code == 200
