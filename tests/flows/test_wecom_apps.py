"""Several WeCom apps in one bridge: two corps, each its own simulator, with the same agent id
and the same userids, so any cache or subject keyed by agent or userid alone would collide."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import redis
import requests

from oidc_bridge.app import create_app
from oidc_bridge.config.schema import ClientSettings, WeComSettings
from oidc_bridge.devserver import ServerThread
from oidc_bridge.store.redis_store import RedisStore
from oidc_bridge.wecom_sim import Directory, SimulatorServer

from .conftest import WEB, bridge_settings
from .helpers import refresh
from .rp import Browser, Client, RelyingParty

HQ_CORP, FACTORY_CORP = "wwhqcorp00000001", "wwfactorycorp002"
SETUP_TOKEN = "setup-token-for-two-corps"
HQ_ONLY = Client("hq-only", "http://127.0.0.1:9/hq/callback", "hq-only-secret-0123456789")
FACTORY_ONLY = Client("factory-only", "http://127.0.0.1:9/factory/callback", "factory-secret-0123456789")


@dataclass
class TwoCorps:
    issuer: str
    hq: SimulatorServer
    factory: SimulatorServer
    redis: redis.Redis


def _simulator(corp_id: str, name_of_zhangsan: str) -> SimulatorServer:
    directory = Directory.sample(corp_id=corp_id)
    person = directory.user("zhangsan")
    assert person is not None
    person.name = name_of_zhangsan
    server = SimulatorServer(directory)
    server.start()
    server.auto_approve = "zhangsan"
    return server


@pytest.fixture
def corps(flows_redis: redis.Redis, tmp_path: Path) -> Iterator[TwoCorps]:
    hq, factory = _simulator(HQ_CORP, "张三 (总部)"), _simulator(FACTORY_CORP, "张三 (工厂)")
    server = ServerThread()
    base = bridge_settings(server.url, hq.base_url, hq.directory, tmp_path / "keys")
    factory_app = WeComSettings(
        corp_id=FACTORY_CORP,
        agent_id=factory.directory.agent_id,
        secret=factory.directory.secret,
        api_base=factory.base_url,
        oauth_base=factory.base_url,
        sso_base=factory.base_url,
        id="factory",
        name="Example Factory",
    )
    pinned = (
        ClientSettings(
            HQ_ONLY.client_id, (HQ_ONLY.redirect_uri,), HQ_ONLY.client_secret, wecom_apps=("main",)
        ),
        ClientSettings(
            FACTORY_ONLY.client_id,
            (FACTORY_ONLY.redirect_uri,),
            FACTORY_ONLY.client_secret,
            wecom_apps=("factory",),
            refresh_tokens=True,
        ),
    )
    settings = replace(
        base,
        wecom=replace(base.wecom, name="Example HQ", apps=(factory_app,)),
        clients=(*base.clients, *pinned),
        subject="corp_userid",
        setup_token=SETUP_TOKEN,
    )
    store = RedisStore.from_url(settings.redis_url or "", settings.store_prefix)
    server.start(create_app(settings, store=store))
    yield TwoCorps(server.url, hq, factory, flows_redis)
    server.stop()
    hq.stop()
    factory.stop()


def _choices(page: requests.Response) -> dict[str, str]:
    """The chooser's buttons: name -> absolute URL."""
    links = re.findall(r'<a class="button" href="([^"]+)">([^<]+)</a>', page.text)
    return {html.unescape(name): urljoin(page.url, html.unescape(href)) for href, name in links}


def _login_choosing(corps: TwoCorps, app_name: str) -> dict:
    rp = RelyingParty(corps.issuer, WEB)
    sess, url, secrets_ = rp.start("openid profile")
    browser = Browser()
    page = browser.go(url, WEB.redirect_uri)
    assert isinstance(page, requests.Response) and page.status_code == 200, "no chooser page"
    assert page.headers["Cache-Control"] == "no-store"
    choices = _choices(page)
    assert sorted(choices) == ["Example Factory", "Example HQ"]
    landed = browser.go(choices[app_name], WEB.redirect_uri)
    assert isinstance(landed, str), "the chosen app did not lead back to the client"
    result = rp.finish(sess, landed, secrets_)
    return {**result.id_claims, **result.userinfo}


