"""A parked login goes into the store as JSON and comes back as the same request."""

from __future__ import annotations

import json

from oidc_bridge.oidc.authorize import AuthRequest, RedirectTarget
from oidc_bridge.oidc.transactions import ParkedLogin


def test_a_parked_login_survives_the_store_unchanged() -> None:
    target = RedirectTarget("https://app.example.com/cb", "a%20b", "a b", "form_post")
    request = AuthRequest(
        client_id="webapp",
        redirect_uri=target.redirect_uri,
        scopes=("openid", "profile", "offline_access"),
        state="a b",
        state_raw="a%20b",
        nonce="n-0S6",
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method="S256",
        prompt=frozenset({"login", "consent"}),
        max_age=300,
        params={"client_id": "webapp", "scope": "openid profile offline_access"},
        target=target,
    )
    parked = ParkedLogin(request, "binding", {"state": "wecom-state"}, 1_800_000_000.5, "login-1", "hq")

    stored = json.loads(json.dumps(parked.to_json()))

    assert stored["request"]["prompt"] == ["consent", "login"]
    assert ParkedLogin.from_json(stored) == parked


def test_to_json_leaves_the_login_itself_alone() -> None:
    target = RedirectTarget("https://app.example.com/cb", None)
    request = AuthRequest(
        "webapp", target.redirect_uri, ("openid",), params={"scope": "openid"}, target=target
    )
    parked = ParkedLogin(request, "binding", {"state": "s"}, 1.0)

    parked.to_json()["request"]["params"]["scope"] = "changed"

    assert parked.request.params == {"scope": "openid"}
    assert ParkedLogin.from_json(json.loads(json.dumps(parked.to_json()))) == parked
