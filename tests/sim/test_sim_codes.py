"""Exchanging a login code: single use, five minutes, members versus non-members."""

from __future__ import annotations

from oidc_bridge.wecom_sim import SimulatorServer

from .support import SimClient


def test_a_code_gives_the_userid_once_and_a_second_exchange_is_40029(wecom: SimClient) -> None:
    code = wecom.login("zhangsan")["code"]
    first = wecom.exchange(code)
    assert first == {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"}
    assert wecom.exchange(code)["errcode"] == 40029


def test_an_unknown_code_is_40029_and_a_missing_one_41008(wecom: SimClient) -> None:
    assert wecom.exchange("not-a-code")["errcode"] == 40029
    assert wecom.api("/cgi-bin/auth/getuserinfo")["errcode"] == 41008


def test_a_code_expires_five_minutes_after_issue(wecom: SimClient, sim: SimulatorServer) -> None:
    fresh = wecom.login("zhangsan")["code"]
    stale = wecom.login("zhangsan")["code"]
    sim.advance(299)
    assert wecom.exchange(fresh)["userid"] == "zhangsan"
    sim.advance(2)
    assert wecom.exchange(stale)["errcode"] == 42003


def test_a_non_member_gets_openid_and_no_userid(wecom: SimClient) -> None:
    answer = wecom.exchange(wecom.login("guest")["code"])
    assert answer["errcode"] == 0
    assert answer["openid"] == "oSimGuest000000000000000001"
    assert answer["external_userid"].startswith("wm")
    assert "userid" not in answer


def test_disabled_and_departed_members_still_get_their_userid(wecom: SimClient) -> None:
    # WeCom answers the code; it is user/get's status that tells the bridge to refuse them.
    assert wecom.exchange(wecom.login("wangwu")["code"])["userid"] == "wangwu"
    assert wecom.exchange(wecom.login("zhaoliu")["code"])["userid"] == "zhaoliu"
