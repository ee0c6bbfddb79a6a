"""The OpenID Connect endpoints: discovery, JWKS, authorize, token, userinfo."""

from __future__ import annotations

from urllib.parse import unquote_plus

from flask import Blueprint, Response, current_app, jsonify, redirect, request

from ..errors import InvalidRequest
from ..oidc.authorize import AuthorizationError, validate_authorization_request
from ..oidc.transactions import error_redirect
from .context import services
from .security import no_store

bp = Blueprint("oidc", __name__)


def raw_param(raw: bytes, name: str) -> str | None:
    """A parameter as it was sent, still percent-encoded, so the client's state goes back
    byte for byte (NocoBase sends URL-encoded, non-ASCII states)."""
    for part in raw.decode("latin-1").split("&"):
        key, sep, value = part.partition("=")
        if sep and unquote_plus(key) == name:
            return value
    return None


def _public_json(data: dict) -> Response:
    """Public metadata: cacheable for a few minutes, readable by browser-based clients (SPAs)."""
    response = jsonify(data)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/.well-known/openid-configuration")
def discovery() -> Response:
    return _public_json(services().provider.discovery())


@bp.get("/jwks.json")
def jwks() -> Response:
    return _public_json(services().provider.jwks())


@bp.route("/authorize", methods=["GET", "POST"])
def authorize() -> Response:
    svc = services()
    if request.method == "POST":
        if request.mimetype != "application/x-www-form-urlencoded":
            raise InvalidRequest("authorize POST without a form body")
        params, raw = request.form.to_dict(flat=False), request.get_data()
    else:
        params, raw = request.args.to_dict(flat=False), request.query_string
    try:
        req = validate_authorization_request(params, raw_param(raw, "state"), svc.clients)
        svc.provider.check_with_pyop(req)
    except AuthorizationError as exc:
        current_app.logger.info("authorize refused: %s (%s)", exc.error.error, exc.error.detail)
        return redirect(error_redirect(exc.target, svc.settings.issuer, exc.error), 302)
    response = Response(status=302)
    secret = svc.cookies.bind_browser(request, response)
    url, _handle = svc.flow.begin(req, request.headers.get("User-Agent", ""), secret)
    response.headers["Location"] = url
    return response


@bp.post("/token")
def token() -> Response:
    if request.mimetype != "application/x-www-form-urlencoded":
        raise InvalidRequest("token request without a form body", description="Use a form-encoded POST body.")
    body = services().provider.token(request.headers.get("Authorization"), request.form.to_dict(flat=False))
    return no_store(jsonify(body))


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    form = request.form.to_dict(flat=False) if request.mimetype == "application/x-www-form-urlencoded" else {}
    claims = services().provider.userinfo(request.headers.get("Authorization"), form)
    return no_store(jsonify(claims))
