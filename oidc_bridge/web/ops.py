"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from ..errors import StoreUnavailable
from .context import services

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Answers while the process lives; checks nothing else."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Ready when the store answers and a signing key is loaded."""
    svc = services()
    checks: dict[str, str] = {}
    try:
        svc.store.ping()
        checks["store"] = "ok"
    except StoreUnavailable:
        checks["store"] = "unreachable"
    checks["signing_key"] = "ok" if svc.keyring.current else "missing"
    ready = all(v == "ok" for v in checks.values())
    response = jsonify({"status": "ok" if ready else "unavailable", "checks": checks})
    response.status_code = 200 if ready else 503
    return response


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text; under several gunicorn workers, the sum of all of them (``metrics.py``)."""
    body, content_type = services().metrics.render()
    return Response(body, content_type=content_type)
