"""Starting and stopping the simulator, and running it with a custom directory."""

from __future__ import annotations

import http.client

import pytest
import requests

from oidc_bridge.wecom_sim import Directory, SimDepartment, SimulatorServer, SimUser


def test_base_url_is_known_only_once_started() -> None:
    server = SimulatorServer()
    with pytest.raises(RuntimeError):
        _ = server.base_url
    with server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert not server.base_url.endswith(":0")
    with pytest.raises(RuntimeError):
        _ = server.base_url


def test_a_custom_directory_and_clock_are_used() -> None:
    directory = Directory(
        "wwcustom",
        "1000009",
        "s3cret",
        users=[SimUser("amy", "Amy", department=(7,))],
        departments=[SimDepartment(7, "Ops", 0)],
    )
    with SimulatorServer(directory, clock=lambda: 1_000_000.0) as sim, requests.Session() as http:
        assert sim.clock() == 1_000_000.0
        sim.advance(10)
        assert sim.clock() == 1_000_010.0
        params = {"corpid": "wwcustom", "corpsecret": "s3cret"}
        token = http.get(f"{sim.base_url}/cgi-bin/gettoken", params=params, timeout=5).json()["access_token"]
        user = http.get(
            f"{sim.base_url}/cgi-bin/user/get", params={"access_token": token, "userid": "amy"}, timeout=5
        ).json()
        assert user["name"] == "Amy" and user["main_department"] == 7


def test_two_simulators_run_side_by_side() -> None:
    with SimulatorServer() as one, SimulatorServer() as two:
        assert one.base_url != two.base_url
        one.invalidate_tokens()
        assert two.stats.calls == {}


def test_connections_are_kept_alive_between_calls_as_wecom_does() -> None:
    """The bridge keeps a pool of connections to WeCom; the simulator must let it reuse them."""
    with SimulatorServer() as sim:
        host, port = sim.base_url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            conn.request("GET", "/cgi-bin/gettoken?corpid=x&corpsecret=y")
            first = conn.getresponse()
            first.read()
            sock = conn.sock
            assert sock is not None and first.getheader("Connection", "").lower() != "close"
            conn.request("GET", "/cgi-bin/gettoken?corpid=x&corpsecret=y")
            second = conn.getresponse()
            second.read()
            assert conn.sock is sock and second.status == 200
        finally:
            conn.close()
