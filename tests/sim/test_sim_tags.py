"""tag/list and tag/get (Doc 90216, 90213): what the bridge inverts into "the tags of a person"."""

from __future__ import annotations

from oidc_bridge.wecom_sim import SimTag, SimulatorServer

from .support import SimClient


def test_tag_list_gives_ids_and_names(wecom: SimClient) -> None:
    answer = wecom.api("/cgi-bin/tag/list")
    assert answer["errcode"] == 0
    assert answer["taglist"] == [{"tagid": 1, "tagname": "财务审批"}, {"tagid": 2, "tagname": "研发全员"}]


def test_tag_get_gives_people_and_departments(wecom: SimClient) -> None:
    people = wecom.api("/cgi-bin/tag/get", tagid=1)
    assert people["errcode"] == 0 and people["tagname"] == "财务审批"
    assert people["userlist"] == [{"userid": "lisi", "name": "李四"}] and people["partylist"] == []
    departments = wecom.api("/cgi-bin/tag/get", tagid=2)
    assert departments["userlist"] == [] and departments["partylist"] == [2]


def test_tag_get_lists_members_only(wecom: SimClient, sim: SimulatorServer) -> None:
    sim.directory.tags.append(SimTag(7, "混合", userids=("zhangsan", "guest", "nobody")))
    assert wecom.api("/cgi-bin/tag/get", tagid=7)["userlist"] == [{"userid": "zhangsan", "name": "张三"}]


def test_an_unknown_or_malformed_tagid_is_40068_and_a_missing_one_41017(wecom: SimClient) -> None:
    assert wecom.api("/cgi-bin/tag/get", tagid=99)["errcode"] == 40068
    assert wecom.api("/cgi-bin/tag/get", tagid="abc")["errcode"] == 40068
    assert wecom.api("/cgi-bin/tag/get")["errcode"] == 41017


def test_tag_calls_are_guarded_and_counted_like_the_others(wecom: SimClient, sim: SimulatorServer) -> None:
    assert wecom.api("/cgi-bin/tag/list", token="made-up")["errcode"] == 40014
    assert wecom.api("/cgi-bin/tag/get", token="", tagid=1)["errcode"] == 41001
    sim.directory.trusted_ips = ("203.0.113.5",)
    assert wecom.api("/cgi-bin/tag/list")["errcode"] == 60020
    assert wecom.api("/cgi-bin/tag/get", tagid=1)["errcode"] == 60020
    calls = sim.stats.calls
    assert calls["/cgi-bin/tag/list"] == 2 and calls["/cgi-bin/tag/get"] == 2
