"""From a WeCom Identity to OIDC claims, and from granted scopes to the claims a client sees."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..config.schema import ClientSettings
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
# Claims the token itself defines: an alias may never overwrite one.
RESERVED_CLAIMS = frozenset(
    {"iss", "aud", "exp", "iat", "nbf", "auth_time", "nonce", "sid", "at_hash", "azp", "jti"}
)
# Claims named "_..." travel with the session (policy, refresh) and never reach a client: no
# scope grants them.


def claims_from_identity(identity: Identity, sub: str | None = None) -> dict[str, Any]:
    """Every claim WeCom gave us; absent fields stay absent, never invented. ``sub`` follows the
    subject policy; the WeCom userid is kept privately so a refresh can ask WeCom about the person."""
    claims: dict[str, Any] = {
        "sub": sub or identity.user_id,
        "preferred_username": identity.user_id,
        "_wecom_userid": identity.user_id,
    }
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
    claims["_department_ids"] = list(identity.department_ids)
    claims["_department_ancestry"] = list(identity.department_ancestry)
    if identity.tags:
        # For allowed_tags, matched by id or name; only present when some client uses tags.
        claims["_tag_ids"] = [tag_id for tag_id, _name in identity.tags]
        claims["_tag_names"] = [name for _id, name in identity.tags if name]
    return claims


def claims_for_scopes(claims: Mapping[str, Any], scopes: Iterable[str]) -> dict[str, Any]:
    """Only what the granted scopes allow."""
    allowed = {c for s in scopes for c in SCOPE_CLAIMS.get(s, ())}
    return {k: v for k, v in claims.items() if k in allowed}


def claims_for_client(
    claims: Mapping[str, Any], scopes: Iterable[str], client: ClientSettings
) -> dict[str, Any]:
    """What this client sees: the granted scopes' claims, shaped as the client is configured."""
    out = claims_for_scopes(claims, scopes)
    if "groups" in out and client.groups_claim == "ids":
        out["groups"] = [str(d) for d in claims.get("_department_ids", [])]
    if client.lowercase_username and "preferred_username" in out:
        out["preferred_username"] = str(out["preferred_username"]).lower()
    for alias, source in client.claim_aliases.items():
        if source in out:
            out[alias] = out[source]
    return out
