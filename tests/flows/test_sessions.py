"""The SSO session: one WeCom login for several clients, and prompt / max_age honoured."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

from .conftest import PORTAL, WEB, Stack
from .rp import Browser


def _logins_at_wecom(stack: Stack) -> int:
    calls = stack.sim.stats.calls
    return calls.get("/wwlogin/sso/login", 0) + calls.get("/connect/oauth2/authorize", 0)


def test_a_second_client_signs_in_without_a_second_wecom_login(stack: Stack) -> None:
    browser = Browser()
    first = stack.rp(WEB).login(browser)
    second = stack.rp(PORTAL).login(browser, scope="openid profile")
    assert _logins_at_wecom(stack) == 1
    assert second.id_claims["sub"] == "zhangsan"
    assert second.id_claims["auth_time"] == first.id_claims["auth_time"]
    assert second.id_claims["sid"] == first.id_claims["sid"]


def test_the_session_cookie_is_httponly_and_lax(stack: Stack) -> None:
    browser = Browser()
    stack.rp(WEB).login(browser)
    cookie = next(c for c in browser.http.cookies if c.name.endswith("oidc_bridge_session"))
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite") == "Lax"
    assert not cookie.secure, "plain http is only allowed on loopback, where Secure cannot be set"


def test_prompt_none_answers_login_required_without_a_session_and_a_code_with_one(stack: Stack) -> None:
    rp = stack.rp(WEB)
    browser = Browser()
    _sess, url, secrets_ = rp.start(prompt="none")
    landed = browser.go(url, WEB.redirect_uri)
    query = parse_qs(urlsplit(landed).query)
    assert query["error"] == ["login_required"] and query["state"] == [secrets_["state"]]
    assert _logins_at_wecom(stack) == 0
    rp.login(browser)
    silent = rp.login(browser, prompt="none")
    assert silent.id_claims["sub"] == "zhangsan"
    assert _logins_at_wecom(stack) == 1


def test_prompt_login_and_an_exceeded_max_age_go_back_to_wecom(stack: Stack) -> None:
    rp = stack.rp(WEB)
    browser = Browser()
    first = rp.login(browser)
    rp.login(browser, prompt="login")
    assert _logins_at_wecom(stack) == 2
    time.sleep(1.1)  # let at least one whole second pass since auth_time
    again = rp.login(browser, max_age="0")
    assert _logins_at_wecom(stack) == 3
    assert again.id_claims["auth_time"] > first.id_claims["auth_time"]
    kept = rp.login(browser, max_age="3600")
    assert _logins_at_wecom(stack) == 3 and kept.id_claims["auth_time"] == again.id_claims["auth_time"]
