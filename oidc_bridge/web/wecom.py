"""The WeCom side: the one fixed callback, and the domain-verification files."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, request

from ..oidc.transactions import LoginFailed
from .context import services
from .render import error_id, page
from .replies import send

log = logging.getLogger(__name__)

bp = Blueprint("wecom", __name__)
verify_bp = Blueprint("wecom_verify", __name__)


@bp.get("/wecom/callback")
def callback() -> Response:
    svc = services()
    params = {k: v for k, v in request.args.items()}
    try:
        outcome = svc.flow.finish(params, svc.cookies.browser_secret(request))
    except LoginFailed as failed:
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
    assert outcome.reply is not None
    response = send(outcome.reply)
    if outcome.session_cookie:
        svc.cookies.set_session(response, outcome.session_cookie)
    return response


@verify_bp.get("/WW_verify_<suffix>.txt")
def verify_file(suffix: str) -> Response:
    """WeCom's trusted-domain check fetches WW_verify_*.txt from the domain root (wecom-api.md §5)."""
    content = services().settings.wecom.verify_files.get(f"WW_verify_{suffix}.txt")
    if content is None:
        abort(404)
    return Response(content, mimetype="text/plain")
