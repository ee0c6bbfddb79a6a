"""WeCom's data, fully used: remembered in-app fields, and the email chain."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from oidc_bridge.app import create_app
from oidc_bridge.devserver import ServerThread
from oidc_bridge.store.redis_store import RedisStore
from oidc_bridge.wecom_sim import SimulatorServer

from .conftest import WEB, Stack, bridge_settings, with_client, with_wecom
from .rp import WECOM_UA, Browser, RelyingParty


def test_a_browser_login_after_an_in_app_one_keeps_the_consented_fields(stack: Stack) -> None:
    inapp = stack.rp().login(Browser(WECOM_UA), scope="openid profile email phone")
    assert inapp.userinfo["email"]
    later = stack.rp().login(Browser(), scope="openid profile email phone")
    assert stack.sim.stats.calls.get("/wwlogin/sso/login") == 1, "the second login was a browser login"
    assert later.userinfo["email"] == inapp.userinfo["email"]
    assert later.userinfo["phone_number"] == inapp.userinfo["phone_number"]
    assert later.userinfo["picture"] == inapp.userinfo["picture"]


def test_without_an_in_app_login_the_browser_login_has_no_email(stack: Stack) -> None:
    assert "email" not in stack.rp().login(Browser(), scope="openid email").userinfo


@pytest.fixture
def synthesizing(sim: SimulatorServer, flows_redis: redis.Redis, tmp_path: Path):
    server = ServerThread()
    settings = with_wecom(
        bridge_settings(server.url, sim.base_url, sim.directory, tmp_path / "keys"),
        email_domain="corp.example",
    )
    store = RedisStore.from_url(settings.redis_url or "", settings.store_prefix)
    server.start(create_app(settings, store=store))
    yield server.url
    server.stop()


def test_a_configured_email_domain_gives_an_unverified_address_only_when_wecom_has_none(
    synthesizing: str, sim: SimulatorServer
) -> None:
    rp = RelyingParty(synthesizing, WEB)
    web = rp.login(Browser(), scope="openid email").userinfo
    assert web["email"] == "zhangsan@corp.example" and web["email_verified"] is False
    inapp = rp.login(Browser(WECOM_UA), scope="openid email").userinfo
    assert inapp["email"] != "zhangsan@corp.example" and inapp["email_verified"] is True


@pytest.fixture
def restricted(stack_with: Callable[..., Stack]) -> str:
    shaped = {"allowed_departments": (3,), "claim_aliases": {"phone": "phone_number"}, "groups_claim": "ids"}
    return stack_with(lambda s: with_client(s, WEB.client_id, **shaped)).issuer


def test_a_client_limited_to_sales_refuses_rd_by_name_and_shapes_claims_for_sales(
    restricted: str, sim: SimulatorServer
) -> None:
    rp = RelyingParty(restricted, WEB)
    _sess, url, _s = rp.start(scope="openid profile phone groups")
    page = Browser().go(url, WEB.redirect_uri)
    assert not isinstance(page, str) and page.status_code == 403
    assert "may not use Web App" in page.text and "access_denied" in page.text
    sim.auto_approve = "lisi"
    sim.directory.user("lisi").mobile = "+86 13900000000"
    lisi = rp.login(Browser(WECOM_UA), scope="openid profile phone groups").userinfo
    assert lisi["groups"] == ["3"]
    assert lisi["phone"] == lisi["phone_number"] == "+86 13900000000"
