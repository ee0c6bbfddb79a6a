"""Revocation (RFC 7009) and introspection (RFC 7662): both client-authenticated.

A client may act only on its own tokens: another client's token is refused at revocation
(as node-oidc-provider does) and reported inactive at introspection, so neither endpoint
tells one client anything about another's tokens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidRequest
from .token import Tokens, single_values

_HINTS = ("access_token", "refresh_token")


class TokenAdmin:
    def __init__(self, tokens: Tokens) -> None:
        self._tokens = tokens

    def _authenticated(self, authorization: str | None, form: Mapping[str, Sequence[str]]):
        params = single_values(form)
        client = self._tokens.clients.authenticate(authorization, params)
        token = params.get("token")
        if not token:
            raise InvalidRequest("no token", description="token is required.")
        # An unknown hint is only a hint (RFC 7009 §2.1): search both kinds, hinted one first.
        order = _HINTS if params.get("token_type_hint") != "refresh_token" else _HINTS[::-1]
        return client, token, order

    def revoke(self, authorization: str | None, form: Mapping[str, Sequence[str]]) -> None:
        """Unknown tokens are a success (RFC 7009 §2.2): the client's goal is met."""
        client, token, order = self._authenticated(authorization, form)
        for kind in order:
            owner = self._owner(kind, token)
            if owner is None:
                continue
            if owner != client.client_id:
                raise InvalidRequest(
                    "client tried to revoke another client's token",
                    description="The client is not authorized to revoke the presented token.",
                )
            if kind == "access_token":
                del self._tokens.access_tokens[token]
            else:
                self._tokens.refresh_tokens.revoke_token(token)
            return

    def introspect(self, authorization: str | None, form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        client, token, order = self._authenticated(authorization, form)
        issuer = self._tokens.settings.issuer
        for kind in order:
            if kind == "access_token":
                record = self._tokens.live_access_token(token)
                if record is not None and record["client_id"] == client.client_id:
                    return {
                        "active": True,
                        "scope": record["scope"],
                        "client_id": record["client_id"],
                        "username": record["sub"],
                        "sub": record["sub"],
                        "token_type": "Bearer",
                        "exp": record["exp"],
                        "iat": record["iat"],
                        "aud": record["client_id"],
                        "iss": issuer,
                    }
            else:
                family = self._tokens.refresh_tokens.find(token)
                if family is not None and family.client_id == client.client_id:
                    return {
                        "active": True,
                        "scope": family.scope,
                        "client_id": family.client_id,
                        "username": family.sub,
                        "sub": family.sub,
                        "token_type": "refresh_token",
                        "exp": family.expires_at,
                        "aud": family.client_id,
                        "iss": issuer,
                    }
        return {"active": False}

    def _owner(self, kind: str, token: str) -> str | None:
        if kind == "access_token":
            record = self._tokens.live_access_token(token)
            return None if record is None else record["client_id"]
        family = self._tokens.refresh_tokens.find(token)
        return None if family is None else family.client_id
