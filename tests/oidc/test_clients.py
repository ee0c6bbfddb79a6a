"""Client authentication at the token endpoint."""

from __future__ import annotations

import base64
from urllib.parse import quote_plus

import pytest

from oidc_bridge.config.schema import ClientSettings
from oidc_bridge.errors import InvalidClient, InvalidRequest
from oidc_bridge.oidc.clients import ClientRegistry

SECRET = "p@ss:w+rd/ü"
CLIENTS = ClientRegistry(
    (
        ClientSettings("conf:app", ("https://a/cb",), client_secret=SECRET),
        ClientSettings("spa", ("https://s/cb",)),
    )
)


def basic(user: str, password: str, encode: bool = True) -> str:
    if encode:
        user, password = quote_plus(user), quote_plus(password)
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic_credentials_are_form_decoded_per_rfc6749() -> None:
    assert CLIENTS.authenticate(basic("conf:app", SECRET), {}).client_id == "conf:app"


def test_client_secret_post() -> None:
    assert (
        CLIENTS.authenticate(None, {"client_id": "conf:app", "client_secret": SECRET}).client_id == "conf:app"
    )


def test_public_client_by_id_only() -> None:
    assert CLIENTS.authenticate(None, {"client_id": "spa"}).is_public


@pytest.mark.parametrize(
    ("header", "form"),
    [
        (basic("conf:app", "wrong"), {}),
        (basic("nobody", SECRET), {}),
        ("Basic !!!notbase64", {}),
        ("Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(), {}),
        ("Basic " + base64.b64encode(b"no-colon").decode(), {}),
        ("Bearer abc", {}),
        (None, {"client_id": "conf:app"}),
        (None, {"client_id": "conf:app", "client_secret": ""}),
        (None, {"client_id": "spa", "client_secret": "x"}),
        (None, {}),
        (basic("conf:app", SECRET), {"client_id": "spa"}),
    ],
)
def test_bad_credentials_are_invalid_client(header, form) -> None:
    with pytest.raises(InvalidClient) as info:
        CLIENTS.authenticate(header, form)
    assert info.value.status == 401


def test_two_methods_at_once_are_refused() -> None:
    with pytest.raises(InvalidRequest):
        CLIENTS.authenticate(basic("conf:app", SECRET), {"client_secret": SECRET})


def test_a_hashed_secret_authenticates_like_a_clear_one() -> None:
    from oidc_bridge.oidc.clients import hash_secret

    clients = ClientRegistry(
        (ClientSettings("h", ("https://h/cb",), client_secret_hash=hash_secret(SECRET)),)
    )
    assert clients.authenticate(basic("h", SECRET), {}).client_id == "h"
    with pytest.raises(InvalidClient):
        clients.authenticate(basic("h", SECRET + "x"), {})


def test_a_client_pinned_to_one_auth_method_refuses_the_other() -> None:
    clients = ClientRegistry(
        (
            ClientSettings(
                "p", ("https://p/cb",), client_secret=SECRET, token_endpoint_auth_method="client_secret_post"
            ),
        )
    )
    assert clients.authenticate(None, {"client_id": "p", "client_secret": SECRET}).client_id == "p"
    with pytest.raises(InvalidClient):
        clients.authenticate(basic("p", SECRET), {})
