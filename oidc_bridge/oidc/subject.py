"""What ``sub`` is, by policy. A client keys its users by ``sub``, so the policy must never
change once clients have seen it (README, "Subject identifiers")."""

from __future__ import annotations

import base64
import hashlib
import hmac

from ..config.schema import Settings


def subject_for(settings: Settings, userid: str, *, corp_id: str | None = None) -> str:
    """``sub`` for a person of ``corp_id`` (the corp they signed in through; default [wecom]'s)."""
    corp = corp_id or settings.wecom.corp_id
    if settings.subject == "corp_userid":
        return f"{corp}/{userid}"
    if settings.subject == "hash":
        mac = hmac.new(settings.subject_salt.encode(), f"{corp}/{userid}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    return userid
