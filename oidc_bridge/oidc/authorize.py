"""The authorization endpoint's checks, as small steps in a visible order.

Like node-oidc-provider's ``lib/actions/authorization``: the client and the exact redirect_uri
are checked first, and until both pass nothing may redirect (errors are ``BrowserError``
pages). After that, errors are ``OAuthError`` and go back to the verified redirect_uri.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ..config.schema import ClientSettings
from ..errors import (
    BrowserError,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    UnsupportedResponseType,
)
from .claims import SUPPORTED_SCOPES
from .clients import ClientRegistry

# RFC 7636 §4.2: code_challenge = BASE64URL(SHA256(verifier)), 43 characters.
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_MAX_PARAM = 2048
_PROMPTS = frozenset({"none", "login", "consent", "select_account"})
RESPONSE_MODES = ("query", "form_post")


@dataclass(frozen=True)
class RedirectTarget:
    """Where a reply may be sent once the client and redirect_uri are verified. ``state_raw`` is
    the state as sent (percent-encoded, for a query); ``state`` is decoded (for form_post)."""

    redirect_uri: str
    state_raw: str | None
    state: str | None = None
    response_mode: str = "query"


@dataclass(frozen=True)
class AuthRequest:
    """A validated authorization request. ``state_raw`` is the client's state as sent, still
    percent-encoded, so it goes back byte for byte."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None = None
    state_raw: str | None = None
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    prompt: frozenset[str] = frozenset()
    max_age: int | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    target: RedirectTarget | None = None


@dataclass
class _Draft:
    params: Mapping[str, Sequence[str]]
    state_raw: str | None
    clients: ClientRegistry
    single: dict[str, str] = field(default_factory=dict)
    client: ClientSettings | None = None


def _check_client(d: _Draft) -> None:
    ids = d.params.get("client_id", [])
    if len(ids) != 1 or not ids[0]:
        raise BrowserError(
            "The application did not say who it is.",
            "The sign-in link is missing its client_id. Ask the application's administrator to check its "
            "OpenID Connect settings.",
            detail="authorize without exactly one client_id",
        )
    d.client = d.clients.get(ids[0])
    if d.client is None:
        raise BrowserError(
            "This application is not registered with the sign-in service.",
            "Ask your administrator to register the application (client_id) in the bridge's configuration.",
            detail=f"unknown client_id {ids[0][:64]!r}",
        )


def _check_redirect_uri(d: _Draft) -> None:
    assert d.client is not None
    uris = d.params.get("redirect_uri", [])
    if len(uris) != 1 or uris[0] not in d.client.redirect_uris:
        raise BrowserError(
            "The application asked to return to an address that is not registered.",
            f"The redirect_uri sent by {d.client.display_name} must match one of its registered "
            "redirect_uris exactly. Ask the administrator to fix the application's callback URL or the "
            "bridge's client registration.",
            detail=f"redirect_uri not registered for {d.client.client_id}",
        )


def _check_single_values(d: _Draft) -> None:
    """From here on the redirect_uri is verified, so errors may go back to the client."""
    for name, values in d.params.items():
        if len(values) != 1:
            raise InvalidRequest(f"duplicate parameter {name[:64]!r}", description="A parameter is repeated.")
        if len(values[0]) > _MAX_PARAM:
            raise InvalidRequest(f"oversized {name[:64]!r}", description="A parameter is too long.")
        d.single[name] = values[0]


def _check_unsupported_features(d: _Draft) -> None:
    if "request" in d.single:
        raise _Named("request_not_supported", "Request objects are not supported.")
    if "request_uri" in d.single:
        raise _Named("request_uri_not_supported", "request_uri is not supported.")
    if d.single.get("response_mode", "query") not in RESPONSE_MODES:
        raise InvalidRequest(description="Only response_mode=query or form_post is supported.")


