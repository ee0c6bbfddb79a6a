"""getuserdetail, user/get and the department calls: the fields the bridge builds claims from."""

from __future__ import annotations

from oidc_bridge.wecom_sim import SimulatorServer

from .support import SimClient

SENSITIVE = {"email", "mobile", "avatar", "gender", "biz_mail", "address", "qr_code"}


def _ticket(wecom: SimClient, userid: str) -> str:
    params = wecom.login(userid, flow="oauth", scope="snsapi_privateinfo")
    return wecom.exchange(params["code"])["user_ticket"]


def test_getuserdetail_gives_the_sensitive_fields_the_person_has(wecom: SimClient) -> None:
    detail = wecom.detail(_ticket(wecom, "zhangsan"))
    assert detail["errcode"] == 0
    assert detail["userid"] == "zhangsan"
    assert detail["gender"] == "1"  # a string, as WeCom sends it
    assert detail["email"] == "zhangsan@example.com"
    assert detail["mobile"] == "13800138000"
    assert detail["avatar"].startswith("https://")
    assert {"qr_code", "address"} <= detail.keys()


def test_getuserdetail_omits_fields_the_person_lacks(wecom: SimClient) -> None:
    detail = wecom.detail(_ticket(wecom, "lisi"))
    assert detail["biz_mail"] == "lisi@example.wecom.work"
    assert not {"email", "mobile", "avatar", "address", "qr_code"} & detail.keys()


def test_a_ticket_is_reusable_for_1800_seconds_then_84014(wecom: SimClient, sim: SimulatorServer) -> None:
    ticket = _ticket(wecom, "zhangsan")
    sim.advance(1799)
    assert wecom.detail(ticket)["errcode"] == 0
    assert wecom.detail(ticket)["errcode"] == 0
    sim.advance(2)
    assert wecom.detail(ticket)["errcode"] == 84014


def test_an_unknown_ticket_is_84015(wecom: SimClient) -> None:
    assert wecom.detail("forged")["errcode"] == 84015
    assert wecom.detail(None)["errcode"] == 84015


def test_user_get_reports_status_and_no_sensitive_fields_for_new_apps(wecom: SimClient) -> None:
    user = wecom.api("/cgi-bin/user/get", userid="zhangsan")
    assert user["name"] == "张三"
    assert user["department"] == [2] and user["main_department"] == 2
    assert user["status"] == 1
    assert not SENSITIVE & user.keys()
    assert wecom.api("/cgi-bin/user/get", userid="wangwu")["status"] == 2
    assert wecom.api("/cgi-bin/user/get", userid="zhaoliu")["status"] == 5


def test_user_get_of_a_legacy_app_includes_sensitive_fields(wecom: SimClient, sim: SimulatorServer) -> None:
    sim.directory.legacy_app = True
    user = wecom.api("/cgi-bin/user/get", userid="zhangsan")
    assert user["email"] == "zhangsan@example.com" and user["gender"] == "1"


def test_user_get_refuses_unknown_hidden_and_non_members(wecom: SimClient) -> None:
    assert wecom.api("/cgi-bin/user/get", userid="nobody")["errcode"] == 60111
    assert wecom.api("/cgi-bin/user/get", userid="guest")["errcode"] == 60111
    assert wecom.api("/cgi-bin/user/get", userid="outsider")["errcode"] == 60011
    assert wecom.api("/cgi-bin/user/get")["errcode"] == 41009


def test_a_change_in_the_directory_shows_on_the_next_call(wecom: SimClient, sim: SimulatorServer) -> None:
    user = sim.directory.user("zhangsan")
    assert user is not None
    user.status = 5
    assert wecom.api("/cgi-bin/user/get", userid="zhangsan")["status"] == 5


def test_department_list_and_its_subtree(wecom: SimClient) -> None:
    everything = wecom.api("/cgi-bin/department/list")["department"]
    assert [d["id"] for d in everything] == [1, 2, 3]
    assert everything[1] == {"id": 2, "name": "研发部", "name_en": "R&D", "parentid": 1, "order": 99999000}
    assert [d["id"] for d in wecom.api("/cgi-bin/department/list", id=1)["department"]] == [1, 2, 3]
    assert [d["id"] for d in wecom.api("/cgi-bin/department/list", id=3)["department"]] == [3]


def test_department_simplelist_and_get(wecom: SimClient) -> None:
    simple = wecom.api("/cgi-bin/department/simplelist")["department_id"]
    assert simple[0] == {"id": 1, "parentid": 0, "order": 100000000}
    assert wecom.api("/cgi-bin/department/get", id=3)["department"]["name"] == "销售部"


def test_an_unknown_department_is_60123(wecom: SimClient) -> None:
    assert wecom.api("/cgi-bin/department/get", id=99)["errcode"] == 60123
    assert wecom.api("/cgi-bin/department/list", id=99)["errcode"] == 60123
