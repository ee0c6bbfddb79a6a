"""RP-initiated logout ends the session for every client; back-channel notices follow."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.jose import JsonWebKey

from oidc_bridge.oidc.keys import list_keys
from oidc_bridge.oidc.signing import sign_jwt

from .conftest import PORTAL, POST_LOGOUT, WEB, Stack
from .helpers import refresh
from .rp import Browser

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def test_logout_ends_both_clients_session_revokes_refresh_and_notifies_the_back_channel(stack: Stack) -> None:
    browser = Browser()
    web = stack.rp(WEB).login(browser)
    portal = stack.rp(PORTAL).login(browser, scope="openid offline_access")
    end = stack.rp(WEB).meta["end_session_endpoint"]
    out = browser.http.get(
        end,
        params={
            "id_token_hint": web.token["id_token"],
            "post_logout_redirect_uri": POST_LOGOUT,
            "state": "s 1",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert out.status_code == 302
    assert out.headers["Location"] == POST_LOGOUT + "?state=s%201"

    # Both clients need WeCom again: prompt=none now answers login_required.
    for client in (WEB, PORTAL):
        _sess, url, _s = stack.rp(client).start(prompt="none")
        landed = browser.go(url, client.redirect_uri)
        assert parse_qs(urlsplit(landed).query)["error"] == ["login_required"]
    assert refresh(stack, PORTAL, portal.token["refresh_token"]).json()["error"] == "invalid_grant"

    assert stack.receiver.received.wait(10), "the portal's back channel was told"
    jwks = JsonWebKey.import_key_set(requests.get(stack.rp().meta["jwks_uri"], timeout=5).json())
    from authlib.jose import jwt

    claims = jwt.decode(stack.receiver.tokens[0], jwks)
    assert claims["iss"] == stack.issuer and claims["aud"] == PORTAL.client_id
    assert claims["sub"] == "zhangsan" and claims["sid"] == portal.id_claims["sid"]
    assert BACKCHANNEL_EVENT in claims["events"] and "nonce" not in claims


def test_an_unregistered_post_logout_redirect_uri_shows_the_signed_out_page(stack: Stack) -> None:
    browser = Browser()
    web = stack.rp(WEB).login(browser)
    end = stack.rp(WEB).meta["end_session_endpoint"]
    out = browser.http.get(
        end,
        params={"id_token_hint": web.token["id_token"], "post_logout_redirect_uri": "https://evil.example/"},
        allow_redirects=False,
        timeout=10,
    )
    assert out.status_code == 200 and "Location" not in out.headers
    assert "signed out" in out.text


def test_an_expired_id_token_hint_still_identifies_the_session(stack: Stack) -> None:
    browser = Browser()
    web = stack.rp(WEB).login(browser)
    key = list_keys(stack.settings.keys_dir)[0]
    now = int(time.time())
    expired = sign_jwt(
        {
            "iss": stack.issuer,
            "aud": WEB.client_id,
            "sub": "zhangsan",
            "sid": web.id_claims["sid"],
            "iat": now - 7200,
            "exp": now - 3600,
        },
        key,
    )
    end = stack.rp(WEB).meta["end_session_endpoint"]
    # Another browser: only the hint names the session.
    out = requests.get(
        end,
        params={"id_token_hint": expired, "post_logout_redirect_uri": POST_LOGOUT},
        allow_redirects=False,
        timeout=10,
    )
    assert out.status_code == 302
    _sess, url, _s = stack.rp(WEB).start(prompt="none")
    assert parse_qs(urlsplit(browser.go(url, WEB.redirect_uri)).query)["error"] == ["login_required"]


def test_a_forged_id_token_hint_is_a_readable_400(stack: Stack) -> None:
    end = stack.rp(WEB).meta["end_session_endpoint"]
    out = requests.get(end, params={"id_token_hint": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."}, timeout=10)
    assert out.status_code == 400 and "<h1>" in out.text
