"""A whole WeCom sign-in through the connector: login page -> WeCom's callback -> Identity."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from oidc_bridge.config.schema import WeComSettings
from oidc_bridge.connectors.base import Identity, LoginContext
from oidc_bridge.connectors.registry import build_connector
from oidc_bridge.connectors.wecom.connector import WeComConnector
from oidc_bridge.errors import LoginRefused, WeComError
from oidc_bridge.store.base import Store
from oidc_bridge.wecom_sim.server import SimulatorServer

from .conftest import settings_for

SignIn = Callable[..., tuple[dict[str, str], dict[str, str]]]
INAPP = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 wxwork/4.1.38 MicroMessenger/7.0.1 Language/zh_CN"
STATE = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"


@pytest.fixture
def connector(sim_settings: WeComSettings, memory_store: Store) -> WeComConnector:
    built = build_connector(sim_settings, memory_store)
    assert isinstance(built, WeComConnector)
    return built


@pytest.fixture
def login(connector: WeComConnector, sign_in: SignIn) -> Callable[..., Identity]:
    """``login(userid, ua=..., scopes=...)``: sign in at the simulator, then run the callback."""

    def run(userid: str, **kwargs: str) -> Identity:
        params, data = sign_in(connector, userid, **kwargs)
        return connector.handle_callback(params, data)

    return run


def test_web_login_gives_the_userid_name_and_groups_but_no_private_fields(
    login: Callable[..., Identity], sim: SimulatorServer
) -> None:
    identity = login("zhangsan", scopes="openid profile email phone")
    assert identity == Identity(
        user_id="zhangsan",
        name="张三",
        groups=("研发部",),
        department_ids=(2,),
        department_ancestry=(2, 1),
        entry="web",
    )
    assert sim.stats.calls.get("/cgi-bin/auth/getuserdetail", 0) == 0


def test_inapp_privateinfo_gives_email_phone_picture_and_gender(login: Callable[..., Identity]) -> None:
    identity = login("zhangsan", ua=INAPP, scopes="openid profile email phone")
    assert identity == Identity(
        user_id="zhangsan",
        name="张三",
        email="zhangsan@example.com",
        email_verified=True,
        phone_number="13800138000",
        picture="https://wework.qpic.cn/wwhead/sim-zhangsan/0",
        gender="male",
        groups=("研发部",),
        department_ids=(2,),
        department_ancestry=(2, 1),
        entry="inapp",
    )


def test_inapp_privateinfo_falls_back_to_biz_mail_and_leaves_missing_fields_empty(
    login: Callable[..., Identity],
) -> None:
    identity = login("lisi", ua=INAPP, scopes="openid email")
    assert identity == Identity(
        user_id="lisi",
        name="李四",
        email="lisi@example.wecom.work",
        email_verified=True,
        gender="female",
        groups=("销售部",),
        department_ids=(3,),
        department_ancestry=(3, 1),
        entry="inapp",
    )


def test_inapp_base_scope_is_silent_and_gives_no_private_fields(
    login: Callable[..., Identity], sim: SimulatorServer
) -> None:
    identity = login("zhangsan", ua=INAPP, scopes="openid profile")
    assert identity == Identity(
        user_id="zhangsan",
        name="张三",
        groups=("研发部",),
        department_ids=(2,),
        department_ancestry=(2, 1),
        entry="inapp",
    )
    assert sim.stats.calls.get("/cgi-bin/auth/getuserdetail", 0) == 0


def test_an_app_created_before_2022_still_gets_contact_fields_from_user_get(
    login: Callable[..., Identity], sim: SimulatorServer
) -> None:
    sim.directory.legacy_app = True
    identity = login("zhangsan")
    assert (identity.email, identity.phone_number, identity.gender) == (
        "zhangsan@example.com",
        "13800138000",
        "male",
    )


@pytest.mark.parametrize(("userid", "reason"), [("wangwu", "disabled"), ("zhaoliu", "left")])
def test_an_inactive_member_is_refused(login: Callable[..., Identity], userid: str, reason: str) -> None:
    with pytest.raises(LoginRefused) as refused:
        login(userid)
    assert refused.value.reason == reason
    assert "WeCom account" in refused.value.user_message


@pytest.mark.parametrize("ua", [INAPP, "Mozilla/5.0 Chrome/124.0"])
def test_a_wechat_user_who_is_not_a_member_is_refused(login: Callable[..., Identity], ua: str) -> None:
    with pytest.raises(LoginRefused) as refused:
        login("guest", ua=ua)
    assert refused.value.reason == "not_member"
    assert "not a member" in refused.value.user_message


def test_a_member_outside_the_visible_range_is_refused_inside_wecom(login: Callable[..., Identity]) -> None:
    with pytest.raises(LoginRefused) as refused:
        login("outsider", ua=INAPP, scopes="openid email")
    assert refused.value.reason == "outside_visible_range"
    assert "visible range" in refused.value.user_message


def test_a_member_who_vanished_between_code_and_lookup_is_refused(
    login: Callable[..., Identity], sim: SimulatorServer
) -> None:
    sim.faults.fail_next("/cgi-bin/user/get", 60111)
    with pytest.raises(LoginRefused) as refused:
        login("zhangsan")
    assert refused.value.reason == "not_found"


def test_cancelling_on_wecoms_page_is_a_refusal(sim: SimulatorServer, connector: WeComConnector) -> None:
    redirect = connector.login_url(LoginContext(STATE, "https://sso.example.com/cb", "Chrome", frozenset()))
    query = dict(parse_qsl(urlsplit(redirect.url).query))
    resp = requests.get(
        f"{sim.base_url}/_sim/cancel", params={"flow": "sso", **query}, allow_redirects=False, timeout=5
    )
    params = dict(parse_qsl(urlsplit(resp.headers["Location"]).query))
    assert params == {"state": STATE}
    with pytest.raises(LoginRefused) as refused:
        connector.handle_callback(params, redirect.connector_data)
    assert refused.value.reason == "cancelled"


def test_a_replayed_callback_is_refused_as_expired(connector: WeComConnector, sign_in: SignIn) -> None:
    params, data = sign_in(connector, "zhangsan")
    assert "appid" in params  # WeCom's extra parameter is accepted silently
    connector.handle_callback(params, data)
    with pytest.raises(WeComError) as replayed:
        connector.handle_callback(params, data)
    assert (replayed.value.errcode, replayed.value.category) == (40029, "user")
    assert "sign in again" in replayed.value.user_message


def test_an_expired_user_ticket_asks_to_sign_in_again(
    connector: WeComConnector, sign_in: SignIn, sim: SimulatorServer
) -> None:
    params, data = sign_in(connector, "zhangsan", ua=INAPP, scopes="openid email")
    sim.faults.fail_next("/cgi-bin/auth/getuserdetail", 84014)
    with pytest.raises(WeComError) as caught:
        connector.handle_callback(params, data)
    assert (caught.value.errcode, caught.value.category) == (84014, "user")


def test_many_logins_share_one_token_and_one_department_list(
    login: Callable[..., Identity], sim: SimulatorServer
) -> None:
    for userid in ("zhangsan", "lisi", "zhangsan"):
        login(userid)
    assert sim.stats.gettoken_calls == 1
    assert sim.stats.calls.get("/cgi-bin/department/list", 0) == 1


def test_department_cache_ttl_zero_means_no_cache_not_a_failed_login(
    sim: SimulatorServer, memory_store: Store, sign_in: SignIn
) -> None:

    uncached = build_connector(replace(settings_for(sim), department_cache_ttl=0), memory_store)
    for _ in range(2):
        params, data = sign_in(uncached, "zhangsan")
        assert uncached.handle_callback(params, data).groups == ("研发部",)
    assert sim.stats.calls["/cgi-bin/department/list"] == 2, "each login read the tree afresh"
