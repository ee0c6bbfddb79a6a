"""The simulator's Flask app: counts every call, applies injected faults, renders errors as WeCom does."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

from . import api, login
from .errors import SimApiError, SimPageError, format_errmsg
from .pages import message_page
from .state import EXTENSION_KEY, SimState, current_state


def create_sim_app(sim_state: SimState) -> Flask:
    """A WSGI app serving WeCom's login pages and cgi-bin API from one origin."""
    app = Flask(__name__)
    app.extensions[EXTENSION_KEY] = sim_state
    # WeCom answers UTF-8 JSON with errcode first; keep both so answers read like the real ones.
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.before_request(_count_and_fault)
    app.register_blueprint(login.bp)
    app.register_blueprint(api.bp)
    app.register_error_handler(SimApiError, _api_error)
    app.register_error_handler(SimPageError, _page_error)
    return app


def _count_and_fault() -> Response | None:
    """Count the call, then apply any injected fault before normal handling."""
    sim = current_state()
    path = request.path
    sim.stats.record(path)
    plan = sim.faults.take(path)
    if plan.delay:
        sim.faults.wait(plan.delay)
    if plan.http_status is not None:
        return Response(f"simulated HTTP {plan.http_status}\n", plan.http_status, mimetype="text/plain")
    if plan.errcode is not None:
        if path.startswith("/cgi-bin/"):
            raise SimApiError(plan.errcode, plan.errmsg)
        raise SimPageError(plan.errcode, plan.errmsg)
    return None


def _api_error(err: SimApiError) -> Response:
    errmsg = err.errmsg or format_errmsg(err.errcode, request.remote_addr or "")
    return jsonify({"errcode": err.errcode, "errmsg": errmsg})


def _page_error(err: SimPageError) -> tuple[str, int]:
    return message_page(err.errcode, err.message), 200
