"""The only place errors become HTTP.

RFC 6749 JSON at the token and userinfo endpoints; an error redirect from authorize only to a
verified redirect_uri (handled in ``oidc.py``); otherwise a readable page that says what
happened, what to do, and an error id that also appears in the log line.
"""

from __future__ import annotations

import logging
import secrets

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from ..errors import (
    BridgeError,
    BrowserError,
    InvalidRequest,
    InvalidToken,
    OAuthError,
    ServerError,
    StoreUnavailable,
    TemporarilyUnavailable,
)
from ..oidc.transactions import ClientReply, LoginFailed
from .security import no_store, page_csp

log = logging.getLogger(__name__)

# Endpoints whose clients are programs: they get RFC 6749 / 6750 JSON, never pages. Matched by
# path, because a request with the wrong method never reaches an endpoint.
JSON_PATHS = ("/token", "/userinfo", "/revoke", "/introspect")


def _wants_json() -> bool:
    return request.path.endswith(JSON_PATHS)


def error_id() -> str:
    return secrets.token_hex(6)


def oauth_json(err: OAuthError) -> Response:
    body = {"error": err.error, "error_description": err.description}
    response = no_store(jsonify(body))
    response.status_code = err.status
    if isinstance(err, InvalidToken):
        response.headers["WWW-Authenticate"] = (
            f'Bearer error="{err.error}", error_description="{err.description}"'
        )
    elif err.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="oidc-bridge"'
    return response


def page(
    title: str,
    advice: str,
    status: int,
    *,
    eid: str | None = None,
    reply: ClientReply | None = None,
    reply_label: str = "",
) -> Response:
    """A readable page; ``reply`` adds a button that takes the error back to the application."""
    html = render_template(
        "error.html", title=title, advice=advice, error_id=eid, reply=reply, reply_label=reply_label
    )
    response = Response(html, status=status, mimetype="text/html")
    if reply is not None and reply.form_post:
        response.headers["Content-Security-Policy"] = page_csp(form_action=reply.target.redirect_uri)
    return response


def login_failed_page(failed: LoginFailed) -> Response:
    """The person's page for a login that failed after WeCom (or a policy refused): what
    happened, and a button that takes the client's error back to the application."""
    eid = error_id()
    log.info("login failed: %s [error_id=%s]", type(failed.cause).__name__, eid)
    return page(
        "You could not be signed in.",
        failed.message,
        failed.status,
        eid=eid,
        reply=failed.reply,
        reply_label=f"Return to {failed.client_name}",
    )


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(LoginFailed, login_failed_page)

    @app.errorhandler(OAuthError)
    def _oauth(err: OAuthError) -> Response:
        eid = error_id()
        log.info("oauth error %s at %s: %s [error_id=%s]", err.error, request.endpoint, err.detail, eid)
        if _wants_json():
            return oauth_json(err)
        return page("The request could not be completed.", err.description, err.status, eid=eid)

    @app.errorhandler(BrowserError)
    def _browser(err: BrowserError) -> Response:
        eid = error_id()
        log.info("browser error at %s: %s [error_id=%s]", request.endpoint, err.detail, eid)
        return page(err.title, err.advice, err.status, eid=eid)

    @app.errorhandler(StoreUnavailable)
    def _store(err: StoreUnavailable) -> Response:
        eid = error_id()
        log.error("store unavailable at %s: %s [error_id=%s]", request.endpoint, err.detail, eid)
        if _wants_json():
            return oauth_json(TemporarilyUnavailable(err.detail))
        return page(
            "The sign-in service is temporarily unavailable.",
            "Its storage cannot be reached. Try again in a minute; if it persists, tell your administrator.",
            503,
            eid=eid,
        )

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Response:
        if _wants_json():
            response = oauth_json(InvalidRequest(err.name, description=f"{err.code} {err.name}."))
            response.status_code = err.code or 400
        else:
            advice = "Check the address, or go back to the application."
            response = page(f"{err.code} {err.name}", advice, err.code or 400)
        if err.code == 405 and isinstance(err.valid_methods, list):
            response.headers["Allow"] = ", ".join(err.valid_methods)
        return response

    @app.errorhandler(UnicodeDecodeError)
    def _undecodable(err: UnicodeDecodeError) -> Response:
        # Raw non-UTF-8 bytes in a query string: werkzeug's request.args refuses to decode them.
        if _wants_json():
            return oauth_json(InvalidRequest("undecodable request", description="The request is not UTF-8."))
        advice = "The address has characters that are not valid UTF-8. Go back to the application and retry."
        return page("The request could not be read.", advice, 400)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        eid = error_id()
        if isinstance(err, BridgeError):
            log.error("unhandled bridge error %s: %s [error_id=%s]", type(err).__name__, err.detail, eid)
        else:
            log.exception("unexpected error [error_id=%s]", eid)
        if _wants_json():
            return oauth_json(ServerError(type(err).__name__))
        return page(
            "Something went wrong on the sign-in service.",
            "Try again. If it happens again, tell your administrator this error id.",
            500,
            eid=eid,
        )
