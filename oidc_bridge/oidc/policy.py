"""Who may sign in to which client: WeCom departments (sub-departments included) and userids."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config.schema import ClientSettings
from ..errors import LoginRefused


def check_access(client: ClientSettings, claims: Mapping[str, Any]) -> None:
    """Raise LoginRefused unless the client allows this person; no restriction allows everyone."""
    if not client.allowed_departments and not client.allowed_users:
        return
    if claims.get("sub") in client.allowed_users:
        return
    if set(claims.get("_department_ancestry", [])) & set(client.allowed_departments):
        return
    raise LoginRefused(
        f"Your WeCom account may not use {client.display_name}. Ask your administrator to give your "
        "department or account access to it.",
        detail=f"{claims.get('sub')} is outside {client.client_id}'s allowed departments and users",
        reason="not_allowed",
    )
