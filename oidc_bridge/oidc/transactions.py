"""A login: reuse the SSO session, or park the request while the person is at WeCom.

WeCom only accepts ``[A-Za-z0-9]{0,128}`` as ``state`` (errcode 84025), and the client's own
state must never travel upstream (Dex, ``server/authflow/login.go``), so WeCom gets a
32-character handle. The parked request holds the hash of a browser-binding secret (a cookie),
so the callback completes only in the browser that started the login (login CSRF).
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from ..connectors.base import LoginContext
from ..connectors.upstreams import Upstream, Upstreams
from ..errors import (
    AccessDenied,
    BrowserError,
    InvalidRequest,
    LoginRefused,
    LoginRequired,
    OAuthError,
    WeComError,
)
from ..metrics import NO_METRICS, Recorder
from ..observability import bind, new_request_id
from ..store.base import Keys, Store, getdel_json, record_fields, set_json, token_hash
from .authorize import AuthRequest, RedirectTarget
from .claims import claims_from_identity
from .clients import ClientRegistry
from .policy import check_access
from .provider import PyopCore
from .sessions import Session, Sessions
from .subject import subject_for

log = logging.getLogger(__name__)

# 48 hex digits now; 32 letters and digits from before, for logins in flight across an upgrade.
HANDLE_PATTERN = re.compile(r"^[A-Za-z0-9]{32,48}$")


def new_handle() -> str:
    """192 random bits as 48 hex digits: WeCom takes only letters and digits in its state.
    (One ``token_hex`` call; drawing 32 characters one by one cost 19 us a login.)"""
    return secrets.token_hex(24)


def new_browser_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class ClientReply:
    """What goes back to the client's verified redirect_uri: a code or an error, plus ``iss``
    (RFC 9207) and the client's state, as a query redirect or a form_post."""

    target: RedirectTarget
    params: dict[str, str]
    issuer: str

    @classmethod
    def error(cls, target: RedirectTarget, issuer: str, err: OAuthError) -> ClientReply:
        return cls(target, {"error": err.error, "error_description": err.description}, issuer)

    @property
    def form_post(self) -> bool:
        return self.target.response_mode == "form_post"

    def fields(self) -> dict[str, str]:
        """The parameters as a form carries them (state decoded)."""
        out = {**self.params, "iss": self.issuer}
        if self.target.state is not None:
            out["state"] = self.target.state
        return out

    def url(self) -> str:
        """The redirect_uri plus the parameters; the state keeps the client's percent-encoding."""
        query = urlencode({**self.params, "iss": self.issuer}, quote_via=quote)
        if self.target.state_raw is not None:
            query += "&state=" + quote(self.target.state_raw, safe="%!$'()*+,;:@/?-._~")
        sep = "&" if "?" in self.target.redirect_uri else "?"
        return self.target.redirect_uri + sep + query


@dataclass(frozen=True)
class ParkedLogin:
    request: AuthRequest
    binding_hash: str
    connector_data: dict[str, str]
    started: float
    # Ties this login's log lines together: authorize, WeCom callback, token.
    login_id: str = ""
    # The WeCom app the person was sent to ([wecom] id); "" from before there were several.
    upstream: str = ""

    def to_json(self) -> dict[str, Any]:
        req = self.request
        request = record_fields(req) | {
            "scopes": list(req.scopes),
            "prompt": sorted(req.prompt),
            "params": dict(req.params),
            "target": None if req.target is None else record_fields(req.target),
        }
        return record_fields(self) | {"request": request}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ParkedLogin:
        req = dict(data["request"])
        req["scopes"] = tuple(req["scopes"])
        req["prompt"] = frozenset(req["prompt"])
        req["target"] = RedirectTarget(**req["target"])
        return cls(
            request=AuthRequest(**req),
            binding_hash=data["binding_hash"],
            connector_data=dict(data["connector_data"]),
            started=data["started"],
            login_id=data.get("login_id", ""),
            upstream=data.get("upstream", ""),
        )


