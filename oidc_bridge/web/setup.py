"""The setup page: what ``check`` says, plus each client's settings, for the admin to copy.

Off unless ``setup_token`` is set; HTTP Basic with the token as password, compared in
constant time. It never shows a secret: client secrets are "as configured".
"""

from __future__ import annotations

import hmac
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, redirect, render_template, request

from ..doctor import console_settings, findings
from .context import services

bp = Blueprint("setup", __name__)


def _authorized() -> bool:
    token = services().settings.setup_token
    auth = request.authorization
    given = (auth.password or "") if auth is not None and auth.type == "basic" else ""
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


@bp.get("/setup")
def setup() -> Response:
    svc = services()
    if not svc.settings.setup_token:
        abort(404)
    if not _authorized():
        return Response(
            "The setup page needs the setup token as the password.",
            401,
            {"WWW-Authenticate": 'Basic realm="oidc-bridge setup", charset="UTF-8"'},
            mimetype="text/plain",
        )
    endpoints = svc.core.endpoints
    html = render_template(
        "setup.html",
        console=console_settings(svc.settings),
        findings=findings(svc.settings, svc.store),
        endpoints=endpoints,
        discovery=endpoints.url(endpoints.discovery_path),
        clients=list(svc.clients),
        # Only worth a line when there is a choice: which WeCom apps each client is open to.
        apps_of={
            c.client_id: [f"{u.name} ({u.id})" for u in svc.upstreams.for_client(c)] for c in svc.clients
        }
        if len(svc.upstreams) > 1
        else {},
    )
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/start/<client_id>")
def start(client_id: str) -> Response:
    """Third-party-initiated login (OIDC Core §4): the WeCom app homepage points here."""
    svc = services()
    client = svc.clients.get(client_id)
    if client is None or not client.initiate_login_uri:
        abort(404)
    sep = "&" if "?" in client.initiate_login_uri else "?"
    return redirect(client.initiate_login_uri + sep + urlencode({"iss": svc.settings.issuer}), 302)
