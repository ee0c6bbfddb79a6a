"""Small steps the provider tests share: token requests as a client makes them."""

from __future__ import annotations

import time
from typing import Any

import requests

from .conftest import Client, Stack


def post(stack: Stack, path: str, client: Client, **data: str) -> requests.Response:
    """A client-authenticated POST (client_secret_basic, or client_id alone for public clients)."""
    url = stack.rp(client).meta[path]
    if client.client_secret:
        return requests.post(url, data=data, auth=(client.client_id, client.client_secret), timeout=10)
    return requests.post(url, data={**data, "client_id": client.client_id}, timeout=10)


def refresh(stack: Stack, client: Client, token: str, **extra: str) -> requests.Response:
    return post(stack, "token_endpoint", client, grant_type="refresh_token", refresh_token=token, **extra)


def userinfo(stack: Stack, access_token: str) -> requests.Response:
    url = stack.rp().meta["userinfo_endpoint"]
    return requests.get(url, headers={"Authorization": f"Bearer {access_token}"}, timeout=10)


def wait_until_expired(stack: Stack, access_token: str, limit: float = 10.0) -> None:
    """Poll until the access token is refused (bounded); no assertion on how long it took."""
    deadline = time.monotonic() + limit
    while userinfo(stack, access_token).status_code == 200:
        assert time.monotonic() < deadline, "the access token never expired"
        time.sleep(0.2)


def introspect(stack: Stack, client: Client, token: str, **extra: str) -> dict[str, Any]:
    response = post(stack, "introspection_endpoint", client, token=token, **extra)
    assert response.status_code == 200, response.text
    return response.json()