@dataclass(frozen=True)
class Outcome:
    """A reply to the client, the WeCom page to send the browser to, or the WeCom apps for the
    person to choose from; plus the session cookie to set when a fresh login made one."""

    reply: ClientReply | None = None
    wecom_url: str | None = None
    session_cookie: str | None = None
    choices: tuple[Upstream, ...] = ()


class LoginFailed(Exception):
    """A login that reached WeCom and failed there: the person sees ``message``; ``reply``
    carries the error to the client once they choose to go back."""

    def __init__(
        self, cause: Exception, message: str, reply: ClientReply, client_name: str, status: int
    ) -> None:
        super().__init__(message)
        self.cause = cause
        self.message = message
        self.reply = reply
        self.client_name = client_name
        self.status = status


class LoginFlow:
    """Authorize → (session, or WeCom → callback) → code. No Flask here; the web layer passes strings."""

    def __init__(
        self,
        store: Store,
        upstreams: Upstreams,
        core: PyopCore,
        clients: ClientRegistry,
        sessions: Sessions,
        ttl: int,
        *,
        metrics: Recorder = NO_METRICS,
    ) -> None:
        self._metrics = metrics
        self._store = store
        self._upstreams = upstreams
        self._core = core
        self._clients = clients
        self._sessions = sessions
        self._ttl = ttl
        self._issuer = core.settings.issuer

    def authorize(
        self, req: AuthRequest, session: Session | None, user_agent: str, browser_secret: str
    ) -> Outcome:
        """Reuse the SSO session when allowed; ``prompt=none`` never shows WeCom. With several
        WeCom apps open to the client, the person chooses unless the request named one."""
        assert req.target is not None
        login_id = new_request_id()
        bind(login_id=login_id, client_id=req.client_id)
        now = time.time()
        offered = self._upstreams.for_client(self._clients.get(req.client_id))
        wanted = req.params.get("wecom_app")
        if wanted:
            offered = tuple(u for u in offered if u.id == wanted)
            if not offered:
                err = InvalidRequest(f"wecom_app {wanted[:64]!r} is not open to {req.client_id}")
                return Outcome(reply=ClientReply.error(req.target, self._issuer, err))
        reusable = (
            session is not None
            and "login" not in req.prompt
            and session.satisfies_max_age(req.max_age, now)
            and self._upstreams.get(session.claims.get("_wecom_app")) in offered
        )
        if reusable and session is not None:
            self._check_access(req, session.claims)
            # Reuse slides the idle lifetime and records the client for logout.
            if req.client_id not in session.clients:
                session.clients.append(req.client_id)
            self._sessions.save(session)
            log.info("login by the SSO session, without WeCom")
            return Outcome(reply=self._code_reply(req, session, login_id))
        if "none" in req.prompt:
            return Outcome(
                reply=ClientReply.error(req.target, self._issuer, LoginRequired("no usable session"))
            )
        if len(offered) > 1:
            return Outcome(choices=offered)
        return Outcome(wecom_url=self._park(req, offered[0], user_agent, browser_secret, login_id))

    def _park(
        self, req: AuthRequest, upstream: Upstream, user_agent: str, browser_secret: str, login_id: str
    ) -> str:
        handle = new_handle()
        ctx = LoginContext(
            state=handle,
            callback_url=self._core.endpoints.callback_url,
            user_agent=user_agent,
            scopes=frozenset(req.scopes),
        )
        redirect = upstream.connector.login_url(ctx)
        parked = ParkedLogin(
            req, token_hash(browser_secret), dict(redirect.connector_data), time.time(), login_id, upstream.id
        )
        entry = parked.connector_data.get("entry", "web")
        log.info("login started: to WeCom's %s page of app %s", entry, upstream.id)
        set_json(self._store, Keys.login(handle), parked.to_json(), self._ttl)
        self._metrics.login_started(entry)
        return redirect.url

    def finish(self, params: Mapping[str, str], browser_secret: str | None) -> Outcome:
        """Complete the WeCom callback: a new session, and the client reply carrying the code."""
        parked = self._take(params.get("state", ""), browser_secret)
        req = parked.request
        assert req.target is not None
        bind(login_id=parked.login_id, client_id=req.client_id)
        client = self._clients.get(req.client_id)
        client_name = client.display_name if client else req.client_id
        upstream = self._upstreams.get(parked.upstream)
        if upstream is None:
            raise BrowserError(
                "This sign-in went to a WeCom app the bridge no longer uses.",
                "Go back to the application and start signing in again.",
                detail=f"callback for WeCom app {parked.upstream!r}, no longer configured",
            )
        try:
            identity = upstream.connector.handle_callback(params, parked.connector_data)
        except LoginRefused as exc:
            log.info("login refused: %s (reason=%s)", exc.detail, exc.reason)
            self._metrics.login_failed(exc.reason)
            reply = ClientReply.error(req.target, self._issuer, AccessDenied(exc.detail))
            if exc.reason == "cancelled":
                # The person chose to stop: straight back to the application, no page in between.
                return Outcome(reply=reply)
            raise LoginFailed(exc, exc.user_message, reply, client_name, 403) from exc
        except WeComError as exc:
            log.warning(
                "WeCom call failed: errcode=%s category=%s hint=%s request_hint=%s",
                exc.errcode,
                exc.category,
                exc.admin_hint,
                exc.request_hint,
            )
            self._metrics.login_failed(exc.category)
            err = exc.as_oauth_error()
            reply = ClientReply.error(req.target, self._issuer, err)
            raise LoginFailed(
                exc, exc.user_message, reply, client_name, err.status if err.status >= 500 else 403
            ) from exc
        sub = subject_for(self._core.settings, identity.user_id, corp_id=upstream.corp_id)
        claims = {**claims_from_identity(identity, sub), "_wecom_app": upstream.id}
        self._check_access(req, claims)
        with self._store.batch():  # the session and the code, written in one round trip
            session, cookie = self._sessions.create(claims, identity.entry, req.client_id)
            reply = self._code_reply(req, session, parked.login_id)
        log.info("login completed for client %s via WeCom %s entry", req.client_id, identity.entry)
        self._metrics.login_completed(identity.entry)
        return Outcome(reply=reply, session_cookie=cookie)

    def _check_access(self, req: AuthRequest, claims: Mapping[str, Any]) -> None:
        """The client's access policy; a refused person sees a page naming the app."""
        assert req.target is not None
        client = self._clients.get(req.client_id)
        if client is None:
            return
        try:
            check_access(client, claims)
        except LoginRefused as exc:
            log.info("login refused by %s's access policy: %s", req.client_id, exc.detail)
            self._metrics.login_failed(exc.reason)
            reply = ClientReply.error(req.target, self._issuer, AccessDenied(exc.detail))
            raise LoginFailed(exc, exc.user_message, reply, client.display_name, 403) from exc

    def _code_reply(self, req: AuthRequest, session: Session, login_id: str) -> ClientReply:
        assert req.target is not None
        extra = {"auth_time": session.auth_time, "sid": session.sid}
        code = self._core.issue_code(req, session.claims, extra, login_id)
        return ClientReply(req.target, {"code": code}, self._issuer)

    def _take(self, handle: str, browser_secret: str | None) -> ParkedLogin:
        if not HANDLE_PATTERN.match(handle):
            raise BrowserError(
                "This sign-in link is not valid.",
                "Go back to the application and start signing in again.",
                detail="callback with a malformed state",
            )
        data = getdel_json(self._store, Keys.login(handle))
        if data is None:
            raise BrowserError(
                "This sign-in has expired or was already completed.",
                "Go back to the application and start signing in again.",
                detail="callback for an unknown, expired or used state",
            )
        parked = ParkedLogin.from_json(data)
        given = token_hash(browser_secret) if browser_secret else ""
        if not hmac.compare_digest(given, parked.binding_hash):
            raise BrowserError(
                "This sign-in was started in a different browser.",
                "For your safety the sign-in must finish in the browser where it began. Go back to the "
                "application in this browser and sign in again.",
                detail="callback without the browser-binding cookie of its login",
            )
        return parked
