"""gettoken and the access-token / trusted-IP guard every other cgi-bin call passes through."""

from __future__ import annotations

import re

import pytest

from oidc_bridge.wecom_sim import SimulatorServer

from .support import SimClient


def test_gettoken_gives_a_long_token_valid_two_hours(wecom: SimClient) -> None:
    answer = wecom.gettoken()
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok"
    assert len(answer["access_token"]) >= 64
    assert answer["expires_in"] == 7200


@pytest.mark.parametrize(
    ("corpid", "secret", "errcode"),
    [("wwnotthiscorp", None, 40013), (None, "not-the-secret", 40001)],
)
def test_gettoken_refuses_wrong_credentials(
    wecom: SimClient, corpid: str | None, secret: str | None, errcode: int
) -> None:
    answer = wecom.gettoken(corpid=corpid, secret=secret)
    assert answer["errcode"] == errcode
    assert "access_token" not in answer


def test_gettoken_calls_are_counted(wecom: SimClient, sim: SimulatorServer) -> None:
    wecom.gettoken()
    wecom.gettoken(secret="wrong")
    assert sim.stats.gettoken_calls == 2
    assert sim.stats.calls["/cgi-bin/gettoken"] == 2


def test_gettoken_returns_the_same_token_while_it_is_valid(wecom: SimClient) -> None:
    assert wecom.token() == wecom.token()


def test_a_call_without_token_is_41001_and_an_unknown_token_40014(wecom: SimClient) -> None:
    assert wecom.api("/cgi-bin/user/get", token="", userid="zhangsan")["errcode"] == 41001
    assert wecom.api("/cgi-bin/user/get", token="made-up", userid="zhangsan")["errcode"] == 40014


def test_a_token_expires_after_7200_seconds_of_simulated_time(wecom: SimClient, sim: SimulatorServer) -> None:
    token = wecom.token()
    sim.advance(7199)
    assert wecom.api("/cgi-bin/user/get", token=token, userid="zhangsan")["errcode"] == 0
    sim.advance(2)
    assert wecom.api("/cgi-bin/user/get", token=token, userid="zhangsan")["errcode"] == 42001
    fresh = wecom.token()
    assert fresh != token
    assert wecom.api("/cgi-bin/user/get", token=fresh, userid="zhangsan")["errcode"] == 0


def test_expire_tokens_makes_issued_tokens_answer_42001_and_a_refetch_works(
    wecom: SimClient, sim: SimulatorServer
) -> None:
    token = wecom.token()
    sim.expire_tokens()
    assert wecom.api("/cgi-bin/department/simplelist", token=token)["errcode"] == 42001
    assert wecom.api("/cgi-bin/department/simplelist", token=wecom.token())["errcode"] == 0


def test_invalidate_tokens_makes_issued_tokens_answer_40014(wecom: SimClient, sim: SimulatorServer) -> None:
    token = wecom.token()
    sim.invalidate_tokens()
    assert wecom.api("/cgi-bin/department/simplelist", token=token)["errcode"] == 40014
    assert wecom.api("/cgi-bin/department/simplelist", token=wecom.token())["errcode"] == 0


def test_untrusted_ip_gets_60020_with_hint_and_from_ip_but_gettoken_still_works(
    wecom: SimClient, sim: SimulatorServer
) -> None:
    sim.directory.trusted_ips = ("203.0.113.5",)
    token = wecom.token()  # gettoken is not guarded by the trusted-IP list
    for path in ("/cgi-bin/user/get", "/cgi-bin/auth/getuserinfo", "/cgi-bin/department/simplelist"):
        answer = wecom.api(path, token=token, userid="zhangsan", code="x")
        assert answer["errcode"] == 60020
        assert re.fullmatch(
            r"not allow to access from your ip, hint: \[\d+\], from ip: 127\.0\.0\.1, "
            r"more info at https://open\.work\.weixin\.qq\.com/devtool/query\?e=60020",
            answer["errmsg"],
        )


def test_a_trusted_ip_passes(wecom: SimClient, sim: SimulatorServer) -> None:
    sim.directory.trusted_ips = ("203.0.113.5", "127.0.0.1")
    assert wecom.api("/cgi-bin/user/get", userid="zhangsan")["errcode"] == 0
