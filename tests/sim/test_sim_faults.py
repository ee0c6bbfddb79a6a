"""Injected faults: WeCom errcodes, HTTP failures, latency; and the call counters."""

from __future__ import annotations

import pytest
import requests

from oidc_bridge.wecom_sim import SimulatorServer

from .support import SimClient, page_errcode

USER_GET = "/cgi-bin/user/get"


def test_fail_next_answers_the_errcode_the_given_number_of_times(
    wecom: SimClient, sim: SimulatorServer
) -> None:
    token = wecom.token()
    sim.faults.fail_next(USER_GET, 45009, times=2)
    first = wecom.api(USER_GET, token=token, userid="zhangsan")
    assert first["errcode"] == 45009
    assert first["errmsg"].endswith("more info at https://open.work.weixin.qq.com/devtool/query?e=45009")
    assert wecom.api(USER_GET, token=token, userid="zhangsan")["errcode"] == 45009
    assert wecom.api(USER_GET, token=token, userid="zhangsan")["errcode"] == 0


def test_fail_next_uses_a_given_errmsg_verbatim(wecom: SimClient, sim: SimulatorServer) -> None:
    sim.faults.fail_next("/cgi-bin/gettoken", -1, errmsg="system busy")
    assert wecom.gettoken() == {"errcode": -1, "errmsg": "system busy"}
    assert wecom.gettoken()["errcode"] == 0


def test_a_fault_on_one_path_leaves_others_alone(wecom: SimClient, sim: SimulatorServer) -> None:
    sim.faults.fail_next(USER_GET, 60111)
    assert wecom.api("/cgi-bin/department/simplelist")["errcode"] == 0
    assert sim.faults.pending(USER_GET) == 1


def test_http_error_gives_a_non_json_failure_once(wecom: SimClient, sim: SimulatorServer) -> None:
    token = wecom.token()
    sim.faults.http_error(USER_GET, status=502)
    resp = wecom.http.get(
        wecom.url(USER_GET), params={"access_token": token, "userid": "zhangsan"}, timeout=5
    )
    assert resp.status_code == 502
    with pytest.raises(requests.JSONDecodeError):
        resp.json()
    assert wecom.api(USER_GET, token=token, userid="zhangsan")["errcode"] == 0


def test_a_delay_longer_than_the_read_timeout_times_the_call_out(
    wecom: SimClient, sim: SimulatorServer
) -> None:
    token = wecom.token()
    sim.faults.delay(USER_GET, 30)  # a hang; stopping the simulator releases it
    with pytest.raises(requests.ReadTimeout):
        wecom.http.get(
            wecom.url(USER_GET), params={"access_token": token, "userid": "zhangsan"}, timeout=(3, 0.2)
        )
    assert wecom.api(USER_GET, token=token, userid="zhangsan")["errcode"] == 0


def test_a_short_delay_still_answers(wecom: SimClient, sim: SimulatorServer) -> None:
    sim.faults.delay(USER_GET, 0.01)
    assert wecom.api(USER_GET, userid="zhangsan")["errcode"] == 0
    assert sim.faults.pending(USER_GET) == 0


def test_a_fault_on_a_login_page_shows_an_error_page(wecom: SimClient, sim: SimulatorServer) -> None:
    sim.faults.fail_next("/wwlogin/sso/login", -31039)
    resp = wecom.sso()
    assert resp.status_code == 200 and page_errcode(resp.text) == -31039


def test_clear_drops_pending_faults(wecom: SimClient, sim: SimulatorServer) -> None:
    sim.faults.fail_next(USER_GET, -1, times=5)
    sim.faults.clear()
    assert wecom.api(USER_GET, userid="zhangsan")["errcode"] == 0


def test_every_call_is_counted_by_path_faulted_ones_included(wecom: SimClient, sim: SimulatorServer) -> None:
    sim.faults.fail_next(USER_GET, -1)
    token = wecom.token()
    wecom.api(USER_GET, token=token, userid="zhangsan")
    wecom.api(USER_GET, token=token, userid="zhangsan")
    wecom.login("zhangsan")
    assert sim.stats.calls == {"/cgi-bin/gettoken": 1, USER_GET: 2, "/wwlogin/sso/login": 1}
    sim.stats.reset()
    assert sim.stats.calls == {} and sim.stats.gettoken_calls == 0
