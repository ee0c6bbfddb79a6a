"""Whole logins, driven by a real relying party (Authlib) through the WeCom simulator."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

from .conftest import SPA, WEB, Stack
from .rp import DESKTOP_UA, WECOM_UA, Browser


def test_desktop_browser_signs_in_through_the_web_login_and_gets_a_verified_id_token(stack: Stack) -> None:
    result = stack.rp().login(Browser(DESKTOP_UA), scope="openid profile email")
    claims = result.id_claims
    assert claims["sub"] == "zhangsan"
    assert claims["name"] == "张三"
    assert claims["preferred_username"] == "zhangsan"
    assert isinstance(claims["auth_time"], int)
    assert "at_hash" in claims
    # The browser login yields only a userid: no email, never invented.
    assert "email" not in claims and "email" not in result.userinfo
    assert result.userinfo["sub"] == "zhangsan"
    assert stack.sim.stats.calls.get("/wwlogin/sso/login") == 1
    assert stack.sim.stats.calls.get("/connect/oauth2/authorize") is None


def test_inside_wecom_the_silent_login_with_consent_fills_email_phone_picture_and_gender(
    stack: Stack,
) -> None:
    result = stack.rp().login(Browser(WECOM_UA), scope="openid profile email phone")
    info = result.userinfo
    assert stack.sim.stats.calls.get("/connect/oauth2/authorize") == 1
    assert info["email"] and info["email_verified"] is True
    assert info["phone_number"] and info["phone_number_verified"] is True
    assert info["picture"].startswith("http")
    assert info["gender"] == "male"
    assert result.id_claims["email"] == info["email"]


def test_claims_follow_the_granted_scopes(stack: Stack) -> None:
    result = stack.rp().login(Browser(WECOM_UA), scope="openid groups")
    assert set(result.userinfo) == {"sub", "groups"}
    assert result.userinfo["groups"] == ["研发部"]
    assert "name" not in result.id_claims and "email" not in result.id_claims


def test_public_client_signs_in_with_pkce(stack: Stack) -> None:
    result = stack.rp(SPA).login(Browser())
    assert result.id_claims["aud"] == SPA.client_id or result.id_claims["aud"] == [SPA.client_id]


def test_client_state_comes_back_byte_for_byte_with_iss(stack: Stack) -> None:
    rp = stack.rp()
    _sess, url, secrets_ = rp.start()
    raw_state = "redirect%3D%2Fadmin%2F%E4%B8%AD%E6%96%87%26x%3D1+y"
    url = url.replace("state=" + secrets_["state"], "state=" + raw_state)
    landed = Browser().go(url, WEB.redirect_uri)
    assert isinstance(landed, str)
    query = urlsplit(landed).query
    assert "state=" + raw_state in query.split("&")
    assert parse_qs(query)["iss"] == [stack.issuer]


def test_a_second_client_login_gets_its_own_code(stack: Stack) -> None:
    browser = Browser()
    first = stack.rp().login(browser)
    second = stack.rp(SPA).login(browser)
    assert first.token["access_token"] != second.token["access_token"]


def test_discovery_echoes_the_issuer_and_advertises_only_what_works(stack: Stack) -> None:
    meta = requests.get(stack.issuer + "/.well-known/openid-configuration", timeout=5).json()
    assert meta["issuer"] == stack.settings.issuer
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["response_types_supported"] == ["code"]
    assert meta["subject_types_supported"] == ["public"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    jwks = requests.get(meta["jwks_uri"], timeout=5).json()
    for key in jwks["keys"]:
        assert {"kid", "use", "alg", "kty", "n", "e"} <= set(key)
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_a_new_es256_key_signs_the_next_id_tokens_and_clients_still_verify(stack: Stack) -> None:
    import base64
    import json

    from oidc_bridge.oidc.keys import generate_key

    es256 = generate_key(stack.settings.keys_dir, "ES256")
    # A fresh RP fetches the JWKS after the key appeared, as clients do on an unknown kid.
    result = stack.rp().login(Browser())
    header_b64 = result.token["id_token"].split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
    assert header == {"alg": "ES256", "kid": es256.kid, "typ": "JWT"}
