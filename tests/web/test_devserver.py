"""The loopback server the demo and tests share."""

from __future__ import annotations

import threading

import requests

from oidc_bridge.devserver import ServerThread


def _hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hi"]


def test_a_server_that_never_started_stops_without_hanging() -> None:
    server = ServerThread()
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    stopper.join(timeout=10)
    assert not stopper.is_alive()


def test_serves_then_stops() -> None:
    server = ServerThread().start(_hello)
    assert requests.get(server.url, timeout=5).text == "hi"
    server.stop()


def _remote_addr_seen(settings, header: str) -> str:
    from flask import request

    from oidc_bridge.app import create_app
    from oidc_bridge.store.memory_store import memory_store

    app = create_app(settings, store=memory_store())
    seen: list[str] = []

    @app.get("/whoami")
    def whoami() -> str:
        seen.append(request.remote_addr or "")
        return "ok"

    app.test_client().get("/whoami", headers={"X-Forwarded-For": header})
    return seen[0]


def test_x_forwarded_for_is_trusted_only_from_configured_proxies(tmp_path) -> None:
    from dataclasses import replace

    from oidc_bridge.config.schema import ClientSettings, Settings, WeComSettings

    base = Settings(
        issuer="https://sso.example.com",
        wecom=WeComSettings("ww1", "1000002", "s"),
        clients=(ClientSettings("c", ("https://a.example/cb",), client_secret="x" * 20),),
        keys_dir=tmp_path / "keys",
    )
    assert _remote_addr_seen(base, "203.0.113.9") == "127.0.0.1"
    assert _remote_addr_seen(replace(base, trusted_proxies=1), "203.0.113.9") == "203.0.113.9"
