"""Who may sign in to which client: WeCom departments (sub-departments included), tags and userids."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config.schema import ClientSettings
from ..errors import LoginRefused


def check_access(client: ClientSettings, claims: Mapping[str, Any]) -> None:
    """Raise LoginRefused unless the client allows this person: any of its lists matching lets
    them in; no restriction allows everyone."""
    if not client.allowed_departments and not client.allowed_users and not client.allowed_tags:
        return
    if claims.get("sub") in client.allowed_users:
        return
    if set(claims.get("_department_ancestry", [])) & set(client.allowed_departments):
        return
    if _carries_tag(client, claims):
        return
    raise LoginRefused(
        f"Your WeCom account may not use {client.display_name}. Ask your administrator to give your "
        "department, tag or account access to it.",
        detail=f"{claims.get('sub')} is outside {client.client_id}'s allowed departments, tags and users",
        reason="not_allowed",
    )


def _carries_tag(client: ClientSettings, claims: Mapping[str, Any]) -> bool:
    """An allowed tag given as an integer matches a tag id, as a string a tag name."""
    ids = {t for t in client.allowed_tags if isinstance(t, int)}
    names = {t for t in client.allowed_tags if isinstance(t, str)}
    return bool(ids & set(claims.get("_tag_ids", [])) or names & set(claims.get("_tag_names", [])))
