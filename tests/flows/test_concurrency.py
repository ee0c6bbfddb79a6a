"""Two gunicorn processes on one Redis: a code is honoured once, however many race for it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
import requests

from oidc_bridge.wecom_sim import SimulatorServer

from .conftest import FLOWS_DB, WEB
from .rp import Browser, RelyingParty


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_config(path: Path, issuer: str, sim: SimulatorServer) -> None:
    d = sim.directory
    path.write_text(
        f"""
issuer = "{issuer}"
redis_url = "redis://127.0.0.1:6379/{FLOWS_DB}"
keys_dir = "keys"
store_prefix = "race:"
[wecom]
corp_id = "{d.corp_id}"
agent_id = "{d.agent_id}"
secret = "env:RACE_WECOM_SECRET"
api_base = "{sim.base_url}"
oauth_base = "{sim.base_url}"
sso_base = "{sim.base_url}"
[[clients]]
client_id = "{WEB.client_id}"
client_secret = "{WEB.client_secret}"
redirect_uris = ["{WEB.redirect_uri}"]
""",
        encoding="utf-8",
    )


def _wait_ready(url: str, proc: subprocess.Popen) -> None:
    for _ in range(100):
        if proc.poll() is not None:
            raise AssertionError(f"gunicorn exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if requests.get(url + "/readyz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            # Not listening yet, or the worker is still booting with the connection queued.
            pass
        time.sleep(0.1)
    raise AssertionError("gunicorn did not become ready")


@contextmanager
def bridge_processes(sim: SimulatorServer, tmp_path: Path, count: int) -> Iterator[list[str]]:
    """``count`` gunicorn processes of one bridge (one issuer, one Redis, one keys_dir)."""
    ports = [_free_port() for _ in range(count)]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    config = tmp_path / "oidc-bridge.toml"
    _write_config(config, urls[0], sim)
    env = {**os.environ, "OIDC_BRIDGE_CONFIG": str(config), "RACE_WECOM_SECRET": sim.directory.secret}
    # Generate the key once, so every process signs with the same key from disk.
    subprocess.run(
        [sys.executable, "-m", "oidc_bridge", "keys", "generate", "--config", str(config)],
        env=env,
        check=True,
        capture_output=True,
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "oidc_bridge.wsgi:app"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for port in ports
    ]
    try:
        for url, proc in zip(urls, procs, strict=True):
            _wait_ready(url, proc)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)
            if proc.stderr:
                proc.stderr.close()


@pytest.fixture
def two_processes(sim: SimulatorServer, flows_redis: redis.Redis, tmp_path: Path) -> Iterator[list[str]]:
    with bridge_processes(sim, tmp_path, 2) as urls:
        yield urls


def test_one_code_raced_across_two_processes_is_honoured_once(two_processes: list[str]) -> None:
    issuer, other = two_processes
    rp = RelyingParty(issuer, WEB)
    _sess, url, secrets_ = rp.start()
    landed = Browser().go(url, WEB.redirect_uri)
    assert isinstance(landed, str)
    code = requests.utils.urlparse(landed).query.split("code=")[1].split("&")[0]

    def redeem(i: int) -> int:
        base = (issuer, other)[i % 2]
        return requests.post(
            base + "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": WEB.redirect_uri,
                "code_verifier": secrets_["verifier"],
            },
            auth=(WEB.client_id, WEB.client_secret),
            timeout=15,
        ).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(redeem, range(32)))
    assert statuses.count(200) == 1, statuses
    assert statuses.count(400) == 31


def test_both_processes_publish_the_same_key_and_accept_each_others_logins(two_processes: list[str]) -> None:
    issuer, other = two_processes
    assert (
        requests.get(issuer + "/jwks.json", timeout=5).json()
        == requests.get(other + "/jwks.json", timeout=5).json()
    )
    rp = RelyingParty(issuer, WEB)
    result = rp.login(Browser())
    token = result.token["access_token"]
    info = requests.get(other + "/userinfo", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert info.json()["sub"] == "zhangsan"


def test_authorize_callback_and_token_on_three_processes_cost_one_gettoken(
    sim: SimulatorServer, flows_redis: redis.Redis, tmp_path: Path
) -> None:
    with bridge_processes(sim, tmp_path, 3) as (first, second, third):
        rp = RelyingParty(first, WEB)
        _sess, url, secrets_ = rp.start()
        browser = Browser()
        at_wecom = browser.http.get(url, allow_redirects=False, timeout=10).headers["Location"]
        callback = browser.http.get(at_wecom, allow_redirects=False, timeout=10).headers["Location"]
        assert callback.startswith(first + "/wecom/callback")
        # WeCom's callback lands on another process (a load balancer's choice).
        back = browser.http.get(second + callback[len(first) :], allow_redirects=False, timeout=10)
        landed = back.headers["Location"]
        code = parse_qs(urlsplit(landed).query)["code"][0]
        token = requests.post(
            third + "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": WEB.redirect_uri,
                "code_verifier": secrets_["verifier"],
            },
            auth=(WEB.client_id, WEB.client_secret),
            timeout=10,
        )
        assert token.status_code == 200, token.text
        rp.verify_id_token(token.json()["id_token"], nonce=secrets_["nonce"])
        assert sim.stats.gettoken_calls == 1
