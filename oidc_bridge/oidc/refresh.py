"""Refresh tokens: opaque, stored by hash, bound to a client, rotated on every use.

Every refresh token belongs to a family (one per code exchange). Using a token consumes it
(GETDEL) and issues its successor; presenting a consumed token again means it leaked, so the
whole family is revoked (OAuth 2.0 Security BCP, RFC 9700 §4.14.2). The family record holds
what a refresh needs: client, subject, scope, auth_time, session and the last claims.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..store.base import Keys, Store, get_json, record_fields, set_json, token_hash

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Family:
    family_id: str
    client_id: str
    sub: str
    sid: str | None
    scope: str
    auth_time: int
    auth_request: dict[str, Any]
    claims: dict[str, Any]
    expires_at: int

    def remaining(self, now: float) -> float:
        return self.expires_at - now


class RefreshTokens:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def start_family(self, lifetime: int, **fields: Any) -> tuple[Family, str]:
        """A new family and its first token."""
        family = Family(
            family_id=secrets.token_urlsafe(16), expires_at=int(self._clock()) + lifetime, **fields
        )
        self._save(family)
        return family, self._issue(family)

    def find(self, token: str) -> Family | None:
        """The live family of an unused token, without consuming it (the caller checks first)."""
        family_id = self._store.get(Keys.refresh_token(token_hash(token)))
        return None if family_id is None else self.family(family_id)

    def family(self, family_id: str) -> Family | None:
        data = get_json(self._store, Keys.refresh_family(family_id))
        if data is None or data["expires_at"] <= self._clock():
            return None
        return Family(**data)

    def rotate(self, token: str, family: Family, claims: dict[str, Any]) -> str | None:
        """Consume ``token`` and issue its successor; None if another request consumed it first."""
        h = token_hash(token)
        if self._store.getdel(Keys.refresh_token(h)) is None:
            self.revoke_family(family.family_id, "refresh token used twice at once")
            return None
        left = family.remaining(self._clock())
        if left <= 0:
            return None
        self._store.set(Keys.used_refresh_token(h), family.family_id, left)
        updated = replace(family, claims=claims)
        self._save(updated)
        return self._issue(updated)

    def revoke_if_replayed(self, token: str) -> bool:
        """A token that was already rotated away: it leaked, so its family dies."""
        family_id = self._store.get(Keys.used_refresh_token(token_hash(token)))
        if family_id is None:
            return False
        self.revoke_family(family_id, "a rotated refresh token was replayed")
        return True

    def revoke_family(self, family_id: str, why: str) -> None:
        if self._store.delete(Keys.refresh_family(family_id)):
            log.warning("refresh token family revoked: %s", why)

    def revoke_token(self, token: str) -> Family | None:
        """RFC 7009: revoking a refresh token ends its family. Returns the family it ended."""
        family = self.find(token)
        if family is not None:
            self.revoke_family(family.family_id, "revoked by its client")
        return family

    def _save(self, family: Family) -> None:
        left = family.remaining(self._clock())
        if left > 0:
            set_json(self._store, Keys.refresh_family(family.family_id), record_fields(family), left)

    def _issue(self, family: Family) -> str:
        token = secrets.token_urlsafe(32)
        left = max(family.remaining(self._clock()), 1)
        self._store.set(Keys.refresh_token(token_hash(token)), family.family_id, left)
        return token
