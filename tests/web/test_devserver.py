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
