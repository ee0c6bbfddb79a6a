"""Back-channel logout: the token a client's server receives, and a dead client never stalls sign-out."""

from __future__ import annotations

import ast
import base64
import json
import logging
import socket
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from authlib.deprecate import AuthlibDeprecationWarning
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from oidc_bridge.oidc import backchannel as backchannel_module
from oidc_bridge.oidc.backchannel import (
    LOGOUT_EVENT,
    BackchannelNotifier,
    default_post,
    logout_token,
)
from oidc_bridge.oidc.keys import KeyRing, generate_key
from oidc_bridge.oidc.signing import verify_jwt

with warnings.catch_warnings():
    # Authlib's JOSE module is deprecated in favour of joserfc; it is still an independent verifier.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.jose import JsonWebKey
    from authlib.jose import jwt as authlib_jwt

ISSUER = "https://sso.example.com"
NOW = 1_700_000_000


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    keys_dir = tmp_path_factory.mktemp("keys")
    generate_key(keys_dir, "ES256")
    return KeyRing.load_or_create(keys_dir)


@dataclass
class Receiver:
    """A client's back-channel logout endpoint on 127.0.0.1, serving over real HTTP."""

    url: str
    received: list[tuple[str, str]] = field(default_factory=list)  # (content type, body)
    release: threading.Event = field(default_factory=threading.Event)


def _serve(handler: Callable[[Receiver, Request], Response]) -> Iterator[Receiver]:
    receiver = Receiver(url="")

    @Request.application
    def app(request: Request) -> Response:
        receiver.received.append((request.content_type or "", request.get_data(as_text=True)))
        return handler(receiver, request)

    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    receiver.url = f"http://127.0.0.1:{server.server_port}/oidc/backchannel-logout?tenant=a"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()  # a hanging handler returns now rather than after its 10 s
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from _serve(lambda _r, _req: Response(status=200))


@pytest.fixture
def hanging_receiver() -> Iterator[Receiver]:
    def hang(receiver: Receiver, _request: Request) -> Response:
        receiver.release.wait(10)
        return Response(status=200)

    yield from _serve(hang)


@pytest.fixture
def notifier() -> Iterator[BackchannelNotifier]:
    notifier = BackchannelNotifier(default_post, timeout=5.0)
    try:
        yield notifier
    finally:
        notifier.shutdown(wait=True)


def _header(token: str) -> dict[str, Any]:
    part = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_the_logout_token_carries_what_back_channel_logout_requires(ring: KeyRing) -> None:
    token = logout_token(ISSUER, "grafana", "zhangsan", "sid-1", ring.current, now=NOW)
    claims = verify_jwt(token, ring, audience="grafana", issuer=ISSUER, typ="logout+jwt", now=NOW)
    assert claims.pop("jti") and claims == {
        "iss": ISSUER,
        "aud": "grafana",
        "iat": NOW,
        "exp": NOW + 120,
        "events": {LOGOUT_EVENT: {}},
        "sub": "zhangsan",
        "sid": "sid-1",
    }
    assert _header(token) == {"alg": "ES256", "kid": ring.current.kid, "typ": "logout+jwt"}


def test_each_logout_token_has_its_own_jti(ring: KeyRing) -> None:
    tokens = [logout_token(ISSUER, "grafana", "zhangsan", "sid-1", ring.current, now=NOW) for _ in range(2)]
    jtis = {verify_jwt(t, ring, now=NOW)["jti"] for t in tokens}
    assert len(jtis) == 2


def test_a_logout_token_names_a_sub_or_a_sid(ring: KeyRing) -> None:
    only_sid = verify_jwt(
        logout_token(ISSUER, "grafana", None, "sid-1", ring.current, now=NOW), ring, now=NOW
    )
    assert only_sid["sid"] == "sid-1" and "sub" not in only_sid
    with pytest.raises(ValueError):
        logout_token(ISSUER, "grafana", None, None, ring.current)


def test_the_clients_server_receives_a_form_post_it_can_verify(
    ring: KeyRing, receiver: Receiver, notifier: BackchannelNotifier
) -> None:
    token = logout_token(ISSUER, "grafana", "zhangsan", "sid-1", ring.current)
    assert notifier.notify(receiver.url, token).result(timeout=10) == 200
    [(content_type, body)] = receiver.received
    assert content_type == "application/x-www-form-urlencoded"
    assert parse_qs(body) == {"logout_token": [token]}
    # Both our verifier and an independent library accept what arrived.
    received = parse_qs(body)["logout_token"][0]
    claims = verify_jwt(received, ring, audience="grafana", issuer=ISSUER, typ="logout+jwt")
    assert "nonce" not in claims
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AuthlibDeprecationWarning)
        decoded = authlib_jwt.decode(received, JsonWebKey.import_key_set(ring.jwks()))
        decoded.validate()
    assert dict(decoded) == claims


def test_notify_returns_before_the_post_is_made() -> None:
    started, release = threading.Event(), threading.Event()

    def slow_post(uri: str, data: dict[str, str], timeout: float) -> int:
        started.set()
        release.wait(10)
        return 204

    notifier = BackchannelNotifier(slow_post)
    try:
        future = notifier.notify("https://rp.example.com/logout", "token")
        assert not future.done()
        assert started.wait(10)
        assert not future.done()
        release.set()
        assert future.result(timeout=10) == 204
    finally:
        release.set()
        notifier.shutdown(wait=True)


