"""Which WeCom page a browser is sent to, and exactly how its URL is built."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oidc_bridge.config.schema import WeComSettings
from oidc_bridge.connectors.base import LoginContext
from oidc_bridge.connectors.registry import build_connector
from oidc_bridge.errors import ConfigError
from oidc_bridge.store.memory_store import memory_store

STATE = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
CALLBACK = "https://sso.example.com:8443/wecom/callback"
ANDROID_WECOM = (
    "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 Chrome/116.0 Mobile Safari/537.36 "
    "wxwork/4.1.38 MicroMessenger/7.0.1 NetType/WIFI Language/zh"
)
WINDOWS_WECOM = "Mozilla/5.0 (Windows NT 10.0) wxwork/2.1.3 (MicroMessenger/6.2) WindowsWechat"
PLAIN_WECHAT = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.47 NetType/WIFI"
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"


def settings(**overrides: object) -> WeComSettings:
    base: dict[str, object] = {"corp_id": "ww0123456789abcdef", "agent_id": "1000002", "secret": "s3cret"}
    return WeComSettings(**{**base, **overrides})  # type: ignore[arg-type]


def login(ua: str, scopes: str = "openid profile", **overrides: object):
    connector = build_connector(settings(**overrides), memory_store())
    ctx = LoginContext(state=STATE, callback_url=CALLBACK, user_agent=ua, scopes=frozenset(scopes.split()))
    return connector.login_url(ctx)


def query(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query)


@pytest.mark.parametrize("ua", [ANDROID_WECOM, WINDOWS_WECOM, "x WXWORK/3.0 y"])
def test_inside_wecom_the_inapp_oauth_page_is_used(ua: str) -> None:
    redirect = login(ua)
    assert redirect.url == (
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid=ww0123456789abcdef"
        "&redirect_uri=https%3A%2F%2Fsso.example.com%3A8443%2Fwecom%2Fcallback&response_type=code"
        f"&scope=snsapi_base&state={STATE}&agentid=1000002#wechat_redirect"
    )
    assert dict(redirect.connector_data) == {"entry": "inapp", "scope": "snsapi_base"}


@pytest.mark.parametrize("ua", [DESKTOP, PLAIN_WECHAT, ""])
def test_elsewhere_the_web_login_page_is_used(ua: str) -> None:
    redirect = login(ua, "openid email phone")
    assert redirect.url == (
        "https://login.work.weixin.qq.com/wwlogin/sso/login?login_type=CorpApp&appid=ww0123456789abcdef"
        "&agentid=1000002&redirect_uri=https%3A%2F%2Fsso.example.com%3A8443%2Fwecom%2Fcallback"
        f"&state={STATE}"
    )
    assert dict(redirect.connector_data) == {"entry": "web", "scope": ""}


def test_web_login_carries_the_configured_language() -> None:
    assert query(login(DESKTOP, lang="en").url)[-1] == ("lang", "en")


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        ("openid", "snsapi_base"),
        ("openid profile", "snsapi_base"),
        ("openid groups", "snsapi_base"),
        ("openid email", "snsapi_privateinfo"),
        ("openid phone", "snsapi_privateinfo"),
        ("openid profile email phone", "snsapi_privateinfo"),
    ],
)
def test_auto_asks_for_private_info_only_when_email_or_phone_is_wanted(scopes: str, expected: str) -> None:
    redirect = login(ANDROID_WECOM, scopes)
    assert ("scope", expected) in query(redirect.url)
    assert redirect.connector_data["scope"] == expected


@pytest.mark.parametrize("pinned", ["snsapi_base", "snsapi_privateinfo"])
def test_a_pinned_inapp_scope_wins_over_the_clients_scopes(pinned: str) -> None:
    for scopes in ("openid", "openid email"):
        assert ("scope", pinned) in query(login(ANDROID_WECOM, scopes, inapp_scope=pinned).url)


def test_base_urls_come_from_settings() -> None:
    sim = {
        "api_base": "http://127.0.0.1:9/",
        "oauth_base": "http://127.0.0.1:9/",
        "sso_base": "http://127.0.0.1:9/",
    }
    assert login(ANDROID_WECOM, **sim).url.startswith("http://127.0.0.1:9/connect/oauth2/authorize?")
    assert login(DESKTOP, **sim).url.startswith("http://127.0.0.1:9/wwlogin/sso/login?")


@pytest.mark.parametrize("state", ["", "a-b", "a b", "é" * 4, "a" * 129, "abc%3D"])
def test_a_state_wecom_would_refuse_is_a_bridge_bug(state: str) -> None:
    connector = build_connector(settings(), memory_store())
    ctx = LoginContext(state=state, callback_url=CALLBACK, user_agent=DESKTOP, scopes=frozenset())
    with pytest.raises(ValueError, match="84025"):
        connector.login_url(ctx)


@given(callback=st.text(min_size=1), ua=st.text())
def test_any_callback_url_round_trips_as_one_query_value(callback: str, ua: str) -> None:
    connector = build_connector(settings(), memory_store())
    redirect = connector.login_url(LoginContext(STATE, callback, ua, frozenset({"email"})))
    params = dict(query(redirect.url.split("#")[0]))
    assert params["redirect_uri"] == callback
    assert params["state"] == STATE
    assert params["appid"] == "ww0123456789abcdef"


def test_an_unknown_connector_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown connector"):
        build_connector(settings(), memory_store(), kind="dingtalk")
