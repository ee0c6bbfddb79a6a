"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) and back-channel notices.

The session ends, its refresh-token families are revoked, and every client that signed in
through it and registered a ``backchannel_logout_uri`` gets a logout token, sent in the
background so the person never waits for a client. ``post_logout_redirect_uri`` is honoured
only when registered for the client named by ``id_token_hint`` or ``client_id``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from ..config.schema import ClientSettings
from ..errors import BrowserError
from .backchannel import BackchannelNotifier, logout_token
from .clients import ClientRegistry
from .keys import KeyRing
from .refresh import RefreshTokens
from .sessions import Session, Sessions
from .signing import InvalidJwt, verify_jwt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LogoutResult:
    """Where to send the browser afterwards (None: show the signed-out page), and who it was for."""

    redirect: str | None
    client: ClientSettings | None


def _bad(detail: str) -> BrowserError:
    return BrowserError(
        "This sign-out request is not valid.",
        "You may still be signed in. Close the browser, or sign out again from the application.",
        detail=detail,
    )


class Logout:
    def __init__(
        self,
        issuer: str,
        keyring: KeyRing,
        clients: ClientRegistry,
        sessions: Sessions,
        refresh_tokens: RefreshTokens,
        notifier: BackchannelNotifier,
    ) -> None:
        self._issuer = issuer
        self._keyring = keyring
        self._clients = clients
        self._sessions = sessions
        self._refresh_tokens = refresh_tokens
        self._notifier = notifier

    def end_session(self, form: Mapping[str, Sequence[str]], cookie: str | None) -> LogoutResult:
        params = {}
        for name, values in form.items():
            if len(values) != 1 or len(values[0]) > 8192:
                raise _bad(f"repeated or oversized {name}")
            params[name] = values[0]
        hint = self._hint(params.get("id_token_hint"))
        client = self._client(params.get("client_id"), hint)
        # The session the hint names (an expired hint still names it), else the browser's own.
        session = self._sessions.get(hint["sid"]) if hint and hint.get("sid") else None
        session = session or self._sessions.from_cookie(cookie)
        if session is not None and (hint is None or hint.get("sub") == session.sub):
            self.end(session)
        return LogoutResult(self._redirect(client, params), client)

    def end(self, session: Session) -> None:
        """End a session everywhere: store, refresh tokens, and clients' back channels."""
        if self._sessions.end(session.sid) is None:
            return
        for family_id in session.families:
            self._refresh_tokens.revoke_family(family_id, "the session ended")
        self._keyring.refresh()
        for client_id in session.clients:
            client = self._clients.get(client_id)
            if client is not None and client.backchannel_logout_uri:
                token = logout_token(self._issuer, client_id, session.sub, session.sid, self._keyring.current)
                self._notifier.notify(client.backchannel_logout_uri, token)
        log.info("session ended for %d client(s)", len(session.clients))

    def _hint(self, id_token_hint: str | None) -> dict | None:
        if not id_token_hint:
            return None
        self._keyring.refresh()
        try:
            return verify_jwt(id_token_hint, self._keyring, issuer=self._issuer, verify_exp=False)
        except InvalidJwt as exc:
            raise _bad(f"id_token_hint refused: {exc.detail}") from exc

    def _client(self, client_id: str | None, hint: dict | None) -> ClientSettings | None:
        audiences: list[str] = []
        if hint is not None:
            aud = hint.get("aud")
            audiences = [aud] if isinstance(aud, str) else list(aud or [])
        if client_id is not None and audiences and client_id not in audiences:
            raise _bad("client_id is not the id_token_hint's audience")
        chosen = client_id or (audiences[0] if audiences else None)
        return self._clients.get(chosen) if chosen else None

    @staticmethod
    def _redirect(client: ClientSettings | None, params: Mapping[str, str]) -> str | None:
        uri = params.get("post_logout_redirect_uri")
        if uri is None or client is None or uri not in client.post_logout_redirect_uris:
            return None
        if "state" not in params:
            return uri
        sep = "&" if "?" in uri else "?"
        return f"{uri}{sep}state={quote(params['state'], safe='')}"
