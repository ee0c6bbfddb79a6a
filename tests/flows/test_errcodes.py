"""Every WeCom errcode of wecom-api.md §4 through the simulator: the person's page, the
client's error and the admin's log line."""

from __future__ import annotations

import logging

import pytest

from oidc_bridge.connectors.wecom.errcodes import ERRCODES

from .conftest import Stack
from .rp import WECOM_UA, Browser
from .test_failures import _return_link, _stop_at_page

# wecom-api.md §4, the API answers (login-page errors like -31020 are shown by WeCom itself).
API_ERRCODES = (
    40001,
    40013,
    40029,
    40056,
    40091,
    42003,
    48002,
    50001,
    50002,
    50003,
    60011,
    60020,
    60111,
    80001,
)
CLIENT_ERROR = {
    "user": "access_denied",
    "config": "server_error",
    "transient": "temporarily_unavailable",
    "rate_limit": "temporarily_unavailable",
}
PAGE_STATUS = {"access_denied": 403, "server_error": 500, "temporarily_unavailable": 503}


def _expected(code: int) -> str:
    row = ERRCODES[code]
    return "access_denied" if row.refusal else CLIENT_ERROR[row.category]


@pytest.mark.parametrize("code", API_ERRCODES)
def test_each_errcode_gives_the_person_a_page_the_client_its_error_and_the_admin_a_hint(
    stack: Stack, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    stack.sim.faults.fail_next("/cgi-bin/auth/getuserinfo", code, times=3)
    with caplog.at_level(logging.INFO):
        page, _state = _stop_at_page(stack)
    error = _expected(code)
    assert page.status_code == PAGE_STATUS[error]
    assert _return_link(page)["error"] == [error]
    assert "<h1>You could not be signed in.</h1>" in page.text
    lines = [r.getMessage() for r in caplog.records]
    if ERRCODES[code].refusal:
        assert any(f"reason={ERRCODES[code].refusal}" in line for line in lines), lines
    else:
        hinted = [line for line in lines if f"errcode={code}" in line and "hint=" in line]
        assert hinted, lines
        if code == 60020:
            assert "127.0.0.1" in hinted[0], "the hint names the IP WeCom saw"


@pytest.mark.parametrize("code", [84014, 84015])
def test_an_expired_or_invalid_user_ticket_asks_to_sign_in_again(stack: Stack, code: int) -> None:
    stack.sim.faults.fail_next("/cgi-bin/auth/getuserdetail", code, times=3)
    _sess, url, _s = stack.rp().start(scope="openid email")
    page = Browser(WECOM_UA).go(url, "http://127.0.0.1:9/")
    assert not isinstance(page, str)
    assert "sign in again" in page.text.lower()
    assert _return_link(page)["error"] == ["access_denied"]


@pytest.mark.parametrize("code", [40014, 42001])
def test_a_token_wecom_ended_early_is_fetched_again_and_the_login_succeeds(stack: Stack, code: int) -> None:
    stack.sim.faults.fail_next("/cgi-bin/auth/getuserinfo", code, times=1)
    assert stack.rp().login(Browser()).id_claims["sub"] == "zhangsan"
    assert stack.sim.stats.gettoken_calls == 2


@pytest.mark.parametrize("code", [-1, 45009, 45033])
def test_busy_or_rate_limited_is_retried_once_then_temporarily_unavailable(stack: Stack, code: int) -> None:
    stack.sim.faults.fail_next("/cgi-bin/auth/getuserinfo", code, times=1)
    assert stack.rp().login(Browser()).id_claims["sub"] == "zhangsan"
    stack.sim.faults.fail_next("/cgi-bin/auth/getuserinfo", code, times=5)
    page, _state = _stop_at_page(stack)
    assert page.status_code == 503 and _return_link(page)["error"] == ["temporarily_unavailable"]
