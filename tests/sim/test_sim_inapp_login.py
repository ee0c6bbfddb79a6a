"""The in-app OAuth page (/connect/oauth2/authorize): state rule, consent and user_ticket."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oidc_bridge.wecom_sim import SimulatorServer

from .support import CALLBACK, SimClient, callback_params, links, page_errcode


@pytest.mark.parametrize("state", ["a-b", "has space", "x" * 129, "%3D"])
def test_a_state_outside_the_alphanumeric_rule_is_84025(wecom: SimClient, state: str) -> None:
    wecom.sim.auto_approve = "zhangsan"
    resp = wecom.oauth(state=state)
    assert resp.status_code == 200
    assert page_errcode(resp.text) == 84025


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=st.text(alphabet=st.characters(codec="utf-8"), max_size=140))
def test_any_state_is_either_echoed_exactly_or_refused_with_84025(wecom: SimClient, state: str) -> None:
    wecom.sim.auto_approve = "zhangsan"
    resp = wecom.oauth(state=state)
    if re.fullmatch(r"[a-zA-Z0-9]{0,128}", state):
        assert callback_params(resp)["state"] == state
    else:
        assert page_errcode(resp.text) == 84025


def test_snsapi_base_is_silent_and_gives_no_ticket(wecom: SimClient) -> None:
    params = wecom.login("zhangsan", flow="oauth", scope="snsapi_base")
    assert set(params) == {"code", "state"}
    answer = wecom.exchange(params["code"])
    assert answer == {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"}


def test_privateinfo_asks_consent_once_then_the_code_carries_a_ticket(wecom: SimClient) -> None:
    consent = wecom.open(links(wecom.oauth(scope="snsapi_privateinfo").text)["zhangsan"])
    assert consent.status_code == 200 and 'data-page="consent"' in consent.text
    resp = wecom.open(links(consent.text)["allow"])
    answer = wecom.exchange(callback_params(resp)["code"])
    assert answer["userid"] == "zhangsan"
    assert answer["user_ticket"] and answer["expires_in"] == 1800
    # Consent is remembered: the next login goes straight back with a code.
    again = wecom.open(links(wecom.oauth(scope="snsapi_privateinfo").text)["zhangsan"])
    assert again.status_code == 302 and "user_ticket" in wecom.exchange(callback_params(again)["code"])


def test_denying_consent_returns_state_without_code(wecom: SimClient) -> None:
    consent = wecom.open(links(wecom.oauth(scope="snsapi_privateinfo", state="s1").text)["zhangsan"])
    resp = wecom.open(links(consent.text)["deny"])
    assert resp.headers["Location"] == CALLBACK + "?state=s1"


def test_auto_approve_skips_consent(wecom: SimClient) -> None:
    answer = wecom.exchange(wecom.login("zhangsan", flow="oauth", scope="snsapi_privateinfo")["code"])
    assert "user_ticket" in answer


def test_privateinfo_without_agentid_acts_as_snsapi_base(wecom: SimClient) -> None:
    params = wecom.login("zhangsan", flow="oauth", scope="snsapi_privateinfo", agentid=False)
    assert "user_ticket" not in wecom.exchange(params["code"])


def test_outside_the_visible_range_in_app_gives_a_userid_but_no_ticket(wecom: SimClient) -> None:
    params = wecom.login("outsider", flow="oauth", scope="snsapi_privateinfo")
    assert wecom.exchange(params["code"]) == {"errcode": 0, "errmsg": "ok", "userid": "outsider"}


@pytest.mark.parametrize(
    ("change", "errcode"),
    [
        ({"appid": "wwother"}, 40013),
        ({"response_type": "token"}, 40058),
        ({"scope": "snsapi_userinfo"}, 40058),
    ],
)
def test_bad_oauth_parameters_show_an_error_page(
    wecom: SimClient, change: dict[str, str], errcode: int
) -> None:
    resp = wecom.open("/connect/oauth2/authorize", {**wecom.oauth_params(), **change})
    assert page_errcode(resp.text) == errcode


def test_a_redirect_outside_the_trusted_domain_is_50001(wecom: SimClient, sim: SimulatorServer) -> None:
    sim.directory.trusted_domain = "sso.example.com"
    assert page_errcode(wecom.oauth().text) == 50001
