"""Registered clients and client authentication at the token endpoint.

Secrets are compared in constant time; ``client_secret_basic`` credentials are form-decoded
before comparison (RFC 6749 §2.3.1), which pyop's own check does not do.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from urllib.parse import unquote_plus

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..config.schema import ClientSettings
from ..errors import InvalidClient, InvalidRequest

_HASHER = PasswordHasher()


def hash_secret(secret: str) -> str:
    """An Argon2id hash for ``client_secret_hash``, so the config file holds no secret."""
    return _HASHER.hash(secret)


class ClientRegistry:
    """The clients from the config, by id."""

    def __init__(self, clients: tuple[ClientSettings, ...]) -> None:
        self._by_id = {c.client_id: c for c in clients}

    def get(self, client_id: str | None) -> ClientSettings | None:
        return self._by_id.get(client_id) if client_id else None

    def __iter__(self):
        return iter(self._by_id.values())

    def authenticate(self, authorization: str | None, form: Mapping[str, str]) -> ClientSettings:
        """Who is calling: client_secret_basic, client_secret_post, or a public client by id.

        Raises InvalidClient (401) on anything wrong, without saying which part was wrong.
        """
        if authorization:
            client_id, secret = _parse_basic(authorization)
            if "client_secret" in form:
                raise InvalidRequest("client used two authentication methods")
            if form.get("client_id") not in (None, client_id):
                raise InvalidClient("client_id in the body differs from Basic auth")
            method = "client_secret_basic"
        elif "client_secret" in form:
            client_id, secret, method = form.get("client_id", ""), form["client_secret"], "client_secret_post"
        else:
            client_id, secret, method = form.get("client_id", ""), None, "none"

        client = self.get(client_id)
        if client is None:
            raise InvalidClient("unknown client_id")
        if client.is_public:
            if method != "none":
                raise InvalidClient("public client sent a secret")
            return client
        if client.token_endpoint_auth_method not in ("", method):
            raise InvalidClient(
                f"{method} used; the client is registered for {client.token_endpoint_auth_method}"
            )
        if secret is None or not _secret_matches(client, secret):
            raise InvalidClient(f"bad or missing secret ({method})")
        return client


def _parse_basic(header: str) -> tuple[str, str]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise InvalidClient("unsupported Authorization scheme")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidClient("malformed Basic credentials") from exc
    user, sep, password = decoded.partition(":")
    if not sep:
        raise InvalidClient("malformed Basic credentials")
    return unquote_plus(user), unquote_plus(password)


def _secret_matches(client: ClientSettings, given: str) -> bool:
    if client.client_secret_hash is not None:
        try:
            return _HASHER.verify(client.client_secret_hash, given)
        except (VerificationError, InvalidHashError):
            return False
    expected = client.client_secret or ""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
