"""Tags (标签) through the connector against the simulator: the inverted index, its cache, its cost."""

from __future__ import annotations

from typing import Any

import pytest

from oidc_bridge.config.schema import WeComSettings
from oidc_bridge.connectors.base import Identity
from oidc_bridge.connectors.registry import build_connector
from oidc_bridge.connectors.wecom.client import WeComClient, shared_token_client
from oidc_bridge.connectors.wecom.connector import WeComConnector
from oidc_bridge.connectors.wecom.tags import TagIndex
from oidc_bridge.errors import WeComError
from oidc_bridge.store.base import Keys, Store
from oidc_bridge.wecom_sim import SimDepartment, SimTag, SimUser
from oidc_bridge.wecom_sim.server import SimulatorServer

from .conftest import SignIn

TAG_LIST, TAG_GET = "/cgi-bin/tag/list", "/cgi-bin/tag/get"


class CountingStore:
    """The store, with every call recorded: (method, key)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.ops: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.ops.append((name, str(args[0]) if args else ""))
            return method(*args, **kwargs)

        return counted


def calls(sim: SimulatorServer, path: str) -> int:
    return sim.stats.calls.get(path, 0)


@pytest.fixture
def index(sim_settings: WeComSettings, memory_store: Store) -> TagIndex:
    return TagIndex(memory_store, sim_settings, shared_token_client(sim_settings, memory_store))


def test_tags_come_from_the_person_and_from_any_department_above_them(
    index: TagIndex, sim: SimulatorServer
) -> None:
    sim.directory.departments.append(SimDepartment(4, "后端组", 2))
    assert index.tags_of("lisi", (3, 1)) == ((1, "财务审批"),)
    assert index.tags_of("zhangsan", (2, 1)) == ((2, "研发全员"),)
    assert index.tags_of("someone-in-backend", (4, 2, 1)) == ((2, "研发全员"),)
    assert index.tags_of("nobody", (3, 1)) == ()


def test_the_index_is_built_once_per_ttl_and_shared_through_the_store(
    sim: SimulatorServer, sim_settings: WeComSettings, memory_store: Store
) -> None:
    client = shared_token_client(sim_settings, memory_store)
    first = TagIndex(memory_store, sim_settings, client)
    second = TagIndex(memory_store, sim_settings, client)  # another worker
    assert first.tags_of("lisi", ()) == second.tags_of("lisi", ()) == ((1, "财务审批"),)
    assert calls(sim, TAG_LIST) == 1 and calls(sim, TAG_GET) == 2
    key = Keys.wecom_tags(sim_settings.corp_id, sim_settings.agent_id)
    ttl = memory_store.ttl(key)
    assert ttl is not None and 0 < ttl <= sim_settings.department_cache_ttl


def test_a_tag_deleted_between_list_and_get_is_left_out(sim: SimulatorServer, index: TagIndex) -> None:
    sim.faults.fail_next(TAG_GET, errcode=40068)
    assert index.tags_of("zhangsan", (2, 1)) == ((2, "研发全员"),)
    assert index.tags_of("lisi", (3, 1)) == ()


def test_wecom_failing_while_building_the_index_is_an_error_not_a_refusal(
    sim: SimulatorServer, index: TagIndex
) -> None:
    sim.faults.fail_next(TAG_LIST, errcode=60020)
    with pytest.raises(WeComError) as failed:
        index.tags_of("lisi", ())
    assert failed.value.category == "config"


def _connector(settings: WeComSettings, store: Store, resolve_tags: bool) -> WeComConnector:
    built = build_connector(settings, store, resolve_tags=resolve_tags)
    assert isinstance(built, WeComConnector)
    return built


def _warm_login(
    connector: WeComConnector, store: CountingStore, sign_in: SignIn, userid: str
) -> tuple[Identity, list[tuple[str, str]]]:
    """A second login (token and caches warm) and the store operations it made."""
    connector.handle_callback(*sign_in(connector, userid))
    store.ops.clear()
    return connector.handle_callback(*sign_in(connector, userid)), list(store.ops)


def test_without_allowed_tags_a_login_makes_no_tag_call_and_no_extra_store_trip(
    sim: SimulatorServer, sim_settings: WeComSettings, memory_store: Store, sign_in: SignIn
) -> None:
    plain_store, tagged_store = CountingStore(memory_store), CountingStore(memory_store)
    plain = _connector(sim_settings, plain_store, resolve_tags=False)  # type: ignore[arg-type]
    identity, plain_ops = _warm_login(plain, plain_store, sign_in, "lisi")
    assert identity.tags == ()
    assert calls(sim, TAG_LIST) == calls(sim, TAG_GET) == 0
    assert not [op for op in plain_ops if op[1].startswith("wecom:tags:")]

    tagged = _connector(sim_settings, tagged_store, resolve_tags=True)  # type: ignore[arg-type]
    identity, tagged_ops = _warm_login(tagged, tagged_store, sign_in, "lisi")
    assert identity.tags == ((1, "财务审批"),)
    # Once this process holds the index (shared_value.py), tags cost no store read at all.
    assert tagged_ops == plain_ops
    assert calls(sim, TAG_LIST) == 1


def test_callback_and_refresh_fill_the_tags(
    sim: SimulatorServer, sim_settings: WeComSettings, memory_store: Store, sign_in: SignIn
) -> None:
    sim.directory.departments.append(SimDepartment(4, "后端组", 2))
    sim.directory.users.append(SimUser("zhouba", "周八", department=(4,)))
    sim.directory.tags.append(SimTag(5, "值班", userids=("zhouba",)))
    connector = _connector(sim_settings, memory_store, resolve_tags=True)
    identity = connector.handle_callback(*sign_in(connector, "zhouba"))
    assert identity.department_ancestry == (4, 2, 1)
    assert identity.tags == ((2, "研发全员"), (5, "值班"))
    assert connector.refresh_identity("zhouba").tags == identity.tags


def test_the_client_maps_tag_calls(sim_settings: WeComSettings, memory_store: Store) -> None:
    client: WeComClient = shared_token_client(sim_settings, memory_store)
    assert [(t.id, t.name) for t in client.list_tags()] == [(1, "财务审批"), (2, "研发全员")]
    members = client.get_tag_members(2)
    assert members.userids == () and members.department_ids == (2,)
    with pytest.raises(WeComError) as unknown:
        client.get_tag_members(99)
    assert unknown.value.errcode == 40068 and "allowed_tags" in unknown.value.admin_hint