def test_a_client_open_to_both_lets_the_person_choose_and_each_corp_has_its_own_subject(
    corps: TwoCorps,
) -> None:
    factory = _login_choosing(corps, "Example Factory")
    hq = _login_choosing(corps, "Example HQ")
    assert factory["sub"] == f"{FACTORY_CORP}/zhangsan" and factory["name"] == "张三 (工厂)"
    assert hq["sub"] == f"{HQ_CORP}/zhangsan" and hq["name"] == "张三 (总部)"
    assert corps.factory.stats.calls.get("/wwlogin/sso/login") == 1
    assert corps.hq.stats.calls.get("/wwlogin/sso/login") == 1


def test_each_corp_keeps_its_own_access_token_and_caches(corps: TwoCorps) -> None:
    for _ in range(2):
        _login_choosing(corps, "Example Factory")
        _login_choosing(corps, "Example HQ")
    assert corps.factory.stats.gettoken_calls == 1 and corps.hq.stats.gettoken_calls == 1
    keys = corps.redis.keys("*")
    for corp in (HQ_CORP, FACTORY_CORP):
        assert any(corp in k and "token" in k for k in keys), f"no access-token key for {corp}: {keys}"


def test_a_pinned_client_goes_straight_to_its_app(corps: TwoCorps) -> None:
    result = RelyingParty(corps.issuer, FACTORY_ONLY).login(Browser(), scope="openid profile")
    assert result.id_claims["sub"] == f"{FACTORY_CORP}/zhangsan"
    assert corps.hq.stats.calls.get("/wwlogin/sso/login") is None


def test_the_session_of_one_corp_does_not_sign_in_to_a_client_pinned_to_the_other(corps: TwoCorps) -> None:
    browser = Browser()
    RelyingParty(corps.issuer, FACTORY_ONLY).login(browser, scope="openid")
    hq = RelyingParty(corps.issuer, HQ_ONLY).login(browser, scope="openid")
    assert hq.id_claims["sub"] == f"{HQ_CORP}/zhangsan"
    assert corps.hq.stats.calls.get("/wwlogin/sso/login") == 1, "HQ's client needs an HQ login"
    # Back to the factory client: its session is still good, no second factory login.
    again = RelyingParty(corps.issuer, FACTORY_ONLY).login(browser, scope="openid")
    assert again.id_claims["sub"] == f"{FACTORY_CORP}/zhangsan"


def test_naming_an_app_the_client_is_not_open_to_is_an_error_for_the_client(corps: TwoCorps) -> None:
    rp = RelyingParty(corps.issuer, HQ_ONLY)
    _, url, _ = rp.start("openid", wecom_app="factory")
    landed = Browser().go(url, HQ_ONLY.redirect_uri)
    assert isinstance(landed, str)
    query = parse_qs(urlsplit(landed).query)
    assert query["error"] == ["invalid_request"] and "code" not in query


def test_naming_an_app_skips_the_chooser(corps: TwoCorps) -> None:
    rp = RelyingParty(corps.issuer, WEB)
    sess, url, secrets_ = rp.start("openid", wecom_app="factory")
    landed = Browser().go(url, WEB.redirect_uri)
    assert isinstance(landed, str), "a chooser was shown although the request named the app"
    assert rp.finish(sess, landed, secrets_).id_claims["sub"] == f"{FACTORY_CORP}/zhangsan"


def test_a_refresh_asks_the_corp_the_person_signed_in_through(corps: TwoCorps) -> None:
    result = RelyingParty(corps.issuer, FACTORY_ONLY).login(Browser(), scope="openid")
    token = result.token["refresh_token"]
    # zhangsan of HQ is disabled: the factory's zhangsan is someone else and keeps access.
    hq_person = corps.hq.directory.user("zhangsan")
    assert hq_person is not None
    hq_person.status = 2
    response = refresh(_stack_view(corps), FACTORY_ONLY, token)
    assert response.status_code == 200, response.text
    factory_person = corps.factory.directory.user("zhangsan")
    assert factory_person is not None
    factory_person.status = 2
    refused = refresh(_stack_view(corps), FACTORY_ONLY, response.json()["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


@dataclass
class _StackView:
    """What the shared token helpers read of a stack: the issuer's relying party."""

    issuer: str

    def rp(self, client: Client = WEB) -> RelyingParty:
        return RelyingParty(self.issuer, client)


def _stack_view(corps: TwoCorps) -> _StackView:
    return _StackView(corps.issuer)
