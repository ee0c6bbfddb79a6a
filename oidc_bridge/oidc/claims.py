"""From a WeCom Identity to OIDC claims, and from granted scopes to the claims a client sees."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..connectors.base import Identity

# OIDC Core §5.4, plus our "groups" scope.
SCOPE_CLAIMS: Mapping[str, tuple[str, ...]] = {
    "openid": ("sub",),
    "profile": ("name", "preferred_username", "picture", "gender"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "groups": ("groups",),
    # Asks for a refresh token; grants no claims.
    "offline_access": (),
}

SUPPORTED_SCOPES: tuple[str, ...] = tuple(SCOPE_CLAIMS)
SUPPORTED_CLAIMS: tuple[str, ...] = tuple(c for claims in SCOPE_CLAIMS.values() for c in claims)


def claims_from_identity(identity: Identity) -> dict[str, Any]:
    """Every claim WeCom gave us; absent fields stay absent, never invented."""
    claims: dict[str, Any] = {"sub": identity.user_id, "preferred_username": identity.user_id}
    if identity.name:
        claims["name"] = identity.name
    if identity.email:
        # WeCom's email and biz_mail are set by the corp's admin, so WeCom vouches for them; a
        # synthesized {userid}@{domain} is not verified.
        claims["email"] = identity.email
        claims["email_verified"] = identity.email_verified is not False
    if identity.phone_number:
        claims["phone_number"] = identity.phone_number
        claims["phone_number_verified"] = True
    if identity.picture:
        claims["picture"] = identity.picture
    if identity.gender in ("male", "female"):
        claims["gender"] = identity.gender
    claims["groups"] = list(identity.groups)
    return claims


def claims_for_scopes(claims: Mapping[str, Any], scopes: Iterable[str]) -> dict[str, Any]:
    """Only what the granted scopes allow."""
    allowed = {c for s in scopes for c in SCOPE_CLAIMS.get(s, ())}
    return {k: v for k, v in claims.items() if k in allowed}
