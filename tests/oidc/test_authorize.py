"""The authorization endpoint's checks, in the order a client meets them."""

from __future__ import annotations

import pytest

from oidc_bridge.config.schema import ClientSettings
from oidc_bridge.errors import BrowserError
from oidc_bridge.oidc.authorize import AuthorizationError, validate_authorization_request
from oidc_bridge.oidc.clients import ClientRegistry

CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
CLIENTS = ClientRegistry(
    (
        ClientSettings("app", ("https://app.example/cb",), client_secret="s3cret"),
        ClientSettings("spa", ("https://spa.example/cb",)),
    )
)


def _params(**overrides: str | list[str] | None) -> dict[str, list[str]]:
    base: dict[str, str | list[str] | None] = {
        "client_id": "app",
        "redirect_uri": "https://app.example/cb",
        "response_type": "code",
        "scope": "openid email",
        "state": "xyz",
    }
    base.update(overrides)
    return {k: (v if isinstance(v, list) else [v]) for k, v in base.items() if v is not None}


def _refused(params: dict[str, list[str]]) -> AuthorizationError:
    with pytest.raises(AuthorizationError) as info:
        validate_authorization_request(params, "xyz", CLIENTS)
    return info.value


def test_valid_request_keeps_state_raw_and_known_scopes() -> None:
    req = validate_authorization_request(_params(scope="openid email unknown"), "x%E4%B8%ADy", CLIENTS)
    assert req.scopes == ("openid", "email")
    assert req.state_raw == "x%E4%B8%ADy"


@pytest.mark.parametrize(
    "params",
    [
        _params(client_id="nope"),
        _params(client_id=None),
        _params(client_id=["app", "app"]),
        _params(redirect_uri="https://evil.example/cb"),
        _params(redirect_uri="https://app.example/cb/"),
        _params(redirect_uri="https://APP.example/cb"),
        _params(redirect_uri=None),
        _params(redirect_uri=["https://app.example/cb", "https://evil.example/cb"]),
    ],
)
def test_unknown_client_or_unregistered_redirect_uri_is_a_page_never_a_redirect(params) -> None:
    with pytest.raises(BrowserError) as info:
        validate_authorization_request(params, "xyz", CLIENTS)
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("params", "error"),
    [
        (_params(response_type="token"), "unsupported_response_type"),
        (_params(response_type=None), "invalid_request"),
        (_params(scope="email"), "invalid_scope"),
        (_params(state=["a", "b"]), "invalid_request"),
        (_params(code_challenge=CHALLENGE, code_challenge_method="plain"), "invalid_request"),
        (_params(code_challenge=CHALLENGE), "invalid_request"),
        (_params(code_challenge="short", code_challenge_method="S256"), "invalid_request"),
        (_params(prompt="none login"), "invalid_request"),
        (_params(max_age="-1"), "invalid_request"),
        (_params(response_mode="fragment"), "invalid_request"),
        (_params(request="eyJ.x.y"), "request_not_supported"),
        (_params(nonce="n" * 5000), "invalid_request"),
    ],
)
def test_other_errors_go_back_to_the_verified_redirect_uri(params, error) -> None:
    refused = _refused(params)
    assert refused.error.error == error
    assert refused.target.redirect_uri == "https://app.example/cb"


def test_public_client_must_use_pkce_s256() -> None:
    refused = _refused(_params(client_id="spa", redirect_uri="https://spa.example/cb"))
    assert refused.error.error == "invalid_request"
    assert "S256" in refused.error.description
    ok = validate_authorization_request(
        _params(
            client_id="spa",
            redirect_uri="https://spa.example/cb",
            code_challenge=CHALLENGE,
            code_challenge_method="S256",
        ),
        None,
        CLIENTS,
    )
    assert ok.code_challenge == CHALLENGE
