"""The token and userinfo endpoints as a client meets them."""

from __future__ import annotations

import base64

import requests

from .conftest import WEB, Stack
from .rp import Browser


def _code(stack: Stack) -> tuple[str, dict[str, str], str]:
    rp = stack.rp()
    _sess, url, secrets_ = rp.start()
    landed = Browser().go(url, WEB.redirect_uri)
    assert isinstance(landed, str)
    code = requests.utils.urlparse(landed).query.split("code=")[1].split("&")[0]
    return code, secrets_, rp.meta["token_endpoint"]


def _redeem(
    endpoint: str, code: str, verifier: str, secret: str = WEB.client_secret or ""
) -> requests.Response:
    return requests.post(
        endpoint,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": WEB.redirect_uri,
            "code_verifier": verifier,
        },
        auth=(WEB.client_id, secret),
        timeout=10,
    )


def test_token_response_is_not_cacheable(stack: Stack) -> None:
    code, s, endpoint = _code(stack)
    response = _redeem(endpoint, code, s["verifier"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert response.json()["token_type"] == "Bearer"


def test_reused_code_is_refused_and_revokes_its_tokens(stack: Stack) -> None:
    code, s, endpoint = _code(stack)
    first = _redeem(endpoint, code, s["verifier"])
    access_token = first.json()["access_token"]
    userinfo = stack.rp().meta["userinfo_endpoint"]
    assert requests.get(userinfo, headers={"Authorization": f"Bearer {access_token}"}, timeout=5).ok
    again = _redeem(endpoint, code, s["verifier"])
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    revoked = requests.get(userinfo, headers={"Authorization": f"Bearer {access_token}"}, timeout=5)
    assert revoked.status_code == 401


def test_wrong_pkce_verifier_is_invalid_grant(stack: Stack) -> None:
    code, _s, endpoint = _code(stack)
    response = _redeem(endpoint, code, "x" * 50)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_wrong_secret_is_invalid_client_401(stack: Stack) -> None:
    code, s, endpoint = _code(stack)
    response = _redeem(endpoint, code, s["verifier"], secret="wrong")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in response.headers


def test_client_secret_post_works(stack: Stack) -> None:
    code, s, endpoint = _code(stack)
    response = requests.post(
        endpoint,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": WEB.redirect_uri,
            "code_verifier": s["verifier"],
            "client_id": WEB.client_id,
            "client_secret": WEB.client_secret,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_malformed_token_requests_get_rfc6749_json(stack: Stack) -> None:
    endpoint = stack.rp().meta["token_endpoint"]
    auth = (WEB.client_id, WEB.client_secret)
    cases = [
        ({"grant_type": "password"}, "unsupported_grant_type", 400),
        ({}, "invalid_request", 400),
        ({"grant_type": "authorization_code"}, "invalid_request", 400),
        (
            {"grant_type": "authorization_code", "code": "nope", "redirect_uri": WEB.redirect_uri},
            "invalid_grant",
            400,
        ),
    ]
    for data, error, status in cases:
        response = requests.post(endpoint, data=data, auth=auth, timeout=5)
        assert (response.status_code, response.json()["error"]) == (status, error), data
    dup = requests.post(
        endpoint + "?",
        data="grant_type=a&grant_type=b",
        auth=auth,
        timeout=5,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert dup.status_code == 400 and dup.json()["error"] == "invalid_request"
    as_json = requests.post(endpoint, json={"grant_type": "authorization_code"}, auth=auth, timeout=5)
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    bad_basic = requests.post(
        endpoint,
        data={"grant_type": "authorization_code"},
        timeout=5,
        headers={"Authorization": "Basic " + base64.b64encode(b"\xff:\xfe").decode()},
    )
    assert bad_basic.status_code == 401
    wrong_method = requests.get(endpoint, timeout=5)
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "invalid_request"


def test_userinfo_accepts_header_or_form_and_refuses_bad_tokens(stack: Stack) -> None:
    code, s, endpoint = _code(stack)
    token = _redeem(endpoint, code, s["verifier"]).json()["access_token"]
    userinfo = stack.rp().meta["userinfo_endpoint"]
    assert requests.post(userinfo, data={"access_token": token}, timeout=5).json()["sub"] == "zhangsan"
    for headers in ({"Authorization": "Bearer garbage"}, {"Authorization": "Basic x"}, {}):
        response = requests.get(userinfo, headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.headers["Cache-Control"] == "no-store"
