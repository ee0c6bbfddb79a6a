"""The WeCom side: the one fixed callback, and the domain-verification files."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request

from .context import services
from .replies import send

bp = Blueprint("wecom", __name__)
verify_bp = Blueprint("wecom_verify", __name__)


@bp.get("/wecom/callback")
def callback() -> Response:
    svc = services()
    params = {k: v for k, v in request.args.items()}
    outcome = svc.flow.finish(params, svc.cookies.browser_secret(request))
    assert outcome.reply is not None
    response = send(outcome.reply)
    if outcome.session_cookie:
        svc.cookies.set_session(response, outcome.session_cookie)
    return response


@verify_bp.get("/WW_verify_<suffix>.txt")
def verify_file(suffix: str) -> Response:
    """WeCom's trusted-domain check fetches WW_verify_*.txt from the domain root (wecom-api.md §5)."""
    name = f"WW_verify_{suffix}.txt"
    # Each app's trusted-domain check asks for its own file; they all live at the one root.
    content = next(
        (app.verify_files[name] for app in services().settings.wecom_apps if name in app.verify_files), None
    )
    if content is None:
        abort(404)
    return Response(content, mimetype="text/plain")
