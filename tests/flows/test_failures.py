"""What a person and the client see when something goes wrong: never a code, never a 500 page."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from .conftest import WEB, Stack
from .rp import Browser


def _stop_at_page(stack: Stack, browser: Browser | None = None) -> tuple[requests.Response, str]:
    _sess, url, secrets_ = stack.rp().start()
    landed = (browser or Browser()).go(url, WEB.redirect_uri)
    assert not isinstance(landed, str), "expected a page, got a redirect to the client"
    return landed, secrets_["state"]


def _return_link(page: requests.Response) -> dict[str, list[str]]:
    match = re.search(r'href="([^"]+)"[^>]*>Return to', page.text)
    assert match, "the page offers no way back to the application"
    link = match.group(1).replace("&amp;", "&")
    assert link.startswith(WEB.redirect_uri)
    query = parse_qs(urlsplit(link).query)
    assert "code" not in query
    return query


@pytest.mark.parametrize(
    ("userid", "words"),
    [("wangwu", "disabled"), ("zhaoliu", "no longer"), ("guest", "member")],
)
def test_people_who_may_not_sign_in_see_why_and_the_client_gets_access_denied(
    stack: Stack, userid: str, words: str
) -> None:
    stack.sim.auto_approve = userid
    page, state = _stop_at_page(stack)
    assert page.status_code == 403
    assert words in page.text.lower()
    query = _return_link(page)
    assert query["error"] == ["access_denied"]
    assert query["state"] == [state]


def test_cancel_at_wecom_returns_access_denied_to_the_client(stack: Stack) -> None:
    stack.sim.auto_approve = None
    _sess, url, secrets_ = stack.rp().start()
    browser = Browser()
    login_page = browser.go(url, WEB.redirect_uri)
    assert not isinstance(login_page, str)
    cancel = re.search(r'href="([^"]*cancel[^"]*)"', login_page.text, re.IGNORECASE)
    assert cancel, "the simulated WeCom page has a cancel link"
    landed = browser.go(
        requests.compat.urljoin(login_page.url, cancel.group(1).replace("&amp;", "&")), WEB.redirect_uri
    )
    assert isinstance(landed, str), landed.text
    query = parse_qs(urlsplit(landed).query)
    assert query["error"] == ["access_denied"] and query["state"] == [secrets_["state"]]
    assert "code" not in query


def test_60020_tells_the_admin_which_ip_to_trust(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    stack.sim.directory.trusted_ips = ("203.0.113.9",)
    with caplog.at_level(logging.INFO):
        page, _state = _stop_at_page(stack)
    assert page.status_code >= 500
    assert "administrator" in page.text.lower()
    assert _return_link(page)["error"] == ["server_error"]
    assert any("60020" in r.getMessage() and "127.0.0.1" in r.getMessage() for r in caplog.records)


def test_an_expired_or_reused_wecom_code_asks_to_sign_in_again(stack: Stack) -> None:
    stack.sim.faults.fail_next("/cgi-bin/auth/getuserinfo", 40029)
    page, _state = _stop_at_page(stack)
    assert "sign in again" in page.text.lower()
    assert _return_link(page)["error"] == ["access_denied"]


def test_wecom_answering_500_is_temporarily_unavailable(stack: Stack) -> None:
    stack.sim.faults.http_error("/cgi-bin/auth/getuserinfo", 500, times=5)
    page, _state = _stop_at_page(stack)
    assert page.status_code == 503
    assert _return_link(page)["error"] == ["temporarily_unavailable"]


def test_a_hung_wecom_does_not_hold_the_login(stack: Stack) -> None:
    stack.sim.faults.delay("/cgi-bin/user/get", 5.0, times=5)
    page, _state = _stop_at_page(stack)
    assert page.status_code == 503
    assert _return_link(page)["error"] == ["temporarily_unavailable"]


def test_the_callback_completes_only_in_the_browser_that_started_it(stack: Stack) -> None:
    _sess, url, _s = stack.rp().start()
    starter = Browser()
    first = starter.http.get(url, allow_redirects=False, timeout=5)
    wecom_url = first.headers["Location"]
    # WeCom sends the code back; an attacker replays that callback in another browser.
    at_wecom = starter.http.get(wecom_url, allow_redirects=False, timeout=5)
    callback = at_wecom.headers["Location"]
    other = Browser().http.get(callback, allow_redirects=False, timeout=5)
    assert other.status_code == 400 and "Location" not in other.headers
    assert "different browser" in other.text


def test_reused_tampered_or_missing_state_is_a_readable_400(stack: Stack) -> None:
    _sess, url, _s = stack.rp().start()
    browser = Browser()
    wecom_url = browser.http.get(url, allow_redirects=False, timeout=5).headers["Location"]
    callback = browser.http.get(wecom_url, allow_redirects=False, timeout=5).headers["Location"]
    assert browser.http.get(callback, allow_redirects=False, timeout=5).status_code == 302
    reused = browser.http.get(callback, allow_redirects=False, timeout=5)
    assert reused.status_code == 400 and "already" in reused.text
    base = callback.split("?")[0]
    for query in ("?code=x&state=" + "A" * 32, "?code=x&state=../../etc", "?code=x", ""):
        response = browser.http.get(base + query, allow_redirects=False, timeout=5)
        assert response.status_code == 400, query
        assert "Location" not in response.headers
        assert "<h1>" in response.text


def test_unknown_client_and_unregistered_redirect_uri_never_redirect(stack: Stack) -> None:
    authorize = stack.rp().meta["authorization_endpoint"]
    for params in (
        {"client_id": "nobody", "redirect_uri": WEB.redirect_uri, "response_type": "code", "scope": "openid"},
        {
            "client_id": WEB.client_id,
            "redirect_uri": "https://evil.example/cb",
            "response_type": "code",
            "scope": "openid",
        },
    ):
        response = requests.get(authorize, params=params, allow_redirects=False, timeout=5)
        assert response.status_code == 400
        assert "Location" not in response.headers
        assert "text/html" in response.headers["Content-Type"]


def test_other_authorize_errors_redirect_with_state_and_iss(stack: Stack) -> None:
    authorize = stack.rp().meta["authorization_endpoint"]
    params = {
        "client_id": WEB.client_id,
        "redirect_uri": WEB.redirect_uri,
        "response_type": "code",
        "scope": "openid",
        "state": "s1",
        "code_challenge": "x" * 43,
        "code_challenge_method": "plain",
    }
    response = requests.get(authorize, params=params, allow_redirects=False, timeout=5)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert (
        query["error"] == ["invalid_request"] and query["state"] == ["s1"] and query["iss"] == [stack.issuer]
    )


def test_store_down_gives_a_clear_503_and_readyz_reports_it(stack: Stack, monkeypatch) -> None:
    assert requests.get(stack.issuer + "/readyz", timeout=5).status_code == 200
    from oidc_bridge.store.redis_store import RedisStore

    dead = RedisStore.from_url("redis://127.0.0.1:1/0")
    monkeypatch.setattr(stack.store, "_r", dead._r)
    authorize = Browser().http.get(stack.rp().start()[1], allow_redirects=False, timeout=5)
    assert authorize.status_code == 503 and "temporarily unavailable" in authorize.text
    assert requests.get(stack.issuer + "/readyz", timeout=5).status_code == 503
    assert requests.get(stack.issuer + "/healthz", timeout=5).status_code == 200
