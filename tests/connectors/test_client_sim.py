"""The WeCom client against the simulator over real HTTP: retries, failures, the shared token."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from oidc_bridge.config.schema import WeComSettings
from oidc_bridge.connectors.wecom.client import WeComClient, redact_url, shared_token_client
from oidc_bridge.connectors.wecom.connector import build_wecom_connector
from oidc_bridge.connectors.wecom.directory import Directory
from oidc_bridge.errors import WeComError
from oidc_bridge.store.base import Store
from oidc_bridge.wecom_sim.server import SimulatorServer

USER_GET = "/cgi-bin/user/get"


@pytest.fixture
def client(sim_settings: WeComSettings, memory_store: Store) -> Iterator[WeComClient]:
    c = shared_token_client(sim_settings, memory_store)
    try:
        yield c
    finally:
        c.close()


def calls(sim: SimulatorServer, path: str) -> int:
    return sim.stats.calls.get(path, 0)


def test_a_login_code_is_exchanged_once_and_refused_on_reuse(
    sign_in: Callable[..., tuple[dict[str, str], dict[str, str]]],
    sim_settings: WeComSettings,
    memory_store: Store,
    client: WeComClient,
) -> None:
    params, _ = sign_in(build_wecom_connector(sim_settings, memory_store), "zhangsan")
    who = client.get_user_identity(params["code"])
    assert (who.userid, who.openid, who.user_ticket) == ("zhangsan", None, None)
    with pytest.raises(WeComError) as reused:
        client.get_user_identity(params["code"])
    assert (reused.value.errcode, reused.value.category) == (40029, "user")


@pytest.mark.parametrize("kill", ["invalidate_tokens", "expire_tokens"])
def test_a_token_wecom_ended_early_is_refetched_once_and_the_call_retried(
    sim: SimulatorServer, client: WeComClient, kill: str
) -> None:
    assert client.get_user("zhangsan").name == "张三"
    getattr(sim, kill)()  # every token now answers 40014 / 42001
    assert client.get_user("zhangsan").name == "张三"
    assert sim.stats.gettoken_calls == 2
    assert calls(sim, USER_GET) == 3


def test_a_token_refused_twice_is_not_retried_a_third_time(sim: SimulatorServer, client: WeComClient) -> None:
    sim.faults.fail_next(USER_GET, 40014, times=2)
    with pytest.raises(WeComError) as caught:
        client.get_user("zhangsan")
    assert (caught.value.errcode, caught.value.category) == (40014, "transient")
    assert sim.stats.gettoken_calls == 2
    assert calls(sim, USER_GET) == 2


def test_a_wrong_secret_is_never_retried(
    sim: SimulatorServer, memory_store: Store, make_settings: Callable[..., WeComSettings]
) -> None:
    client = shared_token_client(make_settings(secret="wrong"), memory_store)
    for _ in range(3):
        with pytest.raises(WeComError) as caught:
            client.get_user("zhangsan")
        assert (caught.value.errcode, caught.value.category) == (40001, "config")
        assert "Secret" in caught.value.admin_hint
    assert sim.stats.gettoken_calls == 1  # WeCom bans an IP after repeated bad secrets
    assert calls(sim, USER_GET) == 0
    client.close()


@pytest.mark.parametrize("errcode", [40001, 40013, 40091])
def test_credential_errcodes_on_a_call_are_not_retried(
    sim: SimulatorServer, client: WeComClient, errcode: int
) -> None:
    sim.faults.fail_next(USER_GET, errcode)
    with pytest.raises(WeComError) as caught:
        client.get_user("zhangsan")
    assert (caught.value.errcode, caught.value.category) == (errcode, "config")
    assert sim.stats.gettoken_calls == 1
    assert calls(sim, USER_GET) == 1


def test_an_untrusted_ip_tells_the_admin_which_ip_to_allow(sim: SimulatorServer, client: WeComClient) -> None:
    sim.directory.trusted_ips = ("203.0.113.5",)
    with pytest.raises(WeComError) as caught:
        client.get_user("zhangsan")
    err = caught.value
    assert (err.errcode, err.category, err.from_ip) == (60020, "config", "127.0.0.1")
    assert err.admin_hint.startswith("add IP 127.0.0.1 to the app's Trusted IP list (企业可信IP)")
    assert err.request_hint and err.request_hint.isdigit()
    assert sim.stats.gettoken_calls == 1  # gettoken is not guarded by the trusted-IP list


def test_a_hung_wecom_becomes_a_transient_error_after_the_read_timeout(
    sim: SimulatorServer, client: WeComClient
) -> None:
    client.get_user("zhangsan")  # token fetched; the next call hangs
    sim.faults.delay(USER_GET, 60)
    with pytest.raises(WeComError) as caught:
        client.get_user("zhangsan")
    assert (caught.value.errcode, caught.value.category) == (None, "transient")
    assert "timed out" in caught.value.detail
    assert calls(sim, USER_GET) == 2  # a timeout is not retried: it would hold the worker twice as long


def test_http_500_is_transient(sim: SimulatorServer, client: WeComClient) -> None:
    sim.faults.http_error(USER_GET, status=500)
    with pytest.raises(WeComError) as caught:
        client.get_user("zhangsan")
    assert (caught.value.errcode, caught.value.category) == (None, "transient")
    assert "HTTP 500" in caught.value.detail


def test_a_wrong_api_base_is_a_config_error(
    sim: SimulatorServer, memory_store: Store, make_settings: Callable[..., WeComSettings]
) -> None:
    client = shared_token_client(make_settings(api_base=sim.base_url + "/nowhere"), memory_store)
    with pytest.raises(WeComError) as caught:
        client.get_user("zhangsan")
    assert (caught.value.errcode, caught.value.category) == (None, "config")
    assert "api_base" in caught.value.admin_hint
    client.close()


def test_wecom_unreachable_is_transient_and_leaks_no_secret(
    sim: SimulatorServer, memory_store: Store, make_settings: Callable[..., WeComSettings]
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    settings = make_settings(api_base=f"http://127.0.0.1:{closed_port}")
    client = shared_token_client(settings, memory_store)
    with pytest.raises(WeComError) as caught:
        client.get_user("zhangsan")
    err = caught.value
    assert (err.errcode, err.category) == (None, "transient")
    assert err.__cause__ is None and err.__context__ is None  # requests' message carries the full URL
    for text in (err.detail, err.admin_hint, err.user_message, str(err), repr(err)):
        assert settings.secret not in text
    client.close()


@pytest.mark.parametrize(
    ("errcode", "category"), [(-1, "transient"), (45033, "rate_limit"), (45009, "rate_limit")]
)
def test_busy_wecom_gets_one_short_retry(
    sim: SimulatorServer, client: WeComClient, errcode: int, category: str
) -> None:
    sim.faults.fail_next(USER_GET, errcode)
    assert client.get_user("zhangsan").userid == "zhangsan"
    sim.faults.fail_next(USER_GET, errcode, times=2)
    with pytest.raises(WeComError) as caught:
        client.get_user("zhangsan")
    assert (caught.value.errcode, caught.value.category) == (errcode, category)
    assert calls(sim, USER_GET) == 4


def test_no_secret_code_or_ticket_reaches_a_log_line_or_an_error(
    sim: SimulatorServer,
    sim_settings: WeComSettings,
    memory_store: Store,
    client: WeComClient,
    caplog: pytest.LogCaptureFixture,
    sign_in: Callable[..., tuple[dict[str, str], dict[str, str]]],
) -> None:
    caplog.set_level(logging.DEBUG, logger="oidc_bridge")
    connector = build_wecom_connector(sim_settings, memory_store)
    params, _ = sign_in(connector, "zhangsan", ua="wxwork/4.1", scopes="openid email")
    who = client.get_user_identity(params["code"])
    assert who.user_ticket
    client.get_user_detail(who.user_ticket)
    sim.faults.fail_next("/cgi-bin/auth/getuserdetail", 84015)
    with pytest.raises(WeComError) as caught:
        client.get_user_detail(who.user_ticket)
    token = memory_store.get(f"wecom:token:{sim_settings.corp_id}:{sim_settings.agent_id}")
    assert token
    secrets_ = [sim_settings.secret, token, params["code"], who.user_ticket]
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "wecom call ok" in logged
    for secret in secrets_:
        assert secret not in logged
        assert secret not in caught.value.detail
        assert secret not in repr(who)


def test_redact_url_masks_every_secret_parameter() -> None:
    url = "https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww1&corpsecret=S&access_token=T&code=C&user_ticket=U"
    assert redact_url(url) == (
        "https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww1&corpsecret=***&access_token=***&code=***"
        "&user_ticket=***"
    )


def test_departments_are_listed_once_and_then_read_from_the_store(
    sim: SimulatorServer, sim_settings: WeComSettings, memory_store: Store, client: WeComClient
) -> None:
    directory = Directory(memory_store, sim_settings, client)
    assert directory.describe([2, 3, 2, 999]) == (("研发部", "销售部"), (2, 1, 3, 999))
    assert directory.describe([1]) == (("示例科技",), (1,))
    assert directory.describe([]) == ((), ())
    assert calls(sim, "/cgi-bin/department/list") == 1
    assert memory_store.ttl(f"wecom:dept:{sim_settings.corp_id}:{sim_settings.agent_id}") is not None


def test_twenty_workers_with_their_own_caches_make_one_gettoken(
    sim: SimulatorServer, sim_settings: WeComSettings, memory_store: Store
) -> None:
    """Each thread stands for a worker: its own client and its own AccessTokenCache, one shared store."""
    barrier = threading.Barrier(20)
    sim.faults.delay("/cgi-bin/gettoken", 0.2)  # widen the race: everyone misses the cache together
    names: list[str | None] = []
    errors: list[BaseException] = []

    def worker() -> None:
        client = shared_token_client(sim_settings, memory_store)  # a fresh AccessTokenCache too
        barrier.wait()
        try:
            names.append(client.get_user("zhangsan").name)
        except BaseException as exc:
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert names == ["张三"] * 20
    assert sim.stats.gettoken_calls == 1


def test_a_proxy_set_in_the_environment_at_start_carries_every_call(
    monkeypatch: pytest.MonkeyPatch, memory_store: Store
) -> None:
    """HTTP(S)_PROXY is read once when the client is built (not at every call), and used."""
    from oidc_bridge.devserver import ServerThread

    seen: list[str] = []

    def proxy(environ: dict, start_response: Callable) -> list[bytes]:
        seen.append(environ.get("HTTP_HOST", ""))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"errcode": 0, "errmsg": "ok", "access_token": "via-proxy", "expires_in": 7200}']

    server = ServerThread().start(proxy)
    try:
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", server.url)
        settings = WeComSettings("wwcorp", "1000002", "secret", api_base="http://wecom.example.invalid")
        client = shared_token_client(settings, memory_store)
        monkeypatch.delenv("HTTP_PROXY")  # read at start: a later change does not matter
        assert client.fetch_access_token().value == "via-proxy"
        assert seen == ["wecom.example.invalid"]
        client.close()
    finally:
        server.stop()
