"""Cookies, browser binding and response headers: secure by default."""

from __future__ import annotations

from flask import Request, Response

from ..oidc.transactions import new_browser_secret

_BROWSER_COOKIE = "oidc_bridge_browser"
# A strict policy: our pages load only our own stylesheet, and no page may be framed.
_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data: https:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class CookiePolicy:
    """Secure outside loopback (the issuer decides); ``__Host-`` prefix whenever Secure."""

    def __init__(self, issuer: str, lifetime: int) -> None:
        self.secure = issuer.startswith("https://")
        self.name = ("__Host-" if self.secure else "") + _BROWSER_COOKIE
        self.lifetime = lifetime

    def browser_secret(self, request: Request) -> str | None:
        value = request.cookies.get(self.name)
        return value if value and len(value) <= 128 else None

    def bind_browser(self, request: Request, response: Response) -> str:
        """Reuse this browser's binding secret, or create one; refresh its lifetime either way."""
        secret = self.browser_secret(request) or new_browser_secret()
        response.set_cookie(
            self.name,
            secret,
            max_age=self.lifetime,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="Lax",
        )
        return secret


def add_security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", _CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


def no_store(response: Response) -> Response:
    """RFC 6749 §5.1: token responses must not be cached."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
