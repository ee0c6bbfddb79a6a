"""The browser web login page (/wwlogin/sso/login): validation, chooser, approve and cancel."""

from __future__ import annotations

import pytest

from oidc_bridge.wecom_sim import SimulatorServer

from .support import CALLBACK, SimClient, callback_params, links, page_errcode


def test_the_chooser_offers_visible_members_and_greys_out_the_rest(wecom: SimClient) -> None:
    resp = wecom.sso()
    assert resp.status_code == 200
    assert "企业微信 (simulated)" in resp.text
    assert "Sign in as 张三 (zhangsan)" in resp.text
    found = links(resp.text)
    assert {"zhangsan", "lisi", "cancel"} <= found.keys()
    assert "outsider" not in found  # shown, but without a link
    assert 'data-userid="outsider"' in resp.text


def test_choosing_a_person_returns_code_state_and_appid(wecom: SimClient, sim: SimulatorServer) -> None:
    approve = links(wecom.sso(state="abc123").text)["zhangsan"]
    assert approve.startswith("/_sim/approve?flow=sso&")
    resp = wecom.open(approve)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith(CALLBACK + "?code=")
    params = callback_params(resp)
    assert params["state"] == "abc123"
    assert params["appid"] == sim.directory.corp_id
    assert wecom.exchange(params["code"])["userid"] == "zhangsan"


def test_a_redirect_uri_with_a_query_gets_code_appended_with_ampersand(wecom: SimClient) -> None:
    resp = wecom.open(links(wecom.sso(redirect_uri=CALLBACK + "?next=1").text)["lisi"])
    assert resp.headers["Location"].startswith(CALLBACK + "?next=1&code=")


def test_cancel_returns_state_without_code(wecom: SimClient) -> None:
    resp = wecom.open(links(wecom.sso(state="abc123").text)["cancel"])
    assert resp.status_code == 302
    assert callback_params(resp) == {"state": "abc123"}


def test_web_login_never_yields_a_user_ticket(wecom: SimClient) -> None:
    answer = wecom.exchange(wecom.login("zhangsan")["code"])
    assert answer["userid"] == "zhangsan"
    assert "user_ticket" not in answer


def test_a_person_outside_the_visible_range_is_refused_on_the_page(wecom: SimClient) -> None:
    wecom.sim.auto_approve = "outsider"
    resp = wecom.sso()
    assert resp.status_code == 200
    assert page_errcode(resp.text) == 50002
    assert "Location" not in resp.headers


@pytest.mark.parametrize(
    ("change", "errcode"),
    [
        ({"login_type": "ServiceApp"}, -31040),
        ({"appid": "wwsomeoneelse"}, -31027),
        ({"agentid": "999"}, -31028),
        ({"redirect_uri": ""}, -31035),
    ],
)
def test_bad_login_parameters_show_an_error_page(
    wecom: SimClient, change: dict[str, str], errcode: int
) -> None:
    resp = wecom.open("/wwlogin/sso/login", {**wecom.sso_params(), **change})
    assert resp.status_code == 200
    assert page_errcode(resp.text) == errcode
    assert str(errcode) in resp.text


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://evil.example:5556/wecom/callback",
        "http://127.0.0.1:5557/wecom/callback",
        "http://127.0.0.1/cb",
    ],
)
def test_a_redirect_host_other_than_the_trusted_domain_is_31020(
    wecom: SimClient, sim: SimulatorServer, redirect_uri: str
) -> None:
    sim.directory.trusted_domain = "127.0.0.1:5556"
    resp = wecom.sso(redirect_uri=redirect_uri)
    assert page_errcode(resp.text) == -31020


def test_the_trusted_domain_with_its_port_is_accepted(wecom: SimClient, sim: SimulatorServer) -> None:
    sim.directory.trusted_domain = "127.0.0.1:5556"
    assert wecom.login("zhangsan")["code"]


def test_approve_links_are_validated_again(wecom: SimClient) -> None:
    params = {**wecom.sso_params(redirect_uri=""), "flow": "sso", "userid": "zhangsan"}
    assert page_errcode(wecom.open("/_sim/approve", params).text) == -31035
