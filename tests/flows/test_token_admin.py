"""Revocation (RFC 7009) and introspection (RFC 7662), client-authenticated."""

from __future__ import annotations

from .conftest import PORTAL, WEB, Stack
from .helpers import introspect, post, refresh, userinfo
from .rp import Browser


def test_introspection_describes_a_live_token_to_its_own_client_only(stack: Stack) -> None:
    token = stack.rp(WEB).login(Browser()).token["access_token"]
    live = introspect(stack, WEB, token)
    assert live["active"] is True
    assert live["sub"] == "zhangsan" and live["client_id"] == WEB.client_id
    assert live["token_type"] == "Bearer" and live["iss"] == stack.issuer
    assert set(live["scope"].split()) == {"openid", "profile", "email"}
    assert live["exp"] > live["iat"]
    assert introspect(stack, PORTAL, token) == {"active": False}
    assert introspect(stack, WEB, "garbage") == {"active": False}


def test_revoking_an_access_token_ends_it(stack: Stack) -> None:
    token = stack.rp(WEB).login(Browser()).token["access_token"]
    assert post(stack, "revocation_endpoint", WEB, token=token).status_code == 200
    assert userinfo(stack, token).status_code == 401
    assert introspect(stack, WEB, token) == {"active": False}


def test_revoking_a_refresh_token_ends_its_family(stack: Stack) -> None:
    token = stack.rp(PORTAL).login(Browser(), scope="openid offline_access").token
    assert (
        introspect(stack, PORTAL, token["refresh_token"], token_type_hint="refresh_token")["active"] is True
    )
    response = post(
        stack, "revocation_endpoint", PORTAL, token=token["refresh_token"], token_type_hint="refresh_token"
    )
    assert response.status_code == 200
    assert refresh(stack, PORTAL, token["refresh_token"]).json()["error"] == "invalid_grant"
    assert introspect(stack, PORTAL, token["refresh_token"]) == {"active": False}


def test_unknown_tokens_revoke_fine_and_other_clients_tokens_do_not(stack: Stack) -> None:
    assert post(stack, "revocation_endpoint", WEB, token="never-issued").status_code == 200
    token = stack.rp(PORTAL).login(Browser(), scope="openid offline_access").token
    refused = post(stack, "revocation_endpoint", WEB, token=token["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    assert refresh(stack, PORTAL, token["refresh_token"]).status_code == 200


def test_both_endpoints_require_client_authentication(stack: Stack) -> None:
    for path in ("revocation_endpoint", "introspection_endpoint"):
        url = stack.rp().meta[path]
        import requests

        anonymous = requests.post(url, data={"token": "x"}, timeout=5)
        assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
        wrong = requests.post(url, data={"token": "x"}, auth=(WEB.client_id, "nope"), timeout=5)
        assert wrong.status_code == 401
