"""What the simulator issues and later checks: access tokens, codes, user_tickets, consents.

Lifetimes follow wecom-api.md §3 and are measured on the injectable clock. An "app" is the
pair (corp_id, agent_id); a code issued without agentid (in-app snsapi_base) is usable by any
app of the corp.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .errors import SimApiError

TOKEN_TTL = 7200
CODE_TTL = 300
TICKET_TTL = 1800
CONSENT_TTL = 30 * 86400  # privateinfo consent is remembered 30 days (Doc 91022)

App = tuple[str, str]


@dataclass
class _Token:
    app: App
    issued_at: float
    dead_errcode: int = 0  # set by expire_all (42001) / invalidate_all (40014)


@dataclass
class _Code:
    userid: str
    app: tuple[str, str | None]
    issued_at: float
    with_ticket: bool
    used: bool = False


@dataclass(frozen=True)
class CodeGrant:
    """What an exchanged code stood for."""

    userid: str
    with_ticket: bool


class Credentials:
    """Thread-safe ledger of everything issued, so checks see every worker's calls."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        self._current: dict[App, str] = {}
        self._codes: dict[str, _Code] = {}
        self._tickets: dict[str, tuple[str, float]] = {}
        self._consents: dict[str, float] = {}

    # access_token ------------------------------------------------------------------------

    def token_for(self, app: App) -> tuple[str, int]:
        """The app's token. Like WeCom, a still-valid token is returned again, not replaced."""
        now = self._clock()
        with self._lock:
            current = self._tokens.get(self._current.get(app, ""))
            if current and not current.dead_errcode and now < current.issued_at + TOKEN_TTL:
                return self._current[app], TOKEN_TTL
            token = secrets.token_urlsafe(72)  # 96 chars; WeCom's are opaque and <= 512 bytes
            self._tokens[token] = _Token(app, now)
            self._current[app] = token
            return token, TOKEN_TTL

    def check_token(self, token: str | None) -> App:
        """The app a token belongs to; 41001 missing, 40014 unknown or invalidated, 42001 expired."""
        if not token:
            raise SimApiError(41001)
        now = self._clock()
        with self._lock:
            record = self._tokens.get(token)
        if record is None:
            raise SimApiError(40014)
        if record.dead_errcode:
            raise SimApiError(record.dead_errcode)
        if now >= record.issued_at + TOKEN_TTL:
            raise SimApiError(42001)
        return record.app

    def expire_all(self) -> None:
        """WeCom ended every token early: each now answers 42001."""
        self._kill(42001)

    def invalidate_all(self) -> None:
        """Every token is now unknown to WeCom: each answers 40014."""
        self._kill(40014)

    def _kill(self, errcode: int) -> None:
        with self._lock:
            for record in self._tokens.values():
                record.dead_errcode = record.dead_errcode or errcode
            self._current.clear()

    # code --------------------------------------------------------------------------------

    def issue_code(self, userid: str, app: tuple[str, str | None], with_ticket: bool) -> str:
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = _Code(userid, app, self._clock(), with_ticket)
        return code

    def redeem_code(self, code: str, app: App) -> CodeGrant:
        """Single use: unknown, used or another app's code -> 40029; older than 5 min -> 42003."""
        now = self._clock()
        with self._lock:
            record = self._codes.get(code)
            if record is None or record.used or not _same_app(record.app, app):
                raise SimApiError(40029)
            record.used = True
        if now >= record.issued_at + CODE_TTL:
            raise SimApiError(42003)
        return CodeGrant(record.userid, record.with_ticket)

    # user_ticket -------------------------------------------------------------------------

    def issue_ticket(self, userid: str) -> tuple[str, int]:
        ticket = secrets.token_urlsafe(48)
        with self._lock:
            self._tickets[ticket] = (userid, self._clock())
        return ticket, TICKET_TTL

    def ticket_user(self, ticket: object) -> str:
        """The userid behind a ticket; 84015 invalid, 84014 expired. Reusable while valid."""
        with self._lock:
            record = self._tickets.get(ticket) if isinstance(ticket, str) else None
        if record is None:
            raise SimApiError(84015)
        userid, issued_at = record
        if self._clock() >= issued_at + TICKET_TTL:
            raise SimApiError(84014)
        return userid

    # privateinfo consent -----------------------------------------------------------------

    def has_consented(self, userid: str) -> bool:
        with self._lock:
            at = self._consents.get(userid)
        return at is not None and self._clock() < at + CONSENT_TTL

    def record_consent(self, userid: str) -> None:
        with self._lock:
            self._consents[userid] = self._clock()


def _same_app(issued_for: tuple[str, str | None], caller: App) -> bool:
    corp, agent = issued_for
    return corp == caller[0] and (agent is None or agent == caller[1])
