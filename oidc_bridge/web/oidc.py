"""The OpenID Connect endpoints: discovery, JWKS, authorize, token, userinfo, revocation,
introspection and RP-initiated logout."""

from __future__ import annotations

from urllib.parse import unquote_plus, urlencode

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request

from ..connectors.upstreams import Upstream
from ..errors import InvalidRequest
from ..oidc.authorize import AuthorizationError, validate_authorization_request
from ..oidc.discovery import discovery_document
from ..oidc.transactions import ClientReply
from .context import services
from .replies import send
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


def _form() -> dict[str, list[str]]:
    """A form-encoded POST body, as every client-authenticated endpoint requires (RFC 6749 §2.3.1)."""
    if request.mimetype != "application/x-www-form-urlencoded":
        raise InvalidRequest("body is not form-encoded", description="Use a form-encoded POST body.")
    return request.form.to_dict(flat=False)


@bp.get("/.well-known/openid-configuration")
def discovery() -> Response:
    svc = services()
    algs = sorted({key["alg"] for key in svc.retained_jwks()["keys"]})
    return _public_json(discovery_document(svc.core.endpoints, algs))


@bp.get("/jwks.json")
def jwks() -> Response:
    return _public_json(services().retained_jwks())


@bp.route("/authorize", methods=["GET", "POST"])
def authorize() -> Response:
    svc = services()
    if request.method == "POST":
        # Cache the raw body first: the form parser reads it from the cache, and the state's
        # original percent-encoding is only in the raw bytes.
        raw = request.get_data(cache=True)
        params = _form()
    else:
        params, raw = request.args.to_dict(flat=False), request.query_string
    try:
        req = validate_authorization_request(params, raw_param(raw, "state"), svc.clients)
        svc.core.check_request(req)
    except AuthorizationError as exc:
        current_app.logger.info("authorize refused: %s (%s)", exc.error.error, exc.error.detail)
        return send(ClientReply.error(exc.target, svc.settings.issuer, exc.error))
    session = svc.sessions.from_cookie(svc.cookies.session(request))
    response = Response(status=302)
    secret = svc.cookies.bind_browser(request, response)
    outcome = svc.flow.authorize(req, session, request.headers.get("User-Agent", ""), secret)
    if outcome.reply is not None:
        return send(outcome.reply)
    if outcome.choices:
        return _choose(req.client_id, outcome.choices, raw)
    response.headers["Location"] = outcome.wecom_url or ""
    return response


def _choose(client_id: str, choices: tuple[Upstream, ...], raw: bytes) -> Response:
    """The WeCom apps to choose from: each link is this same request (query or form body, as
    sent) naming its app, so nothing is parked before the person chooses."""
    client = services().clients.get(client_id)
    query = raw.decode("latin-1")
    # Relative to this page, /authorize: right behind any proxy, whatever host it was reached by.
    links = [{"name": u.name, "url": f"?{query}&{urlencode({'wecom_app': u.id})}"} for u in choices]
    name = client.display_name if client else client_id
    html = render_template("choose.html", client_name=name, choices=links)
    return no_store(Response(html, mimetype="text/html"))


@bp.post("/token")
def token() -> Response:
    body = services().tokens.token(request.headers.get("Authorization"), _form())
    return no_store(jsonify(body))


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    form = request.form.to_dict(flat=False) if request.mimetype == "application/x-www-form-urlencoded" else {}
    claims = services().tokens.userinfo(request.headers.get("Authorization"), form)
    return no_store(jsonify(claims))


@bp.post("/revoke")
def revoke() -> Response:
    services().token_admin.revoke(request.headers.get("Authorization"), _form())
    return no_store(Response(status=200))


@bp.post("/introspect")
def introspect() -> Response:
    body = services().token_admin.introspect(request.headers.get("Authorization"), _form())
    return no_store(jsonify(body))


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Response:
    svc = services()
    params = (
        request.form.to_dict(flat=False) if request.method == "POST" else request.args.to_dict(flat=False)
    )
    result = svc.logout.end_session(params, svc.cookies.session(request))
    if result.redirect is not None:
        response = redirect(result.redirect, 302)
    else:
        name = result.client.display_name if result.client else None
        response = Response(render_template("signed_out.html", client_name=name), mimetype="text/html")
    svc.cookies.clear_session(response)
    return response
