"""/metrics: what an operator sees after logins, failures and token requests, in one process and
summed over several gunicorn workers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from oidc_bridge.errors import StoreUnavailable
from oidc_bridge.metrics import Metrics
from oidc_bridge.oidc.keys import KeyRing
from oidc_bridge.store.redis_store import RedisStore
from tests.flows import conftest as flows
from tests.flows.conftest import PORTAL, WEB, Stack
from tests.flows.helpers import refresh
from tests.flows.rp import Browser

pytestmark = pytest.mark.redis

# The loopback stack of tests/flows (simulator, bridge on the test Redis, logout receiver).
sim, flows_redis, stack_with, stack = flows.sim, flows.flows_redis, flows.stack_with, flows.stack


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def scrape(stack: Stack) -> str:
    response = requests.get(stack.issuer + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return response.text


def test_a_login_shows_as_completed_with_its_wecom_calls_one_token_fetch_and_tokens_by_grant(
    stack: Stack,
) -> None:
    token = stack.rp(PORTAL).login(Browser(), scope="openid profile offline_access").token
    assert refresh(stack, PORTAL, token["refresh_token"]).status_code == 200
    text = scrape(stack)

    assert value(text, "oidc_bridge_logins_started_total", entry="web") == 1
    assert value(text, "oidc_bridge_logins_completed_total", entry="web") == 1
    assert value(text, "oidc_bridge_tokens_issued_total", grant_type="authorization_code") == 1
    assert value(text, "oidc_bridge_tokens_issued_total", grant_type="refresh_token") == 1
    assert value(text, "oidc_bridge_wecom_token_fetches_total") == 1
    assert value(text, "oidc_bridge_wecom_token_cache_hits_total") >= 1
    for api in ("gettoken", "auth/getuserinfo", "user/get"):
        assert value(text, "oidc_bridge_wecom_calls_total", api=api, errcode="0") >= 1, api
        assert value(text, "oidc_bridge_wecom_call_duration_seconds_count", api=api) >= 1, api
    assert value(text, "oidc_bridge_store_errors_total") == 0


def test_requests_are_counted_by_endpoint_name_never_by_path(stack: Stack) -> None:
    requests.get(stack.issuer + "/no/such/" + "x" * 40, timeout=10)
    requests.get(stack.issuer + "/healthz", timeout=10)
    text = scrape(stack)
    assert value(text, "oidc_bridge_http_requests_total", endpoint="ops.healthz", method="GET", status="200")
    assert value(text, "oidc_bridge_http_requests_total", endpoint="unmatched", method="GET", status="404")
    assert value(text, "oidc_bridge_http_request_duration_seconds_count", endpoint="ops.healthz") >= 1
    assert "/no/such" not in text


def test_made_up_http_methods_share_one_series_so_a_client_cannot_grow_the_scrape(stack: Stack) -> None:
    for n in range(5):
        requests.request(f"PROBE{n}X", stack.issuer + "/healthz", timeout=10)
    requests.request("OPTIONS", stack.issuer + "/healthz", timeout=10)
    text = scrape(stack)
    assert "PROBE" not in text
    assert (
        value(text, "oidc_bridge_http_requests_total", endpoint="unmatched", method="other", status="405")
        == 5
    )
    # The methods HTTP defines keep their own name.
    assert value(
        text, "oidc_bridge_http_requests_total", endpoint="ops.healthz", method="OPTIONS", status="200"
    )


def test_a_disabled_person_counts_as_a_failed_login_with_reason_disabled(stack: Stack) -> None:
    stack.sim.auto_approve = "wangwu"
    _sess, url, _ = stack.rp(WEB).start()
    page = Browser().go(url, WEB.redirect_uri)
    assert not isinstance(page, str) and page.status_code == 403
    text = scrape(stack)
    assert value(text, "oidc_bridge_logins_failed_total", reason="disabled") == 1
    assert value(text, "oidc_bridge_logins_completed_total", entry="web") == 0


# -- several gunicorn workers ------------------------------------------------------------------------

APP_MODULE = """
from pathlib import Path

from oidc_bridge.app import create_app
from oidc_bridge.config.schema import ClientSettings, Settings, WeComSettings

settings = Settings(
    issuer="http://127.0.0.1:{port}",
    wecom=WeComSettings(corp_id="ww0000000000000001", agent_id="1000002", secret="s" * 43),
    clients=(ClientSettings("webapp", ("http://127.0.0.1:9/cb",), client_secret="c" * 32),),
    keys_dir=Path({keys!r}),
)
app = create_app(settings)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    keys = tmp_path / "keys"
    KeyRing.load_or_create(keys)  # before the workers start: they would race to create it
    (tmp_path / "metrics_app.py").write_text(textwrap.dedent(APP_MODULE.format(port=port, keys=str(keys))))
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "PYTHONPATH": str(tmp_path)}
    gunicorn = [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(
        [*gunicorn, "metrics_app:app"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while len(list(metrics_dir.glob("counter_*.db"))) < 2:
            assert proc.poll() is None, "gunicorn exited"
            assert time.monotonic() < deadline, "the two workers did not start"
            time.sleep(0.1)
        yield base, metrics_dir
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _healthz_by_worker(metrics_dir: Path) -> dict[str, float]:
    """Each worker's own count of /healthz answers, read from its file."""
    out = {}
    for path in metrics_dir.glob("counter_*.db"):
        for metric in MultiProcessCollector.merge([str(path)], accumulate=True):
            for s in metric.samples:
                if s.name == "oidc_bridge_http_requests_total" and s.labels["endpoint"] == "ops.healthz":
                    out[path.name] = out.get(path.name, 0.0) + s.value
    return out


def test_metrics_under_two_gunicorn_workers_sum_the_requests_both_served(
    two_workers: tuple[str, Path],
) -> None:
    base, metrics_dir = two_workers

    def hit(_: int) -> int:
        with requests.Session() as http:
            return http.get(base + "/healthz", headers={"Connection": "close"}, timeout=10).status_code

    sent = 0
    with ThreadPoolExecutor(8) as pool:
        for _ in range(20):
            assert set(pool.map(hit, range(40))) == {200}
            sent += 40
            if len([n for n in _healthz_by_worker(metrics_dir).values() if n > 0]) >= 2:
                break
    served = _healthz_by_worker(metrics_dir)
    assert len([n for n in served.values() if n > 0]) == 2, f"one worker served everything: {served}"

    text = requests.get(base + "/metrics", timeout=10).text
    total = value(text, "oidc_bridge_http_requests_total", endpoint="ops.healthz", method="GET", status="200")
    assert total == sent == sum(served.values())


def test_an_unreachable_store_is_counted_as_a_store_error() -> None:
    metrics = Metrics()
    store = RedisStore.from_url("redis://127.0.0.1:1/0")  # nothing listens on port 1
    store.count_errors_in(metrics)
    with pytest.raises(StoreUnavailable):
        store.get("anything")
    text = metrics.render()[0].decode()
    assert value(text, "oidc_bridge_store_errors_total") == 1
