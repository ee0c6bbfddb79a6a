"""Refresh tokens: rotation, replay detection, and WeCom re-checked at every refresh."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .conftest import PORTAL, WEB, Stack, with_client
from .helpers import refresh, userinfo, wait_until_expired
from .rp import Browser


def test_offline_access_gives_a_refresh_token_that_works_after_the_access_token_expired(stack: Stack) -> None:
    rp = stack.rp(PORTAL)
    first = rp.login(Browser(), scope="openid profile offline_access")
    token = first.token
    assert token["refresh_token"]
    wait_until_expired(stack, token["access_token"])
    renewed = refresh(stack, PORTAL, token["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    body = renewed.json()
    assert body["refresh_token"] != token["refresh_token"], "refresh tokens rotate"
    assert userinfo(stack, body["access_token"]).json()["name"] == "张三"
    claims = rp.verify_id_token(body["id_token"])
    assert claims["sub"] == "zhangsan"
    assert claims["auth_time"] == first.id_claims["auth_time"]


def test_a_client_without_offline_access_gets_no_refresh_token(stack: Stack) -> None:
    assert "refresh_token" not in stack.rp(WEB).login(Browser()).token


def test_a_replayed_rotated_refresh_token_kills_the_whole_family(stack: Stack) -> None:
    token = stack.rp(PORTAL).login(Browser(), scope="openid offline_access").token
    second = refresh(stack, PORTAL, token["refresh_token"]).json()["refresh_token"]
    replay = refresh(stack, PORTAL, token["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    dead = refresh(stack, PORTAL, second)
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"


def test_someone_disabled_in_wecom_after_login_cannot_refresh(stack: Stack) -> None:
    token = stack.rp(PORTAL).login(Browser(), scope="openid offline_access").token
    stack.sim.directory.user("zhangsan").status = 2
    refused = refresh(stack, PORTAL, token["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    stack.sim.directory.user("zhangsan").status = 1
    assert refresh(stack, PORTAL, token["refresh_token"]).status_code == 400, "the family stays revoked"


def test_wecom_down_at_refresh_is_temporary_and_keeps_the_token(stack: Stack) -> None:
    token = stack.rp(PORTAL).login(Browser(), scope="openid offline_access").token
    stack.sim.faults.http_error("/cgi-bin/user/get", 500, times=5)
    down = refresh(stack, PORTAL, token["refresh_token"])
    assert down.status_code == 503 and down.json()["error"] == "temporarily_unavailable"
    stack.sim.faults.clear()
    assert refresh(stack, PORTAL, token["refresh_token"]).status_code == 200


def test_a_refresh_token_is_bound_to_its_client_and_scope(stack: Stack) -> None:
    token = stack.rp(PORTAL).login(Browser(), scope="openid profile offline_access").token
    stolen = refresh(stack, WEB, token["refresh_token"])
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    wider = refresh(stack, PORTAL, token["refresh_token"], scope="openid profile email")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    narrower = refresh(stack, PORTAL, token["refresh_token"], scope="openid")
    assert narrower.status_code == 200 and narrower.json()["scope"] == "openid"


@pytest.mark.parametrize("moved_to", [(3,), ()], ids=["another-department", "no-visible-department"])
def test_someone_moved_out_of_the_clients_departments_cannot_refresh(
    stack_with: Callable[..., Stack], moved_to: tuple[int, ...]
) -> None:
    stack = stack_with(lambda s: with_client(s, PORTAL.client_id, allowed_departments=(2,)))
    token = stack.rp(PORTAL).login(Browser(), scope="openid offline_access").token
    first = refresh(stack, PORTAL, token["refresh_token"])
    assert first.status_code == 200, "still in R&D: refreshes"
    person = stack.sim.directory.user("zhangsan")
    assert person is not None
    person.department = moved_to
    renewed = refresh(stack, PORTAL, first.json()["refresh_token"])
    assert renewed.status_code == 400 and renewed.json()["error"] == "invalid_grant"
