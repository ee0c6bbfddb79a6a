"""A login in flight: parked under a short handle while the person is at WeCom.

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
import string
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote, urlencode

from ..connectors.base import Connector, LoginContext
from ..errors import AccessDenied, BrowserError, LoginRefused, OAuthError, WeComError
from ..store.base import Keys, Store, getdel_json, set_json, token_hash
from .authorize import AuthRequest, RedirectTarget
from .claims import claims_from_identity
from .provider import OpenIDProvider

log = logging.getLogger(__name__)

_ALPHANUMERIC = string.ascii_letters + string.digits
HANDLE_PATTERN = re.compile(r"^[A-Za-z0-9]{32}$")


def new_handle() -> str:
    """32 alphanumeric characters: about 190 bits, and acceptable to WeCom as state."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(32))


def new_browser_secret() -> str:
    return secrets.token_urlsafe(32)


def redirect_with(target: RedirectTarget, issuer: str, params: Mapping[str, str]) -> str:
    """The client's redirect_uri plus our parameters, its state byte for byte, and iss (RFC 9207)."""
    query = urlencode({**params, "iss": issuer}, quote_via=quote)
    if target.state_raw is not None:
        # Keep the client's percent-encoding as sent; encode only what is not URL-safe.
        query += "&state=" + quote(target.state_raw, safe="%!$'()*+,;:@/?-._~")
    sep = "&" if "?" in target.redirect_uri else "?"
    return target.redirect_uri + sep + query


def error_redirect(target: RedirectTarget, issuer: str, error: OAuthError) -> str:
    return redirect_with(target, issuer, {"error": error.error, "error_description": error.description})


@dataclass(frozen=True)
class ParkedLogin:
    request: AuthRequest
    binding_hash: str
    connector_data: dict[str, str]
    started: float

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["request"]["prompt"] = sorted(self.request.prompt)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ParkedLogin:
        req = dict(data["request"])
        req["scopes"] = tuple(req["scopes"])
        req["prompt"] = frozenset(req["prompt"])
        return cls(
            request=AuthRequest(**req),
            binding_hash=data["binding_hash"],
            connector_data=dict(data["connector_data"]),
            started=data["started"],
        )


class LoginFailed(Exception):
    """A login that reached WeCom and failed there: the person sees ``message``; ``redirect``
    carries the error to the client once they choose to go back."""

    def __init__(self, cause: Exception, message: str, redirect: str, client_name: str, status: int) -> None:
        super().__init__(message)
        self.cause = cause
        self.message = message
        self.redirect = redirect
        self.client_name = client_name
        self.status = status


class LoginFlow:
    """Authorize → WeCom → callback → code. No Flask here; the web layer passes strings."""

    def __init__(self, store: Store, connector: Connector, provider: OpenIDProvider, ttl: int) -> None:
        self._store = store
        self._connector = connector
        self._provider = provider
        self._ttl = ttl

    def begin(self, req: AuthRequest, user_agent: str, browser_secret: str) -> tuple[str, str]:
        """Park the request and return (the WeCom URL, the handle)."""
        handle = new_handle()
        ctx = LoginContext(
            state=handle,
            callback_url=self._provider.endpoints.callback_url,
            user_agent=user_agent,
            scopes=frozenset(req.scopes),
        )
        redirect = self._connector.login_url(ctx)
        parked = ParkedLogin(req, token_hash(browser_secret), dict(redirect.connector_data), time.time())
        set_json(self._store, Keys.login(handle), parked.to_json(), self._ttl)
        return redirect.url, handle

    def finish(self, params: Mapping[str, str], browser_secret: str | None) -> str:
        """Complete the WeCom callback; return the client redirect carrying the code."""
        parked = self._take(params.get("state", ""), browser_secret)
        req = parked.request
        target = RedirectTarget(req.redirect_uri, req.state_raw)
        issuer = self._provider.settings.issuer
        client = self._provider.clients.get(req.client_id)
        client_name = client.display_name if client else req.client_id
        try:
            identity = self._connector.handle_callback(params, parked.connector_data)
        except LoginRefused as exc:
            log.info("login refused: %s (reason=%s)", exc.detail, exc.reason)
            err = AccessDenied(exc.detail, description="The user could not be signed in.")
            if exc.reason == "cancelled":
                # The person chose to stop: straight back to the application, no page in between.
                return error_redirect(target, issuer, err)
            raise LoginFailed(
                exc, exc.user_message, error_redirect(target, issuer, err), client_name, 403
            ) from exc
        except WeComError as exc:
            log.warning(
                "WeCom call failed: errcode=%s category=%s hint=%s request_hint=%s",
                exc.errcode,
                exc.category,
                exc.admin_hint,
                exc.request_hint,
            )
            err = exc.as_oauth_error()
            raise LoginFailed(
                exc,
                exc.user_message,
                error_redirect(target, issuer, err),
                client_name,
                err.status if err.status >= 500 else 403,
            ) from exc
        auth_time = int(time.time())
        code = self._provider.issue_code(req, claims_from_identity(identity), auth_time)
        log.info("login completed for client %s via WeCom %s entry", req.client_id, identity.entry)
        return redirect_with(target, issuer, {"code": code})

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