def test_a_hanging_client_does_not_block_notify_and_the_timeout_ends_it(
    ring: KeyRing, hanging_receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = BackchannelNotifier(default_post, timeout=0.5)
    token = logout_token(ISSUER, "grafana", "zhangsan", "sid-1", ring.current)
    try:
        with caplog.at_level(logging.WARNING, logger="oidc_bridge.oidc.backchannel"):
            future = notifier.notify(hanging_receiver.url, token)
            assert not future.done()  # the receiver holds its answer for 10 s
            # Ended by the read timeout, not by the receiver: it is still holding its answer.
            assert future.result(timeout=9) is None
            assert not hanging_receiver.release.is_set()
    finally:
        notifier.shutdown(wait=True)
    [record] = caplog.records
    assert record.getMessage() == "back-channel logout to 127.0.0.1 failed: ReadTimeout"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_refused_connection_is_logged_with_the_host_only(
    ring: KeyRing, notifier: BackchannelNotifier, caplog: pytest.LogCaptureFixture
) -> None:
    token = logout_token(ISSUER, "grafana", "zhangsan", "sid-1", ring.current)
    uri = f"http://127.0.0.1:{_closed_port()}/logout?secret=s3cr3t"
    with caplog.at_level(logging.DEBUG):
        assert notifier.notify(uri, token).result(timeout=10) is None
    warning = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warning] == ["back-channel logout to 127.0.0.1 failed: ConnectionError"]
    # Nothing logged anywhere (requests and urllib3 included) carries the token or the query.
    for record in caplog.records:
        assert token not in record.getMessage() and "s3cr3t" not in record.getMessage()


@pytest.mark.parametrize("status", [302, 400, 500])
def test_a_non_2xx_answer_is_logged(status: int, caplog: pytest.LogCaptureFixture) -> None:
    notifier = BackchannelNotifier(lambda uri, data, timeout: status)
    try:
        with caplog.at_level(logging.WARNING, logger="oidc_bridge.oidc.backchannel"):
            assert notifier.notify("https://rp.example.com/bc?x=1", "token").result(timeout=10) == status
    finally:
        notifier.shutdown(wait=True)
    assert [r.getMessage() for r in caplog.records] == [
        f"back-channel logout to rp.example.com answered HTTP {status}"
    ]


def test_a_broken_post_callable_is_logged_without_its_message(caplog: pytest.LogCaptureFixture) -> None:
    def leaky(uri: str, data: dict[str, str], timeout: float) -> int:
        raise RuntimeError(f"could not send {data['logout_token']}")

    notifier = BackchannelNotifier(leaky)
    try:
        with caplog.at_level(logging.WARNING, logger="oidc_bridge.oidc.backchannel"):
            assert notifier.notify("https://rp.example.com/bc", "the-token").result(timeout=10) is None
    finally:
        notifier.shutdown(wait=True)
    assert [r.getMessage() for r in caplog.records] == [
        "back-channel logout to rp.example.com failed: RuntimeError"
    ]


def test_notifications_past_the_bound_are_dropped_not_queued(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()

    def blocked(uri: str, data: dict[str, str], timeout: float) -> int:
        release.wait(10)
        return 200

    notifier = BackchannelNotifier(blocked, max_workers=1, max_pending=2)
    try:
        with caplog.at_level(logging.WARNING, logger="oidc_bridge.oidc.backchannel"):
            futures = [notifier.notify("https://rp.example.com/bc", "t") for _ in range(3)]
        assert futures[2].done() and futures[2].result() is None
        assert [r.getMessage() for r in caplog.records] == [
            "back-channel logout to rp.example.com dropped: too many notifications pending"
        ]
        release.set()
        assert [f.result(timeout=10) for f in futures[:2]] == [200, 200]
        # The slots came back: the next one is sent.
        assert notifier.notify("https://rp.example.com/bc", "t").result(timeout=10) == 200
    finally:
        release.set()
        notifier.shutdown(wait=True)


def test_after_shutdown_notify_drops_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    notifier = BackchannelNotifier(lambda uri, data, timeout: 200)
    notifier.shutdown(wait=False)
    with caplog.at_level(logging.WARNING, logger="oidc_bridge.oidc.backchannel"):
        assert notifier.notify("https://rp.example.com/bc", "t").result(timeout=10) is None
    assert "shutting down" in caplog.records[0].getMessage()


def test_the_core_has_no_module_level_http_import() -> None:
    tree = ast.parse(Path(backchannel_module.__file__).read_text(encoding="utf-8"))
    top_level = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not top_level & {"flask", "redis", "fakeredis", "requests", "werkzeug"}


def test_the_background_post_logs_with_the_logout_requests_context() -> None:
    from oidc_bridge.observability import bind, current_context

    seen: list[str | None] = []

    def post(uri: str, data: dict[str, str], timeout: float) -> int:
        seen.append(current_context()["request_id"])
        return 200

    notifier = BackchannelNotifier(post)
    bind(request_id="req-logout-1")
    notifier.notify("http://127.0.0.1:9/bc", "token").result(timeout=5)
    notifier.shutdown(wait=True)
    assert seen == ["req-logout-1"]
