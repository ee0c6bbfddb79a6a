"""The bridge's error hierarchy.

The core raises these; only ``web/render.py`` turns them into HTTP. ``detail`` is private
(logs only); everything a browser or client sees is fixed text on the class or instance.
No Flask import here.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

WeComCategory = Literal["config", "user", "transient", "rate_limit"]

# RFC 6749 appendix A.7: error_description is %x20-21 / %x23-5B / %x5D-7E.
_DESCRIPTION_CHARS = re.compile(r"^[\x20-\x21\x23-\x5b\x5d-\x7e]*$")


class BridgeError(Exception):
    """Base of every error the bridge raises on purpose."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


class OAuthError(BridgeError):
    """An RFC 6749 / OpenID Connect error. One subclass per error code."""

    error: ClassVar[str] = "invalid_request"
    status: ClassVar[int] = 400
    description: ClassVar[str] = "The request is invalid."
    redirectable: ClassVar[bool] = True

    def __init__(self, detail: str = "", *, description: str | None = None) -> None:
        super().__init__(detail)
        if description is not None:
            if not _DESCRIPTION_CHARS.match(description):
                raise ValueError("error_description must use RFC 6749's character set")
            self.description = description  # type: ignore[misc]


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    error = "invalid_client"
    status = 401
    description = "Client authentication failed."
    redirectable = False


class InvalidGrant(OAuthError):
    error = "invalid_grant"
    description = "The authorization code or refresh token is invalid, expired or already used."


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"
    description = "The client is not allowed to use this grant or response type."


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"
    description = "The grant type is not supported."


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"
    description = "Only response_type=code is supported."


class InvalidScope(OAuthError):
    error = "invalid_scope"
    description = "The requested scope is invalid."


class AccessDenied(OAuthError):
    error = "access_denied"
    description = "The user could not be signed in."


class ServerError(OAuthError):
    error = "server_error"
    status = 500
    description = "The sign-in service could not complete the request."


class TemporarilyUnavailable(OAuthError):
    error = "temporarily_unavailable"
    status = 503
    description = "The sign-in service is temporarily unavailable, try again shortly."


class LoginRequired(OAuthError):
    error = "login_required"
    description = "The user is not signed in."


class InvalidToken(OAuthError):
    """RFC 6750 bearer-token error: 401 with WWW-Authenticate."""

    error = "invalid_token"
    status = 401
    description = "The access token is invalid or expired."
    redirectable = False


class BrowserError(BridgeError):
    """A request that must not redirect anywhere: shown to the person as a readable page.

    ``title`` says what happened, ``advice`` what to do about it.
    """

    status: int = 400

    def __init__(self, title: str, advice: str, detail: str = "", status: int = 400) -> None:
        super().__init__(detail or title)
        self.title = title
        self.advice = advice
        self.status = status


class LoginRefused(BridgeError):
    """WeCom identified the person, but they may not sign in (not a member, disabled, left...).

    ``user_message`` is shown to the person; the client gets ``access_denied``.
    """

    def __init__(self, user_message: str, detail: str = "", reason: str = "refused") -> None:
        super().__init__(detail or user_message)
        self.user_message = user_message
        self.reason = reason


class WeComError(BridgeError):
    """WeCom answered with an errcode, failed, or could not be reached."""

    def __init__(
        self,
        errcode: int | None,
        category: WeComCategory,
        admin_hint: str,
        user_message: str,
        detail: str = "",
        *,
        request_hint: str | None = None,
        from_ip: str | None = None,
    ) -> None:
        super().__init__(detail or admin_hint)
        self.errcode = errcode
        self.category: WeComCategory = category
        self.admin_hint = admin_hint
        self.user_message = user_message
        self.request_hint = request_hint
        self.from_ip = from_ip

    def as_oauth_error(self) -> OAuthError:
        """The error a client gets for this WeCom failure."""
        if self.category == "user":
            return AccessDenied(self.detail)
        if self.category in ("transient", "rate_limit"):
            return TemporarilyUnavailable(self.detail)
        return ServerError(self.detail)


class StoreUnavailable(BridgeError):
    """The shared store (Redis) cannot be reached: answer 503, keep nothing half-written."""


class ConfigError(BridgeError):
    """A bad configuration: printed as one line naming the key and the file; exit status 2."""

    def __init__(self, message: str, *, key: str | None = None, file: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.file = file
        self.message = message

    def __str__(self) -> str:
        where = self.file or "config"
        if self.key:
            return f"{where}: {self.key}: {self.message}"
        return f"{where}: {self.message}"
