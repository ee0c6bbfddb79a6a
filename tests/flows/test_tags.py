"""allowed_tags end to end: the simulator's tags, the bridge on Redis, a real relying party."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from oidc_bridge.store.base import Keys
from oidc_bridge.wecom_sim import SimDepartment, SimulatorServer, SimUser

from .conftest import WEB, Stack, with_client
from .rp import Browser, RelyingParty
from .test_failures import _return_link

TAG_CALLS = ("/cgi-bin/tag/list", "/cgi-bin/tag/get")
EVERY_SCOPE = "openid profile email phone groups"


def _tag_calls(sim: SimulatorServer) -> dict[str, int]:
    return {path: sim.stats.calls.get(path, 0) for path in TAG_CALLS}


@pytest.fixture
def tagged(sim: SimulatorServer, stack_with: Callable[..., Stack]) -> str:
    """The bridge with Web App limited to tag 1 (财务审批) or the tag named 研发全员 (department 2).

    The corp gains 后端组 (4) under 研发部 (2) with 周八 in it, and 孙七 in 销售部 with no tag.
    """
    sim.directory.departments.append(SimDepartment(4, "后端组", 2))
    sim.directory.users += [
        SimUser("zhouba", "周八", department=(4,)),
        SimUser("sunqi", "孙七", department=(3,)),
    ]
    return stack_with(lambda s: with_client(s, WEB.client_id, allowed_tags=(1, "研发全员"))).issuer


def test_a_person_carrying_the_tag_signs_in_and_the_tags_stay_private(
    tagged: str, sim: SimulatorServer
) -> None:
    sim.auto_approve = "lisi"
    result = RelyingParty(tagged, WEB).login(Browser(), scope=EVERY_SCOPE)
    assert result.id_claims["sub"] == "lisi"
    for claims in (result.id_claims, result.userinfo):
        assert not [k for k in claims if k.startswith("_") or "tag" in k]


def test_a_department_tag_covers_a_member_of_a_sub_department(tagged: str, sim: SimulatorServer) -> None:
    sim.auto_approve = "zhouba"
    assert RelyingParty(tagged, WEB).login(Browser()).id_claims["sub"] == "zhouba"


def test_a_person_without_the_tag_sees_the_refusal_and_the_client_gets_access_denied(
    tagged: str, sim: SimulatorServer
) -> None:
    sim.auto_approve = "sunqi"
    _sess, url, secrets_ = RelyingParty(tagged, WEB).start()
    page = Browser().go(url, WEB.redirect_uri)
    assert not isinstance(page, str) and page.status_code == 403
    assert "may not use Web App" in page.text and "department, tag or account" in page.text
    query = _return_link(page)
    assert query["error"] == ["access_denied"] and query["state"] == [secrets_["state"]]


def test_the_tag_index_is_built_once_for_many_logins(tagged: str, sim: SimulatorServer) -> None:
    rp = RelyingParty(tagged, WEB)
    for userid in ("lisi", "zhouba", "lisi"):
        sim.auto_approve = userid
        rp.login(Browser())
    assert _tag_calls(sim) == {"/cgi-bin/tag/list": 1, "/cgi-bin/tag/get": 2}


def test_without_allowed_tags_no_login_asks_wecom_about_tags(stack: Stack) -> None:
    assert not any(c.allowed_tags for c in stack.settings.clients)
    stack.rp().login(Browser())
    assert _tag_calls(stack.sim) == {"/cgi-bin/tag/list": 0, "/cgi-bin/tag/get": 0}
    corp = stack.sim.directory
    assert stack.store.get(Keys.wecom_tags(corp.corp_id, corp.agent_id)) is None
