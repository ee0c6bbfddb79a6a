"""The bridge's SSO session: one WeCom login serves every client until it ends.

The cookie carries ``{sid}.{secret}``. ``sid`` is public (it goes into ID tokens for
back-channel logout); only the secret's hash is stored, so an ID token cannot be replayed
as a session cookie. Idle and absolute lifetimes follow Keycloak's "SSO Session Idle/Max".
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..config.schema import SessionSettings
from ..store.base import Keys, Store, get_json, getdel_json, record_fields, set_json, token_hash


@dataclass
class Session:
    sid: str
    sub: str
    auth_time: int
    claims: dict[str, Any]
    entry: str
    secret_hash: str
    clients: list[str] = field(default_factory=list)
    # Refresh-token families issued under this session: logout revokes them.
    families: list[str] = field(default_factory=list)

    def satisfies_max_age(self, max_age: int | None, now: float) -> bool:
        return max_age is None or now - self.auth_time <= max_age


class Sessions:
    """Create, find, update and end sessions in the store."""

    def __init__(
        self, store: Store, settings: SessionSettings, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock

    def create(self, claims: dict[str, Any], entry: str, client_id: str) -> tuple[Session, str]:
        """A new session for a fresh WeCom login by ``client_id``; returns it and the cookie value."""
        sid, secret = secrets.token_urlsafe(16), secrets.token_urlsafe(32)
        session = Session(
            sid=sid,
            sub=claims["sub"],
            auth_time=int(self._clock()),
            claims=dict(claims),
            entry=entry,
            secret_hash=token_hash(secret),
            clients=[client_id],
        )
        self.save(session)
        return session, f"{sid}.{secret}"

    def from_cookie(self, cookie: str | None) -> Session | None:
        """The live session this cookie proves, or None (absent, forged, idle or past its maximum)."""
        if not cookie or len(cookie) > 200 or "." not in cookie:
            return None
        sid, _, secret = cookie.partition(".")
        session = self.get(sid)
        if session is None or not hmac.compare_digest(session.secret_hash, token_hash(secret)):
            return None
        return session

    def get(self, sid: str) -> Session | None:
        data = get_json(self._store, Keys.session(sid))
        if data is None or self._clock() - data["auth_time"] >= self._settings.absolute_lifetime:
            return None
        return Session(**data)

    def save(self, session: Session) -> None:
        """Store with the idle lifetime, never past the absolute one."""
        left = self._settings.absolute_lifetime - (self._clock() - session.auth_time)
        ttl = min(self._settings.idle_lifetime, left)
        if ttl > 0:
            set_json(self._store, Keys.session(session.sid), record_fields(session), ttl)

    def end(self, sid: str) -> Session | None:
        data = getdel_json(self._store, Keys.session(sid))
        return None if data is None else Session(**data)

    @property
    def cookie_lifetime(self) -> int:
        return self._settings.absolute_lifetime
