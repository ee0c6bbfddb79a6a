"""One access line per request, written by the app in the bridge's own log format."""

from __future__ import annotations

import io
import json
from pathlib import Path

from oidc_bridge.app import create_app
from oidc_bridge.config.schema import ClientSettings, Settings, WeComSettings
from oidc_bridge.store.memory_store import memory_store


def test_each_request_is_one_json_line_with_its_request_id_and_no_query(
    tmp_path: Path, json_log: io.StringIO
) -> None:
    settings = Settings(
        issuer="https://sso.example.com",
        wecom=WeComSettings("wwcorp", "1000002", "wecom-secret-0123456789abcdefghijklmnopq"),
        clients=(ClientSettings("c", ("https://a.example/cb",), client_secret="c" * 24),),
        keys_dir=tmp_path / "keys",
        trusted_proxies=1,
    )
    client = create_app(settings, store=memory_store()).test_client()

    client.get("/healthz?code=WECOMCODE123&state=STATE456", headers={"X-Forwarded-For": "203.0.113.9"})
    client.get("/no-such-page", headers={"User-Agent": "curl/8.5"})

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    access = [doc for doc in lines if doc["logger"] == "oidc_bridge.access"]
    assert [doc["msg"] for doc in access] == ["GET /healthz 200", "GET /no-such-page 404"]
    assert access[0]["remote_addr"] == "203.0.113.9"  # the client, not the proxy
    assert access[1]["user_agent"] == "curl/8.5"
    assert all(doc["request_id"] and doc["ms"] >= 0 for doc in access)
    assert len({doc["request_id"] for doc in access}) == 2
    assert "WECOMCODE123" not in json_log.getvalue() and "STATE456" not in json_log.getvalue()
