"""No secret reaches a log line: a whole login, refresh and logout with JSON logs at DEBUG, then
every value that would let someone act as the bridge, a client or a person is searched for."""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from .conftest import PORTAL, POST_LOGOUT, WEB, Stack
from .helpers import refresh
from .rp import WECOM_UA, Browser, Client

pytestmark = pytest.mark.redis


def _login(
    stack: Stack, browser: Browser, client: Client, scope: str, urls: list[str], verifiers: list[str]
) -> dict[str, Any]:
    """A login that keeps every URL the browser passed through (the WeCom code is in one)."""
    rp = stack.rp(client)
    sess, url, secrets_ = rp.start(scope)
    verifiers.append(secrets_["verifier"])
    for _ in range(10):
        urls.append(url)
        if url.startswith(client.redirect_uri):
            break
        response = browser.http.get(url, allow_redirects=False, timeout=15)
        assert response.status_code in (302, 303), response.text[:300]
        url = requests.compat.urljoin(url, response.headers["Location"])
    return rp.finish(sess, url, secrets_).token


def _query_values(url: str, *names: str) -> list[str]:
    query = parse_qs(urlsplit(url).query)
    return [v for name in names for v in query.get(name, [])]


def test_a_login_refresh_and_logout_leave_no_secret_in_any_log_line(
    stack: Stack, json_log: io.StringIO
) -> None:
    browser = Browser(WECOM_UA)  # in-app: the path where WeCom also hands out a user_ticket
    urls: list[str] = []
    verifiers: list[str] = []
    web = _login(stack, browser, WEB, "openid profile email phone", urls, verifiers)
    portal = _login(stack, browser, PORTAL, "openid profile offline_access", urls, verifiers)
    renewed = refresh(stack, PORTAL, portal["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    out = browser.http.get(
        stack.rp(WEB).meta["end_session_endpoint"],
        params={"id_token_hint": web["id_token"], "post_logout_redirect_uri": POST_LOGOUT},
        allow_redirects=False,
        timeout=10,
    )
    assert out.status_code == 302
    assert stack.receiver.received.wait(10), "no back-channel logout arrived"

    credentials = stack.sim.state.credentials
    secrets_seen = {
        "WeCom secret": [stack.settings.wecom.secret],
        "client secrets": [WEB.client_secret, PORTAL.client_secret],
        # WeCom sends its code to the bridge's callback; the bridge sends its own to the client.
        "WeCom codes": [v for u in urls if u.startswith(stack.issuer) for v in _query_values(u, "code")],
        "authorization codes": [
            v
            for u in urls
            if u.startswith((WEB.redirect_uri, PORTAL.redirect_uri))
            for v in _query_values(u, "code")
        ],
        "tokens": [
            t[k]
            for t in (web, portal, renewed.json())
            for k in ("access_token", "refresh_token", "id_token")
            if k in t
        ],
        "WeCom access tokens": list(credentials._tokens),
        "user_tickets": list(credentials._tickets),
        "cookies": [c.value for c in browser.http.cookies if c.value and len(c.value) >= 16],
        "logout tokens": list(stack.receiver.tokens),
        "PKCE verifiers": verifiers,
    }
    # Every kind was really seen, or the search below would prove nothing.
    for kind, values in secrets_seen.items():
        assert values, f"no {kind} seen"
    assert len(secrets_seen["WeCom codes"]) == 1 and len(secrets_seen["authorization codes"]) == 2
    assert secrets_seen["user_tickets"], "the in-app login with phone/email got no user_ticket"

    lines = json_log.getvalue().splitlines()
    assert len(lines) > 10
    for line in lines:
        doc = json.loads(line)
        assert "request_id" in doc, line
        if doc["logger"].startswith("oidc_bridge.") and not doc["logger"].startswith("oidc_bridge.wecom_sim"):
            assert doc["request_id"], line
        for kind, values in secrets_seen.items():
            for secret in values:
                assert secret not in line, f"a {kind} value reached the log: {line[:300]}"


def test_one_login_id_ties_authorize_the_wecom_callback_and_the_token_together(
    stack: Stack, json_log: io.StringIO
) -> None:
    stack.rp().login(Browser())
    lines = [json.loads(line) for line in json_log.getvalue().splitlines() if line.strip()]
    steps = {
        "started": [r for r in lines if r["msg"].startswith("login started")],
        "completed": [r for r in lines if r["msg"].startswith("login completed")],
        "redeemed": [r for r in lines if r["msg"].startswith("code redeemed")],
    }
    assert all(len(found) == 1 for found in steps.values()), steps
    ids = {found[0]["login_id"] for found in steps.values()}
    assert len(ids) == 1 and None not in ids and "" not in ids
    requests_ids = {found[0]["request_id"] for found in steps.values()}
    assert len(requests_ids) == 3, "three requests, one login"
