"""The discovery document and endpoint URLs, every field written explicitly.

pyop's defaults advertise features it lacks (pairwise subjects, implicit flows); we publish
only what works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .claims import SUPPORTED_CLAIMS, SUPPORTED_SCOPES


@dataclass(frozen=True)
class Endpoints:
    """Absolute URLs built from the issuer, never from the request's Host header."""

    issuer: str

    @property
    def base(self) -> str:
        return self.issuer.rstrip("/")

    @property
    def path_prefix(self) -> str:
        """The issuer's path, so routes can be mounted under it (``https://x/sso`` → ``/sso``)."""
        return urlsplit(self.issuer).path.rstrip("/")

    authorize_path = "/authorize"
    token_path = "/token"
    userinfo_path = "/userinfo"
    jwks_path = "/jwks.json"
    callback_path = "/wecom/callback"
    revocation_path = "/revoke"
    introspection_path = "/introspect"
    end_session_path = "/logout"
    discovery_path = "/.well-known/openid-configuration"

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def callback_url(self) -> str:
        return self.url(self.callback_path)


def discovery_document(endpoints: Endpoints, signing_algs: list[str]) -> dict[str, Any]:
    return {
        "issuer": endpoints.issuer,
        "authorization_endpoint": endpoints.url(endpoints.authorize_path),
        "token_endpoint": endpoints.url(endpoints.token_path),
        "userinfo_endpoint": endpoints.url(endpoints.userinfo_path),
        "jwks_uri": endpoints.url(endpoints.jwks_path),
        "revocation_endpoint": endpoints.url(endpoints.revocation_path),
        "introspection_endpoint": endpoints.url(endpoints.introspection_path),
        "end_session_endpoint": endpoints.url(endpoints.end_session_path),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": signing_algs,
        "scopes_supported": list(SUPPORTED_SCOPES),
        "claims_supported": sorted(
            {*SUPPORTED_CLAIMS, "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid"}
        ),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "authorization_response_iss_parameter_supported": True,
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "claim_types_supported": ["normal"],
    }
