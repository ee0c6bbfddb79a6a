"""Cookies, browser binding and response headers: secure by default."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Request, Response

from ..oidc.transactions import new_browser_secret

_BROWSER_COOKIE = "oidc_bridge_browser"
_SESSION_COOKIE = "oidc_bridge_session"


def page_csp(form_action: str | None = None) -> str:
    """A strict policy: our pages load only our stylesheet, post only to us (or to one client's
    origin when a form carries a reply back to it), and may not be framed."""
    action = "'self'"
    if form_action:
        parts = urlsplit(form_action)
        action += f" {parts.scheme}://{parts.netloc}"
    return (
        "default-src 'none'; style-src 'self'; img-src 'self' data: https:; "
        f"form-action {action}; frame-ancestors 'none'; base-uri 'none'"
    )


class CookiePolicy:
    """HttpOnly, SameSite=Lax, Secure outside loopback (the issuer decides), and the ``__Host-``
    prefix whenever Secure, so no subdomain can set them."""

    def __init__(self, issuer: str, login_lifetime: int, session_lifetime: int) -> None:
        self.secure = issuer.startswith("https://")
        prefix = "__Host-" if self.secure else ""
        self.browser_name = prefix + _BROWSER_COOKIE
        self.session_name = prefix + _SESSION_COOKIE
        self.login_lifetime = login_lifetime
        self.session_lifetime = session_lifetime

    def _set(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path="/", secure=self.secure, httponly=True, samesite="Lax"
        )

    def browser_secret(self, request: Request) -> str | None:
        value = request.cookies.get(self.browser_name)
        return value if value and len(value) <= 128 else None

    def bind_browser(self, request: Request, response: Response) -> str:
        """Reuse this browser's binding secret, or create one; refresh its lifetime either way."""
        secret = self.browser_secret(request) or new_browser_secret()
        self._set(response, self.browser_name, secret, self.login_lifetime)
        return secret

    def session(self, request: Request) -> str | None:
        return request.cookies.get(self.session_name)

    def set_session(self, response: Response, value: str) -> None:
        self._set(response, self.session_name, value, self.session_lifetime)

    def clear_session(self, response: Response) -> None:
        response.delete_cookie(self.session_name, path="/", secure=self.secure, httponly=True, samesite="Lax")


_SECURITY_HEADERS = (
    ("Content-Security-Policy", page_csp()),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)


def add_security_headers(response: Response) -> Response:
    """Each header unless the view set its own (a page with a form to a client sets its CSP).
    One pass over the headers, not one case-insensitive scan per header as setdefault does."""
    present = {name.lower() for name, _ in response.headers}
    for name, value in _SECURITY_HEADERS:
        if name.lower() not in present:
            response.headers.add(name, value)
    return response


def no_store(response: Response) -> Response:
    """RFC 6749 §5.1: token responses must not be cached."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