def _check_response_type(d: _Draft) -> None:
    if d.single.get("response_type") is None:
        raise InvalidRequest(description="response_type is required.")
    if d.single["response_type"] != "code":
        raise UnsupportedResponseType(d.single["response_type"][:32])


def _check_scope(d: _Draft) -> None:
    scopes = d.single.get("scope", "").split()
    if "openid" not in scopes:
        raise InvalidScope(description="The openid scope is required.")


def _check_pkce(d: _Draft) -> None:
    assert d.client is not None
    challenge = d.single.get("code_challenge")
    method = d.single.get("code_challenge_method")
    if challenge is None:
        if method is not None:
            raise InvalidRequest(description="code_challenge_method without code_challenge.")
        if d.client.is_public:
            raise InvalidRequest(description="PKCE with code_challenge_method=S256 is required.")
        return
    if method != "S256":
        # RFC 7636 makes a missing method mean "plain"; plain protects nothing, so refuse it.
        raise InvalidRequest(description="Only code_challenge_method=S256 is supported.")
    if not _S256_CHALLENGE.match(challenge):
        raise InvalidRequest(description="code_challenge is not a base64url SHA-256 value.")


def _check_prompt_and_max_age(d: _Draft) -> None:
    prompt = set(d.single.get("prompt", "").split())
    if not prompt <= _PROMPTS or ("none" in prompt and len(prompt) > 1):
        raise InvalidRequest(description="Invalid prompt value.")
    if "max_age" in d.single and not re.fullmatch(r"\d{1,9}", d.single["max_age"]):
        raise InvalidRequest(description="max_age must be a non-negative integer.")


class _Named(OAuthError):
    """An OIDC error code that has no class of its own (request_not_supported...)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(error, description=description)
        self.error = error  # type: ignore[misc]


CHECKS: tuple[Callable[[_Draft], None], ...] = (
    _check_client,
    _check_redirect_uri,
    _check_single_values,
    _check_unsupported_features,
    _check_response_type,
    _check_scope,
    _check_pkce,
    _check_prompt_and_max_age,
)


class AuthorizationError(Exception):
    """An OAuthError that may be redirected, with the verified target."""

    def __init__(self, error: OAuthError, target: RedirectTarget) -> None:
        super().__init__(error.detail)
        self.error = error
        self.target = target


def validate_authorization_request(
    params: Mapping[str, Sequence[str]], state_raw: str | None, clients: ClientRegistry
) -> AuthRequest:
    """Run the checks in order. BrowserError before the redirect_uri is verified; after it,
    AuthorizationError carrying where the error may go."""
    draft = _Draft(params=params, state_raw=state_raw, clients=clients)
    _check_client(draft)
    _check_redirect_uri(draft)
    assert draft.client is not None
    modes = params.get("response_mode", [])
    states = params.get("state", [])
    target = RedirectTarget(
        params["redirect_uri"][0],
        state_raw,
        states[0] if len(states) == 1 else None,
        "form_post" if modes == ["form_post"] else "query",
    )
    try:
        for check in CHECKS[2:]:
            check(draft)
    except OAuthError as err:
        raise AuthorizationError(err, target) from err
    s = draft.single
    # Scopes the bridge does not know, or this client may not have, are left out (RFC 6749 §3.3).
    allowed = set(draft.client.scopes or SUPPORTED_SCOPES)
    scopes = tuple(dict.fromkeys(x for x in s["scope"].split() if x in allowed))
    return AuthRequest(
        client_id=draft.client.client_id,
        redirect_uri=s["redirect_uri"],
        scopes=scopes,
        state=s.get("state"),
        state_raw=state_raw,
        nonce=s.get("nonce"),
        code_challenge=s.get("code_challenge"),
        code_challenge_method=s.get("code_challenge_method"),
        prompt=frozenset(s.get("prompt", "").split()),
        max_age=int(s["max_age"]) if "max_age" in s else None,
        params=dict(s),
        target=target,
    )
